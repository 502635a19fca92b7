"""Rule-based 2-player Hanabi players that follow the paper's two instructions.

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
last move), so a network without memory can imitate the bot. What a player can deduce is
agents/envs/hanabi/deduction.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from agents.envs.hanabi.deduction import (
    chop,
    hint_focus,
    is_playable,
    is_useless,
    is_worth_saving,
    possible_cards,
    unseen_counts,
)
from agents.envs.hanabi.rules import (
    DISCARD_UIDS,
    HINT_UIDS,
    MAX_INFORMATION_TOKENS,
    NUM_COLORS,
    NUM_RANKS,
    PLAY_UIDS,
    HanabiGame,
    MoveType,
)

_HINT_TYPE = {"color": MoveType.REVEAL_COLOR, "rank": MoveType.REVEAL_RANK}


@dataclass(frozen=True)
class ConventionBot:
    """A rule-based player for whom a `play_hint` hint ("color" or "rank") means "play the newest touched card"."""

    play_hint: str = "color"

    def __post_init__(self) -> None:
        if self.play_hint not in HINT_UIDS:
            raise ValueError(f"play_hint must be one of {tuple(HINT_UIDS)}, got {self.play_hint!r}")

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
        return PLAY_UIDS[hint_focus(last.reveal_bitmask)]

    def _deduce(self, game, me, partner, counts):
        for slot in range(len(game.hands[me])):
            cards = possible_cards(game, me, slot, counts)
            if cards and all(is_playable(game, c) for c in cards):
                return PLAY_UIDS[slot]
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
                best = (key, HINT_UIDS[self.play_hint][value])
        return None if best is None or best[0][0] else best[1]

    def _save(self, game, me, partner, counts):
        slot = chop(game, partner)
        if game.information_tokens == 0 or slot < 0:
            return None
        code = game.deck_cards[game.hands[partner][slot]]
        if not is_worth_saving(game, partner, code):
            return None
        return HINT_UIDS[self.save_hint][_value(code, self.save_hint)]

    def _discard(self, game, me, partner, counts):
        if game.information_tokens == MAX_INFORMATION_TOKENS:
            return None
        held = range(len(game.hands[me]))
        for slot in held:
            cards = possible_cards(game, me, slot, counts)
            if cards and all(is_useless(game, c) for c in cards):
                return DISCARD_UIDS[slot]
        slot = chop(game, me)
        return DISCARD_UIDS[slot if slot >= 0 else 0]

    def _filler(self, game, me, partner, counts):
        hand = [game.deck_cards[o] for o in game.hands[partner]]
        slot = max(chop(game, partner), 0)
        return HINT_UIDS[self.save_hint][_value(hand[slot], self.save_hint)]


def _value(code: int, kind: str) -> int:
    return code // NUM_RANKS if kind == "color" else code % NUM_RANKS
