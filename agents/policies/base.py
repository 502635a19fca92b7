"""The agent interface of both games: `Policy.act(view, legal, log_prior, lam) -> Decision`, and `prior_term`,
the lam * log p an agent adds to its own score of each move (InstructRL: act by argmax(score + lam * log p))."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np


@dataclass(frozen=True)
class Decision:
    """What an agent chose, and why."""

    move: int  # the chosen action id: Say-Select 0..4 = select ball 1..5, 5 = quit; Hanabi: the HLE move uid
    explanation: str  # one plain sentence saying why
    top: list[dict]  # the moves it weighed, best first, with the numbers behind them (format per agent)
    lam: float  # the lambda it applied to log_prior: 0.0 when it ignores the prior


class Policy(Protocol):
    def act(self, view, legal: Sequence[int], log_prior: np.ndarray | None, lam: float, *,
            asked: bool = False) -> Decision:
        """The move for `view` among the `legal` action ids.

        log_prior: log p over exactly `legal`, aligned with it (already normalised), or None; the agent
        decides whether and how it uses it and reports the lambda it applied in Decision.lam.
        asked: the person's adopted instruction called for this agent's own convention."""
        ...


def prior_term(log_prior: np.ndarray, lam) -> np.ndarray:
    """lam * log p, elementwise (lam broadcasts: a number, or one per row). A lam of 0 (or below) ignores the
    prior: its term is 0 even where p is 0 (0 * -inf counts as 0); with lam > 0 such a move gets -inf."""
    lam = np.asarray(lam, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        term = lam * np.asarray(log_prior, dtype=np.float64)
    return np.where(lam > 0, term, 0.0)
