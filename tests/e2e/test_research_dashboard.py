"""The researcher dashboard in a real browser (issue #13): a researcher logs in at /research (after a wrong
password is refused), and watches, in one browser, a participant of the example study
(docs/studies/example.yaml) play in another: their state, their game in progress with its moves counted as
they are made, then their finished games. The researcher opens a replay from the dashboard, downloads the
CSV export, and finds in it every move and every questionnaire answer of that participant, as the database
holds them and as the participant's pages showed and sent them. The participant's browser gets nothing
from the dashboard's routes.

The server runs the example study as tests/e2e/test_study_browser.py does (the conventions prior, a pre-built
Bob, Hanabi's rule bots), with a researcher password. Waits are on elements and events, with generous bounds:
the dashboard refreshes every few seconds.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from server.db.models import Event, Game, StudyEvent, StudyParticipant
from tests.e2e.conftest import LiveServer, check_accessibility, free_port, running
from tests.e2e.test_study_browser import (CODE, EXAMPLE, LAUNCH, PROLIFIC, READ_TIMEOUT_MS, STUDY, answer_questionnaire,
                                          consent, move_once, moves_shown, pid)

pytestmark = pytest.mark.e2e

PASSWORD = "a long researcher password for the test"
DASHBOARD_MS = 30_000    # the dashboard refreshes every 4 s; a loaded machine may take a while to answer
TYPED_ANSWER = "I told it what I meant and watched what it did."  # what answer_questionnaire types
EXPECTED_REFUSALS = re.compile(r"Failed to load resource: the server responded with a status of 401")


@pytest.fixture(scope="module")
def research_server(tmp_path_factory) -> Iterator[LiveServer]:
    """The example study opened, served with a researcher password (as test_study_browser's study_server)."""
    folder = tmp_path_factory.mktemp("e2e-research")
    database_url = f"sqlite:///{folder / 'research.db'}"
    opened = subprocess.run([sys.executable, "-m", "server.cli", "study", "open", str(EXAMPLE), "--db", database_url],
                            cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True)
    assert opened.returncode == 0, opened.stdout + opened.stderr
    port = free_port()
    env = dict(os.environ, INSTRUCTPLAY_DATABASE_URL=database_url, INSTRUCTPLAY_PRIOR_BACKEND="conventions",
               INSTRUCTPLAY_HANABI_AGENT_DIR=str(folder / "no-agents"), INSTRUCTPLAY_BOB_CACHE_DIR=str(folder / "bobs"),
               INSTRUCTPLAY_RESEARCHER_PASSWORD=PASSWORD, INSTRUCTPLAY_SECRET_KEY="e2e-secret", PYTHONUNBUFFERED="1")
    with running([sys.executable, "-c", LAUNCH, str(port)], env, folder, port, database_url) as server:
        yield server


@pytest.fixture
def browsers(browser):
    """New browsers (contexts), one per person; the test fails on a JavaScript error (a refused login's 401
    is expected: the browser logs it as a failed resource)."""
    contexts, errors = [], []

    def new_tab() -> Page:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        context.set_default_timeout(30_000)
        context.route(f"{PROLIFIC}**", lambda route: route.fulfill(status=200, content_type="text/html",
                                                                   body="<p>Prolific: submission complete</p>"))
        contexts.append(context)
        context.on("page", watch)
        return context.new_page()

    def watch(tab: Page) -> None:
        tab.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
        tab.on("console", lambda msg: errors.append(f"console: {msg.text}")
               if msg.type == "error" and not EXPECTED_REFUSALS.search(msg.text) else None)

    yield new_tab
    for context in contexts:
        context.close()
    assert not errors, "the pages logged JavaScript errors:\n" + "\n".join(errors)


def log_in(page: Page, server: LiveServer) -> None:
    page.goto(f"{server.url}/research")
    expect(page.locator("#login-title")).to_have_text("Researcher login")
    expect(page.locator("#dashboard")).to_be_hidden()
    page.locator("#password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#login-error")).to_contain_text("not the researcher password")
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#dashboard")).to_be_visible()
    expect(page.locator(f'#studies [data-study="{STUDY}"]')).to_be_visible(timeout=DASHBOARD_MS)


def start_first_game(page: Page) -> str:
    """From the first page after consent (the tutorial) into the first game; the game's id ('say-select' ...)."""
    page.get_by_role("button", name="I have read this, continue").click()
    expect(page.locator("#to-game")).to_have_text("Start the game")
    page.locator("#to-game").click()
    page.wait_for_url(re.compile(r"/static/(say_select|hanabi)\.html\?study="))
    return "say-select" if "say_select" in page.url else "hanabi"


def finish_game(page: Page, game: str, n: int = 0) -> int:
    """Play the game on the page to its end and go back to the study page; the moves its page showed."""
    while page.locator("#game-over").is_hidden():
        move_once(page, game, n)
        n += 1
    shown = moves_shown(page, game)
    page.locator("#play-again").click()
    page.wait_for_url(re.compile(rf"/s/{STUDY}$"))
    return shown


def go_on(page: Page) -> dict[str, int]:
    """From the study page to the completion code: {game: moves shown} of the games played on the way."""
    played: dict[str, int] = {}
    while True:
        expect(page.locator("#study > *:not(#loading)").first).to_be_visible()
        if page.locator("#completion-code").count():
            expect(page.locator("#completion-code")).to_have_text(CODE)
            return played
        if page.locator("#to-game").count():
            page.locator("#to-game").click()
            page.wait_for_url(re.compile(r"/static/(say_select|hanabi)\.html\?study="))
            game = "say-select" if "say_select" in page.url else "hanabi"
            played[game] = finish_game(page, game)
        elif page.locator(".question").count():
            step = page.locator("#progress").inner_text()
            answer_questionnaire(page)
            expect(page.locator("#progress")).not_to_have_text(step)
        else:
            step = page.locator("#progress").inner_text()
            page.get_by_role("button", name="I have read this, continue").click()
            expect(page.locator("#progress")).not_to_have_text(step)


def read_zip(path: str) -> dict[str, list[dict[str, str]]]:
    with zipfile.ZipFile(path) as archive:
        return {name: list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8"))))
                for name in archive.namelist()}


def test_a_researcher_watches_a_participant_play_replays_the_game_and_exports_every_move_and_answer(
        research_server, browsers, screenshot_dir):
    server, person = research_server, pid(1)
    researcher, participant = browsers(), browsers()
    log_in(researcher, server)
    check_accessibility(researcher, "on the dashboard ")
    mine = researcher.locator(f'#studies tr[data-participant="{person}"]')

    consent(participant, server, 1)
    expect(mine).to_have_attribute("data-state", "consented", timeout=DASHBOARD_MS)
    game = start_first_game(participant)
    live = researcher.locator(f'#live tr[data-participant="{person}"]')
    expect(mine).to_have_attribute("data-state", "playing", timeout=READ_TIMEOUT_MS)
    expect(live.locator(".moves")).to_have_text(str(moves_shown(participant, game)), timeout=DASHBOARD_MS)

    # the dashboard follows the game move by move
    n = 0
    while n < 3 and participant.locator("#game-over").is_hidden():
        move_once(participant, game, n)
        n += 1
        if participant.locator("#game-over").is_hidden():
            expect(live.locator(".moves")).to_have_text(str(moves_shown(participant, game)), timeout=DASHBOARD_MS)
    played = {game: finish_game(participant, game, n)}
    expect(live).to_have_count(0, timeout=DASHBOARD_MS)  # over: no longer in progress
    played |= go_on(participant)
    assert sorted(played) == ["hanabi", "say-select"]
    expect(mine).to_have_attribute("data-state", "finished", timeout=DASHBOARD_MS)
    finished = researcher.locator(f'#finished tr[data-participant="{person}"]')
    expect(finished).to_have_count(2, timeout=DASHBOARD_MS)
    study_box = researcher.locator(f'#studies [data-study="{STUDY}"]')
    expect(study_box.locator('[data-state="finished"] .state-value')).to_have_text("1")
    expect(researcher.locator("#scores")).to_contain_text("Say-Select", timeout=DASHBOARD_MS)
    expect(researcher.locator("#scores")).to_contain_text("Hanabi")
    expect(researcher.locator("#plots img")).to_have_count(3)
    check_accessibility(researcher, "on the dashboard with a finished participant ")
    if screenshot_dir:
        researcher.screenshot(path=str(screenshot_dir / "research_dashboard.png"), full_page=True)

    # a replay opens from the dashboard (for the researcher's login: no participant key in this browser)
    with researcher.context.expect_page() as opened:
        finished.first.locator(".replay-link").click()
    replay = opened.value
    expect(replay.locator("#replay-move")).to_have_text("The deal.")
    expect(replay.locator("#position")).to_contain_text("Move 0 of")
    replay.keyboard.press("End")
    expect(replay.locator("#replay-note")).to_contain_text("Game over")
    replay.close()

    # the CSV export: every move and every answer of the participant
    with researcher.expect_download() as download:
        researcher.locator("#export-link").click()
    assert download.value.suggested_filename.endswith(".zip")
    tables = read_zip(download.value.path())
    engine = create_engine(server.database_url)
    with Session(engine) as s:
        games = {g.id: g.game for g in s.scalars(select(Game).where(Game.participant_id == person))}
        moves = s.scalars(select(Event).where(Event.game_id.in_(games), Event.type == "move")).all()
        place = s.scalars(select(StudyParticipant).where(StudyParticipant.participant_id == person)).one()
        answered = [e.payload for e in s.scalars(select(StudyEvent).where(
            StudyEvent.study_participant_id == place.id, StudyEvent.type == "answers"))]
    engine.dispose()
    exported = {(r["game_id"], int(r["seq"])): r for r in tables["events.csv"] if r["type"] == "move"}
    assert len(moves) == sum(played.values()) and len(games) == 2
    for move in moves:
        row = exported[(move.game_id, move.seq)]
        assert (row["participant"], row["actor"], json.loads(row["move"])) == (person, move.actor, move.move)
    assert {g: sum(1 for (gid, _) in exported if gid in games and games[gid] == g) for g in played} == played

    answers = {(r["questionnaire"], r["game"], r["item"]): r["answer"]
               for r in tables["answers.csv"] if r["participant"] == person}
    expected = {(a["questionnaire"], a.get("game") or "", item): value
                for a in answered for item, value in a["answers"].items()}
    assert len(answered) == 3 and len(expected) == 13
    for key, value in expected.items():
        cell = answers[key]
        assert cell == (json.dumps(value) if isinstance(value, list) else str(value)), key
    assert sum(1 for v in answers.values() if v == TYPED_ANSWER) == 3  # each questionnaire's text item, as typed

    # the participant's browser reads nothing of the dashboard's
    for route in ("/research/api/overview", "/research/export.zip", "/research/api/scores", "/api/games"):
        assert participant.request.get(f"{server.url}{route}").status == 401, route
