"""The Hanabi rules of record and the canonical encoding, one test per rule (no HLE needed)."""

from __future__ import annotations

import copy
import json
import random
from collections import Counter

import numpy as np
import pytest

from agents.envs.hanabi.encoding import encode, encoding_size, legal_mask, section_offsets, section_sizes
from agents.envs.hanabi.rules import (
    MAX_INFORMATION_TOKENS,
    HanabiGame,
    Move,
    MoveType,
    all_moves,
    card_code,
    hand_size_for,
    move_from_uid,
    num_moves,
    standard_deck,
    uid_from_move,
)

R, Y, G, W, B = range(5)


def deck_starting_with(*cards: tuple[int, int]) -> list[tuple[int, int]]:
    """A full deck whose first cards are `cards` (colour, rank 1-5), the rest in a fixed order."""
    first = [(c, r - 1) for c, r in cards]
    rest = Counter(standard_deck()) - Counter(first)
    assert sum(Counter(first).values()) == len(first) and not (Counter(first) - Counter(standard_deck()))
    return first + sorted(rest.elements())


def uid(game: HanabiGame, type_: MoveType, **fields) -> int:
    return game.uid_from_move(Move(type_, **fields))


# ---------------------------------------------------------------- setup


def test_deck_has_three_ones_two_of_2_to_4_one_five_per_colour():
    counts = Counter(standard_deck())
    assert len(standard_deck()) == 50
    for color in range(5):
        assert [counts[(color, rank)] for rank in range(5)] == [3, 2, 2, 2, 1]


@pytest.mark.parametrize("players,hand,moves", [(2, 5, 20), (3, 5, 30), (4, 4, 38), (5, 4, 48)])
def test_hand_size_and_number_of_moves(players, hand, moves):
    assert hand_size_for(players) == hand
    assert num_moves(players) == moves
    game = HanabiGame(players, seed=0)
    assert [len(h) for h in game.hands] == [hand] * players
    assert game.deck_size == 50 - players * hand


@pytest.mark.parametrize("players", [1, 6])
def test_only_two_to_five_players(players):
    with pytest.raises(ValueError, match="2 to 5 players"):
        HanabiGame(players)


def test_seeded_deal_is_reproducible_and_a_permutation_of_the_deck():
    assert HanabiGame(2, seed=7).deck_order == HanabiGame(2, seed=7).deck_order
    assert HanabiGame(2, seed=7).deck_order != HanabiGame(2, seed=8).deck_order
    assert sorted(HanabiGame(2, seed=7).deck_order) == sorted(standard_deck())


def test_deal_fills_player_zero_first_from_an_explicit_deck():
    deck = HanabiGame(3, seed=1).deck_order
    game = HanabiGame(3, deck=deck)
    assert game.deck_order == deck
    assert [game.hand_cards(p) for p in range(3)] == [deck[0:5], deck[5:10], deck[10:15]]
    assert game.current_player == 0


def test_a_game_is_rebuilt_from_its_deck_and_moves():
    game, rng = HanabiGame(4, seed=6), random.Random(6)
    while not game.is_over():
        game.step(rng.choice(game.legal_moves()))
    rebuilt = HanabiGame.from_moves(4, game.deck_order, [item.uid for item in game.history])
    assert str(rebuilt) == str(game) and rebuilt.history == game.history and rebuilt.is_over()


def test_a_deck_that_is_not_the_standard_fifty_cards_is_refused():
    with pytest.raises(ValueError, match="50 standard Hanabi cards"):
        HanabiGame(2, deck=[(0, 0)] * 50)


def test_tokens_start_at_eight_hints_and_three_lives():
    game = HanabiGame(2, seed=0)
    assert (game.information_tokens, game.life_tokens, game.score()) == (8, 3, 0)


# ---------------------------------------------------------------- move uids


def test_two_player_uid_layout():
    moves = all_moves(2)
    assert [m.type for m in moves] == [MoveType.DISCARD] * 5 + [MoveType.PLAY] * 5 + \
        [MoveType.REVEAL_COLOR] * 5 + [MoveType.REVEAL_RANK] * 5
    assert [m.card_index for m in moves[:10]] == [0, 1, 2, 3, 4] * 2
    assert [m.color for m in moves[10:15]] == [R, Y, G, W, B]
    assert [m.rank for m in moves[15:20]] == [0, 1, 2, 3, 4]
    assert {m.target_offset for m in moves[10:]} == {1}


def test_more_players_give_hint_moves_per_target_offset():
    # 4 players, hand 4: 0-3 discard, 4-7 play, 8-22 colour hints, 23-37 rank hints.
    assert move_from_uid(8 + 5 + 2, 4) == Move(MoveType.REVEAL_COLOR, target_offset=2, color=G)
    assert move_from_uid(23 + 10 + 4, 4) == Move(MoveType.REVEAL_RANK, target_offset=3, rank=4)
    for players in range(2, 6):
        assert [uid_from_move(move_from_uid(u, players), players) for u in range(num_moves(players))] == \
            list(range(num_moves(players)))
    with pytest.raises(ValueError, match="out of range"):
        move_from_uid(20, 2)


# ---------------------------------------------------------------- legality


def test_discarding_is_illegal_with_eight_tokens():
    game = HanabiGame(2, seed=3)
    assert game.information_tokens == MAX_INFORMATION_TOKENS
    assert not any(game.move_from_uid(u).type is MoveType.DISCARD for u in game.legal_moves())
    with pytest.raises(ValueError, match="not legal"):
        game.step(0)
    game.step(game.legal_moves()[-1])  # a hint spends a token
    assert set(range(5)) <= set(game.legal_moves())


def test_a_hint_must_touch_at_least_one_card():
    game = HanabiGame(2, deck=deck_starting_with((R, 1), (R, 1), (R, 1), (R, 2), (R, 2),
                                                 (Y, 1), (Y, 1), (Y, 2), (G, 3), (G, 3)))
    legal = game.legal_moves()
    assert [game.move_from_uid(u).color for u in legal if game.move_from_uid(u).type is MoveType.REVEAL_COLOR] == [Y, G]
    assert [game.move_from_uid(u).rank for u in legal if game.move_from_uid(u).type is MoveType.REVEAL_RANK] == [0, 1, 2]
    assert not game.is_legal(uid(game, MoveType.REVEAL_COLOR, target_offset=1, color=B))


def test_a_hint_needs_a_token():
    game = HanabiGame(2, seed=4)
    for _ in range(8):
        game.step(next(u for u in game.legal_moves() if game.move_from_uid(u).is_hint))
    assert game.information_tokens == 0
    assert not any(game.move_from_uid(u).is_hint for u in game.legal_moves())


def test_playing_is_always_legal_and_the_mask_matches_the_list():
    game = HanabiGame(3, seed=5)
    assert set(range(5, 10)) <= set(game.legal_moves())
    assert np.flatnonzero(game.legal_mask()).tolist() == game.legal_moves()
    assert not legal_mask(game, 1).any()
    assert legal_mask(game, 0).tolist() == game.legal_mask().tolist()


# ---------------------------------------------------------------- effects


def test_a_good_play_scores_and_the_drawn_card_goes_to_the_end_of_the_hand():
    game = HanabiGame(2, deck=deck_starting_with((B, 3), (R, 1), (Y, 4), (G, 2), (W, 2)))
    reward = game.step(uid(game, MoveType.PLAY, card_index=1))
    assert reward == 1 and game.fireworks == [1, 0, 0, 0, 0]
    assert game.hands[0] == [0, 2, 3, 4, 10]  # slot 1 removed, the 11th card appended
    assert game.history[-1].scored and game.history[-1].card_order == 1


def test_a_misplay_costs_a_life_and_goes_to_the_discards():
    game = HanabiGame(2, deck=deck_starting_with((B, 3)))
    assert game.step(uid(game, MoveType.PLAY, card_index=0)) == 0
    assert game.life_tokens == 2 and game.discard_pile == [card_code(B, 2)] and game.fireworks == [0] * 5


def test_discarding_gains_a_token():
    game = HanabiGame(2, seed=0)
    game.step(game.legal_moves()[-1])
    game.step(uid(game, MoveType.DISCARD, card_index=2))
    assert game.information_tokens == 8 and len(game.discard_pile) == 1 and game.history[-1].information_token


def test_the_third_misplay_ends_the_game_with_score_zero():
    game = HanabiGame(2, deck=deck_starting_with((R, 1), (B, 2), (B, 2), (B, 3), (B, 3),
                                                 (Y, 2), (Y, 2), (Y, 3), (Y, 3), (Y, 4)))
    rewards = [game.step(uid(game, MoveType.PLAY, card_index=0)) for _ in range(4)]  # R1, then 3 misplays
    assert rewards == [1, 0, 0, -1]
    assert game.is_over() and game.life_tokens == 0 and game.score() == 0 and game.fireworks[R] == 1
    with pytest.raises(ValueError, match="game is over"):
        game.step(5)
    assert game.legal_moves() == []


@pytest.mark.parametrize("partner_moves,tokens_before,tokens_after", [
    ("hint hint hint hint", 4, 5),  # below 8: the five gives a token back
    ("hint discard hint discard", 8, 8),  # at 8: nothing to give back
])
def test_completing_a_stack_with_a_five_returns_a_token_if_below_eight(partner_moves, tokens_before, tokens_after):
    game = HanabiGame(2, deck=deck_starting_with((R, 1), (R, 2), (R, 3), (R, 4), (R, 5)))
    for partner_move in partner_moves.split():
        game.step(uid(game, MoveType.PLAY, card_index=0))  # player 0 plays R1..R4 in turn
        game.step(uid(game, MoveType.DISCARD, card_index=0) if partner_move == "discard" else game.legal_moves()[-1])
    assert game.information_tokens == tokens_before
    game.step(uid(game, MoveType.PLAY, card_index=0))  # R5
    assert game.fireworks[R] == 5 and game.information_tokens == tokens_after
    assert game.history[-1].information_token == (tokens_after > tokens_before)


def test_colour_hint_marks_touched_cards_and_rules_out_the_colour_elsewhere():
    game = HanabiGame(2, deck=deck_starting_with((R, 1), (R, 1), (R, 1), (R, 2), (R, 2),
                                                 (Y, 1), (B, 1), (Y, 2), (G, 3), (Y, 3)))
    game.step(uid(game, MoveType.REVEAL_COLOR, target_offset=1, color=Y))
    know = game.knowledge[1]
    assert [k.color for k in know] == [Y, -1, Y, -1, Y]
    assert know[0].color_plausible == 1 << Y and know[1].color_plausible == 0b11111 & ~(1 << Y)
    assert know[0].rank_plausible == 0b11111
    item = game.history[-1]
    assert item.reveal_bitmask == 0b10101 and item.newly_revealed_bitmask == 0b10101
    game.step(game.legal_moves()[-1])
    game.step(uid(game, MoveType.REVEAL_COLOR, target_offset=1, color=Y))
    assert game.history[-1].reveal_bitmask == 0b10101 and game.history[-1].newly_revealed_bitmask == 0


def test_rank_hint_marks_touched_cards_and_rules_out_the_rank_elsewhere():
    game = HanabiGame(2, deck=deck_starting_with((R, 1), (R, 1), (R, 1), (R, 2), (R, 2),
                                                 (Y, 1), (B, 1), (Y, 2), (G, 3), (Y, 3)))
    game.step(uid(game, MoveType.REVEAL_RANK, target_offset=1, rank=0))
    assert [k.rank for k in game.knowledge[1]] == [0, 0, -1, -1, -1]
    assert game.knowledge[1][2].rank_plausible == 0b11110
    assert str(game.knowledge[1][0]) == "X1|RYGWB1" and str(game.knowledge[1][2]) == "XX|RYGWB2345"


def test_knowledge_follows_the_card_when_the_hand_shifts():
    game = HanabiGame(2, deck=deck_starting_with((R, 1), (R, 1), (R, 1), (R, 2), (R, 2),
                                                 (Y, 1), (B, 1), (Y, 2), (G, 3), (Y, 3)))
    game.step(uid(game, MoveType.REVEAL_COLOR, target_offset=1, color=B))
    game.step(uid(game, MoveType.PLAY, card_index=0))  # player 1 plays Y1 from slot 0
    assert game.knowledge[1][0].color == B and game.knowledge[1][-1].color == -1


# ---------------------------------------------------------------- end of game


def test_after_the_last_card_every_player_gets_exactly_one_more_turn():
    for players in range(2, 6):
        game = HanabiGame(players, seed=players)
        rng = random.Random(players)
        turns_after_last_draw = None
        while not game.is_over():
            if game.deck_size == 0 and turns_after_last_draw is None:
                turns_after_last_draw = 0
            non_plays = [u for u in game.legal_moves() if game.move_from_uid(u).type is not MoveType.PLAY]
            game.step(rng.choice(non_plays))
            if turns_after_last_draw is not None:
                turns_after_last_draw += 1
        assert turns_after_last_draw == players


def test_never_playing_and_hinting_whenever_possible_lasts_89_turns():
    for seed in range(5):
        game = HanabiGame(2, seed=seed)
        while not game.is_over():
            legal = game.legal_moves()
            hints = [u for u in legal if game.move_from_uid(u).is_hint]
            game.step(hints[0] if hints else min(legal))
        assert len(game.history) == 89


def test_twenty_five_points_end_the_game_at_once():
    order = [(c, r) for r in range(1, 6) for c in range(5)]
    game = HanabiGame(2, deck=deck_starting_with(*order))
    while not game.is_over():
        hand = game.hand_cards(game.current_player)
        playable = [i for i, (c, r) in enumerate(hand) if game.fireworks[c] == r]
        legal = game.legal_moves()
        game.step(game.uid_from_move(Move(MoveType.PLAY, card_index=playable[0])) if playable
                  else next(u for u in legal if game.move_from_uid(u).type is not MoveType.PLAY))
    assert game.score() == 25 and game.deck_size > 0


def test_random_legal_play_bombs_out():
    scores = []
    for seed in range(50):
        game, rng = HanabiGame(2, seed=seed), random.Random(seed)
        rewards = 0
        while not game.is_over():
            rewards += game.step(rng.choice(game.legal_moves()))
        assert rewards == game.score()
        scores.append(game.score())
    assert np.mean(scores) < 0.5


# ---------------------------------------------------------------- views


def test_a_player_never_sees_their_own_cards():
    game = HanabiGame(3, seed=11)
    for _ in range(6):
        game.step(game.legal_moves()[-1])
    for player in range(3):
        view = game.view(player)
        json.dumps(view)
        assert view["observed_hands"][0] == [{"color": None, "rank": -1}] * 5
        assert view["observed_hands"][1] == [{"color": "RYGWB"[c], "rank": r} for c, r in game.hand_cards((player + 1) % 3)]
        assert view["current_player_offset"] == (game.current_player - player) % 3
        assert (view["legal_moves_as_int"] != []) == (player == game.current_player)


def test_view_lists_moves_since_the_observer_last_moved_newest_first():
    game = HanabiGame(3, seed=2)
    played = []
    for _ in range(4):
        played.append(game.legal_moves()[-1])
        game.step(played[-1])
    view = game.view(1)
    assert [m["uid"] for m in view["last_moves"]] == [played[3], played[2], played[1]]
    assert [m["player"] for m in view["last_moves"]] == [(0 - 1) % 3, (2 - 1) % 3, 0]


def test_a_view_without_moves_is_the_view_less_its_moves():
    rng = random.Random(4)
    game = HanabiGame(2, seed=5)
    while not game.is_over():
        for player in range(2):
            full, lean = game.view(player), game.view(player, moves=False)
            assert lean == {k: v for k, v in full.items() if k not in ("legal_moves", "legal_moves_as_int", "last_moves")}
            assert set(full) - set(lean) == {"legal_moves", "legal_moves_as_int", "last_moves"}
        game.step(rng.choice(game.legal_moves()))


# ---------------------------------------------------------------- encoding


@pytest.mark.parametrize("players,size", [(2, 658), (3, 956), (4, 1041), (5, 1280)])
def test_encoding_sizes(players, size):
    assert encoding_size(players) == size
    assert encode(HanabiGame(players, seed=0), 0).shape == (size,)


def test_two_player_sections_are_127_76_50_55_350():
    assert list(section_sizes(2).values()) == [127, 76, 50, 55, 350]


def test_initial_encoding_shows_partner_cards_full_board_and_no_knowledge():
    game = HanabiGame(2, seed=9)
    obs = encode(game, 0)
    partner = [card_code(c, r) for c, r in game.hand_cards(1)]
    assert np.flatnonzero(obs[:125]).tolist() == [i * 25 + code for i, code in enumerate(partner)]
    board = obs[127:203]
    assert board[:40].sum() == 40 and board[40:65].sum() == 0 and board[65:73].sum() == 8 and board[73:].sum() == 3
    assert obs[203:308].sum() == 0  # no discards, no last action
    knowledge = obs[308:].reshape(10, 35)
    assert (knowledge[:, :25] == 1).all() and (knowledge[:, 25:] == 0).all()


def test_last_action_is_encoded_relative_to_the_observer():
    game = HanabiGame(3, seed=1)
    hint = next(u for u in game.legal_moves() if game.move_from_uid(u).type is MoveType.REVEAL_COLOR
                and game.move_from_uid(u).target_offset == 2)
    game.step(hint)
    move = game.move_from_uid(hint)
    start = section_offsets(3)["last_action"]
    for observer in range(3):
        bits = encode(game, observer)[start:start + section_sizes(3)["last_action"]]
        assert bits[:3].tolist() == [1 if k == (0 - observer) % 3 else 0 for k in range(3)]
        assert bits[3:7].tolist() == [0, 0, 1, 0]
        assert bits[7:10].tolist() == [1 if k == (2 - observer) % 3 else 0 for k in range(3)]
        assert bits[10:15].tolist() == [1 if c == move.color else 0 for c in range(5)]


def test_discards_are_a_thermometer_per_card():
    game = HanabiGame(2, seed=0)
    game.discard_pile = [card_code(Y, 0), card_code(Y, 0), card_code(B, 4)]
    discards = encode(game, 0)[section_offsets(2)["discards"]:][:50]
    assert discards[10:13].tolist() == [1, 1, 0] and discards[49] == 1 and discards.sum() == 3


# ---------------------------------------------------------------- gymnasium environment


def test_gym_env_plays_a_game_turn_by_turn_with_masks_and_seeding():
    import gymnasium

    from agents.envs.hanabi import gym_env

    env = gymnasium.make(gym_env.ENV_ID, num_players=2, render_mode="ansi")
    obs, info = env.reset(seed=42)
    again, _ = env.reset(seed=42)
    assert np.array_equal(obs["observation"], again["observation"])
    assert obs["observation"].shape == (658,) and obs["action_mask"].shape == (20,)
    assert env.observation_space.contains(obs)
    assert info["current_player"] == 0 and obs["action_mask"][:5].sum() == 0  # no discard at 8 tokens
    rng, total, players = random.Random(0), 0.0, []
    terminated = False
    while not terminated:
        players.append(info["current_player"])
        game = env.unwrapped.game
        assert np.array_equal(obs["observation"], encode(game, game.current_player))
        obs, reward, terminated, truncated, info = env.step(rng.choice(np.flatnonzero(obs["action_mask"]).tolist()))
        total += reward
        assert not truncated and env.observation_space.contains(obs)
    assert players == [t % 2 for t in range(len(players))]
    assert total == info["score"] and obs["action_mask"].sum() == 0
    assert "Your hand" in env.render()


def test_gym_env_deals_an_explicit_deck_and_refuses_illegal_moves():
    from agents.envs.hanabi.gym_env import HanabiEnv

    deck = HanabiGame(2, seed=9).deck_order
    env = HanabiEnv(2)
    env.reset(options={"deck": deck})
    assert env.game.deck_order == deck
    with pytest.raises(ValueError, match="not legal"):
        env.step(0)


def test_copy_is_independent_and_plays_on_exactly_as_a_deep_copy():
    rng = random.Random(5)
    for _ in range(20):
        game = HanabiGame(2, seed=rng.randrange(10**6))
        for _ in range(rng.randrange(40)):
            if game.is_over():
                break
            game.step(rng.choice(game.legal_moves()))
        before = str(game), [k.to_dict() for hand in game.knowledge for k in hand], len(game.history)
        fast, deep = game.copy(), copy.deepcopy(game)
        while not deep.is_over():
            uid = rng.choice(deep.legal_moves())
            assert fast.step(uid) == deep.step(uid)
            assert str(fast) == str(deep) and fast.view(0) == deep.view(0) and fast.view(1) == deep.view(1)
        assert (str(game), [k.to_dict() for hand in game.knowledge for k in hand], len(game.history)) == before
