"""Socket tests with Flask-SocketIO's test client: whole games, bad messages, illegal moves, instructions,
reconnects, restarts and a database that goes down. Bob is injected through BOB_FACTORY (a pre-built
Bob with the paper's intuitive convention), so these tests check the server, not the learning."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from agents.policies import Decision
from server.app import create_app, socketio
from server.db.models import Event, Game, Instruction, Outcome
from server.db.store import make_engine
from tests.integration.db_urls import BACKENDS, fresh_database

PAPER = "I should select the same number as my partner."


class IntuitiveBob:
    """The paper's intuitive Bob: select the number Alice said; quit when she repeats his last selection."""

    def __init__(self, gate: threading.Event | None = None):
        self.gate = gate

    def act(self, view, legal, log_prior, lam, *, asked=False) -> Decision:
        prev, said = view
        if self.gate is not None:
            self.gate.wait(10)
        action = 5 if said == prev else said - 1
        q = np.zeros(6)
        q[action] = 1.0
        log_prior = np.log(np.full(6, 1 / 6))
        value = q + 0.25 * log_prior
        top = [{"action": int(a), "q": q[a], "log_prior": log_prior[a], "value": value[a]} for a in np.argsort(-value)]
        return Decision(move=action, explanation=f"you said {said}", top=top, lam=0.25)


class Inbox:
    """Everything a test client received, kept in order, with waiting for a given event."""

    def __init__(self, client):
        self.client = client
        self.messages: list[tuple[str, dict]] = []

    def pull(self) -> None:
        for m in self.client.get_received():
            self.messages.append((m["name"], m["args"][0] if m["args"] else None))

    def wait(self, name: str, where=lambda m: True, timeout: float = 10.0) -> dict:
        deadline = time.monotonic() + timeout
        seen = 0
        while time.monotonic() < deadline:
            self.pull()
            for n, m in self.messages[seen:]:
                if n == name and where(m):
                    self.messages.remove((n, m))
                    return m
            time.sleep(0.01)
        raise AssertionError(f"no {name} within {timeout} s; received {[n for n, _ in self.messages]}")

    def names(self) -> list[str]:
        self.pull()
        return [n for n, _ in self.messages]


TEST_DEAL_KEY = "instructplay-tests"  # one fixed key: the tests' Hanabi deals are the same on every machine


def make_app(url: str, tmp_path: Path, bob_factory=None, **config):
    return create_app({"DATABASE_URL": url, "AGENT_DELAY_MS": 0, "BOB_CACHE_DIR": str(tmp_path / "bobs"),
                       "BOB_FACTORY": bob_factory or (lambda table, lam, seed, progress: IntuitiveBob()),
                       "TESTING": True, "PRIOR_BACKEND": "table", "DEAL_KEY": TEST_DEAL_KEY, **config})


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def app(tmp_path):
    return make_app(f"sqlite:///{tmp_path / 'play.db'}", tmp_path)


def connect(app) -> Inbox:
    return Inbox(socketio.test_client(app))


def start(inbox: Inbox, **fields) -> tuple[dict, dict]:
    inbox.client.emit("start_game", {"game": "say-select", "partner": "instructq", "seat": 0, "seed": 7, **fields})
    started = inbox.wait("game_started")
    return started, inbox.wait("state")


def say(inbox: Inbox, game_id: str, n: int) -> dict:
    """Alice says n; returns the state after Bob's answer."""
    inbox.client.emit("move", {"game_id": game_id, "move": {"say": n}})
    inbox.wait("state", lambda m: m["to_act"] == "agent")
    inbox.wait("agent_move")
    return inbox.wait("state", lambda m: m["to_act"] != "agent")


def count_events(app, game_id: str) -> int:
    engine = app.extensions["instructplay"].store.engine
    with Session(engine) as s:
        return s.scalar(select(func.count()).select_from(Event).where(Event.game_id == game_id))


def test_whole_game_is_played_stored_and_scored(db_url, tmp_path):
    app = make_app(db_url, tmp_path)
    inbox = connect(app)
    started, state = start(inbox, participant="p-1")
    gid = started["game_id"]
    understanding = inbox.wait("understanding")
    assert understanding["text"] == PAPER and "stand-in" in understanding["summary"]
    assert state["to_act"] == "human" and len(state["legal"]) == 5
    balls = state["view"]["balls"]
    rewards = [i + 1 for i, b in enumerate(balls) if b == 1]
    for n in rewards:
        state = say(inbox, gid, n)
    state = say(inbox, gid, rewards[-1])  # repeating Bob's last selection makes the intuitive Bob quit
    over = inbox.wait("game_over")
    k = len(rewards)
    assert over == {"game_id": gid, "score": 1.0, "total_reward": k, "k": k, "turns": 2 * k + 2}
    assert state["over"] and state["to_act"] is None and state["legal"] == []

    with Session(app.extensions["instructplay"].store.engine) as s:
        game = s.get(Game, gid)
        assert (game.status, game.agent, game.seed, game.participant_id) == ("over", "instructq", 7, "p-1")
        events = s.scalars(select(Event).where(Event.game_id == gid).order_by(Event.seq)).all()
        assert [e.seq for e in events] == list(range(len(events)))
        moves = [(e.actor, e.move) for e in events if e.type == "move"]
        expected = []
        for n in rewards + [rewards[-1]]:
            expected += [("human", {"say": n}), ("agent", {"select": n} if len(expected) < 2 * k else {"quit": True})]
        assert moves == expected
        assert {e.type for e in events} == {"game_started", "instruction", "move", "game_over"}
        assert s.get(Outcome, gid).score == 1.0
        (instruction,) = s.scalars(select(Instruction).where(Instruction.game_id == gid)).all()
        assert instruction.text == PAPER and len(instruction.prior["log_probs"]) == 6


def test_agent_move_logs_think_and_delay_apart(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'd.db'}", tmp_path, AGENT_DELAY_MS=120)
    inbox = connect(app)
    started, _ = start(inbox)
    inbox.client.emit("move", {"game_id": started["game_id"], "move": {"say": 2}})
    move = inbox.wait("agent_move")
    assert move["delay_ms"] >= 120 and move["think_ms"] < move["delay_ms"]
    assert move["move"] == {"select": 2} and move["prior"]["probs"][1] == pytest.approx(0.9)
    with Session(app.extensions["instructplay"].store.engine) as s:
        stored = s.scalars(select(Event).where(Event.actor == "agent")).one()
    assert stored.payload["delay_ms"] == move["delay_ms"] and stored.payload["think_ms"] == move["think_ms"]


BAD_START = [
    ("not an object", "bad_message"),
    ({"partner": "instructq", "seat": 0}, "bad_message"),
    ({"game": "chess", "partner": "instructq", "seat": 0}, "bad_message"),
    ({"game": "say-select", "partner": "nobody", "seat": 0}, "unknown_partner"),
    ({"game": "say-select", "partner": "instructq", "seat": 1}, "bad_message"),
    ({"game": "say-select", "partner": "instructq", "seat": 0, "seed": "7"}, "bad_message"),
    ({"game": "say-select", "partner": "instructq", "seat": 0, "seed": -1}, "bad_message"),
    ({"game": "say-select", "partner": "instructq", "seat": True}, "bad_message"),
    ({"game": "say-select", "partner": "instructq", "seat": 0, "instruction": "x" * 1001}, "too_long"),
]


@pytest.mark.parametrize("payload,code", BAD_START)
def test_bad_start_game_is_refused_and_creates_nothing(app, payload, code):
    inbox = connect(app)
    inbox.client.emit("start_game", payload)
    error = inbox.wait("error")
    assert error["code"] == code and error["event"] == "start_game" and error["message"]
    with Session(app.extensions["instructplay"].store.engine) as s:
        assert s.scalar(select(func.count()).select_from(Game)) == 0


def bad_moves(gid: str):
    return [
        ("move", {"game_id": gid}, "bad_message"),
        ("move", {"game_id": gid, "move": "say 3"}, "bad_message"),
        ("move", {"game_id": gid, "move": {"say": "3"}}, "bad_message"),
        ("move", {"game_id": gid, "move": {"say": True}}, "bad_message"),
        ("move", {"game_id": gid, "move": {"say": 0}}, "illegal_move"),
        ("move", {"game_id": gid, "move": {"say": 6}}, "illegal_move"),
        ("move", {"game_id": gid, "move": {"select": 2}}, "illegal_move"),
        ("move", {"game_id": gid, "move": {"say": 2, "select": 2}}, "illegal_move"),
        ("move", {"game_id": "nope", "move": {"say": 2}}, "unknown_game"),
        ("move", [gid, {"say": 2}], "bad_message"),
        ("instruction", {"game_id": gid, "text": "x" * 1001}, "too_long"),
        ("instruction", {"game_id": gid, "text": "   "}, "bad_message"),
        ("instruction", {"game_id": gid, "text": 5}, "bad_message"),
        ("explain", {"game_id": gid}, "bad_message"),
        ("explain", {"game_id": gid, "turn": -1}, "bad_message"),
        ("resume", {"game_id": gid, "token": "wrong"}, "bad_token"),
        ("resume", {"game_id": "0" * 32, "token": "wrong"}, "unknown_game"),
        ("dance", {"game_id": gid}, "bad_message"),
    ]


def test_bad_messages_get_errors_and_change_nothing(app):
    inbox = connect(app)
    started, before = start(inbox)
    gid = started["game_id"]
    inbox.wait("agent_status", lambda m: m["status"] == "ready")
    n_events = count_events(app, gid)
    for event, payload, code in bad_moves(gid):
        inbox.client.emit(event, payload)
        error = inbox.wait("error")
        assert (error["code"], error["event"]) == (code, event), (event, payload, error)
    assert count_events(app, gid) == n_events
    room = app.extensions["instructplay"].rooms[gid]
    assert room.game.step == 0 and room.game.view() == before["view"]
    assert say(inbox, gid, 3)["view"]["history"][-1] == {"actor": "agent", "move": {"select": 3}, "reward": before["view"]["balls"][2]}


def test_request_id_is_echoed(app):
    inbox = connect(app)
    inbox.client.emit("start_game", {"game": "say-select", "partner": "instructq", "seat": 0, "request_id": "r-1"})
    assert inbox.wait("game_started")["request_id"] == "r-1"
    inbox.client.emit("move", {"game_id": "x", "move": {"say": 1}, "request_id": 42})
    assert inbox.wait("error")["request_id"] == 42


def test_moves_out_of_turn_and_after_the_end_are_refused(tmp_path):
    gate = threading.Event()
    app = make_app(f"sqlite:///{tmp_path / 't.db'}", tmp_path, lambda *a: IntuitiveBob(gate))
    inbox = connect(app)
    started, _ = start(inbox, seed=1)
    gid = started["game_id"]
    inbox.client.emit("move", {"game_id": gid, "move": {"say": 1}})
    inbox.wait("state", lambda m: m["to_act"] == "agent")
    inbox.client.emit("move", {"game_id": gid, "move": {"say": 2}})
    assert inbox.wait("error")["code"] == "not_your_turn"
    gate.set()
    inbox.wait("agent_move")
    say(inbox, gid, 1)  # repeat: the intuitive Bob quits
    inbox.wait("game_over")
    n_events = count_events(app, gid)
    inbox.client.emit("move", {"game_id": gid, "move": {"say": 3}})
    assert inbox.wait("error")["code"] == "game_over"
    assert count_events(app, gid) == n_events


def test_instruction_mid_game_is_stored_understood_and_trains_a_new_bob(tmp_path):
    trained = []

    def factory(table, lam, seed, progress):
        progress(0.5)
        trained.append(table)
        return IntuitiveBob()

    app = make_app(f"sqlite:///{tmp_path / 'i.db'}", tmp_path, factory, PRIOR_TABLE_P=0.6)
    inbox = connect(app)
    started, state = start(inbox)
    gid = started["game_id"]
    assert inbox.wait("agent_status", lambda m: m["status"] == "training")["progress"] == 0.5
    inbox.wait("agent_status", lambda m: m["status"] == "ready")
    say(inbox, gid, 2)
    inbox.client.emit("instruction", {"game_id": gid, "text": "pick what I say, quit when I repeat", "request_id": 9})
    understanding = inbox.wait("understanding", lambda m: m["request_id"] == 9)
    assert understanding["text"] == "pick what I say, quit when I repeat"
    assert understanding["prior"]["previous"] == "2" and understanding["prior"]["rows"]["4"][3] == pytest.approx(0.6)
    assert say(inbox, gid, 4)["view"]["history"][-1]["move"] == {"select": 4}
    assert len(trained) == 1  # the table prior reads every instruction alike: the cached Bob is reused
    with Session(app.extensions["instructplay"].store.engine) as s:
        rows = s.scalars(select(Event).where(Event.type == "instruction").order_by(Event.seq)).all()
    assert [(e.actor, e.turn, e.payload["text"]) for e in rows] == [
        ("system", 0, PAPER), ("human", 2, "pick what I say, quit when I repeat")]


def test_reconnect_and_resume_continue_the_game(app):
    first = connect(app)
    started, state = start(first)
    gid, token = started["game_id"], started["resume_token"]
    say(first, gid, 5)
    first.client.disconnect()

    second = connect(app)
    second.client.emit("move", {"game_id": gid, "move": {"say": 1}})
    assert second.wait("error")["code"] == "unknown_game"  # not joined yet
    second.client.emit("resume", {"game_id": gid, "token": token})
    assert second.wait("game_started")["game_id"] == gid
    assert second.wait("understanding")["text"] == PAPER
    resumed = second.wait("state")
    assert resumed["turn"] == 2 and [h["move"] for h in resumed["view"]["history"]] == [{"say": 5}, {"select": 5}]
    assert say(second, gid, 5)["view"]["history"][-1]["move"] == {"quit": True}
    assert second.wait("game_over")["turns"] == 4
    second.client.emit("explain", {"game_id": gid, "turn": 1})
    explanation = second.wait("explanation")
    assert explanation["move"] == {"select": 5} and explanation["top"][0]["move"] == {"select": 5}
    assert [t["value"] for t in explanation["top"]] == sorted((t["value"] for t in explanation["top"]), reverse=True)


def test_a_restarted_server_rebuilds_the_game_from_its_events(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    inbox = connect(make_app(url, tmp_path))
    started, _ = start(inbox, seed=11)
    say(inbox, started["game_id"], 2)
    say(inbox, started["game_id"], 4)
    before = inbox.client
    inbox.client.emit("move", {"game_id": started["game_id"], "move": {"say": 1}})
    inbox.wait("agent_move")
    view_before = inbox.wait("state", lambda m: m["to_act"] == "human")["view"]
    before.disconnect()

    app = make_app(url, tmp_path)  # a new process: no rooms in memory
    again = connect(app)
    again.client.emit("resume", {"game_id": started["game_id"], "token": started["resume_token"]})
    state = again.wait("state")
    assert state["view"] == view_before and state["to_act"] == "human"
    again.client.emit("explain", {"game_id": started["game_id"]})
    assert again.wait("explanation")["turn"] == 5
    assert say(again, started["game_id"], 3)["turn"] == 8


def break_database(app, tmp_path):
    """Point the store at a database that cannot be opened; returns a function that repairs it."""
    store = app.extensions["instructplay"].store
    working = store.engine
    store.engine = make_engine(f"sqlite:///{tmp_path / 'missing-dir' / 'x.db'}")
    (tmp_path / "missing-dir").rmdir()

    def repair():
        store.engine = working

    return repair


def test_database_down_means_storage_unavailable_and_nothing_applied(tmp_path):
    gate = threading.Event()
    app = make_app(f"sqlite:///{tmp_path / 'down.db'}", tmp_path, lambda *a: IntuitiveBob(gate))
    inbox = connect(app)
    started, state = start(inbox)
    gid = started["game_id"]
    inbox.wait("agent_status", lambda m: m["status"] == "ready")
    repair = break_database(app, tmp_path)
    inbox.client.emit("move", {"game_id": gid, "move": {"say": 3}})
    assert inbox.wait("error")["code"] == "storage_unavailable"
    inbox.client.emit("instruction", {"game_id": gid, "text": "select what I say"})
    assert inbox.wait("error")["code"] == "storage_unavailable"
    inbox.client.emit("start_game", {"game": "say-select", "partner": "instructq", "seat": 0})
    assert inbox.wait("error")["code"] == "storage_unavailable"
    room = app.extensions["instructplay"].rooms[gid]
    assert room.game.step == 0 and room.game.view() == state["view"]

    repair()
    inbox.client.emit("move", {"game_id": gid, "move": {"say": 3}})
    inbox.wait("state", lambda m: m["to_act"] == "agent")
    repair = break_database(app, tmp_path)  # the agent's move cannot be stored either
    gate.set()
    assert inbox.wait("error")["code"] == "storage_unavailable"
    assert room.game.step == 1 and "agent_move" not in inbox.names()

    repair()
    inbox.client.emit("resume", {"game_id": gid, "token": started["resume_token"]})
    assert inbox.wait("agent_move")["move"] == {"select": 3}
    assert count_events(app, gid) == 4  # game_started, instruction, 2 moves


def test_vanilla_partner_trains_one_bob_for_every_instruction(tmp_path):
    tables = []
    app = make_app(f"sqlite:///{tmp_path / 'v.db'}", tmp_path,
                   lambda table, lam, seed, progress: (tables.append((table, lam)), IntuitiveBob())[1])
    inbox = connect(app)
    started, _ = start(inbox, partner="vanilla-q", instruction="always pick ball 1")
    assert inbox.wait("understanding")["text"] == "always pick ball 1"
    inbox.wait("agent_status", lambda m: m["status"] == "ready")
    (table, lam), = tables
    assert lam == 0 and np.allclose(np.exp(table), 1 / 6)


def test_http_routes_serve_the_client_and_the_partners(app):
    http = app.test_client()
    page = http.get("/")
    assert page.status_code == 200 and b"<html" in page.data.lower()
    partners = http.get("/api/partners?game=say-select").get_json()
    assert {p["id"]: p["lambda"] for p in partners} == {"instructq": 0.25, "vanilla-q": 0.0}
    assert all(p["name"] and p["description"] for p in partners)
    assert http.get("/api/partners?game=chess").status_code == 404


def test_a_failed_training_is_reported_and_retried_on_resume(tmp_path):
    attempts = []

    def factory(table, lam, seed, progress):
        attempts.append(seed)
        if len(attempts) == 1:
            raise RuntimeError("out of memory")
        return IntuitiveBob()

    app = make_app(f"sqlite:///{tmp_path / 'f.db'}", tmp_path, factory)
    inbox = connect(app)
    started, _ = start(inbox)
    failed = inbox.wait("agent_status", lambda m: m["status"] == "failed")
    assert "out of memory" in failed["message"]
    inbox.client.emit("move", {"game_id": started["game_id"], "move": {"say": 1}})
    assert "could not be trained" in inbox.wait("error")["message"]
    inbox.client.emit("resume", {"game_id": started["game_id"], "token": started["resume_token"]})
    assert inbox.wait("agent_move")["move"] == {"select": 1}
    assert len(attempts) == 2


def test_conventions_backend_adopts_clear_instructions_and_keeps_the_prior_on_unclear_ones(tmp_path):
    pytest.importorskip("agents.priors.conventions.prior", reason="the conventions backend is not installed")
    app = make_app(f"sqlite:///{tmp_path / 'c.db'}", tmp_path, PRIOR_BACKEND="conventions")
    inbox = connect(app)
    started, _ = start(inbox, instruction="select the number I say, and quit when I repeat your last number")
    first = inbox.wait("understanding", timeout=120)
    assert first["backend"] == "conventions" and first["adopted"] and not first["clarify"]
    assert {u["convention"] for u in first["understood"]} >= {"copy-number"}
    assert first["prior"]["rows"]["2"][1] > 0.5
    inbox.client.emit("instruction", {"game_id": started["game_id"], "text": "blorp zzz"})
    unclear = inbox.wait("understanding")
    assert unclear["clarify"] and not unclear["adopted"] and unclear["question"]
    room = app.extensions["instructplay"].rooms[started["game_id"]]
    assert room.understanding["text"] == first["text"]
    rows = say(inbox, started["game_id"], 2)["prior_table"]["rows"]  # Bob selected 2
    assert rows["3"][2] > 0.5 and rows["2"][5] > 0.5  # copy a new number, quit on a repeat: still the first reading


def test_the_real_instructq_bob_trains_on_demand_is_cached_and_plays(tmp_path):
    url, config = f"sqlite:///{tmp_path / 'real.db'}", {"BOB_EPISODES": 2000, "BOB_FACTORY": None}
    inbox = connect(make_app(url, tmp_path, **config))
    started, state = start(inbox)
    gid = started["game_id"]
    training = inbox.wait("agent_status", lambda m: m["status"] == "training", timeout=60)
    assert 0 < training["progress"] < 1
    inbox.wait("agent_status", lambda m: m["status"] == "ready", timeout=120)
    assert len(list((tmp_path / "bobs").glob("*.npz"))) == 1
    plan = [i + 1 for i, b in enumerate(state["view"]["balls"]) if b == 1]
    for n in plan + [plan[-1]] * 5:
        state = say(inbox, gid, n)
        if state["over"]:
            break
    assert inbox.wait("game_over")["game_id"] == gid
    inbox.client.emit("explain", {"game_id": gid})
    explanation = inbox.wait("explanation")
    assert explanation["text"].startswith("You") and len(explanation["top"]) == 6

    again = connect(make_app(url, tmp_path, **config))  # a restart: the Bob comes from the disk cache
    start(again)
    again.wait("agent_status", lambda m: m["status"] == "ready", timeout=30)
    again.pull()
    assert [m["status"] for n, m in again.messages if n == "agent_status"] == []  # no training this time


# ---------------------------------------------------------------- the start instruction and a typed one


def gated_reads(app, gates: dict[str, threading.Event]):
    """Make the Say-Select reader wait for gates[text] before reading `text`, and return an event set each
    time an instruction's task has finished (read, stored or not)."""
    service = app.extensions["instructplay"].services["say-select"]
    read, instruct, finished = service.adapter.read, service.instruct, threading.Semaphore(0)

    def gated_read(text):
        if text in gates:
            assert gates[text].wait(10), f"the test never opened the gate of {text!r}"
        return read(text)

    def counted_instruct(*args):
        try:
            instruct(*args)
        finally:
            finished.release()

    service.adapter.read = gated_read
    service.instruct = counted_instruct
    return finished


@pytest.mark.parametrize("order", ["typed stored first", "start instruction read first"])
def test_an_instruction_typed_while_the_start_instruction_is_read_wins(tmp_path, order):
    """Race 1 of issue 16: the start (default) instruction's reading is slow on a cold server; an instruction
    the person types meanwhile must be the one adopted, whichever reading ends first."""
    typed = "pick the ball whose number I say"
    gates = {PAPER: threading.Event(), typed: threading.Event()}
    app = make_app(f"sqlite:///{tmp_path / 'race.db'}", tmp_path)
    finished = gated_reads(app, gates)
    inbox = connect(app)
    started, _ = start(inbox)  # no instruction: the paper's is read as the system's, and waits at its gate
    gid = started["game_id"]
    inbox.client.emit("instruction", {"game_id": gid, "text": typed, "request_id": "typed"})
    first, second = (typed, PAPER) if order == "typed stored first" else (PAPER, typed)
    gates[first].set()
    assert finished.acquire(timeout=10)
    gates[second].set()
    assert finished.acquire(timeout=10)

    understood = inbox.wait("understanding")
    assert understood["text"] == typed and understood["adopted"] and understood["request_id"] == "typed"
    inbox.pull()
    assert [m["text"] for n, m in inbox.messages if n == "understanding"] == []  # the start instruction: not announced
    room = app.extensions["instructplay"].rooms[gid]
    assert room.instruction == typed
    with Session(app.extensions["instructplay"].store.engine) as s:
        rows = s.scalars(select(Event).where(Event.game_id == gid, Event.type == "instruction")).all()
    assert [(e.actor, e.payload["text"], e.payload["adopted"]) for e in rows] == [("human", typed, True)]
    assert say(inbox, gid, 3)["view"]["history"][-1]["move"] == {"select": 3}  # Bob plays the typed instruction


def test_an_older_typed_instruction_read_after_a_newer_one_is_stored_but_not_adopted(tmp_path):
    older, newer = "pick the ball whose number I say", "quit when I repeat a number"
    gates = {older: threading.Event()}
    app = make_app(f"sqlite:///{tmp_path / 'order.db'}", tmp_path)
    inbox = connect(app)
    started, _ = start(inbox)
    gid = started["game_id"]
    inbox.wait("understanding")  # the paper's, read at once
    finished = gated_reads(app, gates)
    inbox.client.emit("instruction", {"game_id": gid, "text": older})
    inbox.client.emit("instruction", {"game_id": gid, "text": newer})
    assert inbox.wait("understanding")["text"] == newer
    gates[older].set()
    assert finished.acquire(timeout=10) and finished.acquire(timeout=10)
    assert app.extensions["instructplay"].rooms[gid].instruction == newer
    with Session(app.extensions["instructplay"].store.engine) as s:
        rows = s.scalars(select(Event).where(Event.game_id == gid, Event.type == "instruction").order_by(Event.seq)).all()
    assert [(e.payload["text"], e.payload["adopted"]) for e in rows] == [(PAPER, True), (newer, True), (older, False)]
    inbox.pull()
    assert [m["text"] for n, m in inbox.messages if n == "understanding"] == []
