"""hanab.live game JSON: export, import, round trip."""

from __future__ import annotations

import json
import random

import pytest

from agents.envs.hanabi.hanablive import from_hanablive, to_hanablive
from agents.envs.hanabi.rules import HanabiGame, Move, MoveType, standard_deck

R, Y, G, W, B = range(5)


def random_game(num_players: int, seed: int, finish: bool = True) -> HanabiGame:
    game, rng = HanabiGame(num_players, seed=seed), random.Random(seed)
    while not game.is_over() and (finish or len(game.history) < 10):
        legal = game.legal_moves()
        non_plays = [u for u in legal if game.move_from_uid(u).type is not MoveType.PLAY]
        game.step(rng.choice(legal if rng.random() < 0.2 or not non_plays else non_plays))
    return game


def same_game(a: HanabiGame, b: HanabiGame) -> bool:
    return (a.deck_order == b.deck_order and [i.uid for i in a.history] == [i.uid for i in b.history]
            and a.hands == b.hands and a.fireworks == b.fireworks and a.discard_pile == b.discard_pile
            and a.score() == b.score() and a.is_over() == b.is_over())


@pytest.mark.parametrize("num_players", [2, 3, 4, 5])
def test_a_finished_game_round_trips_through_json(num_players):
    for seed in range(10):
        game = random_game(num_players, seed)
        data = json.loads(json.dumps(to_hanablive(game)))
        assert all(a["type"] in (0, 1, 2, 3) for a in data["actions"])  # ended by the rules: no game-over action
        assert same_game(from_hanablive(data), game)


def test_an_unfinished_game_ends_with_a_terminated_action_and_round_trips():
    game = random_game(2, seed=1, finish=False)
    data = to_hanablive(game)
    assert data["actions"][-1] == {"type": 4, "target": game.current_player, "value": 4}
    assert same_game(from_hanablive(data), game)


def test_play_and_discard_target_the_card_order_not_the_slot():
    game = HanabiGame(2, seed=5)
    game.step(game.legal_moves()[-1])  # player 0 hints
    game.step(game.uid_from_move(Move(MoveType.PLAY, card_index=2)))  # player 1 plays slot 2 = card order 7
    game.step(game.uid_from_move(Move(MoveType.DISCARD, card_index=0)))  # player 0 discards order 0
    actions = to_hanablive(game)["actions"]
    assert actions[1] == {"type": 0, "target": 7, "value": 0}
    assert actions[2] == {"type": 1, "target": 0, "value": 0}


def test_colours_map_to_hanablive_suits_and_white_becomes_purple():
    deck = HanabiGame(2, seed=0).deck_order
    data = to_hanablive(HanabiGame(2, deck=deck))
    suits = {(color, card["suitIndex"]) for (color, _), card in zip(deck, data["deck"])}
    assert suits == {(R, 0), (Y, 1), (G, 2), (W, 4), (B, 3)}
    assert [card["rank"] for card in data["deck"]] == [rank + 1 for _, rank in deck]


def test_clues_name_the_seat_and_the_value():
    rest = list(standard_deck())
    hands = [(R, 0), (Y, 0), (G, 0), (W, 0), (B, 0)] * 3
    for card in hands:
        rest.remove(card)
    game = HanabiGame(3, deck=hands + rest)
    game.step(game.uid_from_move(Move(MoveType.REVEAL_COLOR, target_offset=2, color=W)))
    game.step(game.uid_from_move(Move(MoveType.REVEAL_RANK, target_offset=2, rank=0)))
    assert to_hanablive(game)["actions"][:2] == [{"type": 2, "target": 2, "value": 4}, {"type": 3, "target": 0, "value": 1}]


def test_the_deal_fills_each_hand_in_turn():
    data = to_hanablive(HanabiGame(4, seed=3))
    game = from_hanablive(data)
    assert game.hands == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [12, 13, 14, 15]]


def test_an_action_the_rules_reject_is_refused():
    data = to_hanablive(HanabiGame(2, seed=2))
    data["actions"] = [{"type": 1, "target": 0, "value": 0}]  # discard at 8 clues
    with pytest.raises(ValueError, match="action 0"):
        from_hanablive(data)
    data["actions"] = [{"type": 0, "target": 7, "value": 0}]  # card 7 is in player 1's hand
    with pytest.raises(ValueError, match="not in player 0's hand"):
        from_hanablive(data)


def test_other_variants_are_refused():
    data = to_hanablive(HanabiGame(2, seed=2))
    data["options"]["variant"] = "Rainbow (6 Suits)"
    with pytest.raises(ValueError, match="No Variant"):
        from_hanablive(data)


def test_player_names_must_match_the_seats():
    with pytest.raises(ValueError, match="2 distinct player names"):
        to_hanablive(HanabiGame(2, seed=0), players=["Alice", "Alice"])
    assert to_hanablive(HanabiGame(2, seed=0), players=["Alice", "Bot"])["players"] == ["Alice", "Bot"]
