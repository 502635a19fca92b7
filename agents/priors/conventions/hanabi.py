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
- discard-oldest: when I discard, discard my oldest card (the chop; position A): other discards get 0.
- play-newest: play my newest card (the last position I hold): a blind play.
- hint-often: give a hint whenever I can.
- never-discard: play or hint, never discard.
- keep-hinted-by-color / keep-hinted-by-rank: hint-keep for one kind of hint only, so that "colour hints
  mean play, rank hints mean save" is color-hint-play plus keep-hinted-by-rank.

The conventions people ask for that need the table, not only the partner's last move (`situational`):
they read the lines `situation_text` adds under the paper's move text (fireworks, hint tokens, discards,
what I know of my cards, my partner's cards; `observation_text` is both) and stay silent without them.
- save-critical: when my partner's chop (oldest unhinted card) is critical (a 5, or the last copy of a card
  still needed), hint it (a hint that touches it); otherwise never discard a card of mine that hints have
  touched and that may be critical.
- play-ones-first: when I hold a card known to be a 1 that may be playable, play it.
- hint-only-certain: give only hints that touch a card my partner can play now (plays and discards free).
- play-only-certain: play only cards I know are playable (hints and discards free).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from agents.envs.hanabi.deduction import possible_cards
from agents.envs.hanabi.language import partner_last_move_text
from agents.envs.hanabi.rules import CARD_COPIES, COLOR_NAMES, COLORS, NUM_RANKS, POSITIONS, HanabiGame, card_name
from agents.priors.conventions.convention import Convention

GAME = "hanabi"

_HINT = re.compile(r"told me that the (colou?r|rank) of my cards? at positions? ([A-E](?:\s*(?:,\s*and|,|and)\s*[A-E])*)"
                   r" (?:is|are) (\w+)", re.IGNORECASE)
_PLAY = re.compile(r"played their card at position ([A-E])", re.IGNORECASE)
_DISCARD = re.compile(r"discarded their card at position ([A-E])", re.IGNORECASE)
_NOTHING = re.compile(r"did nothing", re.IGNORECASE)
_ACTION = re.compile(r"^\s*(play|discard) my card at position ([A-E])\s*$"
                     r"|^\s*hint '?(colou?r|rank)\b ?([a-z0-9]*)'? to my partner\s*$", re.IGNORECASE)


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
    value: str | None = None         # the hint's value when the text names it ("red", "5"); None otherwise


@functools.lru_cache(maxsize=4096)
def parse_observation(text: str) -> PartnerMove:
    """The partner's last move, from its text. Raises ValueError on a text in none of the forms. Cached: the
    same few texts recur every turn (a PartnerMove is immutable)."""
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


@functools.lru_cache(maxsize=1024)
def parse_action(text: str) -> Move:
    """One move of the agent from its text (the paper's wording); cached: there are 20 moves, each in a text or two."""
    m = _ACTION.match(text)
    if m is None:
        return Move("other")
    if m.group(1):
        return Move(m.group(1).lower(), POSITIONS.index(m.group(2)))
    return Move("hint", hint="color" if m.group(3).lower().startswith("colo") else "rank", value=m.group(4).lower() or None)


# -- the table, for the conventions that need more than the partner's last move --------------------------


@dataclass(frozen=True)
class MyCard:
    told_color: bool
    told_rank: bool
    possible: tuple[int, ...]        # card codes (colour * 5 + rank) it may be, from hints and card counting

    @property
    def touched(self) -> bool:
        return self.told_color or self.told_rank


@dataclass(frozen=True)
class TheirCard:
    code: int
    told_color: bool
    told_rank: bool

    @property
    def touched(self) -> bool:
        return self.told_color or self.told_rank


@dataclass(frozen=True)
class Situation:
    """What the player to move sees of the table, as `situation_text` writes it."""

    fireworks: tuple[int, ...]       # height per colour, R Y G W B
    hint_tokens: int
    discards: tuple[int, ...]        # card codes
    mine: tuple[MyCard, ...]         # my hand, A (oldest) first
    partner: tuple[TheirCard, ...]   # my partner's hand, A (oldest) first

    def playable(self, code: int) -> bool:
        return self.fireworks[code // NUM_RANKS] == code % NUM_RANKS

    def useless(self, code: int) -> bool:
        """Already played, or never playable again (every copy of a lower card of its colour is gone)."""
        color, rank = divmod(code, NUM_RANKS)
        if rank < self.fireworks[color]:
            return True
        return any(self.discards.count(color * NUM_RANKS + r) == CARD_COPIES[r] for r in range(self.fireworks[color], rank))

    def critical(self, code: int) -> bool:
        """Still needed, and its last copy (every 5 until it is played)."""
        return not self.useless(code) and self.discards.count(code) == CARD_COPIES[code % NUM_RANKS] - 1

    def chop(self) -> int | None:
        """My partner's oldest card that no hint has touched."""
        return next((i for i, card in enumerate(self.partner) if not card.touched), None)


def _told(color: bool, rank: bool) -> str:
    told = " and ".join(w for w, on in (("color", color), ("rank", rank)) if on)
    return f" (told {told})" if told else ""


def situation_text(game: HanabiGame, player: int) -> str:
    """The table as `player` sees it, in lines the situational conventions read, e.g.
    Fireworks: R1 Y0 G0 W0 B2. Hint tokens: 5. Discards: R1 Y3.
    My cards: A could be R2 Y1 G1; B (told rank) could be R1 G1; ...
    My partner's cards: A R5; B Y1 (told color); ..."""
    partner = (player + 1) % game.num_players
    fireworks = " ".join(f"{COLORS[c]}{h}" for c, h in enumerate(game.fireworks))
    discards = " ".join(card_name(code) for code in game.discard_pile) or "none"
    mine = "; ".join(f"{POSITIONS[i]}{_told(k.color >= 0, k.rank >= 0)} could be "
                     + " ".join(card_name(code) for code in possible_cards(game, player, i))
                     for i, k in enumerate(game.knowledge[player]))
    theirs = "; ".join(f"{POSITIONS[i]} {card_name(game.deck_cards[order])}{_told(k.color >= 0, k.rank >= 0)}"
                       for i, (order, k) in enumerate(zip(game.hands[partner], game.knowledge[partner])))
    return (f"Fireworks: {fireworks}. Hint tokens: {game.information_tokens}. Discards: {discards}.\n"
            f"My cards: {mine}.\nMy partner's cards: {theirs}.")


def observation_text(game: HanabiGame, player: int) -> str:
    """What the conventions read at `player`'s turn: the paper's text of the partner's last move, then the table."""
    return f"{partner_last_move_text(game, player)}\n{situation_text(game, player)}"


_CARD = r"[RYGWB][1-5]"
_TABLE = re.compile(rf"Fireworks: ((?:[RYGWB]\d ?){{5}})\. Hint tokens: (\d+)\. Discards: ([^.]*)\.")
_MINE = re.compile(r"My cards: ([^\n]*?)\.?$", re.MULTILINE)
_THEIRS = re.compile(r"My partner's cards: ([^\n]*?)\.?$", re.MULTILINE)
_MY_CARD = re.compile(rf"^([A-E])(?: \(told ([a-z ]+)\))? could be ((?:{_CARD} ?)*)$")
_THEIR_CARD = re.compile(rf"^([A-E]) ({_CARD})(?: \(told ([a-z ]+)\))?$")


def _code(name: str) -> int:
    return COLORS.index(name[0]) * NUM_RANKS + int(name[1]) - 1


@functools.lru_cache(maxsize=4096)
def parse_situation(text: str) -> Situation | None:
    """The table from an observation text, or None when the text has no table (the paper's texts alone)."""
    table, mine, theirs = _TABLE.search(text or ""), _MINE.search(text or ""), _THEIRS.search(text or "")
    if not (table and mine and theirs):
        return None
    fireworks = tuple(int(x[1]) for x in table.group(1).split())
    discards = tuple(_code(x) for x in re.findall(_CARD, table.group(3)))
    my_cards = []
    for part in mine.group(1).split("; "):
        m = _MY_CARD.match(part.strip())
        if m is None:
            raise ValueError(f"not a card of mine in the situation text: {part!r}")
        told = m.group(2) or ""
        my_cards.append(MyCard("color" in told, "rank" in told, tuple(_code(x) for x in m.group(3).split())))
    their_cards = []
    for part in theirs.group(1).split("; "):
        m = _THEIR_CARD.match(part.strip())
        if m is None:
            raise ValueError(f"not a card of my partner's in the situation text: {part!r}")
        told = m.group(3) or ""
        their_cards.append(TheirCard(_code(m.group(2)), "color" in told, "rank" in told))
    return Situation(fireworks, int(table.group(2)), discards, tuple(my_cards), tuple(their_cards))


def touches(move: Move, code: int) -> bool:
    """Whether a hint move touches a card: by its value when the text names one; a hint text without a value
    (the paper's " hint color to my partner") stands for every hint of its kind, so it may."""
    if move.kind != "hint":
        return False
    if move.value is None:
        return True
    if move.hint == "color":
        return move.value in COLOR_NAMES and COLOR_NAMES.index(move.value) == code // NUM_RANKS
    return move.value.isdigit() and int(move.value) - 1 == code % NUM_RANKS


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


def _hint_keep(kind: str | None):
    """Keep the cards the partner's last hint touched (any hint, or only hints of `kind`)."""
    def prefer(observation: str, actions: Sequence[str]):
        last = parse_observation(observation)
        if last.kind != "hint" or kind is not None and last.hint != kind:
            return None
        return _mark([parse_action(a) for a in actions],
                     lambda m: not (m.kind in ("play", "discard") and m.position in last.positions))
    return prefer


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


def _discard_oldest(observation: str, actions: Sequence[str]):
    """Any move but a discard of a card other than my oldest: when I discard, it is the chop."""
    parse_observation(observation)
    moves = [parse_action(a) for a in actions]
    held = [m.position for m in moves if m.kind == "discard"]
    return _mark(moves, lambda m: m.kind != "discard" or m.position == min(held))


def _by_kind(*kinds: str):
    def prefer(observation: str, actions: Sequence[str]):
        parse_observation(observation)
        return _mark([parse_action(a) for a in actions], lambda m: m.kind in kinds)
    return prefer


def _save_critical(observation: str, actions: Sequence[str]):
    table = parse_situation(observation)
    if table is None:
        return None
    moves = [parse_action(a) for a in actions]
    chop = table.chop()
    if chop is not None and table.critical(table.partner[chop].code):
        card = table.partner[chop].code
        if any(touches(m, card) for m in moves):
            return _mark(moves, lambda m: touches(m, card))
    risky = {i for i, card in enumerate(table.mine) if card.touched and any(table.critical(c) for c in card.possible)}
    if any(m.kind == "discard" and m.position in risky for m in moves):
        return _mark(moves, lambda m: not (m.kind == "discard" and m.position in risky))
    return None


def _play_ones_first(observation: str, actions: Sequence[str]):
    table = parse_situation(observation)
    if table is None:
        return None
    ones = {i for i, card in enumerate(table.mine)
            if card.possible and all(c % NUM_RANKS == 0 for c in card.possible) and any(table.playable(c) for c in card.possible)}
    moves = [parse_action(a) for a in actions]
    if not any(m.kind == "play" and m.position in ones for m in moves):
        return None
    return _mark(moves, lambda m: m.kind == "play" and m.position in ones)


def _hint_only_certain(observation: str, actions: Sequence[str]):
    table = parse_situation(observation)
    moves = [parse_action(a) for a in actions]
    if table is None or not any(m.kind == "hint" for m in moves):
        return None
    playable = [card.code for card in table.partner if table.playable(card.code)]
    return _mark(moves, lambda m: m.kind != "hint" or any(touches(m, code) for code in playable))


def _play_only_certain(observation: str, actions: Sequence[str]):
    table = parse_situation(observation)
    if table is None:
        return None
    sure = {i for i, card in enumerate(table.mine) if card.possible and all(table.playable(c) for c in card.possible)}
    return _mark([parse_action(a) for a in actions], lambda m: m.kind != "play" or m.position in sure)


def _tags(*names: str) -> frozenset[str]:
    return frozenset(names)


def _signature(*alternatives: str) -> tuple[frozenset[str], ...]:
    """Signature alternatives (convention.py), each written as its tags separated by spaces."""
    return tuple(frozenset(a.split()) for a in alternatives)


_RANK_VALUES = ("N1", "N2", "N3", "N4", "N5", "FIVE", "ONES")
_KEEPS = ("hint-keep", "keep-hinted-by-color", "keep-hinted-by-rank")

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
        negation="keep-hinted-by-color", conflicts=("hint-keep", "keep-hinted-by-color"),
        accepts=_tags("COLOR", "COLOR_NAME", "HINT", "PLAY", "PLAYABLE", "NOW"),
        requires=(_tags("COLOR", "HINT"), _tags("COLOR", "COLOR_NAME"), _tags("PLAY", "PLAYABLE", "HINT")),
        hint_kind="color",
        signature=_signature("PLAY POS", "PLAYABLE POS", "HINT POS"),
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
        negation="keep-hinted-by-rank", conflicts=("hint-keep", "keep-hinted-by-rank"),
        accepts=_tags("RANK", "HINT", "PLAY", "PLAYABLE", "NOW", *_RANK_VALUES),
        requires=(_tags("RANK", "HINT"), _tags("RANK", *_RANK_VALUES), _tags("PLAY", "PLAYABLE", "HINT")),
        hint_kind="rank",
        signature=_signature("PLAY POS", "PLAYABLE POS", "HINT POS"),
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
        negation="hint-keep", conflicts=_KEEPS,
        accepts=_tags("HINT", "PLAY", "PLAYABLE", "COLOR", "RANK", "NOW", "NOHINT"),
        requires=(_tags("HINT"), _tags("PLAY", "PLAYABLE")), hint_kind="any", subsumes=("color-hint-play", "rank-hint-play"),
        signature=_signature("PLAY POS", "PLAYABLE POS", "NOHINT"),
    ),
    Convention(
        "hint-keep", GAME,
        "When you hint some of my cards, I keep those cards rather than play or discard them.", _hint_keep(None),
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
        accepts=_tags("HINT", "KEEP", "PLAY", "DISCARD", "COLOR", "RANK"),
        requires=(_tags("HINT"), _tags("KEEP", "NOT"), _tags("KEEP", "PLAY", "DISCARD")), hint_kind="any",
        subsumes=("keep-hinted-by-color", "keep-hinted-by-rank"),
        signature=_signature("KEEP POS", "PLAY NOT", "DISCARD NOT"),
    ),
    Convention(
        "keep-hinted-by-color", GAME,
        "When you tell me the colour of some of my cards, I keep those cards rather than play or discard them.",
        _hint_keep("color"), conditional=True,
        examples=(
            "a colour hint means keep those cards",
            "cards I hint by colour are to be kept, not played",
            "do not play cards I tell you the colour of",
            "colour clues are save clues",
            "hold on to the cards I clue with a colour",
        ),
        conflicts=("color-hint-play", "any-hint-play"),
        accepts=_tags("COLOR", "COLOR_NAME", "HINT", "KEEP", "PLAY", "DISCARD"),
        requires=(_tags("COLOR", "HINT"), _tags("COLOR", "COLOR_NAME"), _tags("KEEP", "NOT"), _tags("KEEP", "PLAY", "DISCARD")),
        hint_kind="color",
        signature=_signature("KEEP POS", "PLAY NOT", "DISCARD NOT"),
    ),
    Convention(
        "keep-hinted-by-rank", GAME,
        "When you tell me the rank of some of my cards, I keep those cards rather than play or discard them.",
        _hint_keep("rank"), conditional=True,
        examples=(
            "a rank hint means keep those cards",
            "cards I hint by number are to be kept, not played",
            "do not play cards I tell you the rank of",
            "rank clues are save clues",
            "hold on to the cards I clue with a number",
        ),
        conflicts=("rank-hint-play", "any-hint-play"),
        accepts=_tags("RANK", "HINT", "KEEP", "PLAY", "DISCARD", "N2", "N3", "N4"),
        requires=(_tags("RANK", "HINT"), _tags("RANK", "N2", "N3", "N4"), _tags("KEEP", "NOT"), _tags("KEEP", "PLAY", "DISCARD")),
        hint_kind="rank",
        signature=_signature("KEEP POS", "PLAY NOT", "DISCARD NOT"),
    ),
    Convention(
        "discard-oldest", GAME, "When I discard, I discard my oldest card (the chop).",
        _discard_oldest,
        examples=(
            "discard the oldest card",
            "discard from chop",
            "throw away your oldest card",
            "discard the card you have held the longest",
            "chop is the oldest card, discard it",
        ),
        conflicts=("never-discard",),
        accepts=_tags("DISCARD", "OLD", "HINT"), requires=(_tags("DISCARD"), _tags("OLD")),
        signature=_signature("DISCARD OLD POS"),
    ),
    Convention(
        "play-newest", GAME, "I play my newest card (the one I drew last) as a blind play.",
        _extreme_position("play", max),
        examples=(
            "play the newest card",
            "play the card you drew last",
            "blind play your newest card",
            "play your most recently drawn card",
            "the card you picked up last is the one to play",
        ),
        conflicts=("play-only-certain",),
        accepts=_tags("PLAY", "NEW", "BLIND"), requires=(_tags("PLAY"), _tags("NEW")),
        signature=_signature("PLAY NEW POS"),
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
        conflicts=("hint-only-certain",),
        accepts=_tags("HINT", "OFTEN"), requires=(_tags("HINT"),),
        signature=_signature("HINT POS"),
    ),
    Convention(
        "never-discard", GAME, "I never discard a card.", _by_kind("play", "hint"),
        examples=(
            "do not discard",
            "only play or hint, discarding is not an option",
            "do not throw away cards",
            "avoid discarding",
            "keep every card, no discards",
        ),
        conflicts=("discard-oldest",),
        accepts=_tags("DISCARD", "KEEP", "PLAY"), requires=(_tags("DISCARD", "KEEP"), _tags("NOT", "KEEP")),
        signature=_signature("DISCARD NOT", "KEEP POS"),
    ),
    Convention(
        "save-critical", GAME,
        "I save critical cards (5s and last copies): when your oldest unhinted card is critical I hint it, and I "
        "never discard a hinted card of mine that may be critical.", _save_critical,
        conditional=True, situational=True,
        examples=(
            "save the 5s",
            "protect critical cards",
            "do not let a last copy be discarded",
            "hint a critical card before it gets thrown away",
            "fives must never be discarded",
            "give a save hint to critical cards on chop",
        ),
        accepts=_tags("CRIT", "FIVE", "KEEP", "DISCARD", "HINT", "RANK", "OLD"), requires=(_tags("CRIT", "FIVE"),),
        signature=_signature("CRIT", "FIVE KEEP", "FIVE DISCARD", "FIVE OLD"),
    ),
    Convention(
        "play-ones-first", GAME, "I play my cards known to be 1s first, when they may be playable.", _play_ones_first,
        conditional=True, situational=True,
        examples=(
            "play 1s first",
            "start by playing your ones",
            "ones are played before anything else",
            "known 1s get played first",
            "when you know a card is a one, play it before anything else",
        ),
        accepts=_tags("ONES", "N1", "FIRST", "PLAY", "PLAYABLE", "SURE"), requires=(_tags("ONES", "N1"),),
        signature=_signature("ONES POS", "N1 POS"),
    ),
    Convention(
        "hint-only-certain", GAME,
        "I give a hint only when it touches a card you can play right now.", _hint_only_certain, situational=True,
        examples=(
            "only give hints you are sure about",
            "hint only cards that are playable now",
            "do not give a hint unless it is certain to help",
            "only clue playable cards",
            "give a hint only when it lets your partner play a card now",
        ),
        conflicts=("hint-often",),
        accepts=_tags("ONLY", "HINT", "SURE", "PLAYABLE", "NOW", "PLAY", "RESTRICT"),
        requires=(_tags("HINT"), _tags("SURE", "PLAYABLE", "NOW")),
        signature=_signature("HINT ONLY SURE", "HINT ONLY PLAYABLE", "HINT ONLY NOW", "HINT RESTRICT"),
    ),
    Convention(
        "play-only-certain", GAME, "I play a card only when I know it is playable.", _play_only_certain,
        situational=True,
        examples=(
            "only play cards you know are playable",
            "do not play a card unless you are certain",
            "no blind plays",
            "play only when it is safe",
            "never guess when playing",
        ),
        conflicts=("play-newest",),
        accepts=_tags("PLAY", "SURE", "PLAYABLE", "BLIND", "RESTRICT", "NOW"),
        requires=(_tags("PLAY", "BLIND"), _tags("SURE", "BLIND", "PLAYABLE")),
        signature=_signature("PLAY SURE", "PLAY PLAYABLE", "PLAYABLE ONLY", "PLAYABLE RESTRICT", "BLIND NOT"),
    ),
)
