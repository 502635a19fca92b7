"""The example study (docs/studies/example.yaml, opened with `instructplay study open`) in a real browser:
three participants arrive from Prolific-style links; one declines consent; two agree, read the tutorials,
play their assigned Say-Select and Hanabi games (one of them reloads the page mid-game and resumes the same
game), answer the questionnaires, get the completion code and are sent back to Prolific. Then everything
is checked in the database: the decline alone for the one, and every step, answer and game, with the
study's version and condition, for the others.

The server runs the example study as written (the conventions prior reads the instructions, the partner
pauses as the study says), with a pre-built Bob (BOB_FACTORY, as tests/integration/test_socket_play.py) and
Hanabi's rule bots (no checkpoints in HANABI_AGENT_DIR), so the games are real and quick. The person plays
any legal move: numbers in turn in Say-Select, the oldest card in Hanabi (three misplays end it soon).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from typing import Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from server.db.models import Game, Participant, StudyEvent, StudyGame, StudyParticipant
from tests.e2e.conftest import REPO_ROOT, LiveServer, free_port, running

pytestmark = pytest.mark.e2e

EXAMPLE = REPO_ROOT / "docs" / "studies" / "example.yaml"
STUDY = "instruct-or-not"
CODE = "C7INSTRUCT"
PROLIFIC = "https://app.prolific.com/submissions/complete"
MOVE_TIMEOUT_MS = 60_000      # the partner's move, with the study's pause
READ_TIMEOUT_MS = 180_000     # the first instruction read loads the sentence-embedding model
LAUNCH = """
import sys
from server.app import create_app, socketio
from tests.integration.test_socket_play import IntuitiveBob
app = create_app({"BOB_FACTORY": lambda table, lam, seed, progress: IntuitiveBob()})
socketio.run(app, host="127.0.0.1", port=int(sys.argv[1]), allow_unsafe_werkzeug=True, use_reloader=False,
             log_output=False)
"""


@pytest.fixture(scope="module")
def study_server(tmp_path_factory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("e2e-study")
    database_url = f"sqlite:///{folder / 'study.db'}"
    opened = subprocess.run([sys.executable, "-m", "server.cli", "study", "open", str(EXAMPLE), "--db", database_url],
                            cwd=REPO_ROOT, capture_output=True, text=True)
    assert opened.returncode == 0, opened.stdout + opened.stderr
    assert "open at version 1" in opened.stdout
    port = free_port()
    env = dict(os.environ, INSTRUCTPLAY_DATABASE_URL=database_url, INSTRUCTPLAY_PRIOR_BACKEND="conventions",
               INSTRUCTPLAY_HANABI_AGENT_DIR=str(folder / "no-agents"), INSTRUCTPLAY_BOB_CACHE_DIR=str(folder / "bobs"),
               PYTHONUNBUFFERED="1")
    with running([sys.executable, "-c", LAUNCH, str(port)], env, folder, port, database_url) as server:
        yield server


@pytest.fixture
def tabs(browser):
    """New browsers (contexts: each its own localStorage), one per participant; the test fails on a JS error."""
    contexts, errors = [], []

    def new_tab() -> Page:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(30_000)
        context.route(f"{PROLIFIC}**", lambda route: route.fulfill(status=200, content_type="text/html",
                                                                   body="<p>Prolific: submission complete</p>"))
        contexts.append(context)
        tab = context.new_page()
        tab.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
        tab.on("console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None)
        return tab

    yield new_tab
    for context in contexts:
        context.close()
    assert not errors, "the pages logged JavaScript errors:\n" + "\n".join(errors)


def link(server: LiveServer, n: int) -> str:
    return (f"{server.url}/s/{STUDY}?PROLIFIC_PID={pid(n)}&STUDY_ID=65aa00000000000000000001"
            f"&SESSION_ID=session{n}")


def pid(n: int) -> str:
    return f"60e{n:021x}"


def consent(page: Page, server: LiveServer, n: int) -> None:
    page.goto(link(server, n))
    expect(page.locator("#study h2").first).to_have_text("Consent to take part")
    expect(page.locator("#study")).to_contain_text("Consent version 2026-11")
    page.get_by_role("button", name="I agree").click()


def moves_shown(page: Page, game: str) -> int:
    return page.locator("#history li" if game == "say-select" else "#log li").count()


def move_once(page: Page, game: str, n: int) -> None:
    """One legal move when it is the person's turn, then wait for the partner's answer (or the end)."""
    expect(page.locator("#turn-status.yours").or_(page.locator("#game-over:not([hidden])"))).to_be_visible(
        timeout=READ_TIMEOUT_MS)
    if page.locator("#game-over").is_visible():
        return
    before = moves_shown(page, game)
    if game == "say-select":
        page.keyboard.press(str(n % 5 + 1))
    else:
        page.locator("#own-hand .hcard").first.click()
        page.keyboard.press("p")
    selector = "#history li" if game == "say-select" else "#log li"
    page.wait_for_function(
        f"document.querySelectorAll('{selector}').length >= {before + 2} || "
        f"!document.querySelector('#game-over').hidden", timeout=MOVE_TIMEOUT_MS)


def play_game(page: Page, reload_after: int | None = None) -> str:
    """Open the game of this step from the study page and play it to the end (reloading the page after
    `reload_after` moves, to resume it); back on the study page. The game played."""
    expect(page.locator("#to-game")).to_have_text("Start the game")
    page.locator("#to-game").click()
    page.wait_for_url(re.compile(r"/static/(say_select|hanabi)\.html\?study="))
    game = "say-select" if "say_select" in page.url else "hanabi"
    expect(page.locator("#new-game")).to_be_hidden()
    n = 0
    while page.locator("#game-over").is_hidden():
        move_once(page, game, n)
        n += 1
        if n == reload_after:
            shown = moves_shown(page, game)
            page.reload()
            expect(page.locator("#turn-status.yours").or_(page.locator("#game-over:not([hidden])"))).to_be_visible(
                timeout=MOVE_TIMEOUT_MS)
            assert moves_shown(page, game) == shown  # the same game, where it was
    expect(page.locator("#play-again")).to_contain_text("Continue")
    page.locator("#play-again").click()
    page.wait_for_url(re.compile(rf"/s/{STUDY}$"))
    return game


def answer_questionnaire(page: Page) -> None:
    """Every question: the middle of a scale, the first option, a sentence."""
    expect(page.locator(".question").first).to_be_visible()
    for box in page.locator(".question").all():
        radios = box.locator("input[type=radio]")
        if box.locator(".likert").count():
            radios.nth(radios.count() // 2).check()
        elif radios.count():
            radios.first.check()
        else:
            box.locator("textarea").fill("I told it what I meant and watched what it did.")
    page.get_by_role("button", name="Send my answers").click()


def go_through(page: Page, reload_in_game: int | None = None) -> list[str]:
    """From the first page after consent to the completion code; the games played, in order."""
    played = []
    while True:
        expect(page.locator("#study > *:not(#loading)").first).to_be_visible()
        if page.locator("#completion-code").count():
            expect(page.locator("#completion-code")).to_have_text(CODE)
            expect(page.locator("#redirect")).to_have_attribute("href", f"{PROLIFIC}?cc={CODE}")
            return played
        if page.locator("#to-game").count():
            played.append(play_game(page, reload_after=reload_in_game if not played else None))
        elif page.locator(".question").count():
            step = page.locator("#progress").inner_text()
            answer_questionnaire(page)
            expect(page.locator("#progress")).not_to_have_text(step)
        else:  # a tutorial
            expect(page.locator("#study .prose h2")).to_have_text(re.compile("Say-Select|Hanabi"))
            step = page.locator("#progress").inner_text()
            page.get_by_role("button", name="I have read this, continue").click()
            expect(page.locator("#progress")).not_to_have_text(step)


def test_three_participants_from_prolific_links_to_the_completion_code(study_server, tabs):
    first, declining, third = tabs(), tabs(), tabs()

    consent(first, study_server, 1)
    declining.goto(link(study_server, 2))
    declining.get_by_role("button", name="I do not agree").click()
    expect(declining.locator("#study")).to_contain_text("You chose not to take part")
    consent(third, study_server, 3)

    assert go_through(first) in (["say-select", "hanabi"], ["hanabi", "say-select"])
    played = go_through(third, reload_in_game=2)  # reloads its first game after two moves, and resumes it
    assert sorted(played) == ["hanabi", "say-select"]
    for tab in (first, third):
        tab.wait_for_url(f"{PROLIFIC}?cc={CODE}", timeout=30_000)  # a few seconds after the code was shown
        expect(tab.locator("body")).to_contain_text("submission complete")

    engine = create_engine(study_server.database_url)
    with Session(engine) as s:
        assert s.get(Participant, pid(2)) is None
        declines = s.scalars(select(StudyEvent).where(StudyEvent.study_participant_id.is_(None))).all()
        assert [(e.type, e.payload["decision"]) for e in declines] == [("consent", "declined")]
        places = {p.participant_id: p for p in s.scalars(select(StudyParticipant))}
        assert set(places) == {pid(1), pid(3)}
        assert Counter(p.condition for p in places.values()) == Counter({"typed": 1, "fixed": 1})
        for place in places.values():
            assert place.status == "completed" and place.step == len(place.pages) - 1
            events = s.scalars(select(StudyEvent).where(StudyEvent.study_participant_id == place.id)
                               .order_by(StudyEvent.id)).all()
            kinds = Counter(e.type for e in events)
            assert kinds["consent"] == kinds["assignment"] == kinds["completed"] == 1
            assert kinds["page"] == len(place.pages) and kinds["answers"] == 3 and kinds["game_started"] == 2
            games = s.scalars(select(Game).join(StudyGame).where(StudyGame.study_participant_id == place.id)).all()
            assert len(games) == 2 and all(g.status == "over" for g in games)
            for g in games:
                assert (g.config["study"]["version"], g.config["study"]["condition"]) == (1, place.condition)
                assert g.seed in {d["seed"] for d in place.seeds}
        # the reload mid-game resumed the same game: it joined it, and started no other
        assert kinds_of(s, places[pid(3)].id)["game_joined"] >= 1
        # both participants are in slot 0 of their conditions: the same deals (matched across conditions)
        assert places[pid(1)].seeds == places[pid(3)].seeds
    engine.dispose()


def kinds_of(session: Session, place_id: int) -> Counter:
    return Counter(e.type for e in session.scalars(select(StudyEvent).where(StudyEvent.study_participant_id == place_id)))
