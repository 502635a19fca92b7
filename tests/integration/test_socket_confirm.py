"""The confirmation flow over Flask-SocketIO's test client (issue #15): an unclear instruction asks, naming
what it understood and what it did not and offering one choice per reading; `confirm` adopts the summary
(every understood part of it) or a choice, is stored as a `confirmation` event and survives a restart;
refusals say what to do; partners that ignore instructions say so and never train for them.
The conventions backend reads the instructions (the sentence-embedding model loads once, a few seconds)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.db.models import Event, Instruction
from tests.integration.test_socket_play import Inbox, IntuitiveBob, connect, make_app, say

CONTRADICTORY = "always quit and also never quit"
PARTLY = "pick my number, quit if I repeat your last ball, and also what is the capital of France?"


class CountingFactory:
    """A BOB_FACTORY that counts the Bobs it is asked to train."""

    def __init__(self):
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self, table, lam, seed, progress):
        with self.lock:
            self.calls += 1
        return IntuitiveBob()


def conventions_app(tmp_path: Path, factory=None, db: str = "confirm.db"):
    return make_app(f"sqlite:///{tmp_path / db}", tmp_path, bob_factory=factory, PRIOR_BACKEND="conventions",
                    HANABI_AGENT_DIR=str(tmp_path / "no-agents"))


def start(inbox: Inbox, game: str = "say-select", partner: str = "instructq", **fields) -> str:
    """A new game; in Say-Select, once the partner follows the paper's instruction (read at the start)."""
    inbox.client.emit("start_game", {"game": game, "partner": partner, "seat": 0, "seed": 5, **fields})
    started = inbox.wait("game_started")
    inbox.wait("state")
    if game == "say-select":
        inbox.wait("agent_status", lambda m: m["status"] == "ready", timeout=30)
    return started["game_id"]


def instruct(inbox: Inbox, gid: str, text: str) -> dict:
    inbox.client.emit("instruction", {"game_id": gid, "text": text})
    return inbox.wait("understanding", lambda m: m["text"] == text, timeout=60)


def confirm(inbox: Inbox, gid: str, instruction_id, choice) -> dict:
    inbox.client.emit("confirm", {"game_id": gid, "instruction_id": instruction_id, "choice": choice})
    return inbox.wait("understanding", lambda m: m.get("confirms") == instruction_id, timeout=60)


def events(app, gid: str, kind: str) -> list[Event]:
    with Session(app.extensions["instructplay"].store.engine) as s:
        return s.scalars(select(Event).where(Event.game_id == gid, Event.type == kind).order_by(Event.seq)).all()


@pytest.fixture(scope="module")
def warm_parser():
    """Load the embedding model once for the module."""
    from agents.priors.conventions import understand

    understand("say-select", "copy my number")


def test_a_choice_per_reading_and_confirming_one_adopts_it(tmp_path, warm_parser):
    app = conventions_app(tmp_path)
    inbox = connect(app)
    gid = start(inbox)
    u = instruct(inbox, gid, CONTRADICTORY)
    assert u["clarify"] and not u["adopted"] and u["question"]
    assert [c["conventions"] for c in u["choices"]] == [["quit-immediately"], ["never-quit"]]
    assert all(c["summary"] and c["means"] and c["text"] for c in u["choices"])

    confirmed = confirm(inbox, gid, u["instruction_id"], 1)
    assert confirmed["adopted"] and not confirmed["clarify"] and confirmed["choice"] == 1
    assert [c["convention"] for c in confirmed["understood"]] == ["never-quit"]
    assert confirmed["understood"][0]["weight"] == pytest.approx(1.0)
    stored = events(app, gid, "confirmation")
    assert len(stored) == 1 and stored[0].actor == "human"
    assert stored[0].payload["instruction_id"] == u["instruction_id"] and stored[0].payload["choice"] == 1
    with Session(app.extensions["instructplay"].store.engine) as s:
        row = s.scalars(select(Instruction).where(Instruction.event_seq == stored[0].seq)).one()
        assert row.understood["confirms"] == u["instruction_id"] and row.understood["adopted"]


def test_yes_keeps_every_understood_part_and_names_what_was_not_understood(tmp_path, warm_parser):
    app = conventions_app(tmp_path)
    inbox = connect(app)
    gid = start(inbox)
    u = instruct(inbox, gid, PARTLY)
    assert u["clarify"] and {c["convention"] for c in u["understood"]} == {"copy-number", "quit-on-repeat"}
    assert any("capital of france" in clause for clause in u["not_understood"])
    assert "capital of france" in u["question"].lower()

    confirmed = confirm(inbox, gid, u["instruction_id"], None)
    assert confirmed["adopted"] and not confirmed["clarify"] and confirmed["choice"] is None
    assert {c["convention"] for c in confirmed["understood"]} == {"copy-number", "quit-on-repeat"}
    assert sum(c["weight"] for c in confirmed["understood"]) == pytest.approx(1.0)  # no longer shrunk
    assert confirmed["text"] == "I select the number you say. I quit when you say the number I selected last."


def test_confirmed_reading_survives_a_restart(tmp_path, warm_parser):
    app = conventions_app(tmp_path)
    inbox = connect(app)
    inbox.client.emit("start_game", {"game": "say-select", "partner": "instructq", "seat": 0, "seed": 5})
    started = inbox.wait("game_started")
    inbox.wait("agent_status", lambda m: m["status"] == "ready", timeout=30)
    gid = started["game_id"]
    u = instruct(inbox, gid, CONTRADICTORY)
    confirm(inbox, gid, u["instruction_id"], 0)

    restarted = connect(conventions_app(tmp_path))
    restarted.client.emit("resume", {"game_id": gid, "token": started["resume_token"]})
    resent = restarted.wait("understanding")
    assert resent["confirms"] == u["instruction_id"] and resent["choice"] == 0
    assert [c["convention"] for c in resent["understood"]] == ["quit-immediately"]


def test_refusals_say_what_to_do(tmp_path, warm_parser):
    app = conventions_app(tmp_path)
    inbox = connect(app)
    gid = start(inbox)
    u = instruct(inbox, gid, CONTRADICTORY)
    for payload, fragment in [({"instruction_id": 999, "choice": None}, "no instruction 999"),
                              ({"instruction_id": u["instruction_id"], "choice": 5}, "no choice 5"),
                              ({"instruction_id": u["instruction_id"], "choice": -1}, "null"),
                              ({"instruction_id": "x", "choice": None}, "integer")]:
        inbox.client.emit("confirm", {"game_id": gid, **payload})
        error = inbox.wait("error", lambda m: m["event"] == "confirm")
        assert error["code"] == "bad_message" and fragment in error["message"]
    nothing = instruct(inbox, gid, "banana weather tomorrow")
    inbox.client.emit("confirm", {"game_id": gid, "instruction_id": nothing["instruction_id"], "choice": None})
    error = inbox.wait("error", lambda m: m["event"] == "confirm")
    assert error["code"] == "bad_message" and "other words" in error["message"]
    assert not events(app, gid, "confirmation")


def test_nothing_is_adopted_after_the_game_is_over(tmp_path, warm_parser):
    app = conventions_app(tmp_path)
    inbox = connect(app)
    gid = start(inbox)
    u = instruct(inbox, gid, CONTRADICTORY)
    say(inbox, gid, 1)
    assert say(inbox, gid, 1)["over"]  # the intuitive Bob quits on a repeat: the game ends
    inbox.wait("game_over")
    inbox.client.emit("confirm", {"game_id": gid, "instruction_id": u["instruction_id"], "choice": 0})
    assert inbox.wait("error", lambda m: m["event"] == "confirm")["code"] == "game_over"
    assert not events(app, gid, "confirmation")


def test_say_select_vanilla_bob_ignores_instructions_and_is_trained_once(tmp_path, warm_parser):
    factory = CountingFactory()
    app = conventions_app(tmp_path, factory)
    inbox = connect(app)
    partners = {p["id"]: p for p in app.test_client().get("/api/partners?game=say-select").get_json()}
    assert partners["vanilla-q"]["follows_instructions"] is False and "ignores" in partners["vanilla-q"]["description"]
    assert partners["instructq"]["follows_instructions"] is True
    gid = start(inbox, partner="vanilla-q")
    first = inbox.wait("understanding")  # the paper's instruction, read at the start
    assert first["follows_instructions"] is False and "ignores instructions" in first["partner_note"]
    assert factory.calls == 1
    for text in ("pick one less than my number", CONTRADICTORY, "choose the even balls only"):
        u = instruct(inbox, gid, text)
        assert u["follows_instructions"] is False and "ignores instructions" in u["partner_note"]
        assert not u["clarify"] and u["question"] is None and u["choices"] == []
        inbox.wait("agent_status", lambda m: m["status"] == "ready", timeout=30)
    other = connect(app)
    start(other, partner="vanilla-q")
    assert factory.calls == 1  # one Bob for every instruction, trained once per server
    assert not any(n == "agent_status" and m["status"] in ("training", "queued")
                   for n, m in inbox.messages + other.messages)


def test_hanabi_choice_brings_in_the_agent_it_calls_for(tmp_path, warm_parser):
    app = conventions_app(tmp_path)
    inbox = connect(app)
    gid = start(inbox, game="hanabi", partner="instructed")
    u = instruct(inbox, gid, "play what I colour hint, and keep what I colour hint")
    assert u["clarify"] and u["choices"] and not u["adopted"]
    index = next(i for i, c in enumerate(u["choices"]) if c["conventions"] == ["color-hint-play"])
    assert "colour-instructed agent" in u["choices"][index]["means"]
    confirmed = confirm(inbox, gid, u["instruction_id"], index)
    assert confirmed["adopted"] and confirmed["agent_role"] == "color"
    assert [c["convention"] for c in confirmed["understood"]] == ["color-hint-play"]


def test_hanabi_vanilla_partner_says_it_ignores_instructions(tmp_path, warm_parser):
    app = conventions_app(tmp_path)
    inbox = connect(app)
    partners = {p["id"]: p for p in app.test_client().get("/api/partners?game=hanabi").get_json()}
    assert partners["vanilla"]["follows_instructions"] is False and partners["instructed"]["follows_instructions"]
    gid = start(inbox, game="hanabi", partner="vanilla")
    u = instruct(inbox, gid, "finesse")
    assert u["follows_instructions"] is False and "ignores instructions" in u["partner_note"]
    assert not u["clarify"] and u["choices"] == [] and u["lambda"] == 0
