"""ConventionsPrior: the Prior of the conventions backend (name "conventions").

log_probs(game, instruction, observation, actions) reads the instruction once (what it understood is
cached per instruction text, in an LRU), then mixes the understood conventions at this observation
(convention.py: conditional conventions override, the rest of the mass is uniform). The resulting
vector is cached too, by (game, instruction, observation, actions), so a repeated lookup is one dict
access; the arrays handed out are read-only.

beta is the paper's softmax sharpness of a convention's 0/1 logits, per game:
- hanabi: 1, the paper's instructQ value (instructPPO used 2): with the colour instruction understood
  fully, the prior is exactly softmax(beta * L) of instructrl.md 4.3;
- say-select: ln 45, so that copy-number puts 0.9 on the said number among the six actions, the same
  as the table prior's default.
"""

from __future__ import annotations

import functools
import math
from typing import Sequence

import numpy as np

from agents.priors.base import Prior, check_game
from agents.priors.conventions import convention, parser
from agents.priors.conventions.convention import mixture
from agents.priors.conventions.parser import Understanding

DEFAULT_BETA = {"say-select": math.log(45.0), "hanabi": 1.0}


class ConventionsPrior(Prior):
    name = "conventions"

    def __init__(self, beta: dict[str, float] | None = None, cache_size: int = 4096,
                 prior_cache_size: int = 1 << 16):
        self.beta = {**DEFAULT_BETA, **(beta or {})}
        self.understand = functools.lru_cache(maxsize=cache_size)(self._understand)
        self._cached = functools.lru_cache(maxsize=prior_cache_size)(self._log_probs)

    def log_probs(self, game: str, instruction: str, observation: str, actions: Sequence[str]) -> np.ndarray:
        return self._cached(game, instruction, observation, tuple(actions))

    def _understand(self, game: str, instruction: str) -> Understanding:
        """What the instruction was understood to mean (cached per (game, text))."""
        check_game(game)
        return parser(game).understand(instruction)

    def _log_probs(self, game: str, instruction: str, observation: str, actions: tuple[str, ...]) -> np.ndarray:
        if not actions:
            raise ValueError("a prior needs at least one action")
        weighted = [(convention(game, cid), w) for cid, w in self.understand(game, instruction).understood]
        out = np.log(mixture(weighted, observation, actions, self.beta[game]))
        out.setflags(write=False)
        return out
