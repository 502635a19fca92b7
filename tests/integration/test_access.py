"""No one reads data that is not theirs (issue #13, docs/RESEARCHERS.md "Access"): every route of the app,
enumerated from `app.url_map`, is tried without credentials and with another participant's keys (their study
token, their game's resume token, in the header the pages send and as `?token=`), and must answer 401 or 404
without a byte of the victim's data, unless it is on the short list of public routes below (each with its
reason), which are tried too and must not show the victim's data either. A route added later is guarded by
default: this test fails until it answers 401/404 or is listed here as public, with a reason.

The same routes do open to the researcher's login and to the player's own keys (so the guard is not simply
"no"), and the list of finished games shows each player only their own games.
"""

from __future__ import annotations

import json
import re
import threading

import pytest

from server.research.access import TOKEN_HEADER
from server.studies.commands.open_study import open_study
from tests.integration.test_socket_play import connect, make_app, say, start
from tests.integration.test_study_flow import STUDY, Person, answers_for, play_to_the_end, prolific, study_file

PASSWORD = "a researcher's long password"
SECRET_ANSWER = "my partner felt like a mind reader"

# (rule, method) -> why anyone may call it. Everything else must answer 401/404 to strangers.
PUBLIC = {
    ("/", "GET"): "the start page (static)",
    ("/static/<path:filename>", "GET"): "the client's files: pages, scripts, styles (the game and replay pages hold no data)",
    ("/api/partners", "GET"): "the partners a game offers (no game data)",
    ("/s/<study_id>", "GET"): "a study's entry page (static)",
    ("/api/studies/<study_id>", "GET"): "a study's title, description and whether it is open (what its link shows)",
    ("/api/studies/<study_id>/enter", "POST"): "a participant's own place, by their token or their link's id",
    ("/api/studies/<study_id>/consent", "POST"): "consenting: a participant's own new place",
    ("/api/studies/<study_id>/place", "POST"): "a participant's own place, by the token in the body (401 without)",
    ("/api/studies/<study_id>/next", "POST"): "a participant's own next page, by the token in the body (401 without)",
    ("/api/studies/<study_id>/events", "POST"): "a participant's own page events, by the token in the body (401 without)",
    ("/research", "GET"): "the dashboard's page: a login form; its data come from the guarded routes",
    ("/research/api/session", "GET"): "whether the dashboard is on and this browser logged in (no data)",
    ("/research/login", "POST"): "the login itself (rate-limited per address)",
    ("/research/logout", "POST"): "ending one's own session",
    ("/socket.io/", "GET"): "the Socket.IO transport: engine.io answers it before Flask; each game message checks "
                            "its sender's rights (the rule exists so socket events match one, server/app.py)",
    ("/socket.io/", "POST"): "the Socket.IO transport's long-polling (as GET)",
}
# Lists that answer anyone with keys: 200 with the games those keys open, and nothing else (checked below).
LISTS = {("/api/games", "GET")}
ARGUMENTS = {"study_id": STUDY, "filename": "js/research_access.js", "name": "score_by_condition.png"}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A study with two participants (the victim has finished a game and answered its questionnaire, the
    other has played a game too), and a free game: the app, and what each of them holds."""
    tmp_path = tmp_path_factory.mktemp("access")
    app = research_app(f"sqlite:///{tmp_path / 'access.db'}", tmp_path, RESEARCHER_PASSWORD=PASSWORD)
    victim, other = Person(app, prolific(1)), Person(app, prolific(2))
    victim_game = first_game(victim, answer=SECRET_ANSWER)
    other_game = first_game(other, answer="fine")
    inbox = connect(app)
    free_started, state = start(inbox, participant="free-player")
    while not state["over"]:
        state = say(inbox, free_started["game_id"], 3)
    return {"app": app, "victim": victim, "other": other, "victim_game": victim_game, "other_game": other_game,
            "free_game": free_started["game_id"], "free_token": free_started["resume_token"]}


@pytest.fixture(autouse=True)
def models_loaded_before_exit():
    """After each test, wait for the games' models that a first game started loading in the background
    (GameService._warm): a thread still inside torch when the interpreter exits aborts it."""
    yield
    for thread in threading.enumerate():
        if thread.name.endswith("(_warm)"):
            thread.join(timeout=300)


def research_app(url: str, tmp_path, **config):
    """The example study opened (as tests/integration/test_study_flow.py's study_app), with `config` for the app."""
    open_study(study_file(tmp_path), url)
    return make_app(url, tmp_path, HANABI_AGENT_DIR=str(tmp_path / "no-agents"), STUDY_SWEEP_S=0, **config)


def first_game(person: Person, answer: str) -> dict:
    """Consent, read the tutorial, play the first game to its end, answer its questionnaire; the game_started."""
    place = person.consent()
    place = person.next(place["step"])
    inbox, started, state = person.tab(place["page"]["game"])
    play_to_the_end(inbox, started, state)
    place = person.place()
    assert place["page"]["kind"] == "questionnaire"
    answers = answers_for(place["page"]["items"]) | {"comment": answer}
    person.next(place["step"], answers=answers)
    return started


def url_for(rule, game_id: str) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: game_id if m.group(1) == "game_id" else ARGUMENTS[m.group(1)],
                  rule.rule)


def routes(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def secrets_of(world) -> list[str]:
    """What must never reach anyone but the victim and the researcher."""
    return [world["victim_game"]["game_id"], prolific(1)["PROLIFIC_PID"], SECRET_ANSWER]


def call(client, method: str, url: str, headers: dict | None = None, body: dict | None = None):
    return client.open(url, method=method, headers=headers or {}, json=body)


def test_every_route_refuses_strangers_and_other_participants(world):
    app, victim_id = world["app"], world["victim_game"]["game_id"]
    other_keys = [world["other"].token, world["other_game"]["resume_token"], world["free_token"]]
    other_keys = [k for k in other_keys if k]
    attempts = {
        "no credentials": ({}, ""),
        "the other participant's study token in the header": ({TOKEN_HEADER: f"{victim_id}:{world['other'].token}"}, ""),
        "the other participant's keys to their own games": (
            {TOKEN_HEADER: ",".join([f"{world['other_game']['game_id']}:{world['other'].token}",
                                     f"{world['free_game']}:{world['free_token']}"])}, ""),
        "the other participant's tokens as ?token=": ({}, world["other"].token),
        "a made-up token": ({TOKEN_HEADER: f"{victim_id}:not-a-token"}, "not-a-token"),
    }
    guarded, public = [], []
    for rule, method in routes(app):
        url = url_for(rule, victim_id)
        (public if (rule.rule, method) in PUBLIC else guarded).append((rule.rule, method, url))
        for attempt, (headers, token) in attempts.items():
            client = app.test_client()
            target = f"{url}{'&' if '?' in url else '?'}token={token}" if token else url
            body = {"token": world["other"].token} if method == "POST" and attempt != "no credentials" else None
            response = call(client, method, target, headers, body)
            text = response.get_data(as_text=True)
            where = f"{method} {rule.rule} with {attempt}"
            if (rule.rule, method) in PUBLIC:
                assert response.status_code < 500, where
            elif attempt == "no credentials":
                assert response.status_code == 401, f"{where}: {response.status_code} {text[:200]}"
            else:
                allowed = (200, 401, 404) if (rule.rule, method) in LISTS else (401, 404)
                assert response.status_code in allowed, f"{where}: {response.status_code} {text[:200]}"
            if response.status_code in (401, 404) and response.is_json:
                assert response.get_json()["error"], f"{where}: a refusal says what to do"
            shown = text.replace(url, "").replace(target, "")
            for secret in secrets_of(world)[1:] + ([] if response.status_code in (401, 404) else secrets_of(world)[:1]):
                assert secret not in shown, f"{where} showed the victim's {secret!r}"
    # the guard covers what it must: every game-data route, the dashboard's data and downloads
    names = {r for r, _, _ in guarded}
    assert {"/api/games", "/api/games/<game_id>/replay", "/api/games/<game_id>/hanablive.json",
            "/research/api/overview", "/research/api/scores", "/research/plots/<name>", "/research/report.html",
            "/research/export.zip"} <= names, names
    assert {(r, m) for r, m, _ in public} == set(PUBLIC), "a public route listed here no longer exists"


def test_the_player_and_the_researcher_do_get_in(world):
    app, victim = world["app"], world["victim"]
    gid, game = world["victim_game"]["game_id"], world["victim_game"]["game"]
    own = {TOKEN_HEADER: f"{gid}:{victim.token}"}
    player = app.test_client()
    replay = player.get(f"/api/games/{gid}/replay", headers=own)
    assert replay.status_code == 200 and replay.get_json()["game_id"] == gid
    assert replay.headers["Cache-Control"] == "private, no-store"
    assert player.get(f"/api/games/{gid}/replay?token={victim.token}").status_code == 200
    download = player.get(f"/api/games/{gid}/hanablive.json?token={victim.token}")
    assert download.status_code == (200 if game == "hanabi" else 409)
    # the free game opens with its resume token (what the game page keeps), not with the study token
    free = world["free_game"]
    assert player.get(f"/api/games/{free}/replay", headers={TOKEN_HEADER: f"{free}:{world['free_token']}"}).status_code == 200
    assert player.get(f"/api/games/{free}/replay", headers={TOKEN_HEADER: f"{free}:{victim.token}"}).status_code == 404

    researcher = app.test_client()
    researcher.environ_base["REMOTE_ADDR"] = "10.0.0.7"  # the first test's failed logins came from 127.0.0.1
    assert researcher.post("/research/login", json={"password": PASSWORD}).status_code == 200
    for game_id in (gid, world["other_game"]["game_id"], free):
        assert researcher.get(f"/api/games/{game_id}/replay").status_code == 200
    assert researcher.get("/api/games/nope/replay").status_code == 404
    listed = {g["game_id"] for g in researcher.get("/api/games").get_json()}
    assert {gid, world["other_game"]["game_id"], free} <= listed
    assert researcher.get("/research/api/overview").status_code == 200
    researcher.post("/research/logout")
    assert researcher.get("/research/api/overview").status_code == 401
    assert researcher.get(f"/api/games/{gid}/replay").status_code == 401


def test_my_games_lists_only_the_players_own_games(world):
    app, victim, other = world["app"], world["victim"], world["other"]
    gid, other_gid, free = world["victim_game"]["game_id"], world["other_game"]["game_id"], world["free_game"]
    client = app.test_client()

    def listed(keys: str) -> set[str]:
        response = client.get("/api/games", headers={TOKEN_HEADER: keys})
        assert response.status_code == 200
        return {g["game_id"] for g in response.get_json()}

    assert listed(f"{gid}:{victim.token}") == {gid}
    assert listed(f"{other_gid}:{other.token},{free}:{world['free_token']}") == {other_gid, free}
    # a key presented for someone else's game lists nothing of theirs
    assert listed(f"{gid}:{other.token},{other_gid}:{victim.token},{free}:{victim.token}") == set()
    assert client.get("/api/games").status_code == 401
    rows = client.get("/api/games", headers={TOKEN_HEADER: f"{gid}:{victim.token}"}).get_json()
    assert set(rows[0]) == {"game_id", "game", "partner", "seed", "ended_at", "score", "turns"}
    assert json.dumps(rows).count(gid) == 1


def test_a_new_secret_key_ends_logins_and_a_fallback_key_keeps_them(world):
    """The session's signing serializer is built once per key (server/research/access.py): it must follow the key."""
    app = world["app"]
    researcher = app.test_client()
    researcher.environ_base["REMOTE_ADDR"] = "10.0.0.8"
    assert researcher.post("/research/login", json={"password": PASSWORD}).status_code == 200
    assert researcher.get("/research/api/overview").status_code == 200
    old_key = app.secret_key
    try:
        app.config["SECRET_KEY"] = "rotated-" + old_key
        assert researcher.get("/research/api/overview").status_code == 401
        app.config["SECRET_KEY_FALLBACKS"] = [old_key]
        assert researcher.get("/research/api/overview").status_code == 200
    finally:
        app.config["SECRET_KEY"] = old_key
        app.config["SECRET_KEY_FALLBACKS"] = []
