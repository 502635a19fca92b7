"""Batched Hanabi: many games stepped at once as torch tensors, for training.

This module owns the fast engine. Its semantics, and its numbers (colours, ranks, copies, tokens, deck
and hand sizes), are those of the rules of record (`agents/envs/hanabi/rules.py`) and so of DeepMind's
Hanabi Learning Environment (HLE):

- 5 colours in HLE order R Y G W B, ranks 1-5 with 3/2/2/2/1 copies; 2 to 5 players, hand size 5
  (2-3 players) or 4 (4-5 players); 8 hint tokens, 3 lives; player 0 starts.
- HLE move uids: `0..H-1` discard slot i, `H..2H-1` play slot i, then `(P-1)*5` colour hints
  (target offset `1 + k // 5`, colour `k % 5`), then `(P-1)*5` rank hints in the same layout.
  For 2 players: 0-4 discard, 5-9 play, 10-14 hint R Y G W B, 15-19 hint rank 1-5.
- Discarding is illegal with 8 tokens; a hint needs a token and must touch a card; playing a 5
  returns a token (if below 8); a misplay costs a life and goes to the discard pile.
- A played or discarded card leaves its slot, the cards after it move one slot left and the drawn
  card goes to the end of the hand (slot 0 is the oldest card).
- The game ends on the third misplay (score 0), at 25 points, or when every player has had one
  more turn after the last card was drawn. Reward is the change in score, so a game lost on
  strikes sums to 0.
- Observations are HLE's canonical encoding (658 numbers for 2 players; 956, 1041, 1280 for 3, 4, 5)
  with binary card plausibility from hints, as HLE computes it.

Finished games are dealt again inside `step` (automatic reset): the returned rewards, dones and
scores are those of the move just made, the observations are those of the new game
(`step(actions, autoreset=False)` then `reset_games(done)` to read final observations first).
Moves are not checked, for speed: an illegal uid gives an undefined game; sample from `legal_mask()`.
The engine is checked move by move against the rules of record (tests/unit/test_hanabi_batched.py).

Tensor layouts (B games, P players, H hand size; cards are `colour * 5 + rank - 1`, 25 = no card):

    deck        (B, 50)        the deal order of each game
    deck_pos    (B,)           index of the next card to draw (P*H right after the deal)
    hands       (B, P, H)      cards by absolute seat and slot; 25 for an empty slot
    knowledge   (B, P, H)      per card what its holder knows from hints, packed in 16 bits: 0-4 colour c
                               plausible, 5-9 rank r plausible, 10-12 hinted colour (0 none, 1 + c),
                               13-15 hinted rank (0 none, 1 + r); 0 for an empty slot (encode unpacks
                               it to HLE's 35 bits with one table lookup)
    fireworks   (B, 5)         cards played per colour
    info, lives (B,)           hint tokens, life tokens
    discards    (B, 25)        discarded copies per card
    discard_bits (B, 51)       HLE's discard thermometer (50 bits) and a spare column
    cur         (B,)           seat to move
    turns_left  (B,)           P until the deck runs out, then counts the final round down
    score       (B,)           current score (0 once the lives are gone)
    last_player (B,)           seat that made the last move, -1 before the first move
    last_target (B,)           seat a last hint went to, -1 otherwise
    last_bits   (B, 41 + 2H)   the observer-independent part of HLE's last-action section: move type
                               (4), colour (5), rank (5), cards the hint touched (H), slot (H),
                               card (25), scored (1), play returned a token (1)

Example:

    game = BatchedHanabi(num_games=4096, device="cpu", seed=0)   # or decks=(4096, 50) deal orders
    obs, legal = game.encode(), game.legal_mask()                # (B, 658) float32, (B, 20) bool
    reward, done, score = game.step(actions)                     # actions: (B,) HLE move uids
    game.encode(out=rollout_obs[t])                              # write into a buffer, no allocation

On CPU, use torch.set_num_threads to match the cores you can spare; speed: benchmarks/hanabi_engine.py.
"""

import torch

from agents.envs.hanabi.encoding import encoding_size
from agents.envs.hanabi.rules import CARD_COPIES, DECK_SIZE, MAX_INFORMATION_TOKENS, MAX_LIFE_TOKENS, NUM_COLORS
from agents.envs.hanabi.rules import NUM_RANKS, card_code, check_num_players, hand_size_for, num_moves, standard_deck

NUM_CARDS = NUM_COLORS * NUM_RANKS  # distinct cards
EMPTY = NUM_CARDS  # the "no card" value in hands and decks
NO_HINT = NUM_COLORS + NUM_RANKS  # hint kinds: 0-4 colour, 5-9 rank, 10 no hint
# Packed knowledge of one card, 16 bits: 0-4 colour c plausible, 5-9 rank r plausible,
# 10-12 hinted colour (0 none, 1 + c), 13-15 hinted rank (0 none, 1 + r).
COLOR_HINT_SHIFT, RANK_HINT_SHIFT, PACKED_BITS = 10, 13, 16
NEW_CARD = (1 << NO_HINT) - 1  # a fresh card: everything plausible, nothing hinted


def deck_of_all_cards():
    """The 50 cards in sorted order: R1 R1 R1 R2 R2 ... B5."""
    return [card_code(c, r) for c, r in standard_deck()]


class _Tables:
    """Small constant lookup tables that turn move uids, cards and knowledge into bits (built once)."""

    def __init__(self, num_players, device):
        p, h = num_players, hand_size_for(num_players)
        cards = torch.arange(NUM_CARDS + 1)
        color, rank = cards // NUM_RANKS, cards % NUM_RANKS
        color[EMPTY], rank[EMPTY] = NUM_COLORS, NUM_RANKS  # out of range: matches no hint
        self.card_color, self.card_rank = color, rank
        self.card_onehot = torch.eye(NUM_CARDS + 1, dtype=torch.bool)[:, :NUM_CARDS]  # EMPTY -> zeros
        features = torch.cat([torch.eye(NUM_COLORS + 1, dtype=torch.bool)[color, :NUM_COLORS],
                              torch.eye(NUM_RANKS + 1, dtype=torch.bool)[rank, :NUM_RANKS]], 1)
        self.card_features = features  # (26, 10): colour one-hot, rank one-hot; EMPTY -> zeros
        # card_matches_hint[card * 11 + kind]: does a hint of this kind touch the card
        self.card_matches_hint = torch.cat([features, torch.zeros(NUM_CARDS + 1, 1, dtype=torch.bool)], 1).reshape(-1)

        # Per move uid: its kind, the slot it names (h for hints), hint kind and target offset.
        uid = torch.arange(num_moves(p))
        self.is_discard = uid < h
        self.is_play = (uid >= h) & (uid < 2 * h)
        self.is_card_move = uid < 2 * h
        self.slot = torch.where(uid < 2 * h, uid % h, h)
        hint = (uid - 2 * h).clamp(min=0)
        per_kind = (p - 1) * NUM_COLORS
        is_color_hint = (uid >= 2 * h) & (uid < 2 * h + per_kind)
        hint_value = torch.where(is_color_hint, hint % NUM_COLORS, NUM_COLORS + (hint - per_kind) % NUM_RANKS)
        self.hint_kind = torch.where(uid < 2 * h, NO_HINT, hint_value)
        self.target_offset = torch.where(uid < 2 * h, 0, 1 + (hint % per_kind) // NUM_COLORS)
        move_type = torch.where(self.is_play, 0, torch.where(self.is_discard, 1, torch.where(is_color_hint, 2, 3)))
        # Last-action bits fixed by the uid alone: move type (4), hinted colour (5), hinted rank (5).
        kind_bits = torch.eye(NO_HINT + 1, dtype=torch.bool)[self.hint_kind, :NO_HINT]
        self.last_uid_bits = torch.cat([torch.eye(4, dtype=torch.bool)[move_type], kind_bits], 1)
        self.last_slot_bits = torch.eye(h + 1, dtype=torch.bool)[self.slot, :h]

        # Hand shift: row s removes slot s and appends the drawn card (index h); row h keeps the hand.
        self.shift = torch.stack([torch.tensor([j if j < s else j + 1 for j in range(h)]) for s in range(h)]
                                 + [torch.arange(h)])
        self.hint_and, self.hint_or = self._hint_updates()
        self.knowledge_bits = self._knowledge_bits()  # (65536, 35) bool

        # Discard thermometer: the k-th discarded copy of card c sets bit discard_start[c] + k.
        copies = torch.tensor(CARD_COPIES * NUM_COLORS)
        self.discard_start = copies.cumsum(0) - copies
        self.deck_cards = torch.tensor(deck_of_all_cards())
        self.deck_steps = torch.arange(DECK_SIZE - p * h)
        self.info_steps = torch.arange(MAX_INFORMATION_TOKENS)
        self.life_steps = torch.arange(MAX_LIFE_TOKENS)
        self.players = torch.arange(p)
        self.seat_onehot = torch.eye(p, dtype=torch.bool)
        self.firework_levels = torch.arange(1, NUM_RANKS + 1)
        for name, value in vars(self).items():
            setattr(self, name, value.to(device))

    @staticmethod
    def _hint_updates():
        """Packed-knowledge update per (hint kind, card touched): new = (old & AND) | OR, index kind * 2 + touched.

        A touched card's hinted colour (rank) field is either 0 or already this colour (rank), so OR sets it.
        """
        keep = torch.full((NO_HINT + 1, 2), -1)
        add = torch.zeros(NO_HINT + 1, 2, dtype=torch.long)
        for kind in range(NO_HINT):  # colour c is kind c (bit c); rank r is kind 5 + r (bit 5 + r)
            is_rank = kind >= NUM_COLORS
            group = 0b11111 << (NUM_COLORS if is_rank else 0)
            keep[kind, 0] = ~(1 << kind)  # not touched: this colour or rank is ruled out
            keep[kind, 1] = ~group | (1 << kind)  # touched: only this colour or rank remains
            value = kind - NUM_COLORS if is_rank else kind
            add[kind, 1] = (1 + value) << (RANK_HINT_SHIFT if is_rank else COLOR_HINT_SHIFT)
        return keep.view(-1), add.view(-1)

    @staticmethod
    def _knowledge_bits():
        """HLE's 35 knowledge bits (25 plausible cards, colour hinted, rank hinted) for every packed value."""
        code = torch.arange(1 << PACKED_BITS)
        color_ok = (code.unsqueeze(1) >> torch.arange(NUM_COLORS)) & 1
        rank_ok = (code.unsqueeze(1) >> torch.arange(NUM_COLORS, NO_HINT)) & 1
        plausible = (color_ok.unsqueeze(2) & rank_ok.unsqueeze(1)).view(-1, NUM_CARDS)
        color_hint = torch.eye(8, dtype=torch.long)[(code >> COLOR_HINT_SHIFT) & 0b111, 1:NUM_COLORS + 1]
        rank_hint = torch.eye(8, dtype=torch.long)[code >> RANK_HINT_SHIFT, 1:NUM_RANKS + 1]
        return torch.cat([plausible, color_hint, rank_hint], 1).bool()


class BatchedHanabi:
    """`num_games` independent Hanabi games of `num_players` players, stepped together on `device`."""

    def __init__(self, num_games, num_players=2, device="cpu", seed=None, decks=None):
        check_num_players(num_players)
        self.num_games, self.num_players = num_games, num_players
        self.hand_size = hand_size_for(num_players)
        self.num_moves = num_moves(num_players)
        self.encoding_size = encoding_size(num_players)
        self.device = torch.device(device)
        self.generator = torch.Generator(self.device)
        if seed is None:
            self.generator.seed()
        self.t = _Tables(num_players, self.device)
        b, p, h = num_games, num_players, self.hand_size
        zeros = dict(dtype=torch.long, device=self.device)
        self.deck = torch.zeros(b, DECK_SIZE, **zeros)
        self.hands = torch.zeros(b, p, h, **zeros)
        self.knowledge = torch.zeros(b, p, h, **zeros)
        self.fireworks = torch.zeros(b, NUM_COLORS, **zeros)
        self.discards = torch.zeros(b, NUM_CARDS, **zeros)
        self.discard_bits = torch.zeros(b, DECK_SIZE + 1, dtype=torch.bool, device=self.device)
        self.last_bits = torch.zeros(b, 14 + 2 * h + NUM_CARDS + 2, dtype=torch.bool, device=self.device)
        self._bits = torch.empty(b, self.encoding_size, dtype=torch.bool, device=self.device)  # encode's scratch
        (self.deck_pos, self.info, self.lives, self.cur, self.turns_left, self.score,
         self.last_player, self.last_target) = (torch.zeros(b, **zeros) for _ in range(8))
        self.reset(seed=seed, decks=decks)

    # ----------------------------------------------------------------------------------------- deal

    def reset(self, seed=None, decks=None):
        """Deal every game again: from `decks` ((B, 50) cards in deal order) if given, else shuffled
        from the engine's generator, which `seed` re-seeds."""
        if seed is not None:
            self.generator.manual_seed(seed)
        self._deal(torch.arange(self.num_games, device=self.device), decks)

    def reset_games(self, done, decks=None):
        """Deal again the games where the (B,) bool `done` is set: from `decks` ((n, 50), one per
        such game, in row order) if given, else shuffled from the generator."""
        games = torch.as_tensor(done, device=self.device).nonzero().squeeze(1)
        if len(games):
            self._deal(games, decks)

    def _deal(self, games, decks=None):
        """Start new games in the rows `games`: the first P*H cards go to the players in seat order."""
        if decks is None:
            order = torch.rand(len(games), DECK_SIZE, generator=self.generator, device=self.device).argsort(1)
            decks = _lookup(self.t.deck_cards, order)
        else:
            decks = torch.as_tensor(decks, dtype=torch.long, device=self.device)
            self._check_decks(decks, len(games))
        p, h = self.num_players, self.hand_size
        self.deck[games] = decks
        self.hands[games] = decks[:, :p * h].view(-1, p, h)
        self.knowledge[games] = NEW_CARD
        self.deck_pos[games] = p * h
        self.fireworks[games] = 0
        self.discards[games] = 0
        self.discard_bits[games] = False
        self.info[games] = MAX_INFORMATION_TOKENS
        self.lives[games] = MAX_LIFE_TOKENS
        self.cur[games] = 0
        self.turns_left[games] = p
        self.score[games] = 0
        self.last_player[games] = -1
        self.last_target[games] = -1
        self.last_bits[games] = False

    def _check_decks(self, decks, n):
        if decks.shape != (n, DECK_SIZE):
            raise ValueError(f"decks must have shape ({n}, {DECK_SIZE}), got {tuple(decks.shape)}")
        expected = self.t.deck_cards.expand(n, -1)
        if not torch.equal(decks.sort(1).values, expected):
            raise ValueError("each deck must hold the 50 Hanabi cards (colour * 5 + rank - 1, ranks 1x3 2-4x2 5x1)")

    # ----------------------------------------------------------------------------------------- step

    def step(self, actions, autoreset=True):
        """Apply one move uid per game (each must be legal), then deal finished games again.

        Returns (reward, done, score), each (B,): the change in score made by the move, whether the
        move ended the game, and the score after the move (the final score where done). With
        autoreset=False finished games are left as they ended (to read their final observation);
        call `reset_games(done)` before stepping again.
        """
        t, p, h = self.t, self.num_players, self.hand_size
        a = torch.as_tensor(actions, device=self.device).long()
        b = self.num_games
        is_play, is_discard, is_card_move = _lookup(t.is_play, a), _lookup(t.is_discard, a), _lookup(t.is_card_move, a)
        slot = _lookup(t.slot, a)

        # The card played or discarded (EMPTY for hints) and what it does.
        actor_hand = self.hands.gather(1, self.cur.view(b, 1, 1).expand(b, 1, h)).squeeze(1)
        card = actor_hand.gather(1, slot.clamp(max=h - 1).unsqueeze(1)).squeeze(1)
        card = torch.where(is_card_move, card, EMPTY)
        color, rank = _lookup(t.card_color, card).clamp(max=NUM_COLORS - 1), _lookup(t.card_rank, card)
        scored = is_play & (self.fireworks.gather(1, color.unsqueeze(1)).squeeze(1) == rank)
        misplay = is_play & ~scored
        self.fireworks.scatter_add_(1, color.unsqueeze(1), scored.long().unsqueeze(1))
        token = (is_discard | (scored & (rank == NUM_RANKS - 1))) & (self.info < MAX_INFORMATION_TOKENS)
        self.info += token.long() - (~is_card_move).long()
        self.lives -= misplay.long()
        self._discard(card, is_discard | misplay)

        # Drawing: the final round counts down once the deck is empty.
        deck_empty = self.deck_pos >= DECK_SIZE
        self.turns_left -= deck_empty.long()
        draws = is_card_move & ~deck_empty
        next_card = self.deck.gather(1, self.deck_pos.clamp(max=DECK_SIZE - 1).unsqueeze(1)).squeeze(1)
        drawn = torch.where(draws, next_card, EMPTY)
        self.deck_pos += draws.long()

        # A hint updates what its target knows; every other seat gets the no-hint row (no change).
        target = (self.cur + _lookup(t.target_offset, a)) % p
        seat_kind = torch.where((t.players == target.unsqueeze(1)) & ~is_card_move.unsqueeze(1),
                                _lookup(t.hint_kind, a).unsqueeze(1), NO_HINT)  # (B, P)
        touched = _lookup(t.card_matches_hint, self.hands * (NO_HINT + 1) + seat_kind.unsqueeze(2))  # (B, P, H)
        update = seat_kind.unsqueeze(2) * 2 + touched.long()
        self.knowledge = (self.knowledge & _lookup(t.hint_and, update)) | _lookup(t.hint_or, update)

        # The actor's hand loses the card and gets the drawn one at the end; other seats keep theirs.
        seat_slot = torch.where(t.players == self.cur.unsqueeze(1), slot.unsqueeze(1), h)  # (B, P)
        index = _lookup(t.shift, seat_slot)  # (B, P, H)
        self.hands = torch.cat([self.hands, drawn.view(b, 1, 1).expand(b, p, 1)], 2).gather(2, index)
        new_card = (draws.long() * NEW_CARD).view(b, 1, 1).expand(b, p, 1)
        self.knowledge = torch.cat([self.knowledge, new_card], 2).gather(2, index)

        self.last_player = self.cur
        self.last_target = torch.where(is_card_move, -1, target)
        self.last_bits = torch.cat([_lookup(t.last_uid_bits, a), touched.any(1), _lookup(t.last_slot_bits, a),
                                    _lookup(t.card_onehot, card),
                                    scored.unsqueeze(1), (token & is_play).unsqueeze(1)], 1)

        total = self.fireworks.sum(1)
        score = torch.where(self.lives > 0, total, 0)
        reward = score - self.score
        self.score = score.clone()  # _deal resets self.score in place; the returned scores must survive
        done = (self.lives == 0) | (total == NUM_CARDS) | (self.turns_left <= 0)
        self.cur = (self.cur + 1) % p
        if autoreset:
            self.reset_games(done)
        return reward, done, score

    # ------------------------------------------------------------------------------ observations

    def legal_mask(self):
        """(B, num_moves) bool: the legal move uids of the player to move, in HLE uid order."""
        t, b, p, h = self.t, self.num_games, self.num_players, self.hand_size
        own = self.hands.gather(1, self.cur.view(b, 1, 1).expand(b, 1, h)).squeeze(1) != EMPTY
        others = self.hands.gather(1, self._seats(self.cur, 1).unsqueeze(2).expand(b, p - 1, h))
        can_hint = (_lookup(t.card_features, others).any(2) & (self.info > 0).view(b, 1, 1))  # (B, P-1, 10)
        return torch.cat([own & (self.info < MAX_INFORMATION_TOKENS).unsqueeze(1), own,
                          can_hint[:, :, :NUM_COLORS].reshape(b, -1), can_hint[:, :, NUM_COLORS:].reshape(b, -1)], 1)

    def encode(self, observer=None, dtype=torch.float32, out=None):
        """(B, encoding_size) HLE canonical observation of `observer` (a seat, a (B,) tensor of seats,
        or None for the player to move), as `dtype`, written into `out` if given (saves an allocation)."""
        t, b, p, h = self.t, self.num_games, self.num_players, self.hand_size
        if observer is None:
            observer = self.cur
        observer = torch.as_tensor(observer, device=self.device).long().expand(b)
        seats = self._seats(observer, 0)  # (B, P): observer first, then the others in turn order
        hands = self.hands.gather(1, seats.unsqueeze(2).expand(b, p, h))
        knowledge = self.knowledge.gather(1, seats.unsqueeze(2).expand(b, p, h))
        has_last = (self.last_player >= 0).unsqueeze(1)
        last_actor = _lookup(t.seat_onehot, (self.last_player - observer) % p) & has_last
        last_target = _lookup(t.seat_onehot, (self.last_target - observer) % p) & (self.last_target >= 0).unsqueeze(1)
        parts = [
            _lookup(t.card_onehot, hands[:, 1:]).reshape(b, -1),  # the other players' cards
            hands[:, :, h - 1] == EMPTY,  # hand is missing a card
            t.deck_steps < (DECK_SIZE - self.deck_pos).unsqueeze(1),
            (self.fireworks.unsqueeze(2) == t.firework_levels).reshape(b, -1),  # one-hot of the top card
            t.info_steps < self.info.unsqueeze(1),
            t.life_steps < self.lives.unsqueeze(1),
            self.discard_bits[:, :DECK_SIZE],
            last_actor, self.last_bits[:, :4], last_target, self.last_bits[:, 4:],
            _lookup(t.knowledge_bits, knowledge).reshape(b, -1),
        ]
        bits = torch.cat(parts, 1, out=self._bits).view(torch.uint8)  # via uint8: bool -> float is slow on CPU
        return bits.to(dtype, copy=True) if out is None else out.copy_(bits)

    def encode_all(self, dtype=torch.float32):
        """(B, P, encoding_size): every seat's observation, in absolute seat order."""
        return torch.stack([self.encode(seat, dtype) for seat in range(self.num_players)], 1)

    def _discard(self, card, discarded):
        """Count `card` in the discard pile where `discarded`, setting its next thermometer bit."""
        card = card.clamp(max=NUM_CARDS - 1).unsqueeze(1)
        copies = self.discards.gather(1, card).squeeze(1)
        bit = _lookup(self.t.discard_start, card.squeeze(1)) + copies
        self.discard_bits.scatter_(1, torch.where(discarded, bit, DECK_SIZE).unsqueeze(1), True)  # 50: spare column
        self.discards.scatter_add_(1, card, discarded.long().unsqueeze(1))

    def _seats(self, first, start):
        """(B, P - start) seats in turn order from `first` (start=0 includes it, start=1 skips it)."""
        return (first.unsqueeze(1) + self.t.players[start:]) % self.num_players


def _lookup(table, index):
    """table[index] along the table's first dimension: index_select is several times faster than
    advanced indexing on CPU."""
    return table.index_select(0, index.reshape(-1)).view(*index.shape, *table.shape[1:])
