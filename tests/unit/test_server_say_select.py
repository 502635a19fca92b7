"""The server's Say-Select adapter (server/games/say_select.py): rules bridge, prior formats, reader."""

import numpy as np
import pytest

from agents.priors import TablePrior
from server.games import say_select
from server.games.say_select import SaySelectGame
from server.messages import ProtocolError
from server.games.say_select import Reader, load_prior, prior_rows, table_from_json, table_json


def play(game: SaySelectGame, *actions: int) -> SaySelectGame:
    for a in actions:
        game, _ = game.applied(a)
    return game


def test_applied_leaves_the_original_game_untouched():
    game = SaySelectGame.from_balls([1, -1, -1, -1, 1])
    after, reward = play(game, 0).applied(0)
    assert reward == 1 and after.view()["balls"] == [-1, -1, -1, -1, 1]
    assert game.step == 0 and game.view()["balls"] == [1, -1, -1, -1, 1]


def test_turns_legal_moves_and_bob_context():
    game = SaySelectGame.from_balls([1, -1, -1, -1, 1])
    assert game.to_act == "human" and len(game.legal_moves()) == 5 and game.bob_context() == (0, None)
    game = play(game, 4)
    assert game.to_act == "agent" and game.legal_moves() == [] and game.bob_context() == (0, 5)
    game = play(game, 4, 2)
    assert game.bob_context() == (5, 3)
    game = play(game, 5)  # Bob quits
    assert game.over and game.to_act is None and game.score == 0.5


def test_human_moves_are_checked():
    assert say_select.human_move_to_action({"say": 5}) == 4
    for move, code in [({"say": 6}, "illegal_move"), ({"quit": True}, "illegal_move"), ({"say": "1"}, "bad_message")]:
        with pytest.raises(ProtocolError) as e:
            say_select.human_move_to_action(move)
        assert e.value.code == code


def test_rebuild_from_events_matches_the_played_game():
    game = play(SaySelectGame.from_balls([-1, 1, 1, -1, -1]), 1, 1, 2, 0)
    events = [{"type": "game_started", "payload": {"balls": game.initial}}]
    events += [{"type": "move", "move": h["move"]} for h in game.history()]
    events.insert(2, {"type": "instruction", "move": None})
    assert say_select.rebuild(events).view() == game.view()


def test_deal_is_fixed_by_the_seed():
    assert SaySelectGame.deal(5).initial == SaySelectGame.deal(5).initial
    assert len({tuple(SaySelectGame.deal(s).initial) for s in range(20)}) > 3


def test_table_understanding_is_labelled_a_stand_in_and_round_trips_through_json():
    u = Reader(TablePrior(0.9)).read("whatever you like")
    assert "stand-in" in u.fields["backend"] and "stand-in" in u.fields["summary"] and u.fields["confidence"] is None
    assert u.prior.table.shape == (6, 5, 6)
    rows = prior_rows(u.prior.table, prev=2, backend=u.prior.backend)
    assert rows["previous"] == "2" and rows["rows"]["3"][2] == pytest.approx(0.9)
    assert np.allclose(table_from_json(table_json(u.prior.table)), u.prior.table, atol=1e-6)


def test_an_unavailable_backend_falls_back_to_the_table_and_says_so():
    prior, note = load_prior("lm", lm_model=None)
    assert isinstance(prior, TablePrior) and "INSTRUCTPLAY_LM_MODEL" in note
    assert "unavailable" in Reader(prior, note).read("x").fields["summary"]
    assert load_prior("table")[1] is None


def test_the_bob_cache_trains_each_prior_once_and_vanilla_once_for_all():
    from agents.policies.say_select import SaySelectBobs

    calls = []
    bobs = SaySelectBobs(lambda table, lam, seed, progress: calls.append((lam, seed)) or object(), seed=3)
    a, b = np.zeros((6, 5, 6)), np.ones((6, 5, 6))
    assert bobs.get(a, 0.25, print) is bobs.get(a, 0.25, print)
    bobs.get(b, 0.25, print)
    assert bobs.get(a, 0.0, print) is bobs.get(b, 0.0, print)
    assert calls == [(0.25, 3), (0.25, 3), (0.0, 3)]
    assert bobs.cached(b, 0.25) is not None and bobs.cached(b, 0.5) is None
