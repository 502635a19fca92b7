"""Studies end to end over HTTP (Flask's test client) and the socket (Flask-SocketIO's test client): from a
Prolific link to the completion code with every step stored, a declined consent that stores only the
decline, balanced conditions with matched deals, a participant resumed at every step (same tab, new device,
second tab), typed instructions refused where the condition forbids them, idle participants abandoned and
their places refilled, and the page's own events. Bob is injected (tests/integration/test_socket_play.py);
Hanabi is played by the rule bots (no checkpoints in HANABI_AGENT_DIR); the agent does not pause."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.app import socketio
from server.db.models import Event, Game, Participant, StudyEvent, StudyGame, StudyParticipant, utcnow
from server.studies.commands.open_study import open_study
from tests.integration.db_urls import BACKENDS, fresh_database
from tests.integration.test_socket_hanabi import person_move
from tests.integration.test_socket_play import Inbox, IntuitiveBob, make_app

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "docs" / "studies" / "example.yaml"
STUDY = "instruct-or-not"
FIXED_SAY_SELECT = "I should select the same number as my partner."


def study_file(tmp_path: Path, name: str = "study.yaml", **changes) -> Path:
    """The example study, for tests: no pause before the agent's move, the server's prior backend, and the
    Hanabi `fixed` condition without a fixed instruction (reading one loads a sentence-embedding model)."""
    data = yaml.safe_load(EXAMPLE.read_text())
    data["settings"] = {"delay_ms": 0}
    data["conditions"][1]["blocks"]["hanabi"].pop("instruction")
    data.update(changes)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def study_app(url: str, tmp_path: Path, bob_factory=None, **changes):
    open_study(study_file(tmp_path, **changes), url)
    return make_app(url, tmp_path, bob_factory, HANABI_AGENT_DIR=str(tmp_path / "no-agents"), STUDY_SWEEP_S=0)


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def app(tmp_path):
    return study_app(f"sqlite:///{tmp_path / 'study.db'}", tmp_path)


def prolific(n: int) -> dict[str, str]:
    return {"PROLIFIC_PID": f"5f{n:022x}", "STUDY_ID": "65aa00000000000000000001", "SESSION_ID": f"sess{n}"}


class Person:
    """One participant's browser: the study API over HTTP, the token it keeps, and game tabs (sockets)."""

    def __init__(self, app, params: dict[str, str] | None = None, study: str = STUDY):
        self.app = app
        self.http = app.test_client()
        self.params = params or {}
        self.study = study
        self.token: str | None = None

    def post(self, route: str, status: int = 200, **body) -> dict:
        response = self.http.post(f"/api/studies/{self.study}/{route}", json=body)
        assert response.status_code == status, (route, response.status_code, response.get_json())
        return response.get_json() if response.data else {}

    def keep(self, answer: dict) -> dict:
        self.token = answer.get("token", self.token)
        return answer

    def enter(self, **body) -> dict:
        return self.keep(self.post("enter", params=self.params, **({"token": self.token} if self.token else {}), **body))

    def consent(self, agree: bool = True, **body) -> dict:
        return self.keep(self.post("consent", params=self.params, agree=agree, **body))

    def place(self) -> dict:
        return self.post("place", token=self.token)

    def next(self, step: int, status: int = 200, **body) -> dict:
        return self.post("next", status, token=self.token, step=step, **body)

    def tab(self, game: str) -> tuple[Inbox, dict, dict]:
        """A game tab: start_game with the study reference; (inbox, game_started, state)."""
        inbox = Inbox(socketio.test_client(self.app))
        inbox.client.emit("start_game", {"game": game, "study": {"id": self.study, "token": self.token}})
        return inbox, inbox.wait("game_started"), inbox.wait("state")

    def do_page(self, place: dict) -> dict:
        """Complete the page the participant is on (a game: played to its end); their next place."""
        page = place["page"]
        if page["kind"] == "game":
            inbox, started, state = self.tab(page["game"])
            play_to_the_end(inbox, started, state)
            return self.place()
        if page["kind"] == "questionnaire":
            return self.next(place["step"], answers=answers_for(page["items"]))
        return self.next(place["step"])


def answers_for(items: list[dict]) -> dict:
    return {i["id"]: 4 if i["type"] == "likert" else i["options"][0] if i["type"] == "choice" else "it listened"
            for i in items}


def play_to_the_end(inbox: Inbox, started: dict, state: dict) -> dict:
    gid, game = started["game_id"], started["game"]
    said = 0
    while not state["over"]:
        if state["to_act"] == "human":
            said += 1
            move = {"say": said % 5 + 1} if game == "say-select" else person_move(state)
            inbox.client.emit("move", {"game_id": gid, "move": move})
        state = inbox.wait("state", lambda m: m["turn"] > state["turn"] or m["over"], timeout=60)
    inbox.wait("game_over")
    return state


def study_events(app, participant: str | None = None) -> list[StudyEvent]:
    with Session(app.extensions["instructplay"].store.engine) as s:
        query = select(StudyEvent).order_by(StudyEvent.id)
        if participant is not None:
            query = query.join(StudyParticipant).where(StudyParticipant.participant_id == participant)
        return list(s.scalars(query))


def place_row(app, participant: str) -> StudyParticipant:
    with Session(app.extensions["instructplay"].store.engine) as s:
        return s.scalars(select(StudyParticipant).where(StudyParticipant.participant_id == participant)).one()


# ---------------------------------------------------------------- the whole way


def test_from_a_prolific_link_to_the_completion_code_with_every_step_stored(db_url, tmp_path):
    app = study_app(db_url, tmp_path)
    person = Person(app, prolific(1))
    assert app.test_client().get(f"/s/{STUDY}").status_code == 200
    assert app.test_client().get(f"/api/studies/{STUDY}").get_json()["status"] == "open"
    consent = person.enter()["page"]
    assert consent["kind"] == "consent" and consent["version"] == "2026-11" and "<h2>" in consent["html"]
    assert study_events(app) == []  # nothing is stored before consent

    place = person.consent()
    assert person.token and place["step"] == 0 and place["page"]["kind"] == "tutorial"
    kinds = []
    while place["page"]["kind"] != "done":
        kinds.append(place["page"]["kind"])
        place = person.do_page(place)
    assert kinds == ["tutorial", "game", "questionnaire", "tutorial", "game", "questionnaire", "questionnaire"]
    done = place["page"]
    assert done["code"] == "C7INSTRUCT" and done["redirect"].endswith("?cc=C7INSTRUCT")

    row = place_row(app, prolific(1)["PROLIFIC_PID"])
    assert row.status == "completed" and row.version == 1 and row.source == "prolific"
    assert row.external == {"STUDY_ID": "65aa00000000000000000001", "SESSION_ID": "sess1"}
    events = study_events(app, row.participant_id)
    assert [e.type for e in events] == [
        "consent", "assignment", "entry", "page",             # tutorial
        "page", "game_started",                               # game 1
        "page", "answers", "page",                            # questionnaire, tutorial
        "page", "game_started",                               # game 2
        "page", "answers", "page", "answers", "page", "completed"]
    assert events[0].payload == {"decision": "agreed", "consent_version": "2026-11", "study_version": 1}
    assignment = events[1].payload
    assert assignment["condition"] == row.condition and assignment["order"] == row.block_order
    assert [e.step for e in events if e.type == "page"] == list(range(len(row.pages)))
    assert all(e.created_at is not None for e in events)
    answers = [e.payload for e in events if e.type == "answers"]
    assert answers[0]["answers"] == {"trust": 4, "understood": 4, "effort": 4, "comment": "it listened",
                                     "partner_was": "It followed a plan I could predict"}
    assert answers[-1]["questionnaire"] == "end"

    with Session(app.extensions["instructplay"].store.engine) as s:
        games = s.scalars(select(Game).join(StudyGame).order_by(StudyGame.step)).all()
        assert [g.game for g in games] == [p["game"] for p in row.pages if p["kind"] == "game"]
        for game, deal in zip(games, row.seeds):
            assert game.status == "over" and game.participant_id == row.participant_id and game.seed == deal["seed"]
            assert game.config["study"] | {} == {"id": STUDY, "version": 1, "condition": row.condition,
                                                 "block": deal["block"], "round": 0, "slot": row.slot,
                                                 "step": game.config["study"]["step"],
                                                 "participant": row.participant_id}
            first = s.scalars(select(Event).where(Event.game_id == game.id, Event.seq == 0)).one()
            assert first.payload["study"]["condition"] == row.condition and first.payload["settings"]


def test_declining_ends_politely_and_stores_only_the_decline(app):
    person = Person(app, prolific(2))
    assert person.enter()["page"]["kind"] == "consent"
    declined = person.consent(agree=False)
    assert declined["page"]["kind"] == "declined" and "return the study" in declined["page"]["html"]
    assert "token" not in declined
    events = study_events(app)
    assert [(e.type, e.study_participant_id, e.payload) for e in events] == [
        ("consent", None, {"decision": "declined", "consent_version": "2026-11", "study_version": 1})]
    with Session(app.extensions["instructplay"].store.engine) as s:
        assert s.get(Participant, prolific(2)["PROLIFIC_PID"]) is None
        assert s.scalars(select(StudyParticipant)).all() == []


def test_conditions_stay_balanced_and_see_matched_deals(app):
    seen: dict[str, list] = {"typed": [], "fixed": []}
    for n in range(12):
        Person(app, prolific(100 + n)).consent()
        rows = [place_row(app, prolific(100 + m)["PROLIFIC_PID"]) for m in range(n + 1)]
        counts = Counter(r.condition for r in rows)
        assert abs(counts["typed"] - counts["fixed"]) <= 1
    for r in rows:
        seen[r.condition].append((r.slot, r.seeds, r.block_order))
    assert sorted(s for s, _, _ in seen["typed"]) == sorted(s for s, _, _ in seen["fixed"]) == list(range(6))
    by_slot = {c: {slot: (seeds, order) for slot, seeds, order in v} for c, v in seen.items()}
    for slot in range(6):
        assert by_slot["typed"][slot] == by_slot["fixed"][slot]  # the same deals, in the same order
    orders = Counter(tuple(order) for _, _, order in seen["typed"])
    assert list(orders.values()) == [3, 3]  # both Latin-square orders equally used
    for _, seeds, _ in seen["typed"]:
        assert len({(d["game"], d["seed"]) for d in seeds}) == len(seeds)


# ---------------------------------------------------------------- coming back


def test_a_returning_participant_resumes_at_every_step_and_never_gets_a_new_condition(app):
    person = Person(app, prolific(3))
    person.enter()
    place = person.consent()
    condition = place_row(app, prolific(3)["PROLIFIC_PID"]).condition
    tokens = [person.token]
    while True:
        step, kind = place["step"], place["page"]["kind"]
        # the same browser (reload, a new tab): its token
        assert person.enter() | {"token": None} == place | {"token": None}
        # a new device: no token, the Prolific id from the link; it gets a token of its own
        device = Person(app, prolific(3))
        assert device.enter()["step"] == step and device.token not in tokens
        tokens.append(device.token)
        # consenting again (an old tab) changes nothing
        assert Person(app, prolific(3)).consent()["step"] == step
        assert place_row(app, prolific(3)["PROLIFIC_PID"]).condition == condition
        for token in tokens:  # every browser's token still leads to the same place
            person.token = token
            assert person.place()["step"] == step
        if kind == "done":
            break
        if kind == "game":
            inbox, started, state = person.tab(place["page"]["game"])
            inbox.client.emit("move", {"game_id": started["game_id"], "move": first_move(started["game"], state)})
            state = inbox.wait("state", lambda m: m["turn"] > 0 and m["to_act"] != "agent", timeout=60)
            inbox.client.disconnect()  # the tab is reloaded mid-game
            again, rejoined, resumed = device.tab(place["page"]["game"])
            assert rejoined["game_id"] == started["game_id"] and resumed["view"] == state["view"]
            assert device.place()["page"]["started"] is True
            play_to_the_end(again, rejoined, resumed)
            place = device.place()
        else:
            place = person.do_page(place)
    row = place_row(app, prolific(3)["PROLIFIC_PID"])
    assert row.status == "completed" and row.condition == condition
    entries = [e.payload["by"] for e in study_events(app, row.participant_id) if e.type == "entry"]
    assert {"new", "token", "id", "consent again"} <= set(entries)
    assert sum(e.type == "game_joined" for e in study_events(app, row.participant_id)) == 2


def first_move(game: str, state: dict) -> dict:
    return {"say": 2} if game == "say-select" else person_move(state)


def test_a_second_tab_joins_the_open_game_and_never_starts_another(app):
    person = Person(app, prolific(4))
    place = person.consent()
    place = person.next(place["step"])  # past the tutorial
    game = place["page"]["game"]
    first, started, _ = person.tab(game)
    second, joined, state = person.tab(game)
    assert joined["game_id"] == started["game_id"] and joined["resume_token"] is None
    second.client.emit("move", {"game_id": joined["game_id"], "move": first_move(game, state)})
    assert first.wait("state", lambda m: m["turn"] > 0)["game_id"] == started["game_id"]
    with Session(app.extensions["instructplay"].store.engine) as s:
        assert len(s.scalars(select(StudyGame)).all()) == 1
        assert len(s.scalars(select(Game)).all()) == 1
    # the study page cannot skip the game; the game page cannot start a game that is not the step's
    assert "finish your game" in person.next(place["step"], status=409)["error"]
    other = "hanabi" if game == "say-select" else "say-select"
    wrong = Inbox(socketio.test_client(app))
    wrong.client.emit("start_game", {"game": other, "study": {"id": STUDY, "token": person.token}})
    error = wrong.wait("error")
    assert error["code"] == "not_allowed" and f"/s/{STUDY}" in error["message"]


def test_typed_instructions_are_refused_where_the_condition_forbids_them(app):
    people = [Person(app, prolific(10 + n)) for n in range(2)]  # the second goes to the other condition
    fixed = next(p for p in people if place_row(app, p.consent() and p.params["PROLIFIC_PID"]).condition == "fixed")
    place = fixed.place()
    while not (place["page"]["kind"] == "game" and place["page"]["game"] == "say-select"):
        place = fixed.do_page(place)
    assert place["page"]["may_instruct"] is False
    inbox, started, state = fixed.tab("say-select")
    assert started["may_instruct"] is False
    understanding = inbox.wait("understanding")
    assert understanding["text"] == FIXED_SAY_SELECT
    inbox.client.emit("instruction", {"game_id": started["game_id"], "text": "pick the ball I say"})
    error = inbox.wait("error")
    assert error["code"] == "not_allowed" and "cannot type instructions" in error["message"]
    with Session(app.extensions["instructplay"].store.engine) as s:
        game = s.get(Game, started["game_id"])
        assert game.config["settings"] == {"lambda": None, "delay": {"mean_ms": 0.0, "sd_ms": 0.0, "min_ms": 0.0},
                                           "instruction": FIXED_SAY_SELECT, "may_instruct": False}
        instructions = s.scalars(select(Event).where(Event.game_id == game.id, Event.type == "instruction")).all()
        assert [(e.actor, e.payload["text"]) for e in instructions] == [("system", FIXED_SAY_SELECT)]

    # a restarted server rebuilds the game from its events with the condition's settings
    restarted = make_app(app.config["DATABASE_URL"], Path(app.config["BOB_CACHE_DIR"]).parent, STUDY_SWEEP_S=0)
    fixed.app = restarted
    again, joined, _ = fixed.tab("say-select")
    assert joined["game_id"] == started["game_id"] and joined["may_instruct"] is False
    again.client.emit("instruction", {"game_id": started["game_id"], "text": "pick the ball I say"})
    assert again.wait("error")["code"] == "not_allowed"


def test_a_conditions_lambda_and_delay_reach_the_agent(tmp_path):
    lambdas = []

    def bob_factory(table, lam, seed, progress):
        lambdas.append(lam)
        return IntuitiveBob()

    settings = {"lambda": 0.75, "delay_ms": {"mean": 40, "sd": 30, "min": 25}}
    app = study_app(f"sqlite:///{tmp_path / 'lam.db'}", tmp_path, bob_factory, settings=settings)
    person = Person(app, prolific(70))
    place = person.consent()
    played = []
    while place["page"]["kind"] != "done":
        if place["page"]["kind"] == "game":
            inbox, started, state = person.tab(place["page"]["game"])
            assert started.get("lambda", 0.75) == 0.75  # Hanabi names its lambda in game_started
            play_to_the_end(inbox, started, state)
            played.append(started["game_id"])
            place = person.place()
        else:
            place = person.do_page(place)
    assert lambdas and set(lambdas) == {0.75}  # Say-Select's Bob is trained with the condition's lambda
    with Session(app.extensions["instructplay"].store.engine) as s:
        for gid in played:
            game = s.get(Game, gid)
            assert game.config["lambda"] == 0.75 and game.config["agent_delay_ms"] == 40
            assert game.config["settings"]["delay"] == {"mean_ms": 40.0, "sd_ms": 30.0, "min_ms": 25.0}
            moves = s.scalars(select(Event).where(Event.game_id == gid, Event.type == "move",
                                                  Event.actor == "agent")).all()
            assert moves and all(m.payload["delay_ms"] >= 25 for m in moves)
            if game.game == "say-select":
                assert all(m.payload["lambda"] == 0.25 for m in moves)  # what the injected Bob reports applying


# ---------------------------------------------------------------- idle participants


def test_an_idle_participant_is_abandoned_and_their_place_refilled(app):
    for n in range(3):  # conditions at 2 and 1: the idle participant makes them 2 and 2
        Person(app, prolific(24 + n)).consent()
    idle = Person(app, prolific(20))
    place = idle.consent()
    place = idle.next(place["step"])
    inbox, started, _ = idle.tab(place["page"]["game"])
    row = place_row(app, prolific(20)["PROLIFIC_PID"])
    studies = app.extensions["instructplay_studies"]
    assert studies.sweep_study(STUDY) == []  # not idle yet
    assert studies.sweep_study(STUDY, now=utcnow() + timedelta(minutes=19)) == []
    # 21 minutes pass for this participant alone: nothing from them, no move in their game
    long_ago = utcnow() - timedelta(minutes=21)
    with Session(app.extensions["instructplay"].store.engine) as s, s.begin():
        s.execute(update(StudyParticipant).where(StudyParticipant.id == row.id).values(last_active_at=long_ago))
        s.execute(update(Event).where(Event.game_id == started["game_id"]).values(created_at=long_ago))
    assert studies.sweep_study(STUDY) == [row.participant_id]

    abandoned = place_row(app, row.participant_id)
    assert abandoned.status == "abandoned"
    event = [e for e in study_events(app, row.participant_id) if e.type == "abandoned"][0]
    assert event.payload["reason"] == "idle" and event.payload["idle_timeout_minutes"] == 20
    assert event.game_id == started["game_id"]
    with Session(app.extensions["instructplay"].store.engine) as s:
        assert s.get(Game, started["game_id"]).status == "abandoned"
        assert s.scalars(select(Event).where(Event.game_id == started["game_id"])).all()[-1].type == "abandoned"

    # coming back shows that the session timed out; no new condition, no game
    assert idle.enter()["page"]["kind"] == "timed_out"
    again = Inbox(socketio.test_client(app))
    again.client.emit("start_game", {"game": place["page"]["game"], "study": {"id": STUDY, "token": idle.token}})
    assert again.wait("error")["code"] == "not_allowed"
    # the freed place (and its deals) goes to the next arrival
    Person(app, prolific(21)).consent()
    refill = place_row(app, prolific(21)["PROLIFIC_PID"])
    assert (refill.condition, refill.slot, refill.seeds) == (row.condition, row.slot, row.seeds)


def test_a_participant_back_after_the_timeout_is_abandoned_on_return(app):
    by_page, by_link = Person(app, prolific(22)), Person(app, prolific(23))
    by_page.consent(), by_link.consent()
    with Session(app.extensions["instructplay"].store.engine) as s, s.begin():
        s.execute(update(StudyParticipant).values(last_active_at=utcnow() - timedelta(hours=1)))
    assert by_page.place()["page"]["kind"] == "timed_out"  # the open study page asks for its place
    by_link.token = None
    assert by_link.enter()["page"]["kind"] == "timed_out"  # the link again, on another device
    for n in (22, 23):
        assert place_row(app, prolific(n)["PROLIFIC_PID"]).status == "abandoned"


# ---------------------------------------------------------------- the page's events, ids, errors


def test_tab_visibility_reconnects_and_why_requests_are_events(app):
    person = Person(app, prolific(30))
    place = person.next(person.consent()["step"])
    inbox, started, state = person.tab(place["page"]["game"])
    person.post("events", 204, token=person.token, type="visibility", data={"state": "hidden"}, page="game")
    person.post("events", 204, token=person.token, type="visibility", data={"state": "visible"}, page="game")
    person.post("events", 204, token=person.token, type="reconnect", data={"attempt": 1}, page="game")
    person.post("events", 400, token=person.token, type="visibility", data={"state": "blurry"})
    person.post("events", 400, token=person.token, type="mouse")
    kinds = [(e.type, e.payload.get("state"), e.game_id) for e in study_events(app, prolific(30)["PROLIFIC_PID"])]
    assert kinds[-3:] == [("visibility", "hidden", started["game_id"]), ("visibility", "visible", started["game_id"]),
                          ("reconnect", None, started["game_id"])]
    inbox.client.emit("move", {"game_id": started["game_id"], "move": first_move(started["game"], state)})
    inbox.wait("agent_move", timeout=60)
    inbox.client.emit("explain", {"game_id": started["game_id"]})
    asked = inbox.wait("explanation")
    with Session(app.extensions["instructplay"].store.engine) as s:
        why = s.scalars(select(Event).where(Event.game_id == started["game_id"], Event.type == "explain_request")).one()
        assert why.actor == "human" and why.payload == {"about_turn": asked["turn"]}


def test_questionnaire_answers_are_checked_item_by_item(app):
    person = Person(app, prolific(31))
    place = person.consent()
    while place["page"]["kind"] != "questionnaire":
        place = person.do_page(place)
    errors = person.next(place["step"], 422, answers={"trust": 9, "partner_was": "a cat", "nope": 1})["errors"]
    assert set(errors) == {"trust", "understood", "effort", "partner_was", "nope"}
    assert "1 to 7" in errors["trust"] and "answer this question" in errors["understood"]
    assert person.place()["step"] == place["step"]  # nothing stored, still there
    after = person.next(place["step"], answers=answers_for(place["page"]["items"]))
    assert after["step"] == place["step"] + 1
    assert person.next(place["step"], answers=answers_for(place["page"]["items"]))["step"] == after["step"]  # a double click


def test_ids_by_link_by_form_or_anonymous_and_what_is_refused(db_url, tmp_path):
    app = study_app(db_url, tmp_path, entry=["mturk", "ask", "anonymous"])
    assert Person(app).enter()["page"] == {"kind": "ask_id", "anonymous": True, "html": Person(app).enter()["page"]["html"]}
    typed = Person(app)
    assert typed.enter(participant="lab-07")["page"]["kind"] == "consent"
    assert typed.consent(participant="lab-07")["participant"] == "lab-07"
    assert place_row(app, "lab-07").source == "ask"
    anonymous = Person(app).consent(anonymous=True)
    assert anonymous["participant"].startswith("anon-") and anonymous["token"]
    mturk = Person(app, {"workerId": "A1B2C3D4E5", "assignmentId": "3XYZ", "hitId": "3HIT"})
    place = mturk.consent()
    assert place["participant"] == "A1B2C3D4E5"
    while place["page"]["kind"] != "done":
        place = mturk.do_page(place)
    assert place["page"]["code"] == "C7INSTRUCT" and place["page"]["redirect"] is None  # only Prolific's is given
    assert place_row(app, "A1B2C3D4E5").external == {"assignmentId": "3XYZ", "hitId": "3HIT"}
    preview = Person(app, {"assignmentId": "ASSIGNMENT_ID_NOT_AVAILABLE", "hitId": "3HIT"})
    assert preview.enter()["page"]["kind"] == "preview"
    # a Prolific link is not accepted by a study that does not take Prolific ids: it asks instead
    assert Person(app, prolific(40)).enter()["page"]["kind"] == "ask_id"
    assert "letters, digits" in Person(app).post("consent", 400, participant="<script>", agree=True)["error"]
    assert Person(app).post("place", 401, token="not-a-token")["error"]
    assert app.test_client().get("/api/studies/no-such-study").status_code == 404


def test_a_changed_file_is_a_new_version_and_participants_keep_theirs(app, tmp_path):
    url = app.config["DATABASE_URL"]
    first = Person(app, prolific(50))
    first.consent()
    changed = study_file(tmp_path, "v2.yaml", consent={"version": "2026-12", "text": "New consent text."})
    assert open_study(changed, url) == (STUDY, 2, True)
    second = Person(app, prolific(51))
    assert second.enter()["page"]["version"] == "2026-12"
    second.consent()
    assert place_row(app, prolific(50)["PROLIFIC_PID"]).version == 1
    assert place_row(app, prolific(51)["PROLIFIC_PID"]).version == 2
    consents = [e.payload for e in study_events(app) if e.type == "consent"]
    assert [(c["study_version"], c["consent_version"]) for c in consents] == [(1, "2026-11"), (2, "2026-12")]
    # counts carry over: the second goes to the condition the first did not
    assert place_row(app, prolific(50)["PROLIFIC_PID"]).condition != place_row(app, prolific(51)["PROLIFIC_PID"]).condition


def test_a_full_study_takes_nobody_new_but_lets_its_participants_back(tmp_path):
    app = study_app(f"sqlite:///{tmp_path / 'full.db'}", tmp_path, target_per_condition=1)
    a, b = Person(app, prolific(60)), Person(app, prolific(61))
    a.consent(), b.consent()
    assert app.test_client().get(f"/api/studies/{STUDY}").get_json()["status"] == "full"
    assert Person(app, prolific(62)).enter()["page"]["kind"] == "full"
    assert Person(app, prolific(62)).consent()["page"]["kind"] == "full"
    assert a.enter()["page"]["kind"] == "tutorial"


def test_a_condition_with_lambda_0_says_the_partner_ignores_what_is_typed(tmp_path):
    """Say-Select's Bob at lambda 0 ignores instructions (the note, no question); Hanabi's instructed partner
    still follows one at lambda 0 by choosing the agent it calls for, so it says nothing of the kind."""
    conditions = [{"id": "typed-lambda-0", "description": "Typed instructions, lambda 0.",
                   "settings": {"may_instruct": True, "lambda": 0}}]
    app = study_app(f"sqlite:///{tmp_path / 'lam0.db'}", tmp_path, conditions=conditions)
    person = Person(app, prolific(80))
    place = person.consent()
    seen = {}
    while place["page"]["kind"] != "done":
        if place["page"]["kind"] == "game":
            game = place["page"]["game"]
            inbox, started, state = person.tab(game)
            text = "pick the ball I say" if game == "say-select" else "When I hint a colour, play that card."
            inbox.client.emit("instruction", {"game_id": started["game_id"], "text": text})
            seen[game] = inbox.wait("understanding", timeout=180)
            play_to_the_end(inbox, started, state)
            place = person.place()
        else:
            place = person.do_page(place)
    assert seen["say-select"]["follows_instructions"] is False and seen["say-select"]["partner_note"]
    assert seen["say-select"]["clarify"] is False
    assert seen["hanabi"]["follows_instructions"] is True and not seen["hanabi"].get("partner_note")
    assert seen["hanabi"]["lambda"] == 0
