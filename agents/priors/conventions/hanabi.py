"""Hanabi conventions, read from the partner's last move and the texts of my legal moves.

The texts are the paper's (instructrl.md 4.2; agents/envs/hanabi/language.py renders them):
observations "My partner did nothing", "My partner played their card at position A", "My partner
discarded their card at position C", "My partner told me that the color of my card at position A is
red", "My partner told me that the rank of my cards at position B and D is 2"; actions " play my card
at position A".." E", " discard my card at position A".." E", " hint color to my partner", " hint rank
to my partner" (all five colour hints share one text, as do the five rank hints; the fuller " hint 'color
red' to my partner" is read as a colour hint too). Hand positions A..E
are oldest first: the engine puts a newly drawn card at the end (agents/envs/hanabi/rules.py).

The conventions:
- color-hint-play (the paper's colour instruction, reproduced exactly: instructrl.md 4.3): after a
  colour hint touching positions S, L = 1 exactly for playing the cards in S; after anything else, L = 1
  exactly for the colour hints. rank-hint-play is the same with rank. `paper_logits` is the definition
  of this prior: it equals the paper's LM-generated prior on all 6420 (history, move) pairs, and
  training computes it from encoded observations with `agents.policies.hanabi_net.paper_prior_logits`.
- any-hint-play: after any hint touching S, play exactly S; after anything else, give a hint.
- hint-keep: a hint marks cards to keep: after a hint touching S, any move but playing or discarding a
  card in S (conditional: silent after other moves).
- discard-oldest: discard my oldest card (the chop; position A).
- play-newest: play my newest card (the last position I hold): a blind play, "finesse-lite".
- hint-often: give a hint whenever I can.
- never-discard: play or hint, never discard.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from agents.envs.hanabi.rules import POSITIONS
from agents.priors.conventions.convention import Convention

GAME = "hanabi"

_HINT = re.compile(r"told me that the (colou?r|rank) of my cards? at positions? ([A-E](?:\s*(?:,\s*and|,|and)\s*[A-E])*)"
                   r" (?:is|are) (\w+)", re.IGNORECASE)
_PLAY = re.compile(r"played their card at position ([A-E])", re.IGNORECASE)
_DISCARD = re.compile(r"discarded their card at position ([A-E])", re.IGNORECASE)
_NOTHING = re.compile(r"did nothing", re.IGNORECASE)
_ACTION = re.compile(r"^\s*(play|discard) my card at position ([A-E])\s*$"
                     r"|^\s*hint '?(colou?r|rank)\b[^']*'? to my partner\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class PartnerMove:
    kind: str                        # "none", "play", "discard" or "hint"
    hint: str | None = None          # "color" or "rank" for hints
    positions: frozenset = frozenset()  # hand indices 0..4: the touched cards, or the played/discarded one
    value: str | None = None         # "red", ..., or "2" for hints


@dataclass(frozen=True)
class Move:
    kind: str                        # "play", "discard", "hint" or "other"
    position: int | None = None      # 0..4 for play/discard
    hint: str | None = None          # "color" or "rank" for hints


def parse_observation(text: str) -> PartnerMove:
    """The partner's last move, from its text. Raises ValueError on a text in none of the forms."""
    text = text or ""
    if m := _HINT.search(text):
        kind = "color" if m.group(1).lower().startswith("colo") else "rank"
        touched = frozenset(POSITIONS.index(p) for p in re.findall(r"[A-E]", m.group(2)))
        return PartnerMove("hint", kind, touched, m.group(3).lower())
    if m := _PLAY.search(text):
        return PartnerMove("play", positions=frozenset({POSITIONS.index(m.group(1))}))
    if m := _DISCARD.search(text):
        return PartnerMove("discard", positions=frozenset({POSITIONS.index(m.group(1))}))
    if _NOTHING.search(text):
        return PartnerMove("none")
    raise ValueError(f"not a Hanabi observation text: {text!r}; expected the partner's last move as "
                     "agents/envs/hanabi/language.py writes it, e.g. 'My partner did nothing'")


def parse_action(text: str) -> Move:
    m = _ACTION.match(text)
    if m is None:
        return Move("other")
    if m.group(1):
        return Move(m.group(1).lower(), POSITIONS.index(m.group(2)))
    return Move("hint", hint="color" if m.group(3).lower().startswith("colo") else "rank")


def paper_logits(hint: str, observation: str, actions: Sequence[str]) -> np.ndarray:
    """The paper's 0/1 logits L for the colour (hint="color") or rank instruction (instructrl.md 4.3)."""
    last = parse_observation(observation)
    moves = [parse_action(a) for a in actions]
    if last.kind == "hint" and last.hint == hint:
        return _mark(moves, lambda m: m.kind == "play" and m.position in last.positions)
    return _mark(moves, lambda m: m.kind == "hint" and m.hint == hint)


def _mark(moves: Sequence[Move], wanted) -> np.ndarray:
    return np.array([1.0 if wanted(m) else 0.0 for m in moves])


def _paper(hint: str):
    return lambda observation, actions: paper_logits(hint, observation, actions)


def _any_hint_play(observation: str, actions: Sequence[str]):
    last = parse_observation(observation)
    moves = [parse_action(a) for a in actions]
    if last.kind == "hint":
        return _mark(moves, lambda m: m.kind == "play" and m.position in last.positions)
    return _mark(moves, lambda m: m.kind == "hint")


def _hint_keep(observation: str, actions: Sequence[str]):
    last = parse_observation(observation)
    if last.kind != "hint":
        return None
    return _mark([parse_action(a) for a in actions],
                 lambda m: not (m.kind in ("play", "discard") and m.position in last.positions))


def _extreme_position(kind: str, pick):
    def prefer(observation: str, actions: Sequence[str]):
        parse_observation(observation)  # the convention ignores it, but a malformed text is still an error
        moves = [parse_action(a) for a in actions]
        held = [m.position for m in moves if m.kind == kind]
        if not held:
            return np.zeros(len(actions))
        target = pick(held)
        return _mark(moves, lambda m: m.kind == kind and m.position == target)
    return prefer


def _by_kind(*kinds: str):
    def prefer(observation: str, actions: Sequence[str]):
        parse_observation(observation)
        return _mark([parse_action(a) for a in actions], lambda m: m.kind in kinds)
    return prefer


CONVENTIONS = (
    Convention(
        "color-hint-play", GAME,
        "When you tell me the colour of some of my cards, I play exactly those cards; otherwise I give "
        "you a colour hint.", _paper("color"),
        examples=(
            "If my partner tells me the 'color' of some of my cards, I should 'play' those specific cards.",
            "If my partner does something else, e.g. discards their card or tells me the 'rank' of my "
            "cards, then I may 'hint color' to my partner.",
            "play the cards whose colour I hint",
            "a colour hint means play those cards",
            "colour clue means play",
            "if I tell you the colour of a card, play that card",
            "when you get a color hint, play the cards it touches",
            "otherwise give a colour hint",
            "give color hints and play on color hints",
        ),
        negation="hint-keep", conflicts=("hint-keep",),
    ),
    Convention(
        "rank-hint-play", GAME,
        "When you tell me the rank of some of my cards, I play exactly those cards; otherwise I give "
        "you a rank hint.", _paper("rank"),
        examples=(
            "If my partner tells me the 'rank' of some of my cards, I should 'play' those specific cards.",
            "If my partner does something else, e.g. discards their card or tells me the 'color' of my "
            "cards, then I may 'hint rank' to my partner.",
            "play the cards whose rank I hint",
            "a rank hint means play those cards",
            "number clue means play",
            "if I tell you the number of a card, play that card",
            "when you get a rank hint, play the cards it touches",
            "otherwise give a rank hint",
            "give rank hints and play on rank hints",
        ),
        negation="hint-keep", conflicts=("hint-keep",),
    ),
    Convention(
        "any-hint-play", GAME,
        "When you hint some of my cards, colour or rank, I play exactly those cards; otherwise I give "
        "you a hint.", _any_hint_play,
        examples=(
            "play whatever card gets a hint",
            "every hint means play",
            "a hint of any kind means play those cards",
            "if I hint your cards, play them, whatever the hint",
            "cards that were clued are playable",
            "play hinted cards",
        ),
        negation="hint-keep", conflicts=("hint-keep",),
    ),
    Convention(
        "hint-keep", GAME,
        "A hint marks cards to keep: after you hint my cards I neither play nor discard them.", _hint_keep,
        conditional=True,
        examples=(
            "a hint means keep those cards",
            "hinted cards are saved, keep them",
            "do not play the cards I hint",
            "never discard hinted cards",
            "hold on to cards that were clued",
            "a clue is a save clue",
        ),
        conflicts=("color-hint-play", "rank-hint-play", "any-hint-play"),
    ),
    Convention(
        "discard-oldest", GAME, "When I discard, I discard my oldest card (the chop, position A).",
        _extreme_position("discard", min),
        examples=(
            "discard the oldest card",
            "discard from chop",
            "throw away your oldest card",
            "discard the card you have held the longest",
            "chop is the oldest card, discard it",
        ),
        conflicts=("never-discard",),
    ),
    Convention(
        "play-newest", GAME, "I play my newest card (the one I drew last): a blind play.",
        _extreme_position("play", max),
        examples=(
            "play the newest card",
            "play the card you drew last",
            "blind play your newest card",
            "play your most recently drawn card",
            "finesse: play the card you just got",
        ),
    ),
    Convention(
        "hint-often", GAME, "I give you a hint whenever I can.", _by_kind("hint"),
        examples=(
            "give hints whenever possible",
            "always give hints",
            "hint a lot",
            "clue as much as you can",
            "use the hint tokens",
            "tell your partner about their cards",
        ),
    ),
    Convention(
        "never-discard", GAME, "I play or hint, and never discard.", _by_kind("play", "hint"),
        examples=(
            "do not discard",
            "only play or hint, discarding is not an option",
            "do not throw away cards",
            "avoid discarding",
            "keep every card, no discards",
        ),
        conflicts=("discard-oldest",),
    ),
)
