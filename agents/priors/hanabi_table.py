"""The whole Hanabi LM prior, precomputed in one call and stored (instructrl.md 2.3, 4.2, 4.3).

The paper asked its LM once per (partner's last move, action text) pair, 321 move texts x 12 action
texts = 3852 prompts, and shipped the resulting logits. `hanabi_prior_table` does the same with any
CausalLMPrior, with a progress bar, and stores the table in a PriorCache keyed by (model, template,
instruction, mode, texts), so a second call with the same key reads it back instead of running the model.

The texts default to `agents.envs.hanabi.language.all_partner_move_texts()` and `all_action_texts()`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Sequence

import numpy as np

from agents.envs.hanabi.language import PAPER_INSTRUCTIONS, all_action_texts, all_partner_move_texts
from agents.priors.base import log_softmax
from agents.priors.cache import PriorCache

if TYPE_CHECKING:  # lm imports torch; this module's constants and table lookups do not need it
    from agents.priors.lm import CausalLMPrior

HANABI_COLOR_INSTRUCTION = PAPER_INSTRUCTIONS["color"]  # meta_prompt5_color, the paper's color agents' instruction


@dataclass
class HanabiPriorTable:
    """The logit L of every action text after every partner-move text."""

    histories: tuple[str, ...]
    actions: tuple[str, ...]
    logits: np.ndarray  # [len(histories), len(actions)]
    _history_row: dict[str, int] = field(init=False, repr=False)
    _action_column: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self):
        self._history_row = {h: i for i, h in enumerate(self.histories)}
        self._action_column = {a: i for i, a in enumerate(self.actions)}

    def log_probs(self, history: str, actions: Sequence[str], beta: float = 1.0) -> np.ndarray:
        """The prior log_softmax(beta * L) over the given (legal) action texts after `history`."""
        row = self.logits[self._history_row[history]]
        return log_softmax(beta * row[[self._action_column[a] for a in actions]])


def hanabi_prior_table(prior: CausalLMPrior, instruction: str, cache: PriorCache | None = None,
                       histories: Sequence[str] | None = None, actions: Sequence[str] | None = None,
                       progress: bool = True) -> HanabiPriorTable:
    """Score every (history, action) prompt with `prior`'s model, or read the stored table.

    `cache` defaults to the persistent PriorCache.default(). The logit follows `prior.hanabi_mode`.
    """
    histories = all_partner_move_texts() if histories is None else histories
    actions = all_action_texts() if actions is None else actions
    histories, actions = tuple(histories), tuple(actions)
    cache = cache if cache is not None else PriorCache.default()
    key = table_key(prior, instruction, histories, actions)
    logits = cache.get(key)
    if logits is None:
        logits = cache.put(key, prior.hanabi_logits(instruction, histories, actions, progress=progress))
    return HanabiPriorTable(histories, actions, logits)


def table_key(prior: CausalLMPrior, instruction: str, histories: Sequence[str], actions: Sequence[str]) -> tuple:
    """(kind, model, template, instruction, mode, digest of the texts): what the table depends on."""
    texts = hashlib.sha256(json.dumps([list(histories), list(actions)]).encode()).hexdigest()
    return ("hanabi-table", prior.model_id, prior.hanabi_template, instruction, prior.hanabi_mode, texts)
