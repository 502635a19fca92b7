"""Hanabi, the rules of record: one game, stepped move by move, exactly as DeepMind's HLE plays it.

The server, the browser, the logs, the batched training engine and the encoders all trust this file.

Rules (HLE `hanabi_lib`, standard game):
- 2 to 5 players. Five colours in HLE order R Y G W B; ranks 1-5 (stored 0-4, as HLE does) with
  3 copies of each 1, 2 copies of each 2, 3 and 4, and 1 copy of each 5: 50 cards.
- Hands of 5 cards for 2-3 players, 4 cards for 4-5 players. The deal fills player 0's hand first,
  then player 1's, and so on. Player 0 moves first.
- 8 information (hint) tokens and 3 life tokens.
- On a turn the current player does one of:
  - play a card: if it is the next rank of its colour it joins the fireworks (a 5 gives back one
    information token if below 8); otherwise it goes to the discard pile and costs a life;
  - discard a card (illegal when all 8 information tokens are in hand): it gains a token;
  - give a hint (needs a token) to another player, naming a colour or a rank that at least one of
    their cards has; every card of that colour (rank) is marked, the others learn they are not it.
- After a play or discard the player draws the next card of the deck, if any. The new card goes to
  the END of the hand and the played card is removed from its slot, so slot 0 is the oldest card.
- The game ends on the third lost life (score 0), when all fireworks reach 5 (score 25), or when
  every player, including the one who drew it, has had one more turn after the last card was drawn.
- The score is the sum of the fireworks' heights, or 0 once the last life is lost. The reward of a
  move is the change in score, so losing the last life pays minus the score so far.

Moves are identified by HLE's move uids. With hand size h and p players:
  0..h-1 discard slot i; h..2h-1 play slot i;
  2h + (offset-1)*5 + colour   hint a colour to the player `offset` seats to the left (offset 1..p-1);
  2h + (p-1)*5 + (offset-1)*5 + rank   hint a rank likewise.
For 2 players: 0-4 discard, 5-9 play, 10-14 hint R Y G W B, 15-19 hint rank 1-5 (DISCARD_UIDS,
PLAY_UIDS, COLOR_HINT_UIDS, RANK_HINT_UIDS; NUM_MOVES_2P in all). Hand slots are named A-E (POSITIONS).

Card knowledge follows HLE: for every card in a hand, which colours and ranks are still possible
given the hints received (positive and negative), and which colour / rank was directly hinted.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

COLORS = "RYGWB"
COLOR_NAMES = ("red", "yellow", "green", "white", "blue")
POSITIONS = "ABCDE"  # hand slots 0-4 as the paper and the page name them; A is the oldest card
NUM_COLORS = 5
NUM_RANKS = 5
CARD_COPIES = (3, 2, 2, 2, 1)  # copies of each rank 1..5, per colour
DECK_SIZE = NUM_COLORS * sum(CARD_COPIES)  # 50
MAX_INFORMATION_TOKENS = 8
MAX_LIFE_TOKENS = 3
MAX_SCORE = NUM_COLORS * NUM_RANKS  # 25
ALL_COLORS_MASK = (1 << NUM_COLORS) - 1
ALL_RANKS_MASK = (1 << NUM_RANKS) - 1
MIN_PLAYERS, MAX_PLAYERS = 2, 5


def hand_size_for(num_players: int) -> int:
    """Cards per hand: 5 for 2-3 players, 4 for 4-5 players."""
    check_num_players(num_players)
    return 5 if num_players <= 3 else 4


def num_moves(num_players: int) -> int:
    """Number of move uids (legal or not): 20, 30, 38, 48 for 2, 3, 4, 5 players."""
    return 2 * hand_size_for(num_players) + (num_players - 1) * (NUM_COLORS + NUM_RANKS)


def check_num_players(num_players: int) -> None:
    if not MIN_PLAYERS <= num_players <= MAX_PLAYERS:
        raise ValueError(f"Hanabi needs 2 to 5 players, got {num_players}")


def card_code(color: int, rank: int) -> int:
    """A card as one int, colour-major as in HLE's encodings: colour * 5 + rank (rank 0 is a 1)."""
    return color * NUM_RANKS + rank


def card_name(code: int) -> str:
    """'R1' .. 'B5', HLE's text for a card."""
    return f"{COLORS[code // NUM_RANKS]}{code % NUM_RANKS + 1}"


def standard_deck() -> list[tuple[int, int]]:
    """All 50 cards as (colour, rank), colour-major, unshuffled."""
    return [(c, r) for c in range(NUM_COLORS) for r in range(NUM_RANKS) for _ in range(CARD_COPIES[r])]


class MoveType(str, enum.Enum):
    """HLE's move types (the names rl_env uses as 'action_type')."""

    PLAY = "PLAY"
    DISCARD = "DISCARD"
    REVEAL_COLOR = "REVEAL_COLOR"
    REVEAL_RANK = "REVEAL_RANK"


@dataclass(frozen=True, slots=True)
class Move:
    """One move; unused fields are -1 as in HLE. Ranks are 0-4 (a 1 is rank 0)."""

    type: MoveType
    card_index: int = -1
    target_offset: int = -1
    color: int = -1
    rank: int = -1

    @property
    def is_hint(self) -> bool:
        return self.type in (MoveType.REVEAL_COLOR, MoveType.REVEAL_RANK)

    def to_dict(self) -> dict:
        """The move as HLE's rl_env writes it, e.g. {'action_type': 'REVEAL_COLOR', 'target_offset': 1, 'color': 'R'}."""
        if self.type in (MoveType.PLAY, MoveType.DISCARD):
            return {"action_type": self.type.value, "card_index": self.card_index}
        if self.type is MoveType.REVEAL_COLOR:
            return {"action_type": self.type.value, "target_offset": self.target_offset, "color": COLORS[self.color]}
        return {"action_type": self.type.value, "target_offset": self.target_offset, "rank": self.rank}

    def __str__(self) -> str:
        """HLE's move text: '(Play 0)', '(Reveal player +1 color R)', '(Reveal player +1 rank 1)'."""
        if self.type is MoveType.PLAY:
            return f"(Play {self.card_index})"
        if self.type is MoveType.DISCARD:
            return f"(Discard {self.card_index})"
        if self.type is MoveType.REVEAL_COLOR:
            return f"(Reveal player +{self.target_offset} color {COLORS[self.color]})"
        return f"(Reveal player +{self.target_offset} rank {self.rank + 1})"


@lru_cache(maxsize=None)
def all_moves(num_players: int) -> tuple[Move, ...]:
    """Every move in uid order (HLE's HanabiGame::ConstructMove)."""
    h = hand_size_for(num_players)
    moves = [Move(MoveType.DISCARD, card_index=i) for i in range(h)]
    moves += [Move(MoveType.PLAY, card_index=i) for i in range(h)]
    offsets = range(1, num_players)
    moves += [Move(MoveType.REVEAL_COLOR, target_offset=o, color=c) for o in offsets for c in range(NUM_COLORS)]
    moves += [Move(MoveType.REVEAL_RANK, target_offset=o, rank=r) for o in offsets for r in range(NUM_RANKS)]
    return tuple(moves)


def move_from_uid(uid: int, num_players: int) -> Move:
    moves = all_moves(num_players)
    if not 0 <= uid < len(moves):
        raise ValueError(f"move uid {uid} is out of range for {num_players} players (0..{len(moves) - 1})")
    return moves[uid]


def uid_from_move(move: Move, num_players: int) -> int:
    """HLE's HanabiGame::GetMoveUid."""
    h = hand_size_for(num_players)
    if move.type is MoveType.DISCARD:
        return move.card_index
    if move.type is MoveType.PLAY:
        return h + move.card_index
    if move.type is MoveType.REVEAL_COLOR:
        return 2 * h + (move.target_offset - 1) * NUM_COLORS + move.color
    return 2 * h + (num_players - 1) * NUM_COLORS + (move.target_offset - 1) * NUM_RANKS + move.rank


def _uids_2p(move_type: MoveType) -> range:
    """The uids of one move type in a 2-player game (each type is one run of uids)."""
    uids = [uid for uid, move in enumerate(all_moves(2)) if move.type is move_type]
    return range(uids[0], uids[-1] + 1)


# The move uid ranges of a 2-player game, the game the paper and the server play.
DISCARD_UIDS = _uids_2p(MoveType.DISCARD)  # 0-4: discard A-E
PLAY_UIDS = _uids_2p(MoveType.PLAY)  # 5-9: play A-E
COLOR_HINT_UIDS = _uids_2p(MoveType.REVEAL_COLOR)  # 10-14: hint R Y G W B
RANK_HINT_UIDS = _uids_2p(MoveType.REVEAL_RANK)  # 15-19: hint rank 1-5
HINT_UIDS = {"color": COLOR_HINT_UIDS, "rank": RANK_HINT_UIDS}  # by hint kind
NUM_MOVES_2P = num_moves(2)  # 20


# The colours and ranks set in each plausibility bitmask, listed once (to_dict runs for every card of every view)
_MASK_COLORS = tuple(tuple(COLORS[c] for c in range(NUM_COLORS) if mask >> c & 1) for mask in range(ALL_COLORS_MASK + 1))
_MASK_RANKS = tuple(tuple(r for r in range(NUM_RANKS) if mask >> r & 1) for mask in range(ALL_RANKS_MASK + 1))


@dataclass(slots=True)
class CardKnowledge:
    """What a card's holder knows of it from hints: plausible colours/ranks as bitmasks, direct hints or -1."""

    color_plausible: int = ALL_COLORS_MASK
    rank_plausible: int = ALL_RANKS_MASK
    color: int = -1
    rank: int = -1

    def to_dict(self) -> dict:
        """rl_env's {'color': 'R' or None, 'rank': 0-4 or None} plus the plausible colours and ranks."""
        return {
            "color": COLORS[self.color] if self.color >= 0 else None,
            "rank": self.rank if self.rank >= 0 else None,
            "plausible_colors": list(_MASK_COLORS[self.color_plausible]),
            "plausible_ranks": list(_MASK_RANKS[self.rank_plausible]),
        }

    def __str__(self) -> str:
        """HLE's text, e.g. 'RX|R12345' (hinted colour, hinted rank, then plausible values)."""
        hinted = (COLORS[self.color] if self.color >= 0 else "X") + (str(self.rank + 1) if self.rank >= 0 else "X")
        colors = "".join(COLORS[c] for c in range(NUM_COLORS) if self.color_plausible >> c & 1)
        ranks = "".join(str(r + 1) for r in range(NUM_RANKS) if self.rank_plausible >> r & 1)
        return f"{hinted}|{colors}{ranks}"


@dataclass(slots=True)
class HistoryItem:
    """A move that was made, with its effects (HLE's HanabiHistoryItem, absolute player ids).

    card_order: the deck position of the played/discarded card (-1 for hints); color/rank: that card.
    reveal_bitmask: hand slots the hint touched; newly_revealed_bitmask: those whose colour/rank was new.
    """

    player: int
    move: Move
    uid: int
    card_order: int = -1
    color: int = -1
    rank: int = -1
    scored: bool = False
    information_token: bool = False
    reveal_bitmask: int = 0
    newly_revealed_bitmask: int = 0

    def to_dict(self, observer: int | None = None, num_players: int = 0) -> dict:
        """JSON form; with an observer, 'player' becomes the offset from the observer, as HLE's last_moves."""
        player = self.player if observer is None else (self.player - observer) % num_players
        return {
            "player": player,
            "move": self.move.to_dict(),
            "uid": self.uid,
            "color": COLORS[self.color] if self.color >= 0 else None,
            "rank": self.rank,
            "scored": self.scored,
            "information_token": self.information_token,
            "card_info_revealed": mask_slots(self.reveal_bitmask),
            "card_info_newly_revealed": mask_slots(self.newly_revealed_bitmask),
        }


def mask_slots(mask: int) -> list[int]:
    """The hand slots set in a bitmask such as a hint's reveal_bitmask, ascending."""
    return [i for i in range(8) if mask >> i & 1]


class HanabiGame:
    """One game of Hanabi. Deal from `seed` (a shuffled deck) or from `deck`, the cards in draw order.

    `deck` is a list of (colour, rank) pairs with colour 0-4 in R Y G W B order and rank 0-4; it must be
    the full 50-card multiset. Without either, the deck is shuffled from fresh randomness.

    State (read it, do not write it): hands[p] holds deck positions ("orders") oldest first, and
    knowledge[p] the matching CardKnowledge; deck_cards the card codes in draw order; fireworks,
    information_tokens, life_tokens, discard_pile (card codes), current_player, turns_to_play
    (HLE's count of turns left once the deck is empty) and history (HistoryItem per move).
    """

    def __init__(self, num_players: int = 2, seed: int | None = None,
                 deck: list[tuple[int, int]] | None = None) -> None:
        self.num_players = num_players
        self.hand_size = hand_size_for(num_players)
        self.deck_cards = self._make_deck(seed, deck)
        self.cards_dealt = 0
        self.hands: list[list[int]] = [[] for _ in range(num_players)]
        self.knowledge: list[list[CardKnowledge]] = [[] for _ in range(num_players)]
        self.fireworks = [0] * NUM_COLORS
        self.information_tokens = MAX_INFORMATION_TOKENS
        self.life_tokens = MAX_LIFE_TOKENS
        self.discard_pile: list[int] = []
        self.current_player = 0
        self.turns_to_play = num_players
        self.history: list[HistoryItem] = []
        self._moves = all_moves(num_players)
        for player in range(num_players):
            for _ in range(self.hand_size):
                self._draw(player)

    @classmethod
    def from_moves(cls, num_players: int, deck: list[tuple[int, int]], uids: list[int]) -> "HanabiGame":
        """Rebuild a game from its deck order and its move uids (what the event log stores)."""
        game = cls(num_players, deck=deck)
        for uid in uids:
            game.step(uid)
        return game

    @staticmethod
    def _make_deck(seed: int | None, deck: list[tuple[int, int]] | None) -> list[int]:
        if deck is None:
            codes = [card_code(c, r) for c, r in standard_deck()]
            random.Random(seed).shuffle(codes)
            return codes
        codes = [card_code(int(c), int(r)) for c, r in deck]
        if sorted(codes) != sorted(card_code(c, r) for c, r in standard_deck()):
            raise ValueError("deck must hold the 50 standard Hanabi cards (colour 0-4, rank 0-4) in draw order")
        return codes

    # ------------------------------------------------------------------ reading the state

    @property
    def deck_order(self) -> list[tuple[int, int]]:
        """The whole deck in draw order, as (colour, rank): enough, with the move uids, to replay the game."""
        return [(code // NUM_RANKS, code % NUM_RANKS) for code in self.deck_cards]

    @property
    def deck_size(self) -> int:
        """Cards left to draw."""
        return DECK_SIZE - self.cards_dealt

    def card(self, order: int) -> tuple[int, int]:
        """The (colour, rank) of the card at deck position `order`."""
        code = self.deck_cards[order]
        return code // NUM_RANKS, code % NUM_RANKS

    def hand_cards(self, player: int) -> list[tuple[int, int]]:
        """A player's cards as (colour, rank), oldest first (slot 0)."""
        return [self.card(order) for order in self.hands[player]]

    def score(self) -> int:
        """Sum of the fireworks, or 0 once the last life is lost."""
        return 0 if self.life_tokens <= 0 else sum(self.fireworks)

    def is_over(self) -> bool:
        return self.life_tokens <= 0 or sum(self.fireworks) == MAX_SCORE or self.turns_to_play <= 0

    def move_from_uid(self, uid: int) -> Move:
        return move_from_uid(uid, self.num_players)

    def uid_from_move(self, move: Move) -> int:
        return uid_from_move(move, self.num_players)

    def legal_moves(self) -> list[int]:
        """The current player's legal move uids, ascending (empty once the game is over)."""
        if self.is_over():
            return []
        h, p = self.hand_size, self.num_players
        held = len(self.hands[self.current_player])
        uids = list(range(held)) if self.information_tokens < MAX_INFORMATION_TOKENS else []
        uids.extend(range(h, h + held))
        if self.information_tokens > 0:
            color_hints, rank_hints = [], []
            for offset in range(1, p):
                colors = ranks = 0
                for order in self.hands[(self.current_player + offset) % p]:
                    code = self.deck_cards[order]
                    colors |= 1 << (code // NUM_RANKS)
                    ranks |= 1 << (code % NUM_RANKS)
                base = (offset - 1) * NUM_COLORS
                color_hints.extend(base + c for c in range(NUM_COLORS) if colors >> c & 1)
                rank_hints.extend(base + r for r in range(NUM_RANKS) if ranks >> r & 1)
            uids.extend(2 * h + k for k in color_hints)
            uids.extend(2 * h + (p - 1) * NUM_COLORS + k for k in rank_hints)
        return uids

    def legal_mask(self) -> np.ndarray:
        """Boolean numpy mask over all move uids."""
        mask = np.zeros(len(self._moves), dtype=bool)
        mask[self.legal_moves()] = True
        return mask

    def is_legal(self, uid: int) -> bool:
        """HLE's HanabiState::MoveIsLegal for the current player."""
        if self.is_over() or not 0 <= uid < len(self._moves):
            return False
        move = self._moves[uid]
        if move.type is MoveType.PLAY:
            return move.card_index < len(self.hands[self.current_player])
        if move.type is MoveType.DISCARD:
            return (self.information_tokens < MAX_INFORMATION_TOKENS
                    and move.card_index < len(self.hands[self.current_player]))
        if self.information_tokens <= 0:
            return False
        target = self.hands[(self.current_player + move.target_offset) % self.num_players]
        if move.type is MoveType.REVEAL_COLOR:
            return any(self.deck_cards[o] // NUM_RANKS == move.color for o in target)
        return any(self.deck_cards[o] % NUM_RANKS == move.rank for o in target)

    # ------------------------------------------------------------------ playing

    def copy(self) -> "HanabiGame":
        """An independent copy (what `step` changes is copied; the deck and past history items, which nothing
        changes once made, are shared): 100x faster than copy.deepcopy, which a server pays on every move."""
        new = object.__new__(HanabiGame)
        new.__dict__.update(self.__dict__)
        new.hands = [list(hand) for hand in self.hands]
        new.knowledge = [[CardKnowledge(k.color_plausible, k.rank_plausible, k.color, k.rank) for k in hand]
                         for hand in self.knowledge]
        new.fireworks = list(self.fireworks)
        new.discard_pile = list(self.discard_pile)
        new.history = list(self.history)
        return new

    def step(self, uid: int) -> int:
        """Make the current player's move `uid`; returns the reward (the change in score)."""
        if not self.is_legal(uid):
            raise ValueError(self._illegal_message(uid))
        score_before = self.score()
        if self.cards_dealt == DECK_SIZE:
            self.turns_to_play -= 1
        player = self.current_player
        move = self._moves[uid]
        item = HistoryItem(player=player, move=move, uid=uid)
        if move.type is MoveType.PLAY:
            self._play(player, move.card_index, item)
        elif move.type is MoveType.DISCARD:
            self._discard(player, move.card_index, item)
        else:
            self._hint(player, move, item)
        self.history.append(item)
        self.current_player = (player + 1) % self.num_players
        return self.score() - score_before

    def _illegal_message(self, uid: int) -> str:
        if self.is_over():
            return "the game is over; start a new game"
        if not 0 <= uid < len(self._moves):
            return f"move uid {uid} is out of range for {self.num_players} players (0..{len(self._moves) - 1})"
        return (f"move {uid} {self._moves[uid]} is not legal for player {self.current_player} now; "
                f"legal uids: {self.legal_moves()}")

    def _take_card(self, player: int, index: int, item: HistoryItem) -> int:
        order = self.hands[player].pop(index)
        del self.knowledge[player][index]
        code = self.deck_cards[order]
        item.card_order, item.color, item.rank = order, code // NUM_RANKS, code % NUM_RANKS
        return code

    def _play(self, player: int, index: int, item: HistoryItem) -> None:
        code = self._take_card(player, index, item)
        color, rank = code // NUM_RANKS, code % NUM_RANKS
        if self.fireworks[color] == rank:
            self.fireworks[color] += 1
            item.scored = True
            if rank == NUM_RANKS - 1 and self.information_tokens < MAX_INFORMATION_TOKENS:
                self.information_tokens += 1
                item.information_token = True
        else:
            self.discard_pile.append(code)
            self.life_tokens -= 1
        self._draw(player)

    def _discard(self, player: int, index: int, item: HistoryItem) -> None:
        self.discard_pile.append(self._take_card(player, index, item))
        self.information_tokens += 1
        item.information_token = True
        self._draw(player)

    def _hint(self, player: int, move: Move, item: HistoryItem) -> None:
        self.information_tokens -= 1
        target = (player + move.target_offset) % self.num_players
        by_color = move.type is MoveType.REVEAL_COLOR
        for i, order in enumerate(self.hands[target]):
            code = self.deck_cards[order]
            knowledge = self.knowledge[target][i]
            if by_color:
                if code // NUM_RANKS == move.color:
                    item.reveal_bitmask |= 1 << i
                    if knowledge.color < 0:
                        item.newly_revealed_bitmask |= 1 << i
                    knowledge.color = move.color
                    knowledge.color_plausible = 1 << move.color
                else:
                    knowledge.color_plausible &= ~(1 << move.color)
            elif code % NUM_RANKS == move.rank:
                item.reveal_bitmask |= 1 << i
                if knowledge.rank < 0:
                    item.newly_revealed_bitmask |= 1 << i
                knowledge.rank = move.rank
                knowledge.rank_plausible = 1 << move.rank
            else:
                knowledge.rank_plausible &= ~(1 << move.rank)

    def _draw(self, player: int) -> None:
        if self.cards_dealt < DECK_SIZE:
            self.hands[player].append(self.cards_dealt)
            self.knowledge[player].append(CardKnowledge())
            self.cards_dealt += 1

    # ------------------------------------------------------------------ what one player sees

    def last_moves(self, observer: int) -> list[HistoryItem]:
        """Moves since the observer last moved, newest first, ending with the observer's own (HLE order, no deals)."""
        moves = []
        for item in reversed(self.history):
            moves.append(item)
            if item.player == observer:
                break
        return moves

    def view(self, player: int, *, moves: bool = True) -> dict:
        """What `player` may see, JSON-serialisable, in the shape of HLE rl_env's observation dict.

        Hands and knowledge are listed from the observer (index 0) round the table; the observer's
        own cards show as {'color': None, 'rank': -1}. Ranks are 0-4 as in HLE. Extra keys beyond
        rl_env: 'player', 'hand_size', 'score', 'is_over', 'last_moves' (HistoryItem.to_dict relative to
        the observer), and plausible colours/ranks in each card_knowledge entry.
        `moves=False` leaves out the moves ('legal_moves', 'legal_moves_as_int', 'last_moves'), for a caller
        that writes its own (they took a third of the time of a view).
        """
        p = self.num_players
        if not 0 <= player < p:
            raise ValueError(f"player must be 0..{p - 1}, got {player}")
        seats = [(player + offset) % p for offset in range(p)]
        hidden = {"color": None, "rank": -1}
        table = {
            "player": player,
            "current_player": self.current_player,
            "current_player_offset": (self.current_player - player) % p,
            "num_players": p,
            "hand_size": self.hand_size,
            "life_tokens": self.life_tokens,
            "information_tokens": self.information_tokens,
            "deck_size": self.deck_size,
            "fireworks": {COLORS[c]: self.fireworks[c] for c in range(NUM_COLORS)},
            "score": self.score(),
            "is_over": self.is_over(),
            "observed_hands": [
                [dict(hidden) if seat == player else _card_dict(self.deck_cards[o]) for o in self.hands[seat]]
                for seat in seats
            ],
            "discard_pile": [_card_dict(code) for code in self.discard_pile],
            "card_knowledge": [[k.to_dict() for k in self.knowledge[seat]] for seat in seats],
        }
        if not moves:
            return table
        legal = self.legal_moves() if player == self.current_player else []
        return {**table, "legal_moves": [self._moves[uid].to_dict() for uid in legal], "legal_moves_as_int": legal,
                "last_moves": [item.to_dict(player, p) for item in self.last_moves(player)]}

    def __str__(self) -> str:
        """HLE's HanabiState::ToString (all hands shown): for logs and debugging."""
        lines = [f"Life tokens: {self.life_tokens}", f"Info tokens: {self.information_tokens}",
                 "Fireworks: " + "".join(f"{COLORS[c]}{self.fireworks[c]} " for c in range(NUM_COLORS)), "Hands:"]
        for seat in range(self.num_players):
            if seat > 0:
                lines.append("-----")
            if seat == self.current_player:
                lines.append("Cur player")
            lines += [f"{card_name(self.deck_cards[o])} || {k}" for o, k in zip(self.hands[seat], self.knowledge[seat])]
        lines.append(f"Deck size: {self.deck_size}")
        lines.append("Discards:" + "".join(f" {card_name(code)}" for code in self.discard_pile))
        return "\n".join(lines)


def _card_dict(code: int) -> dict:
    return {"color": COLORS[code // NUM_RANKS], "rank": code % NUM_RANKS}
