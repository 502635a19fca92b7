"""Reading any prior in terms of the conventions: what an LM backend "understood".

A causal-LM prior has no parser to report; what it understood is shown by how it behaves. This module
evaluates a prior on a game's canonical observations and names the convention it behaves most like.
For each convention k, over the observations where k speaks,

    agreement_k = 1 - mean TV(prior, p_k) / mean TV(uniform, p_k)

(TV = total-variation distance): 1 when the prior is the convention, 0 when it is no closer to it than
the uniform distribution. The reading is the convention with the highest agreement, with that agreement
as its weight and as the confidence; below 0.5 it asks, and at or below OFF_TOPIC_AT_MOST it reports
that the prior follows no convention.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from agents.envs.hanabi.language import move_text
from agents.envs.hanabi.rules import NUM_MOVES_2P
from agents.priors.base import Prior, check_game
from agents.priors.conventions import CONVENTIONS
from agents.priors.conventions.convention import Convention
from agents.priors.conventions.parser import CLARIFY_BELOW, Understanding
from agents.priors.conventions.prior import DEFAULT_BETA

OFF_TOPIC_AT_MOST = 0.1

SAY_SELECT_ACTIONS = (" 1", " 2", " 3", " 4", " 5", " 0")
HANABI_ACTIONS = tuple(move_text(uid) for uid in range(NUM_MOVES_2P))  # the paper's texts, in uid order


def canonical_observations(game: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(observations, actions): every Say-Select view of Bob; a spread of Hanabi partner moves."""
    check_game(game)
    if game == "say-select":
        first = [f"My partner selected {k}." for k in range(1, 6)]
        later = [f"I selected {j} before. My partner selected {k}." for j in range(1, 6) for k in range(1, 6)]
        return tuple(first + later), SAY_SELECT_ACTIONS
    return (
        "My partner did nothing",
        "My partner played their card at position A",
        "My partner discarded their card at position C",
        "My partner told me that the color of my card at position B is red",
        "My partner told me that the color of my cards at position A, C and E is blue",
        "My partner told me that the rank of my card at position D is 3",
        "My partner told me that the rank of my cards at position A and B is 1",
    ), HANABI_ACTIONS


def agreements(game: str, prior: Prior, instruction: str, beta: float | None = None) -> dict[str, float]:
    observations, actions = canonical_observations(game)
    beta = DEFAULT_BETA[game] if beta is None else beta
    table = [prior.probs(game, instruction, o, actions) for o in observations]
    return {c.id: _agreement(c, observations, actions, table, beta) for c in CONVENTIONS[game]}


def _agreement(convention: Convention, observations: Sequence[str], actions: Sequence[str],
               table: Sequence[np.ndarray], beta: float) -> float:
    uniform = np.full(len(actions), 1.0 / len(actions))
    to_prior, to_uniform = [], []
    for observation, p in zip(observations, table):
        q = convention.distribution(observation, actions, beta)
        if q is not None:
            to_prior.append(0.5 * np.abs(p - q).sum())
            to_uniform.append(0.5 * np.abs(uniform - q).sum())
    if not to_prior or np.mean(to_uniform) == 0:
        return 0.0
    return float(1.0 - np.mean(to_prior) / np.mean(to_uniform))


def understand_prior(game: str, prior: Prior, instruction: str) -> Understanding:
    """The convention `prior` behaves most like under `instruction`, as an Understanding."""
    scores = agreements(game, prior, instruction)
    best = max(scores, key=scores.get)
    confidence = float(np.clip(scores[best], 0.0, 1.0))
    description = next(c.description for c in CONVENTIONS[game] if c.id == best)
    if confidence <= OFF_TOPIC_AT_MOST:
        return Understanding(game, instruction, (), confidence, True, True, False,
                             f"The {prior.name} prior follows none of the conventions.",
                             "I could not tell how you want me to play; could you say it in other words?")
    clarify = confidence < CLARIFY_BELOW
    summary = f"The {prior.name} prior behaves most like: {description}"
    question = f"I think you mean: {description} Is that right? Please confirm, or say it in other words."
    return Understanding(game, instruction, ((best, confidence),), confidence, clarify, False, False,
                         summary, question if clarify else None)
