"""The researcher dashboard's server side (server/research/routes.py, access.py, dashboard.py): off without a
configured credential (and says so), the login (a password or its hash, a signed session cookie that is
HttpOnly, SameSite and Secure over https, ended by a changed password or its lifetime), failed logins
limited per address with a message that says when to try again, and what the dashboard shows: each study's
participants by state, its conditions against their targets, the games in progress with their turn, the
finished games, the scores' tables and plots, the report and the CSV export as downloads."""

from __future__ import annotations

import csv
import io
import logging
import time
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from server.db.models import StudyParticipant, utcnow
from tests.integration.db_urls import BACKENDS, fresh_database
from tests.integration.test_access import models_loaded_before_exit, research_app  # noqa: F401  (a fixture)
from tests.integration.test_socket_hanabi import person_move
from tests.integration.test_study_flow import STUDY, Person, answers_for, prolific

PASSWORD = "correct horse battery staple"


@pytest.fixture
def app(tmp_path):
    return research_app(f"sqlite:///{tmp_path / 'dash.db'}", tmp_path, RESEARCHER_PASSWORD=PASSWORD,
                        SECRET_KEY="test-secret", LOGIN_FAILURES="3 per 15 minutes")


@pytest.fixture(params=BACKENDS)
def db_app(request, tmp_path):
    """The app on SQLite, and on PostgreSQL when INSTRUCTPLAY_TEST_POSTGRES_URL is set."""
    with fresh_database(request.param, tmp_path) as url:
        yield research_app(url, tmp_path, RESEARCHER_PASSWORD=PASSWORD, SECRET_KEY="test-secret")


def logged_in(app, address: str = "127.0.0.1"):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    response = client.post("/research/login", json={"password": PASSWORD})
    assert response.status_code == 200, response.get_json()
    return client


# ---------------------------------------------------------------- on, off, login


def test_without_a_credential_the_dashboard_is_off_and_says_so(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="server.research.access"):
        app = research_app(f"sqlite:///{tmp_path / 'off.db'}", tmp_path)
    assert any("dashboard is off" in r.getMessage() and "INSTRUCTPLAY_RESEARCHER_PASSWORD" in r.getMessage()
               for r in caplog.records)
    client = app.test_client()
    session = client.get("/research/api/session").get_json()
    assert session["enabled"] is False and "INSTRUCTPLAY_RESEARCHER_PASSWORD" in session["message"]
    assert client.get("/research").status_code == 200  # the page, which shows that message
    refused = client.post("/research/login", json={"password": ""})
    assert refused.status_code == 404 and "off" in refused.get_json()["error"]
    answer = client.get("/research/api/overview")
    assert answer.status_code == 401 and "INSTRUCTPLAY_RESEARCHER_PASSWORD" in answer.get_json()["error"]


def test_login_sets_a_signed_http_only_same_site_cookie_secure_over_https(app):
    client = app.test_client()
    assert client.get("/research/api/session").get_json() == {"enabled": True, "logged_in": False, "message": None}
    assert client.post("/research/login", json={"password": "wrong"}).status_code == 401
    response = client.post("/research/login", json={"password": PASSWORD})
    assert response.status_code == 200
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie  # http: not Secure
    assert PASSWORD not in cookie
    assert client.get("/research/api/session").get_json()["logged_in"] is True
    assert client.get("/research/api/overview").headers["Cache-Control"] == "no-store"

    over_https = app.test_client()
    secure = over_https.post("/research/login", json={"password": PASSWORD}, base_url="https://play.example.org")
    assert "Secure" in secure.headers["Set-Cookie"]
    # behind a proxy that terminates TLS: only when the server is told to trust it
    behind = app.test_client().post("/research/login", json={"password": PASSWORD},
                                    headers={"X-Forwarded-Proto": "https"})
    assert "Secure" not in behind.headers["Set-Cookie"]
    app.config["TRUSTED_PROXIES"] = 1
    behind = app.test_client().post("/research/login", json={"password": PASSWORD},
                                    headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"})
    assert "Secure" in behind.headers["Set-Cookie"]

    # a forged cookie (another key) is no login
    forged = app.test_client()
    forged.set_cookie("session", cookie.split(";")[0].split("=", 1)[1][:-4] + "AAAA")
    assert forged.get("/research/api/overview").status_code == 401


def test_failed_logins_are_limited_per_address_with_when_to_try_again(app):
    client = app.test_client()
    for _ in range(3):
        assert client.post("/research/login", json={"password": "guess"}).status_code == 401
    blocked = client.post("/research/login", json={"password": PASSWORD})  # even the right one, from here
    assert blocked.status_code == 429
    wait = int(blocked.headers["Retry-After"])
    assert 800 < wait <= 900 and blocked.get_json()["retry_after"] == wait
    assert "try again in 15 minutes (at " in blocked.get_json()["error"]
    assert client.get("/research/api/overview").status_code == 401
    logged_in(app, "10.0.0.2")  # another address is not held back
    # behind a trusted proxy the address is the one it reports
    app.config["TRUSTED_PROXIES"] = 1
    proxied = app.test_client()
    for _ in range(3):
        proxied.post("/research/login", json={"password": "guess"}, headers={"X-Forwarded-For": "198.51.100.1"})
    assert proxied.post("/research/login", json={"password": PASSWORD},
                        headers={"X-Forwarded-For": "198.51.100.1"}).status_code == 429
    assert proxied.post("/research/login", json={"password": PASSWORD},
                        headers={"X-Forwarded-For": "198.51.100.2"}).status_code == 200


def test_a_success_clears_the_failures_and_logout_ends_the_session(app):
    client = app.test_client()
    for _ in range(2):
        client.post("/research/login", json={"password": "guess"})
    assert client.post("/research/login", json={"password": PASSWORD}).status_code == 200
    for _ in range(2):
        assert client.post("/research/login", json={"password": "guess"}).status_code == 401
    assert client.post("/research/logout").status_code == 204
    assert client.get("/research/api/overview").status_code == 401


def test_a_password_hash_works_and_a_changed_password_ends_old_sessions(tmp_path):
    url = f"sqlite:///{tmp_path / 'h.db'}"
    first = research_app(url, tmp_path, RESEARCHER_PASSWORD_HASH=generate_password_hash("first password 1"),
                         SECRET_KEY="shared-key")
    client = first.test_client()
    assert client.post("/research/login", json={"password": "first password 1"}).status_code == 200
    cookie = client.get_cookie("session").value
    again = research_app(url, tmp_path, RESEARCHER_PASSWORD_HASH=first.config["RESEARCHER_PASSWORD_HASH"],
                         SECRET_KEY="shared-key")
    carried = again.test_client()
    carried.set_cookie("session", cookie)
    assert carried.get("/research/api/overview").status_code == 200  # another process with the same key and hash
    changed = research_app(url, tmp_path, RESEARCHER_PASSWORD="second password", SECRET_KEY="shared-key")
    stale = changed.test_client()
    stale.set_cookie("session", cookie)
    assert stale.get("/research/api/overview").status_code == 401


def test_a_login_lasts_its_configured_hours(tmp_path):
    app = research_app(f"sqlite:///{tmp_path / 'l.db'}", tmp_path, RESEARCHER_PASSWORD=PASSWORD,
                       RESEARCHER_SESSION_HOURS=1 / 3600)  # one second
    client = logged_in(app)
    assert client.get("/research/api/overview").status_code == 200
    time.sleep(3)
    assert client.get("/research/api/overview").status_code == 401


# ---------------------------------------------------------------- what it shows


def to_first_game(person: Person) -> dict:
    place = person.consent()
    return person.next(place["step"])  # past the tutorial: the first game's page


def test_the_overview_shows_states_conditions_live_and_finished_games(db_app):
    app = db_app
    finished, playing, consented, idle = (Person(app, prolific(n)) for n in (1, 2, 3, 4))
    place = finished.consent()
    while place["page"]["kind"] != "done":
        place = finished.do_page(place)
    inbox, started, state = playing.tab(to_first_game(playing)["page"]["game"])
    consented.consent()
    to_first_game(idle)
    Person(app, prolific(5)).consent(agree=False)
    # 21 minutes pass for the idle one alone, and the sweep abandons them
    with Session(app.extensions["instructplay"].store.engine) as s, s.begin():
        s.execute(update(StudyParticipant).where(StudyParticipant.participant_id == prolific(4)["PROLIFIC_PID"])
                  .values(last_active_at=utcnow() - timedelta(minutes=21)))
    assert app.extensions["instructplay_studies"].sweep_study(STUDY) == [prolific(4)["PROLIFIC_PID"]]
    client = logged_in(app)

    overview = client.get("/research/api/overview").get_json()
    study = next(s for s in overview["studies"] if s["id"] == STUDY)
    states = {p["participant"]: p["state"] for p in study["participants"]}
    assert states == {prolific(1)["PROLIFIC_PID"]: "finished", prolific(2)["PROLIFIC_PID"]: "playing",
                      prolific(3)["PROLIFIC_PID"]: "consented", prolific(4)["PROLIFIC_PID"]: "abandoned"}
    assert study["states"] == {"consented": 1, "playing": 1, "finished": 1, "abandoned": 1, "declined": 1}
    conditions = {c["id"]: c for c in study["conditions"]}
    assert {c: row["target"] for c, row in conditions.items()} == {"typed": 25, "fixed": 25}
    assert sum(c["living"] for c in conditions.values()) == 3 and sum(c["abandoned"] for c in conditions.values()) == 1
    for c in conditions.values():
        assert c["living"] == c["consented"] + c["playing"] + c["finished"]
    assert study["version"] == 1 and study["title"] and study["idle_timeout_minutes"] == 20
    assert [g["game_id"] for g in overview["live"]] == [started["game_id"]]
    assert len(overview["finished"]) == 2 and {g["participant"] for g in overview["finished"]} == {prolific(1)["PROLIFIC_PID"]}
    assert all(g["study"] == STUDY and g["condition"] == conditions_of(study, prolific(1)) for g in overview["finished"])


def conditions_of(study: dict, params: dict) -> str:
    return next(p["condition"] for p in study["participants"] if p["participant"] == params["PROLIFIC_PID"])


def test_a_game_in_progress_shows_its_turn_move_by_move(db_app):
    app = db_app
    player, waiting = Person(app, prolific(6)), Person(app, prolific(7))
    game = to_first_game(player)["page"]["game"]
    waiting.consent()
    inbox, started, state = player.tab(game)
    client = logged_in(app)

    def live() -> dict:
        overview = client.get("/research/api/overview").get_json()
        study = next(s for s in overview["studies"] if s["id"] == STUDY)
        states = {p["participant"]: p["state"] for p in study["participants"]}
        assert states == {prolific(6)["PROLIFIC_PID"]: "playing", prolific(7)["PROLIFIC_PID"]: "consented"}
        assert study["states"]["playing"] == 1 and study["states"]["consented"] == 1
        (row,) = [g for g in overview["live"] if g["game_id"] == started["game_id"]]
        assert row["participant"] == prolific(6)["PROLIFIC_PID"] and row["study"] == STUDY and row["game"] == game
        return row

    row = live()
    assert (row["moves"], row["to_act"]) == (0, "human")
    for moves in (2, 4):
        move = {"say": moves // 2} if game == "say-select" else person_move(state)  # 1, 2: Bob never quits
        inbox.client.emit("move", {"game_id": started["game_id"], "move": move})
        state = inbox.wait("state", lambda m, n=moves: m["turn"] >= n and m["to_act"] != "agent", timeout=60)
        row = live()
        assert row["moves"] == state["turn"] == moves and row["to_act"] == "human"
        assert row["last_event_at"] >= row["started_at"]


def test_scores_plots_report_and_export_for_a_logged_in_researcher(db_app):
    app = db_app
    person = Person(app, prolific(8))
    place = person.consent()
    typed = []
    while place["page"]["kind"] != "done":
        if place["page"]["kind"] == "questionnaire":
            answers = answers_for(place["page"]["items"]) | {"comment" if place["page"]["name"] == "after_game"
                                                             else "strategy": f"answer at step {place['step']}"}
            typed.append(answers)
            place = person.next(place["step"], answers=answers)
        else:
            place = person.do_page(place)
    client = logged_in(app)

    scores = client.get(f"/research/api/scores?study={STUDY}").get_json()
    assert scores["study"] == STUDY and scores["games"] == scores["finished"] == 2 and scores["participants"] == 1
    assert {r["game"] for r in scores["headline"]} == {"say-select", "hanabi"}
    assert all(r["participants"] == 1 and r["score"] != "–" for r in scores["headline"])
    assert set(scores["plots"]) == {"score_by_condition.png", "adherence_by_condition.png", "score_by_game_number.png"}
    again = client.get(f"/research/api/scores?study={STUDY}").get_json()
    assert again["version"] == scores["version"]  # kept: nothing finished since
    for name in scores["plots"]:
        png = client.get(f"/research/plots/{name}?study={STUDY}")
        assert png.status_code == 200 and png.mimetype == "image/png" and png.data[:4] == b"\x89PNG"
    assert client.get(f"/research/plots/nope.png?study={STUDY}").status_code == 404
    assert client.get("/research/api/scores?study=no-such-study").status_code == 404

    report = client.get(f"/research/report.html?study={STUDY}")
    assert report.status_code == 200 and "attachment" in report.headers["Content-Disposition"]
    assert "Coordination scores: study instruct-or-not" in report.get_data(as_text=True)

    export = client.get(f"/research/export.zip?study={STUDY}")
    assert export.status_code == 200 and "attachment" in export.headers["Content-Disposition"]
    tables = read_zip(export.data)
    assert {"games.csv", "events.csv", "answers.csv", "assignments.csv", "participants.csv", "scores.csv"} <= set(tables)
    pid = prolific(8)["PROLIFIC_PID"]
    moves = [r for r in tables["events.csv"] if r["type"] == "move"]
    assert moves and all(r["participant"] == pid for r in moves)
    answered = {(r["questionnaire"], r["item"]): r["answer"] for r in tables["answers.csv"] if r["participant"] == pid}
    assert answered[("after_game", "comment")] in {a.get("comment") for a in typed}
    assert answered[("end", "strategy")] == typed[-1]["strategy"]

    hidden = read_zip(client.get(f"/research/export.zip?study={STUDY}&pseudonymise=1").data)
    assert pid not in "".join(",".join(r.values()) for rows in hidden.values() for r in rows)
    assert {r["participant"] for r in hidden["events.csv"]} == {hidden["participants.csv"][0]["participant"]}


def read_zip(data: bytes) -> dict[str, list[dict[str, str]]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8"))))
                for name in archive.namelist()}
