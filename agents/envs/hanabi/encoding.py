"""HLE's canonical vectorized observation and legal-move mask, bit for bit (hanabi_lib/canonical_encoders.cc).

Sections, all relative to the observer (hand 0 is the observer's own, then round the table):
- hands (p-1)*h*25 + p: the other players' cards one-hot (colour*5 + rank), then one bit per player
  whose hand is short a card (the deck ran out);
- board 50-p*h + 25 + 8 + 3: deck-size thermometer, fireworks one-hot of each colour's top rank,
  information-token thermometer, life-token thermometer;
- discards 50: per colour and rank a thermometer over that card's copies (3, 2, 2, 2, 1 bits);
- last action p+4+p+5+5+h+h+25+2: the most recent move's player (offset from the observer), type
  (play, discard, colour hint, rank hint), hint target (offset from the observer), colour, rank,
  touched slots, played/discarded slot, the card, and for plays "scored" and "gave a token";
- card knowledge p*h*(25+5+5): for every card of every hand, which of the 25 cards it may still be
  from hints alone (HLE's binary plausibility, not card-count aware), its hinted colour and rank.

Sizes: 658, 956, 1041, 1280 for 2, 3, 4, 5 players. HLE encodes integers; we return float32 by default.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from agents.envs.hanabi.rules import (
    CARD_COPIES,
    DECK_SIZE,
    MAX_INFORMATION_TOKENS,
    MAX_LIFE_TOKENS,
    NUM_COLORS,
    NUM_RANKS,
    HanabiGame,
    MoveType,
    hand_size_for,
    num_moves,
)

BITS_PER_CARD = NUM_COLORS * NUM_RANKS
KNOWLEDGE_BITS_PER_CARD = BITS_PER_CARD + NUM_COLORS + NUM_RANKS
_MOVE_TYPE_BIT = {MoveType.PLAY: 0, MoveType.DISCARD: 1, MoveType.REVEAL_COLOR: 2, MoveType.REVEAL_RANK: 3}


@lru_cache(maxsize=None)
def section_sizes(num_players: int) -> dict[str, int]:
    """Length of each section, in encoding order."""
    h, p = hand_size_for(num_players), num_players
    return {
        "hands": (p - 1) * h * BITS_PER_CARD + p,
        "board": DECK_SIZE - p * h + BITS_PER_CARD + MAX_INFORMATION_TOKENS + MAX_LIFE_TOKENS,
        "discards": DECK_SIZE,
        "last_action": p + 4 + p + NUM_COLORS + NUM_RANKS + h + h + BITS_PER_CARD + 2,
        "card_knowledge": p * h * KNOWLEDGE_BITS_PER_CARD,
    }


@lru_cache(maxsize=None)
def section_offsets(num_players: int) -> dict[str, int]:
    """Index where each section starts."""
    offsets, start = {}, 0
    for name, size in section_sizes(num_players).items():
        offsets[name] = start
        start += size
    return offsets


def encoding_size(num_players: int) -> int:
    """658, 956, 1041, 1280 for 2, 3, 4, 5 players."""
    return sum(section_sizes(num_players).values())


def _discard_starts() -> list[int]:
    """Start of each card code's thermometer in the discard section (colour-major, copies per rank)."""
    starts, start = [], 0
    for _ in range(NUM_COLORS):
        for copies in CARD_COPIES:
            starts.append(start)
            start += copies
    return starts


_DISCARD_STARTS = _discard_starts()


def _plausible_rows() -> np.ndarray:
    """rows[color_mask, rank_mask] = the 25 plausibility bits of a card with those plausible colours and ranks."""
    rows = np.zeros((1 << NUM_COLORS, 1 << NUM_RANKS, BITS_PER_CARD), dtype=np.float32)
    for cm in range(1 << NUM_COLORS):
        for rm in range(1 << NUM_RANKS):
            for c in range(NUM_COLORS):
                for r in range(NUM_RANKS):
                    rows[cm, rm, c * NUM_RANKS + r] = (cm >> c & 1) and (rm >> r & 1)
    return rows


_PLAUSIBLE_ROWS = _plausible_rows()


def encode(game: HanabiGame, observer: int, dtype=np.float32) -> np.ndarray:
    """The canonical observation of `observer` (any player, on turn or not), as HLE's ObservationEncoder."""
    p, h = game.num_players, game.hand_size
    offsets = section_offsets(p)
    out = np.zeros(encoding_size(p), dtype=np.float32)
    ones: list[int] = []
    seats = [(observer + k) % p for k in range(p)]

    # hands
    base = offsets["hands"]
    for k in range(1, p):
        start = base + (k - 1) * h * BITS_PER_CARD
        ones.extend(start + i * BITS_PER_CARD + game.deck_cards[o] for i, o in enumerate(game.hands[seats[k]]))
    missing = base + (p - 1) * h * BITS_PER_CARD
    ones.extend(missing + k for k in range(p) if len(game.hands[seats[k]]) < h)

    # board
    base = offsets["board"]
    ones.extend(range(base, base + game.deck_size))
    base += DECK_SIZE - p * h
    ones.extend(base + c * NUM_RANKS + f - 1 for c, f in enumerate(game.fireworks) if f > 0)
    base += BITS_PER_CARD
    ones.extend(range(base, base + game.information_tokens))
    base += MAX_INFORMATION_TOKENS
    ones.extend(range(base, base + game.life_tokens))

    # discards
    base = offsets["discards"]
    counts: dict[int, int] = {}
    for code in game.discard_pile:
        counts[code] = counts.get(code, 0) + 1
    for code, n in counts.items():
        start = base + _DISCARD_STARTS[code]
        ones.extend(range(start, start + n))

    if game.history:
        ones.extend(_last_action_ones(game, observer, offsets["last_action"]))

    out[ones] = 1
    # card knowledge
    base = offsets["card_knowledge"]
    for k in range(p):
        for i, know in enumerate(game.knowledge[seats[k]]):
            start = base + (k * h + i) * KNOWLEDGE_BITS_PER_CARD
            out[start:start + BITS_PER_CARD] = _PLAUSIBLE_ROWS[know.color_plausible, know.rank_plausible]
            if know.color >= 0:
                out[start + BITS_PER_CARD + know.color] = 1
            if know.rank >= 0:
                out[start + BITS_PER_CARD + NUM_COLORS + know.rank] = 1
    return out if dtype == np.float32 else out.astype(dtype)


def _last_action_ones(game: HanabiGame, observer: int, base: int) -> list[int]:
    """Indices set by the most recent move (HLE: the last non-deal history item)."""
    p, h = game.num_players, game.hand_size
    item = game.history[-1]
    move = item.move
    acting = (item.player - observer) % p
    ones = [base + acting, base + p + _MOVE_TYPE_BIT[move.type]]
    base += p + 4
    if move.is_hint:
        ones.append(base + (acting + move.target_offset) % p)
    base += p
    if move.type is MoveType.REVEAL_COLOR:
        ones.append(base + move.color)
    base += NUM_COLORS
    if move.type is MoveType.REVEAL_RANK:
        ones.append(base + move.rank)
    base += NUM_RANKS
    if move.is_hint:
        ones.extend(base + i for i in range(h) if item.reveal_bitmask >> i & 1)
        return ones
    base += h
    ones.append(base + move.card_index)
    base += h
    ones.append(base + item.color * NUM_RANKS + item.rank)
    base += BITS_PER_CARD
    if move.type is MoveType.PLAY:
        if item.scored:
            ones.append(base)
        if item.information_token:
            ones.append(base + 1)
    return ones


def legal_mask(game: HanabiGame, player: int) -> np.ndarray:
    """HLE's legal moves for `player` as a boolean mask over uids: all False unless it is their turn."""
    mask = np.zeros(num_moves(game.num_players), dtype=bool)
    if player == game.current_player:
        mask[game.legal_moves()] = True
    return mask
