"""Serving a study safely (issue #14): nothing a person receives depends on their hidden cards, no stalled
agent turn, resume on another process sees the database's state, bad input gets a specific error (fuzzed),
nothing is stored after a game ends, no orphan games, and the per-connection limits.

Every test here failed on the server before the fix it names."""

from __future__ import annotations

import logging
import random
import threading
import time

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from agents.envs.hanabi.rules import HanabiGame, standard_deck
from agents.policies import Decision
from agents.policies.hanabi import explain
from server import sockets
from server.app import socketio
from server.db.models import Event, Game
from server.games import hanabi
from server.games.say_select import TrainingQueue
from server.messages import MoveMsg
from tests.integration.test_socket_hanabi import COLOUR_TEXT, RecordingInbox, hanabi_app
from tests.integration.test_socket_hanabi import start as start_hanabi
from tests.integration.test_socket_play import connect, db_url, make_app, say  # noqa: F401 (db_url: a fixture)
from tests.integration.test_socket_play import start as start_say_select


# ---------------------------------------------------------------- hidden information


class Discarder:
    """A partner that only ever discards its oldest card (so what it does cannot depend on the person's
    cards), but explains itself with the real `explain` and ranks every legal move, hints included, as a
    trained agent's top moves would."""

    convention = "color"

    def act(self, game, legal, log_prior, lam, *, asked=False) -> Decision:
        top = [{"uid": u, "move": str(u), "score": -float(i)} for i, u in enumerate(legal)]
        return Decision(0, explain(game, 0, "color", asked), top, lam if log_prior is not None else 0.0)


def two_deals() -> tuple[list, list]:
    """Two decks that differ only in the person's hand: their five cards (drawn first) swap places with
    the last five of the deck, which the partner reaches only at the very end."""
    deck = standard_deck()
    random.Random(3).shuffle(deck)
    other = deck[45:] + deck[5:45] + deck[:5]
    assert sorted(deck[:5]) != sorted(other[:5])
    return deck, other


VOLATILE = {"game_id", "resume_token", "request_id", "think_ms", "delay_ms"}


def public_part(payload):
    """A message without what differs between two games anyway (ids, timings)."""
    if isinstance(payload, dict):
        return {k: public_part(v) for k, v in payload.items() if k not in VOLATILE}
    if isinstance(payload, list):
        return [public_part(v) for v in payload]
    return payload


def play_with_hidden_hand(tmp_path, monkeypatch, deck, name: str, turns: int) -> list:
    """Every message the person gets in `turns` turns: they hint, the partner discards, the person asks why."""
    monkeypatch.setattr(hanabi, "deal", lambda seed: HanabiGame(2, deck=deck))
    monkeypatch.setattr(hanabi.Agents, "get", lambda self, role: Discarder())
    app = hanabi_app(f"sqlite:///{tmp_path / f'{name}.db'}", tmp_path)
    inbox = RecordingInbox(socketio.test_client(app))
    started, state = start_hanabi(inbox, instruction=COLOUR_TEXT, participant="p-1")
    gid = started["game_id"]
    assert inbox.wait("understanding", timeout=180)["adopted"]
    for _ in range(turns):
        hint = next(m for m in state["legal"] if m["type"].startswith("hint"))
        inbox.client.emit("move", {"game_id": gid, "move": hint})
        inbox.wait("agent_move")
        state = inbox.wait("state", lambda m: m["to_act"] == "human")
        inbox.client.emit("explain", {"game_id": gid})
        inbox.wait("explanation")
    inbox.pull()
    return [(event, public_part(payload)) for event, payload in inbox.everything]


def test_no_message_depends_on_the_persons_hidden_cards(tmp_path, monkeypatch):
    """Before the fix: the seed in game_started (the deck follows from it), the agent's prior listing its
    legal moves (a hint is legal only if it touches one of the person's cards) and the agent's weighed
    moves in `explanation.top` all told the person about their own hand."""
    deck, other = two_deals()
    seen = play_with_hidden_hand(tmp_path, monkeypatch, deck, "a", turns=12)
    seen_other = play_with_hidden_hand(tmp_path, monkeypatch, other, "b", turns=12)
    names = {name for name, _ in seen}
    assert {"game_started", "state", "understanding", "agent_move", "explanation"} <= names
    assert all(payload.get("seed") is None for name, payload in seen if name == "game_started")
    assert any(payload["prior"] for name, payload in seen if name == "agent_move")  # the instruction's prior is shown
    for (name, payload), (name_other, payload_other) in zip(seen, seen_other, strict=True):
        assert (name, payload) == (name_other, payload_other), f"{name} depends on the person's hidden cards"


def test_the_same_seed_deals_the_same_cards_but_the_seed_does_not_tell_them(tmp_path):
    app = hanabi_app(f"sqlite:///{tmp_path / 'k.db'}", tmp_path, DEAL_KEY="a-key")
    service = app.extensions["instructplay"].services["hanabi"].adapter
    game, _ = service.deal(11)
    assert service.deal(11)[0].deck_order == game.deck_order
    assert HanabiGame(2, seed=11).deck_order != game.deck_order  # the public shuffle of 11 is not the deal
    other = hanabi_app(f"sqlite:///{tmp_path / 'k2.db'}", tmp_path, DEAL_KEY="another-key")
    assert other.extensions["instructplay"].services["hanabi"].adapter.deal(11)[0].deck_order != game.deck_order


# ---------------------------------------------------------------- stalls and stale states


def test_a_move_made_as_the_agents_move_shows_still_starts_the_next_agent_turn(tmp_path):
    """Before the fix the agent's task cleared its busy flag only after sending the state that let the
    person move; a move arriving in that window never started the agent's next turn."""
    app = hanabi_app(f"sqlite:///{tmp_path / 'stall.db'}", tmp_path)
    inbox = connect(app)
    started, state = start_hanabi(inbox)
    gid = started["game_id"]
    service = app.extensions["instructplay"].services["hanabi"]
    room = service.rooms[gid]
    sid = next(iter(room.sids))
    armed, sent = threading.Event(), []
    original = service.emit

    def emit(event, data, to=None):
        original(event, data, to=to)
        if event == "state" and data["to_act"] == "human" and armed.is_set():
            armed.clear()  # the person answers inside the window, before the agent's task has returned
            move = next(m for m in data["legal"] if m["type"].startswith("hint"))
            sent.append(data["turn"])
            service.move(MoveMsg(gid, move), sid)

    service.emit = emit
    hint = next(m for m in state["legal"] if m["type"].startswith("hint"))
    armed.set()
    inbox.client.emit("move", {"game_id": gid, "move": hint})
    inbox.wait("agent_move", lambda m: m["turn"] == 1, timeout=30)
    assert sent == [2]
    assert inbox.wait("agent_move", lambda m: m["turn"] == 3, timeout=30)["turn"] == 3


def test_resume_on_another_process_returns_the_state_the_database_holds(tmp_path):
    """Before the fix a process trusted its in-memory game on resume: play on A, resume and play on B,
    resume on A, and A answered with its old turn."""
    url = f"sqlite:///{tmp_path / 'two.db'}"
    app_a, app_b = make_app(url, tmp_path), make_app(url, tmp_path)
    on_a = connect(app_a)
    started, _ = start_say_select(on_a)
    gid, token = started["game_id"], started["resume_token"]
    on_a.wait("agent_status", lambda m: m["status"] == "ready")
    say(on_a, gid, 1)
    on_b = connect(app_b)
    on_b.client.emit("resume", {"game_id": gid, "token": token})
    on_b.wait("game_started")
    assert on_b.wait("state")["turn"] == 2
    on_b.wait("agent_status", lambda m: m["status"] == "ready")
    state = say(on_b, gid, 2)
    assert state["turn"] == 4
    again = connect(app_a)
    again.client.emit("resume", {"game_id": gid, "token": token})
    again.wait("game_started")
    assert again.wait("state")["turn"] == 4


# ---------------------------------------------------------------- races and what is stored


def test_many_first_games_of_one_new_participant_at_once_all_start(db_url, tmp_path):
    """Before the fix the participant row was checked, then inserted: 9-10 of 12 sockets got `internal`."""
    app = make_app(db_url, tmp_path)
    inboxes = [connect(app) for _ in range(12)]
    barrier = threading.Barrier(len(inboxes))

    def go(inbox):
        barrier.wait()
        inbox.client.emit("start_game", {"game": "say-select", "partner": "instructq", "seat": 0,
                                         "participant": "prolific-new-1"})

    threads = [threading.Thread(target=go, args=(i,)) for i in inboxes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for inbox in inboxes:
        assert inbox.wait("game_started", timeout=60)["participant"] == "prolific-new-1"
    with Session(app.extensions["instructplay"].store.engine) as s:
        assert s.scalar(select(func.count()).select_from(Game).where(Game.participant_id == "prolific-new-1")) == 12


def test_an_instruction_read_after_the_game_ended_is_not_stored(tmp_path):
    """Before the fix Say-Select stored an instruction whatever the game's state."""
    app = make_app(f"sqlite:///{tmp_path / 'late.db'}", tmp_path)
    inbox = connect(app)
    started, state = start_say_select(inbox)
    gid = started["game_id"]
    inbox.wait("agent_status", lambda m: m["status"] == "ready")
    service = app.extensions["instructplay"].services["say-select"]
    room = service.rooms[gid]
    reading = threading.Event()
    original_read = service.adapter.read

    def slow_read(text):
        reading.wait(30)  # the instruction is being read while the game ends
        return original_read(text)

    service.adapter.read = slow_read
    inbox.client.emit("instruction", {"game_id": gid, "text": "select the number I say"})
    while not state["over"]:
        state = say(inbox, gid, 1)
    n_events = len(app.extensions["instructplay"].store.load_game(gid).events)
    reading.set()
    assert inbox.wait("error", timeout=30)["code"] == "game_over"
    assert len(app.extensions["instructplay"].store.load_game(gid).events) == n_events
    assert room.over
    inbox.client.emit("instruction", {"game_id": gid, "text": "select the number I say"})
    assert inbox.wait("error")["code"] == "game_over"


def test_a_game_whose_player_left_before_it_started_is_abandoned_not_orphaned(tmp_path, monkeypatch):
    """Before the fix a start_game that completed after its client left stayed `active` for ever."""
    app = make_app(f"sqlite:///{tmp_path / 'orphan.db'}", tmp_path)
    inbox = connect(app)
    monkeypatch.setattr(sockets, "connected", lambda sid: False)
    inbox.client.emit("start_game", {"game": "say-select", "partner": "instructq", "seat": 0})
    monkeypatch.undo()
    assert "game_started" not in inbox.names()
    with Session(app.extensions["instructplay"].store.engine) as s:
        game = s.scalars(select(Game)).one()
        assert game.status == "abandoned"
        last = s.scalars(select(Event).where(Event.game_id == game.id).order_by(Event.seq.desc())).first()
        assert last.type == "abandoned" and "left" in last.payload["reason"]
    assert app.extensions["instructplay"].rooms == {}


# ---------------------------------------------------------------- bad input


def test_text_no_database_can_store_is_refused_as_such(db_url, tmp_path):
    """Before the fix NUL reached PostgreSQL (`storage_unavailable`, which no retry fixes) and a lone
    surrogate gave `internal`, or killed the instruction's background task with no reply."""
    app = make_app(db_url, tmp_path)
    inbox = connect(app)
    for text in ("play\x00 the first", "play \ud800 the first"):
        inbox.client.emit("start_game", {"game": "say-select", "partner": "instructq", "participant": text})
        assert inbox.wait("error")["code"] == "bad_message"
    started, _ = start_say_select(inbox)
    for text in ("play\x00 the first", "select \udfff"):
        inbox.client.emit("instruction", {"game_id": started["game_id"], "text": text})
        error = inbox.wait("error")
        assert error["code"] == "bad_message" and "cannot be stored" in error["message"]


def test_a_colour_hint_names_exactly_one_colour(tmp_path):
    """Before the fix colours were checked as substrings: "" and "rygwb" meant red, "GW" green."""
    app = hanabi_app(f"sqlite:///{tmp_path / 'c.db'}", tmp_path)
    inbox = connect(app)
    started, _ = start_hanabi(inbox)
    for color in ("", "rygwb", "GW", "RY"):
        inbox.client.emit("move", {"game_id": started["game_id"], "move": {"type": "hint_color", "color": color}})
        assert inbox.wait("error")["code"] == "bad_message"


def test_the_message_size_limit_counts_bytes_and_long_values_are_not_echoed(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'size.db'}", tmp_path, MAX_MESSAGE_BYTES=4000)
    inbox = connect(app)
    started, _ = start_say_select(inbox)
    inbox.client.emit("instruction", {"game_id": started["game_id"], "text": "\U0001F600" * 1500})  # 1500 chars, 6 KB
    error = inbox.wait("error")
    assert error["code"] == "too_long" and "bytes" in error["message"]
    inbox.client.emit("start_game", {"game": "say-select", "partner": "x" * 60_000})
    error = inbox.wait("error")
    assert len(error["message"]) < 300


def fuzzed(rng: random.Random, game_ids: list[str]):
    """A random client message: a known or unknown event, with a payload of the right shape, the wrong
    shape, or noise."""
    values = [None, True, 0, -1, 2**40, 1.5, "", "x" * 300, "\x00", "\ud800", [], {}, [1, "a"], {"a": {"b": []}},
              "say-select", "hanabi", "instructq", "instructed", "R", "GW", 3, 19, 20]
    moves = [{"say": rng.choice(values)}, {"type": rng.choice(["play", "discard", "hint_color", "hint_rank", "x"]),
                                           "index": rng.choice(values), "color": rng.choice(values),
                                           "rank": rng.choice(values)}, {"uid": rng.choice(values)},
             rng.choice(values)]
    event = rng.choice(["start_game", "instruction", "move", "resume", "explain", "nonsense", "disconnect_me"])
    payload = {"game": rng.choice(values), "partner": rng.choice(values), "seat": rng.choice(values),
               "seed": rng.choice(values), "participant": rng.choice(values), "instruction": rng.choice(values),
               "game_id": rng.choice(game_ids + values), "text": rng.choice(values), "move": rng.choice(moves),
               "token": rng.choice(values), "turn": rng.choice(values), "request_id": rng.choice(values)}
    keys = rng.sample(sorted(payload), rng.randint(0, len(payload)))
    shape = rng.random()
    if shape < 0.8:
        return event, {k: payload[k] for k in keys}
    return event, rng.choice(values)


def test_ten_thousand_fuzzed_messages_get_specific_errors_and_no_internal_one(tmp_path, caplog):
    app = make_app(f"sqlite:///{tmp_path / 'fuzz.db'}", tmp_path, MESSAGE_RATE=1e9, MESSAGE_BURST=1e9,
                   GAMES_PER_MINUTE=1e9, GAMES_BURST=1e9, WARNINGS_PER_MINUTE=60)
    inbox = connect(app)
    started, _ = start_say_select(inbox)
    hanabi_started, _ = start_hanabi(inbox)
    rng = random.Random(14)
    game_ids = [started["game_id"], hanabi_started["game_id"]]
    codes: dict[str, int] = {}
    started_at = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="server.sockets"):
        for i in range(10_000):
            event, payload = fuzzed(rng, game_ids)
            inbox.client.emit(event, payload)
            if i % 500 == 0:
                inbox.pull()
                for name, message in inbox.messages:
                    if name == "error":
                        codes[message["code"]] = codes.get(message["code"], 0) + 1
                inbox.messages.clear()
    inbox.pull()
    for name, message in inbox.messages:
        if name == "error":
            codes[message["code"]] = codes.get(message["code"], 0) + 1
    assert "internal" not in codes, codes
    assert sum(codes.values()) > 5000 and {"bad_message", "unknown_game"} <= set(codes)
    assert inbox.client.is_connected()
    rejected = [r for r in caplog.records if r.getMessage().startswith("rejected")]
    minutes = (time.monotonic() - started_at) / 60
    assert len(rejected) <= 60 * (1 + minutes) + 1  # the log of one connection's bad input is bounded


# ---------------------------------------------------------------- limits


def test_a_flood_of_messages_gets_one_rate_limited_error_then_silence(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'flood.db'}", tmp_path, MESSAGE_RATE=0.001, MESSAGE_BURST=10)
    inbox = connect(app)  # a burst of 10, then (next to) nothing: a slow test machine refills no token
    for _ in range(200):
        inbox.client.emit("explain", {"game_id": "nope"})
    inbox.pull()
    codes = [m["code"] for name, m in inbox.messages if name == "error"]
    assert codes == ["unknown_game"] * 10 + ["rate_limited"]


def test_one_connection_cannot_start_games_without_bound(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'games.db'}", tmp_path, GAMES_PER_MINUTE=0.001, GAMES_BURST=3)
    inbox = connect(app)
    for _ in range(6):
        inbox.client.emit("start_game", {"game": "say-select", "partner": "instructq", "seat": 0})
    inbox.pull()
    assert [n for n, _ in inbox.messages].count("game_started") == 3
    assert [m["code"] for n, m in inbox.messages if n == "error"] == ["too_many_games"] * 3


def test_resume_tokens_end_with_their_game_and_bound_the_tabs(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'tok.db'}", tmp_path, CONNECTIONS_PER_GAME=2, RESUME_AFTER_END_S=0)
    inbox = connect(app)
    started, state = start_say_select(inbox)
    gid, token = started["game_id"], started["resume_token"]
    inbox.wait("agent_status", lambda m: m["status"] == "ready")
    second, third = connect(app), connect(app)
    second.client.emit("resume", {"game_id": gid, "token": token})
    second.wait("game_started")
    third.client.emit("resume", {"game_id": gid, "token": token})
    assert third.wait("error")["code"] == "too_many_connections"
    while not state["over"]:
        state = say(inbox, gid, 1)
    third.client.emit("resume", {"game_id": gid, "token": token})
    assert third.wait("error")["code"] == "game_over"


def test_an_idle_game_leaves_memory_and_resumes_from_its_events(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'idle.db'}", tmp_path, ROOM_IDLE_S=0)
    inbox = connect(app)
    started, _ = start_say_select(inbox)
    gid = started["game_id"]
    inbox.wait("agent_status", lambda m: m["status"] == "ready")
    say(inbox, gid, 2)
    inbox.client.disconnect()
    assert gid not in app.extensions["instructplay"].rooms
    back = connect(app)
    back.client.emit("resume", {"game_id": gid, "token": started["resume_token"]})
    back.wait("game_started")
    assert back.wait("state")["turn"] == 2 and gid in app.extensions["instructplay"].rooms


def test_bob_trainings_queue_and_say_how_many_wait_before():
    queue = TrainingQueue(at_once=1)
    told: dict[int, list[int]] = {1: [], 2: []}
    release, inside = threading.Event(), threading.Event()

    def first():
        with queue.turn(told[1].append):
            inside.set()
            release.wait(10)

    def second():
        with queue.turn(told[2].append):
            pass

    a = threading.Thread(target=first)
    a.start()
    inside.wait(10)
    b = threading.Thread(target=second)
    b.start()
    b.join(0.5)
    assert b.is_alive() and told == {1: [], 2: [1]}
    release.set()
    a.join(10)
    b.join(10)
    assert not b.is_alive()

