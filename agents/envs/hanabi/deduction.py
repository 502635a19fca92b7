"""What a Hanabi player can deduce about cards from hints and card counting, and what the cards are worth.

Card codes are colour * 5 + rank (rules.card_code). `possible_cards` is HLE's V0 belief support: the
cards a slot may hold given the hints its holder received and the copies the holder cannot see. The
rest names a card's standing on the board (playable, useless, critical, worth saving), which cards a
hint touched (`is_touched`, `hint_focus`) and the chop, the oldest card no hint has touched.
"""

from __future__ import annotations

from agents.envs.hanabi.rules import CARD_COPIES, NUM_COLORS, NUM_RANKS, HanabiGame


def unseen_counts(game: HanabiGame, player: int) -> list[int]:
    """Copies of each card (colour*5 + rank) that `player` cannot see: not discarded, played or in the partner's hand."""
    counts = public_counts(game)
    partner = (player + 1) % game.num_players
    for order in game.hands[partner]:
        counts[game.deck_cards[order]] -= 1
    return counts


def public_counts(game: HanabiGame) -> list[int]:
    """Copies of each card (colour*5 + rank) not yet discarded or played: what anyone at the table, or a
    spectator, can count. Deductions from these reveal nothing about any hand."""
    counts = [CARD_COPIES[code % NUM_RANKS] for code in range(NUM_COLORS * NUM_RANKS)]
    for code in game.discard_pile:
        counts[code] -= 1
    for color, height in enumerate(game.fireworks):
        for rank in range(height):
            counts[color * NUM_RANKS + rank] -= 1
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


def hint_focus(reveal_bitmask: int) -> int:
    """The card a hint is about: the newest (highest slot) card it touched."""
    return reveal_bitmask.bit_length() - 1
