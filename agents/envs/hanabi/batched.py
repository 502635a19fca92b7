"""Batched Hanabi: many games stepped at once as torch tensors, for training.

This module owns the fast engine. Its semantics are those of the rules of record
(`agents/envs/hanabi/rules.py`) and so of DeepMind's Hanabi Learning Environment (HLE):

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
scores are those of the move just made, the observations are those of the new game.

Tensor layouts (B games, P players, H hand size; cards are `colour * 5 + rank - 1`, 25 = no card):

    deck        (B, 50)        the deal order of each game
    deck_pos    (B,)           index of the next card to draw (P*H right after the deal)
    hands       (B, P, H)      cards by absolute seat and slot; 25 for an empty slot
    knowledge   (B, P, H, 35)  per card what its holder knows, in HLE's encoding: 25 plausible
                               cards (colour-major), colour hinted (5), rank hinted (5); 0 if empty
    fireworks   (B, 5)         cards played per colour
    info, lives (B,)           hint tokens, life tokens
    discards    (B, 25)        discarded copies per card
    cur         (B,)           seat to move
    turns_left  (B,)           P until the deck runs out, then counts the final round down
    score       (B,)           current score (0 once the lives are gone)
    last_player (B,)           seat that made the last move, -1 before the first move
    last_target (B,)           seat a last hint went to, -1 otherwise
    last_bits   (B, 51)        the observer-independent part of HLE's last-action section: move type
                               (4), colour (5), rank (5), cards the hint touched (H), slot (H),
                               card (25), scored (1), play returned a token (1)

Example:

    game = BatchedHanabi(num_games=4096, device="cpu", seed=0)
    obs, legal = game.encode(), game.legal_mask()
    reward, done, score = game.step(actions)       # actions: (B,) HLE move uids
"""

import torch

NUM_COLORS = 5
NUM_RANKS = 5
NUM_CARDS = NUM_COLORS * NUM_RANKS  # distinct cards
EMPTY = NUM_CARDS  # the "no card" value in hands and decks
DECK_SIZE = 50
MAX_INFO = 8
MAX_LIVES = 3
COPIES = (3, 2, 2, 2, 1)  # copies of rank 1..5 in each colour
KNOWLEDGE_BITS = NUM_CARDS + NUM_COLORS + NUM_RANKS  # 35 per card
NO_HINT = 2 * NUM_COLORS  # hint kinds: 0-4 colour, 5-9 rank, 10 no hint


def hand_size(num_players):
    """Cards in a full hand: 5 for 2-3 players, 4 for 4-5."""
    return 5 if num_players <= 3 else 4


def num_moves(num_players):
    """Number of HLE move uids: discards, plays, colour hints, rank hints."""
    return 2 * hand_size(num_players) + (num_players - 1) * (NUM_COLORS + NUM_RANKS)


def encoding_size(num_players):
    """Length of HLE's canonical observation: 658, 956, 1041, 1280 for 2, 3, 4, 5 players."""
    h = hand_size(num_players)
    hands = (num_players - 1) * h * NUM_CARDS + num_players
    board = DECK_SIZE - num_players * h + NUM_CARDS + MAX_INFO + MAX_LIVES
    last_action = 2 * num_players + 4 + NUM_COLORS + NUM_RANKS + 2 * h + NUM_CARDS + 2
    return hands + board + DECK_SIZE + last_action + num_players * h * KNOWLEDGE_BITS


def deck_of_all_cards():
    """The 50 cards in sorted order: R1 R1 R1 R2 R2 ... B5."""
    return [c * NUM_RANKS + r for c in range(NUM_COLORS) for r in range(NUM_RANKS) for _ in range(COPIES[r])]


class _Tables:
    """Small constant lookup tables that turn move uids and cards into masks (built once per engine)."""

    def __init__(self, num_players, device):
        p, h = num_players, hand_size(num_players)
        moves = num_moves(p)
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
        uid = torch.arange(moves)
        self.is_discard = uid < h
        self.is_play = (uid >= h) & (uid < 2 * h)
        self.is_card_move = uid < 2 * h
        self.slot = torch.where(uid < 2 * h, uid % h, h)
        hint = (uid - 2 * h).clamp(min=0)
        per_kind = (p - 1) * NUM_COLORS
        is_color_hint = (uid >= 2 * h) & (uid < 2 * h + per_kind)
        self.hint_kind = torch.where(uid < 2 * h, NO_HINT,
                                     torch.where(is_color_hint, hint % NUM_COLORS, NUM_COLORS + (hint - per_kind) % NUM_RANKS))
        self.target_offset = torch.where(uid < 2 * h, 0, 1 + (hint % per_kind) // NUM_COLORS)
        move_type = torch.where(self.is_play, 0, torch.where(self.is_discard, 1, torch.where(is_color_hint, 2, 3)))
        # Last-action bits fixed by the uid alone: move type (4), hinted colour (5), hinted rank (5).
        kind_bits = torch.eye(NO_HINT + 1, dtype=torch.bool)[self.hint_kind, :NO_HINT]
        self.last_uid_bits = torch.cat([torch.eye(4, dtype=torch.bool)[move_type], kind_bits], 1)
        self.last_slot_bits = torch.eye(h + 1, dtype=torch.bool)[self.slot, :h]

        # Hand shift: row s removes slot s and appends the drawn card (index h); row h keeps the hand.
        self.shift = torch.stack([torch.tensor([j if j < s else j + 1 for j in range(h)]) for s in range(h)]
                                 + [torch.arange(h)])
        # Knowledge of a newly drawn card (row 1) or of no card (row 0).
        self.new_knowledge = torch.zeros(2, KNOWLEDGE_BITS, dtype=torch.bool)
        self.new_knowledge[1, :NUM_CARDS] = True
        self.hint_and, self.hint_or = self._hint_updates()

        # Discard thermometer: bit j is set when card discard_card[j] has more than discard_copy[j] discarded.
        self.discard_card = torch.tensor([c * NUM_RANKS + r for c in range(NUM_COLORS) for r in range(NUM_RANKS)
                                          for _ in range(COPIES[r])])
        self.discard_copy = torch.tensor([k for _ in range(NUM_COLORS) for r in range(NUM_RANKS) for k in range(COPIES[r])])
        self.deck_cards = torch.tensor(deck_of_all_cards())
        self.deck_steps = torch.arange(DECK_SIZE - p * h)
        self.info_steps = torch.arange(MAX_INFO)
        self.life_steps = torch.arange(MAX_LIVES)
        self.players = torch.arange(p)
        self.seat_onehot = torch.eye(p, dtype=torch.bool)
        self.firework_levels = torch.arange(1, NUM_RANKS + 1)
        for name, value in vars(self).items():
            setattr(self, name, value.to(device))

    @staticmethod
    def _hint_updates():
        """Knowledge update per (hint kind, card touched): new = (old & AND) | OR, rows kind * 2 + touched."""
        keep = torch.ones(NO_HINT + 1, 2, KNOWLEDGE_BITS, dtype=torch.bool)
        add = torch.zeros(NO_HINT + 1, 2, KNOWLEDGE_BITS, dtype=torch.bool)
        plausible = keep[..., :NUM_CARDS].view(NO_HINT + 1, 2, NUM_COLORS, NUM_RANKS)
        for c in range(NUM_COLORS):
            plausible[c, 1, :c] = plausible[c, 1, c + 1:] = False  # touched: only colour c remains
            plausible[c, 0, c] = False  # not touched: colour c is ruled out
            add[c, 1, NUM_CARDS + c] = True
        for r in range(NUM_RANKS):
            k = NUM_COLORS + r
            plausible[k, 1, :, :r] = plausible[k, 1, :, r + 1:] = False
            plausible[k, 0, :, r] = False
            add[k, 1, NUM_CARDS + NUM_COLORS + r] = True
        return keep.view(-1, KNOWLEDGE_BITS), add.view(-1, KNOWLEDGE_BITS)


class BatchedHanabi:
    """`num_games` independent Hanabi games of `num_players` players, stepped together on `device`."""

    def __init__(self, num_games, num_players=2, device="cpu", seed=None, decks=None):
        if not 2 <= num_players <= 5:
            raise ValueError(f"Hanabi needs 2 to 5 players, got num_players={num_players}")
        self.num_games, self.num_players = num_games, num_players
        self.hand_size = hand_size(num_players)
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
        self.knowledge = torch.zeros(b, p, h, KNOWLEDGE_BITS, dtype=torch.bool, device=self.device)
        self.fireworks = torch.zeros(b, NUM_COLORS, **zeros)
        self.discards = torch.zeros(b, NUM_CARDS, **zeros)
        self.last_bits = torch.zeros(b, 14 + 2 * h + NUM_CARDS + 2, dtype=torch.bool, device=self.device)
        (self.deck_pos, self.info, self.lives, self.cur, self.turns_left, self.score,
         self.last_player, self.last_target) = torch.zeros(8, b, **zeros)
        self.reset(seed=seed, decks=decks)

    # ----------------------------------------------------------------------------------------- deal

    def reset(self, seed=None, decks=None):
        """Deal every game again: from `decks` ((B, 50) cards in deal order) if given, else shuffled
        from the engine's generator, which `seed` re-seeds."""
        if seed is not None:
            self.generator.manual_seed(seed)
        self._deal(torch.arange(self.num_games, device=self.device), decks)

    def _deal(self, games, decks=None):
        """Start new games in the rows `games`: the first P*H cards go to the players in seat order."""
        if decks is None:
            order = torch.rand(len(games), DECK_SIZE, generator=self.generator, device=self.device).argsort(1)
            decks = self.t.deck_cards[order]
        else:
            decks = torch.as_tensor(decks, dtype=torch.long, device=self.device)
            self._check_decks(decks, len(games))
        p, h = self.num_players, self.hand_size
        self.deck[games] = decks
        self.hands[games] = decks[:, :p * h].view(-1, p, h)
        self.knowledge[games] = self.t.new_knowledge[1]
        self.deck_pos[games] = p * h
        self.fireworks[games] = 0
        self.discards[games] = 0
        self.info[games] = MAX_INFO
        self.lives[games] = MAX_LIVES
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

    def step(self, actions):
        """Apply one move uid per game (each must be legal), then deal finished games again.

        Returns (reward, done, score), each (B,): the change in score made by the move, whether the
        move ended the game, and the score after the move (the final score where done).
        """
        t, p, h = self.t, self.num_players, self.hand_size
        a = torch.as_tensor(actions, device=self.device).long()
        b = self.num_games
        is_play, is_discard, is_card_move = t.is_play[a], t.is_discard[a], t.is_card_move[a]
        slot = t.slot[a]

        # The card played or discarded (EMPTY for hints) and what it does.
        actor_hand = self.hands.gather(1, self.cur.view(b, 1, 1).expand(b, 1, h)).squeeze(1)
        card = actor_hand.gather(1, slot.clamp(max=h - 1).unsqueeze(1)).squeeze(1)
        card = torch.where(is_card_move, card, EMPTY)
        color, rank = t.card_color[card].clamp(max=NUM_COLORS - 1), t.card_rank[card]
        scored = is_play & (self.fireworks.gather(1, color.unsqueeze(1)).squeeze(1) == rank)
        misplay = is_play & ~scored
        self.fireworks.scatter_add_(1, color.unsqueeze(1), scored.long().unsqueeze(1))
        token = (is_discard | (scored & (rank == NUM_RANKS - 1))) & (self.info < MAX_INFO)
        self.info += token.long() - (~is_card_move).long()
        self.lives -= misplay.long()
        self.discards += (t.card_onehot[card] & (is_discard | misplay).unsqueeze(1)).long()

        # Drawing: the final round counts down once the deck is empty.
        deck_empty = self.deck_pos >= DECK_SIZE
        self.turns_left -= deck_empty.long()
        draws = is_card_move & ~deck_empty
        drawn = torch.where(draws, self.deck.gather(1, self.deck_pos.clamp(max=DECK_SIZE - 1).unsqueeze(1)).squeeze(1), EMPTY)
        self.deck_pos += draws.long()

        # A hint updates what its target knows; every other seat gets the no-hint row (no change).
        target = (self.cur + t.target_offset[a]) % p
        seat_kind = torch.where((t.players == target.unsqueeze(1)) & ~is_card_move.unsqueeze(1),
                                t.hint_kind[a].unsqueeze(1), NO_HINT)  # (B, P)
        touched = t.card_matches_hint[self.hands * (NO_HINT + 1) + seat_kind.unsqueeze(2)]  # (B, P, H)
        row = seat_kind.unsqueeze(2) * 2 + touched.long()
        self.knowledge = (self.knowledge & t.hint_and[row]) | t.hint_or[row]

        # The actor's hand loses the card and gets the drawn one at the end; other seats keep theirs.
        seat_slot = torch.where(t.players == self.cur.unsqueeze(1), slot.unsqueeze(1), h)  # (B, P)
        index = t.shift[seat_slot]  # (B, P, H)
        self.hands = torch.cat([self.hands, drawn.view(b, 1, 1).expand(b, p, 1)], 2).gather(2, index)
        new_card = t.new_knowledge[draws.long()].view(b, 1, 1, KNOWLEDGE_BITS).expand(b, p, 1, KNOWLEDGE_BITS)
        self.knowledge = torch.cat([self.knowledge, new_card], 2).gather(
            2, index.unsqueeze(3).expand(b, p, h, KNOWLEDGE_BITS))

        self.last_player = self.cur
        self.last_target = torch.where(is_card_move, -1, target)
        self.last_bits = torch.cat([t.last_uid_bits[a], touched.any(1), t.last_slot_bits[a], t.card_onehot[card],
                                    scored.unsqueeze(1), (token & is_play).unsqueeze(1)], 1)

        total = self.fireworks.sum(1)
        score = torch.where(self.lives > 0, total, 0)
        reward = score - self.score
        self.score = score.clone()  # _deal resets self.score in place; the returned scores must survive
        done = (self.lives == 0) | (total == NUM_CARDS) | (self.turns_left <= 0)
        self.cur = (self.cur + 1) % p
        finished = done.nonzero().squeeze(1)
        if len(finished):
            self._deal(finished)
        return reward, done, score

    # ------------------------------------------------------------------------------ observations

    def legal_mask(self):
        """(B, num_moves) bool: the legal move uids of the player to move, in HLE uid order."""
        t, b, p, h = self.t, self.num_games, self.num_players, self.hand_size
        own = self.hands.gather(1, self.cur.view(b, 1, 1).expand(b, 1, h)).squeeze(1) != EMPTY
        others = self.hands.gather(1, self._seats(self.cur, 1).unsqueeze(2).expand(b, p - 1, h))
        can_hint = (t.card_features[others].any(2) & (self.info > 0).view(b, 1, 1))  # (B, P-1, 10)
        return torch.cat([own & (self.info < MAX_INFO).unsqueeze(1), own,
                          can_hint[:, :, :NUM_COLORS].reshape(b, -1), can_hint[:, :, NUM_COLORS:].reshape(b, -1)], 1)

    def encode(self, observer=None, dtype=torch.float32):
        """(B, encoding_size) HLE canonical observation of `observer` (a seat, a (B,) tensor of seats,
        or None for the player to move), as `dtype`."""
        t, b, p, h = self.t, self.num_games, self.num_players, self.hand_size
        if observer is None:
            observer = self.cur
        observer = torch.as_tensor(observer, device=self.device).long().expand(b)
        seats = self._seats(observer, 0)  # (B, P): observer first, then the others in turn order
        hands = self.hands.gather(1, seats.unsqueeze(2).expand(b, p, h))
        knowledge = self.knowledge.gather(1, seats.view(b, p, 1, 1).expand(b, p, h, KNOWLEDGE_BITS))
        has_last = (self.last_player >= 0).unsqueeze(1)
        last_actor = t.seat_onehot[(self.last_player - observer) % p] & has_last
        last_target = t.seat_onehot[(self.last_target - observer) % p] & (self.last_target >= 0).unsqueeze(1)
        parts = [
            t.card_onehot[hands[:, 1:]].reshape(b, -1),  # the other players' cards
            hands[:, :, h - 1] == EMPTY,  # hand is missing a card
            t.deck_steps < (DECK_SIZE - self.deck_pos).unsqueeze(1),
            (self.fireworks.unsqueeze(2) == t.firework_levels).reshape(b, -1),  # one-hot of the top card
            t.info_steps < self.info.unsqueeze(1),
            t.life_steps < self.lives.unsqueeze(1),
            self.discards[:, t.discard_card] > t.discard_copy,
            last_actor, self.last_bits[:, :4], last_target, self.last_bits[:, 4:],
            knowledge.reshape(b, -1),
        ]
        return torch.cat(parts, 1).to(dtype)

    def encode_all(self, dtype=torch.float32):
        """(B, P, encoding_size): every seat's observation, in absolute seat order."""
        return torch.stack([self.encode(seat, dtype) for seat in range(self.num_players)], 1)

    def _seats(self, first, start):
        """(B, P - start) seats in turn order from `first` (start=0 includes it, start=1 skips it)."""
        return (first.unsqueeze(1) + self.t.players[start:]) % self.num_players
