"""The one interface every prior backend implements.

A prior turns an instruction into a distribution over the agent's legal actions, given the language of
the current observation and of each legal action (InstructRL: p(lang(a) | lang(obs), instruction)).

    prior.log_probs(game, instruction, observation, actions) -> np.ndarray of len(actions)

- game:        "say-select" or "hanabi"
- instruction: the free text the person typed (or the paper's instruction)
- observation: the text of what the agent saw, e.g. "My partner selected 3." (Say-Select) or
               "My partner told me that the color of my card at position A is red" (Hanabi)
- actions:     the text of each legal action, e.g. [" 1", " 2", " 3", " 4", " 5", " 0"]

The result is a vector of log-probabilities that sums (in probability) to 1 over `actions`.
Backends are pure functions of their inputs, so results may be cached by their arguments.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Sequence

import numpy as np

GAMES = ("say-select", "hanabi")


class Prior(ABC):
    """Base class for prior backends. Subclasses set `name` and implement `log_probs`."""

    name: str = "prior"

    @abstractmethod
    def log_probs(self, game: str, instruction: str, observation: str, actions: Sequence[str]) -> np.ndarray:
        """Log-probabilities over `actions` (same order), normalised over that list."""

    def probs(self, game: str, instruction: str, observation: str, actions: Sequence[str]) -> np.ndarray:
        return np.exp(self.log_probs(game, instruction, observation, actions))


def check_game(game: str) -> None:
    if game not in GAMES:
        raise ValueError(f"unknown game {game!r}; expected one of {', '.join(GAMES)}")


def log_softmax(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    m = x.max()
    return x - (m + np.log(np.exp(x - m).sum()))
