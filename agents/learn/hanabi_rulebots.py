"""Rule-based 2-player Hanabi players that follow the paper's two instructions, and what a player can deduce.

The colour bot follows "if my partner tells me the colour of some of my cards, I play those cards;
otherwise I hint colour to my partner"; the rank bot is the same with rank. They are the starting
point the neural agents are cloned from (the paper started from pretrained OBL agents instead) and
fallback partners for the server.

One bot, parameterised by the hint kind that means "play" (`play_hint`, "color" or "rank"). On its
turn, in order:
  1. if the partner's last move was a play hint to me, play its focus: the newest touched card;
  2. play a card that is certainly playable (deduced from hints and the cards I can see);
  3. give a play hint: a hint of the play kind whose focus (the newest card it touches) is playable
     now, lowest rank first;
  4. save the partner's chop (oldest card never hinted) when it is critical (a 5, or the last copy
     of a card still needed) or a 2 whose twin the partner does not also hold, with a hint of the
     other kind, which never means "play";
  5. discard a card known to be useless, else my chop, else my oldest card;
  6. with 8 tokens (no discard allowed) give a hint of the other kind, touching the partner's chop.
Every rule reads only what the HLE encoding shows (partner's hand, hint knowledge, board, discards,
last move), so a network without memory can imitate the bot.
"""

from __future__ import annotations

from dataclasses import dataclass

from agents.envs.hanabi.rules import (
    CARD_COPIES,
    MAX_INFORMATION_TOKENS,
    NUM_COLORS,
    NUM_RANKS,
    HanabiGame,
    MoveType,
)

HAND = 5
DISCARD, PLAY, COLOR_HINT, RANK_HINT = 0, 5, 10, 15
HINT_KINDS = ("color", "rank")
_HINT_TYPE = {"color": MoveType.REVEAL_COLOR, "rank": MoveType.REVEAL_RANK}


# ---------------------------------------------------------------------- what a player can deduce


def unseen_counts(game: HanabiGame, player: int) -> list[int]:
    """Copies of each card (colour*5 + rank) that `player` cannot see: not discarded, played or in the partner's hand."""
    counts = [CARD_COPIES[code % NUM_RANKS] for code in range(NUM_COLORS * NUM_RANKS)]
    for code in game.discard_pile:
        counts[code] -= 1
    for color, height in enumerate(game.fireworks):
        for rank in range(height):
            counts[color * NUM_RANKS + rank] -= 1
    partner = (player + 1) % game.num_players
    for order in game.hands[partner]:
        counts[game.deck_cards[order]] -= 1
    return counts


def possible_cards(game: HanabiGame, player: int, slot: int, counts: list[int] | None = None) -> list[int]:
    """Card codes `player`'s card in `slot` may be, from hints and card counting (HLE's V0 belief support)."""
    counts = unseen_counts(game, player) if counts is None else counts
    k = game.knowledge[player][slot]
    return [c * NUM_RANKS + r for c in range(NUM_COLORS) if k.color_plausible >> c & 1
            for r in range(NUM_RANKS) if k.rank_plausible >> r & 1 and counts[c * NUM_RANKS + r] > 0]


def known_class(cards: list[int]) -> str:
    """'both', 'color', 'rank' or 'none': which of colour and rank the possible cards agree on."""
    one_color = len({c // NUM_RANKS for c in cards}) == 1
    one_rank = len({c % NUM_RANKS for c in cards}) == 1
    return {(True, True): "both", (True, False): "color", (False, True): "rank"}.get((one_color, one_rank), "none")


def is_playable(game: HanabiGame, code: int) -> bool:
    return game.fireworks[code // NUM_RANKS] == code % NUM_RANKS


def is_useless(game: HanabiGame, code: int) -> bool:
    """Already played, or unplayable forever because every copy of a lower card of its colour is gone."""
    color, rank = code // NUM_RANKS, code % NUM_RANKS
    if rank < game.fireworks[color]:
        return True
    discarded = game.discard_pile
    return any(discarded.count(color * NUM_RANKS + r) == CARD_COPIES[r] for r in range(game.fireworks[color], rank))


def is_critical(game: HanabiGame, code: int) -> bool:
    """Still needed and its last copy: discarding it loses points."""
    if is_useless(game, code):
        return False
    return game.discard_pile.count(code) == CARD_COPIES[code % NUM_RANKS] - 1


def is_worth_saving(game: HanabiGame, player: int, code: int) -> bool:
    """Critical, or a 2 whose other copy is not in `player`'s hand (H-group's 2 save)."""
    if is_critical(game, code):
        return True
    in_hand = [game.deck_cards[o] for o in game.hands[player]].count(code)
    return code % NUM_RANKS == 1 and not is_useless(game, code) and in_hand == 1


def is_touched(game: HanabiGame, player: int, slot: int) -> bool:
    k = game.knowledge[player][slot]
    return k.color >= 0 or k.rank >= 0


def chop(game: HanabiGame, player: int) -> int:
    """The oldest card `player` holds that no hint has touched, or -1."""
    return next((s for s in range(len(game.hands[player])) if not is_touched(game, player, s)), -1)


# ---------------------------------------------------------------------- the bot


def hint_focus(reveal_bitmask: int) -> int:
    """The card a hint is about: the newest (highest slot) card it touched."""
    return reveal_bitmask.bit_length() - 1


def hint_uid(kind: str, value: int) -> int:
    return (COLOR_HINT if kind == "color" else RANK_HINT) + value


@dataclass(frozen=True)
class ConventionBot:
    """A rule-based player for whom a `play_hint` hint ("color" or "rank") means "play the newest touched card"."""

    play_hint: str = "color"

    def __post_init__(self) -> None:
        if self.play_hint not in HINT_KINDS:
            raise ValueError(f"play_hint must be one of {HINT_KINDS}, got {self.play_hint!r}")

    @property
    def save_hint(self) -> str:
        return "rank" if self.play_hint == "color" else "color"

    def act(self, game: HanabiGame) -> int:
        """The move uid for the player to move."""
        return self.decide(game)[0]

    def decide(self, game: HanabiGame) -> tuple[int, str]:
        """(move uid, the rule that chose it: 'follow', 'deduce', 'hint', 'save', 'discard', 'filler')."""
        me = game.current_player
        partner = (me + 1) % game.num_players
        counts = unseen_counts(game, me)
        for rule in (self._follow, self._deduce, self._play_hint, self._save, self._discard, self._filler):
            uid = rule(game, me, partner, counts)
            if uid is not None:
                return uid, rule.__name__.strip("_").replace("play_hint", "hint")
        raise AssertionError("no rule chose a move; every position has a discard or a hint")

    def _follow(self, game, me, partner, counts):
        last = game.history[-1] if game.history else None
        if last is None or last.player != partner or last.move.type is not _HINT_TYPE[self.play_hint]:
            return None
        return PLAY + hint_focus(last.reveal_bitmask)

    def _deduce(self, game, me, partner, counts):
        for slot in range(len(game.hands[me])):
            cards = possible_cards(game, me, slot, counts)
            if cards and all(is_playable(game, c) for c in cards):
                return PLAY + slot
        return None

    def _play_hint(self, game, me, partner, counts):
        if game.information_tokens == 0:
            return None
        hand = [game.deck_cards[o] for o in game.hands[partner]]
        partner_counts = unseen_counts(game, partner)
        best = None
        for value in range(NUM_COLORS if self.play_hint == "color" else NUM_RANKS):
            touched = [s for s, code in enumerate(hand) if _value(code, self.play_hint) == value]
            if not touched or not is_playable(game, hand[touched[-1]]):
                continue
            focus = touched[-1]
            already_known = all(is_playable(game, c) for c in possible_cards(game, partner, focus, partner_counts))
            key = (already_known, hand[focus] % NUM_RANKS)
            if best is None or key < best[0]:
                best = (key, hint_uid(self.play_hint, value))
        return None if best is None or best[0][0] else best[1]

    def _save(self, game, me, partner, counts):
        slot = chop(game, partner)
        if game.information_tokens == 0 or slot < 0:
            return None
        code = game.deck_cards[game.hands[partner][slot]]
        if not is_worth_saving(game, partner, code):
            return None
        return hint_uid(self.save_hint, _value(code, self.save_hint))

    def _discard(self, game, me, partner, counts):
        if game.information_tokens == MAX_INFORMATION_TOKENS:
            return None
        held = range(len(game.hands[me]))
        for slot in held:
            cards = possible_cards(game, me, slot, counts)
            if cards and all(is_useless(game, c) for c in cards):
                return DISCARD + slot
        slot = chop(game, me)
        return DISCARD + (slot if slot >= 0 else 0)

    def _filler(self, game, me, partner, counts):
        hand = [game.deck_cards[o] for o in game.hands[partner]]
        slot = max(chop(game, partner), 0)
        return hint_uid(self.save_hint, _value(hand[slot], self.save_hint))


def _value(code: int, kind: str) -> int:
    return code // NUM_RANKS if kind == "color" else code % NUM_RANKS
