"""Hanabi's server glue (server/games/hanabi.py): protocol moves, refusals that say
why, the person's view built from the rules' view, the move log, and which agent an instruction calls for."""

import pytest

from agents.envs.hanabi.rules import HanabiGame, all_moves
from server.games import hanabi
from server.messages import ProtocolError


def refusal(game: HanabiGame, move: dict) -> ProtocolError:
    with pytest.raises(ProtocolError) as e:
        hanabi.parse_move(move, game)
    return e.value


def test_every_uid_round_trips_through_its_protocol_move():
    for uid in range(len(all_moves(2))):
        move = hanabi.protocol_move(uid)
        assert move["uid"] == uid
        game = HanabiGame(2, seed=uid)
        if game.is_legal(uid):
            without_uid = {k: v for k, v in move.items() if k != "uid"}
            assert hanabi.parse_move(without_uid, game) == uid == hanabi.parse_move({"uid": uid}, game)


def test_refusals_say_why_in_the_games_terms():
    game = HanabiGame(2, seed=5)
    assert "8 hint tokens" in refusal(game, {"type": "discard", "index": 0}).message
    partner_colours = {game.card(o)[0] for o in game.hands[1]}
    absent = next(c for c in range(5) if c not in partner_colours)
    e = refusal(game, {"type": "hint_color", "color": "RYGWB"[absent]})
    assert e.code == "illegal_move" and "holds no" in e.message
    while game.information_tokens:  # spend every token on hints
        game.step(next(u for u in game.legal_moves() if u >= 10))
    e = refusal(game, {"type": "hint_color", "color": "RYGWB"[game.card(game.hands[game.current_player ^ 1][0])[0]]})
    assert e.code == "illegal_move" and "no hint tokens" in e.message


def test_the_person_view_shows_the_partner_hand_and_only_knowledge_of_their_own():
    game = HanabiGame(2, seed=9)
    game.step(10 + game.card(game.hands[1][0])[0])  # person (seat 0) hints a colour the partner holds
    game.step(10 + game.card(game.hands[0][2])[0])  # the partner hints one of the person's colours
    for seat in (0, 1):
        view = hanabi.person_view(game, seat)
        partner = 1 - seat
        assert [(c["color"], c["rank"]) for c in view["partner_hand"]] == \
            [("RYGWB"[c], r + 1) for c, r in game.hand_cards(partner)]
        assert all("color" not in c and "rank" not in c for c in view["own_hand"])
    view = hanabi.person_view(game, 0)
    hinted = "RYGWB"[game.card(game.hands[0][2])[0]]
    assert view["own_hand"][2]["hinted_color"] == hinted and view["own_hand"][2]["colors"] == [hinted]
    assert [h["actor"] for h in view["history"]] == ["human", "agent"]
    assert view["history"][1]["text"].startswith("Your partner hinted") and 2 in view["history"][1]["touched"]


def test_the_reading_calls_for_the_matching_agent():
    assert hanabi.role_for([("color-hint-play", 1.0)]) == "color"
    assert hanabi.role_for([("rank-hint-play", 0.7), ("color-hint-play", 0.3)]) == "rank"
    assert hanabi.role_for([("discard-oldest", 1.0)]) == "vanilla"
    assert hanabi.role_for([]) == "vanilla"


def test_missing_checkpoints_are_replaced_by_labelled_rule_bots(tmp_path):
    (tmp_path / "rank.pt").write_bytes(b"")
    specs = hanabi.agent_specs(str(tmp_path))
    assert specs["rank"].source == str(tmp_path / "rank.pt") and not specs["rank"].is_rulebot
    assert specs["color"].source == "rulebot:color" and "standing in" in specs["color"].label
    assert specs["vanilla"].is_rulebot and "own-way" in specs["vanilla"].label and "vanilla.pt" in specs["vanilla"].detail


def test_the_move_log_kept_between_states_is_the_log_written_afresh():
    """The room's MoveLog adds only the new moves' entries to each state: at every turn of a game it equals the
    log written from scratch, lists it returned earlier are not changed, and a shorter game starts afresh."""
    import random

    rng = random.Random(3)
    game, kept = HanabiGame(2, seed=21), hanabi.MoveLog(seat=1)
    earlier = []
    while not game.is_over():
        log = kept.of(game)
        assert log == hanabi.move_log(game, 1)
        earlier.append((len(log), log))
        game.step(rng.choice(game.legal_moves()))
    assert kept.of(game) == hanabi.move_log(game, 1)
    assert all(len(log) == n for n, log in earlier)
    fresh = HanabiGame(2, seed=22)
    fresh.step(fresh.legal_moves()[0])
    assert kept.of(fresh) == hanabi.move_log(fresh, 1)
