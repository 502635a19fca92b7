"""The table prior: a labelled stand-in for the paper's GPT-J prior in Say-Select.

The paper's Say-Select prior came from GPT-J-6B scoring "{instruction} My partner selected {k}. So I
should select" against the candidates " 1".." 5" and " 0" (quit). GPT-J cannot be loaded here, so by
default Bob's prior is this table: the number the partner said gets probability p, and the other legal
actions share 1 - p evenly (p = 0.9 by default). It ignores the instruction text: it stands in for the
paper's one instruction, "I should select the same number as my partner.", and says so in its name.
"""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np

from agents.priors.base import Prior, check_game

PAPER_INSTRUCTION = "I should select the same number as my partner."
_SAID = re.compile(r"My partner selected (\d)")


class TablePrior(Prior):
    def __init__(self, p: float = 0.9):
        if not 0.0 < p < 1.0:
            raise ValueError(f"table prior p must be in (0, 1), got {p}")
        self.p = float(p)
        self.name = f"table(p={self.p:g}, stand-in for GPT-J)"

    def log_probs(self, game: str, instruction: str, observation: str, actions: Sequence[str]) -> np.ndarray:
        check_game(game)
        if game != "say-select":
            raise ValueError("the table prior exists only for Say-Select")
        n = len(actions)
        said = _SAID.search(observation or "")
        target = f" {said.group(1)}" if said else None
        if target is None or target not in actions:
            return np.full(n, -np.log(n))
        out = np.full(n, (1.0 - self.p) / (n - 1))
        out[list(actions).index(target)] = self.p
        return np.log(out)
