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


def _knowledge_rows() -> np.ndarray:
    """The 35 knowledge bits of every possible CardKnowledge, one row per _knowledge_row_index, then a zero row.

    A row is the 25 plausibility bits (plausible colour AND plausible rank), the hinted colour one-hot
    and the hinted rank one-hot (all zero when not hinted, i.e. for index -1).
    """
    color_bits = (np.arange(1 << NUM_COLORS)[:, None] >> np.arange(NUM_COLORS)) & 1  # [mask, colour]
    rank_bits = (np.arange(1 << NUM_RANKS)[:, None] >> np.arange(NUM_RANKS)) & 1
    plausible = (color_bits[:, None, :, None] & rank_bits[None, :, None, :]).reshape(
        1 << NUM_COLORS, 1 << NUM_RANKS, 1, 1, BITS_PER_CARD)
    color_hint = np.eye(NUM_COLORS + 1, NUM_COLORS, k=-1, dtype=np.int64)  # row 0 (no hint) is all zero
    rank_hint = np.eye(NUM_RANKS + 1, NUM_RANKS, k=-1, dtype=np.int64)
    shape = (1 << NUM_COLORS, 1 << NUM_RANKS, NUM_COLORS + 1, NUM_RANKS + 1)
    rows = np.concatenate([
        np.broadcast_to(plausible, shape + (BITS_PER_CARD,)),
        np.broadcast_to(color_hint[None, None, :, None, :], shape + (NUM_COLORS,)),
        np.broadcast_to(rank_hint[None, None, None, :, :], shape + (NUM_RANKS,)),
    ], axis=-1).reshape(-1, KNOWLEDGE_BITS_PER_CARD)
    return np.concatenate([rows, np.zeros((1, KNOWLEDGE_BITS_PER_CARD), dtype=rows.dtype)]).astype(np.uint8)


def _knowledge_row_index(color_plausible: int, rank_plausible: int, color: int, rank: int) -> int:
    return (((color_plausible << NUM_RANKS) | rank_plausible) * (NUM_COLORS + 1) + color + 1) * (NUM_RANKS + 1) + rank + 1


_NUM_KNOWLEDGE_ROWS = (1 << (NUM_COLORS + NUM_RANKS)) * (NUM_COLORS + 1) * (NUM_RANKS + 1)
_KNOWLEDGE_ROWS = _knowledge_rows()  # 36,865 x 35 bytes


def encode(game: HanabiGame, observer: int, dtype=np.float32) -> np.ndarray:
    """The canonical observation of `observer` (any player, on turn or not), as HLE's ObservationEncoder."""
    p, h = game.num_players, game.hand_size
    offsets = section_offsets(p)
    bits = bytearray(offsets["card_knowledge"])  # every section but card knowledge, one byte per bit
    seats = [(observer + k) % p for k in range(p)]

    # hands
    for k in range(1, p):
        start = offsets["hands"] + (k - 1) * h * BITS_PER_CARD
        for i, order in enumerate(game.hands[seats[k]]):
            bits[start + i * BITS_PER_CARD + game.deck_cards[order]] = 1
    missing = offsets["hands"] + (p - 1) * h * BITS_PER_CARD
    for k in range(p):
        if len(game.hands[seats[k]]) < h:
            bits[missing + k] = 1

    # board
    base = offsets["board"]
    bits[base:base + game.deck_size] = b"\x01" * game.deck_size
    base += DECK_SIZE - p * h
    for color, height in enumerate(game.fireworks):
        if height > 0:
            bits[base + color * NUM_RANKS + height - 1] = 1
    base += BITS_PER_CARD
    bits[base:base + game.information_tokens] = b"\x01" * game.information_tokens
    base += MAX_INFORMATION_TOKENS
    bits[base:base + game.life_tokens] = b"\x01" * game.life_tokens

    # discards: a thermometer per card over its copies
    for code in game.discard_pile:
        index = offsets["discards"] + _DISCARD_STARTS[code]
        while bits[index]:
            index += 1
        bits[index] = 1

    if game.history:
        for index in _last_action_ones(game, observer, offsets["last_action"]):
            bits[index] = 1

    rows = [_NUM_KNOWLEDGE_ROWS] * (p * h)  # absent cards read the zero row
    for k in range(p):
        for i, know in enumerate(game.knowledge[seats[k]]):
            rows[k * h + i] = _knowledge_row_index(know.color_plausible, know.rank_plausible, know.color, know.rank)
    out = np.empty(encoding_size(p), dtype=dtype)
    out[:len(bits)] = np.frombuffer(bits, dtype=np.uint8)
    out[len(bits):] = _KNOWLEDGE_ROWS[rows].ravel()
    return out


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
