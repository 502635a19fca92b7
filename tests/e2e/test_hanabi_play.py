"""A person's whole Hanabi game in a real browser against the real server: moves by keyboard and by
click, an instruction typed mid-game, then every move found in the database, and the replay page showing
the game's final state."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from server.db.models import Event, Game, Instruction
from server.db.store import Store
from server.games import hanabi

pytestmark = pytest.mark.e2e

INSTRUCTION = "When I tell you the colour of a card, play it."
SEED = 4
AGENT_TIMEOUT_MS = 60_000      # the first agent move loads the agent
READ_TIMEOUT_MS = 180_000      # the conventions reader loads its sentence-embedding model once
INSTRUCT_AFTER = 3             # the person's moves before the instruction
COLOUR_HINT = re.compile(r"^Your partner hinted (?:red|yellow|green|white|blue) on your (.+)$")


def log_count(page: Page) -> int:
    return page.locator("#log li").count()


def person_moves(page: Page) -> None:
    """Play the newest card the partner's colour hint just touched (the partner's convention), else
    discard the newest card when allowed (a click on it, then the D key), else click the first hint that
    is allowed; then wait until the partner has answered or the game is over."""
    before = log_count(page)
    last = page.locator("#log li .what").last.inner_text() if before else ""
    hinted = COLOUR_HINT.match(last)
    if hinted:
        page.locator("#own-hand .hcard").nth("ABCDE".index(hinted.group(1)[-1])).click()
        page.keyboard.press("p")
    else:
        page.locator("#own-hand .hcard").last.click()
        if page.locator("#discard").is_enabled():
            page.keyboard.press("d")
        else:
            page.locator("#color-hints button:enabled, #rank-hints button:enabled").first.click()
    page.wait_for_function(
        f"document.querySelectorAll('#log li').length >= {before + 2} || !document.querySelector('#game-over').hidden",
        timeout=AGENT_TIMEOUT_MS)


def test_a_whole_hanabi_game_is_stored_and_replayed(page, live_server, screenshot_dir):
    page.goto(f"{live_server.url}/static/hanabi.html?partner=instructed&seed={SEED}")
    expect(page.locator("#turn-status")).to_have_text("Your turn: play, discard or give a hint.")
    expect(page.locator("#own-hand .hcard")).to_have_count(5)
    expect(page.locator("#partner-hand .hcard")).to_have_count(5)
    expect(page.locator("#stat-hints")).to_contain_text("8")

    # the first move by keyboard only: 1-5 hint a rank the partner holds
    rank = page.locator("#partner-hand .hcard .rank").first.inner_text()
    page.keyboard.press(rank)
    page.wait_for_function("document.querySelectorAll('#log li').length >= 2", timeout=AGENT_TIMEOUT_MS)
    expect(page.locator("#log li").first).to_contain_text(f"You hinted {rank}s on your partner's")

    for _ in range(INSTRUCT_AFTER - 1):
        person_moves(page)
    page.keyboard.press("i")
    page.keyboard.type(INSTRUCTION)
    page.keyboard.press("Enter")
    expect(page.locator("#understanding .understood-summary")).to_contain_text("colour", timeout=READ_TIMEOUT_MS)
    expect(page.locator("#acting-agent")).to_contain_text("colour")
    page.keyboard.press("Escape")
    person_moves(page)
    expect(page.locator("#prior-caption")).to_contain_text("What your instruction suggested")
    page.keyboard.press("?")
    expect(page.locator("#explanation")).to_be_visible()
    if screenshot_dir is not None:
        page.locator("#own-hand .hcard").nth(1).click()
        page.locator("#color-hints button:enabled").first.focus()
        page.screenshot(path=str(screenshot_dir / "hanabi_play.png"), full_page=True)

    while page.locator("#game-over").is_hidden():
        person_moves(page)
    expect(page.locator("#turn-status")).to_have_text("Game over.")
    score = int(re.match(r"(\d+) / 25", page.locator("#final-score").inner_text()).group(1))
    page_log = [" ".join(t.split()) for t in page.locator("#log li .what").all_inner_texts()]

    game_id = page.evaluate("JSON.parse(sessionStorage.getItem('instructplay.hanabi')).game_id")
    engine = create_engine(live_server.database_url)
    with Session(engine) as s:
        game = s.get(Game, game_id)
        assert (game.game, game.agent, game.seed, game.status) == ("hanabi", "instructed", SEED, "over")
        moves = s.scalars(select(Event).where(Event.game_id == game_id, Event.type == "move").order_by(Event.seq)).all()
        (instruction,) = s.scalars(select(Instruction).where(Instruction.game_id == game_id)).all()
    record = Store(engine).load_game(game_id)
    assert [entry["text"] for entry in hanabi.move_log(hanabi.rebuild(record.events), 0)] == page_log
    assert len(moves) == len(page_log) and [m.actor for m in moves[:2]] == ["human", "agent"]
    assert instruction.text == INSTRUCTION and instruction.understood["adopted"]
    agent_roles = [m.payload["agent"]["role"] for m in moves if m.actor == "agent"]
    assert agent_roles[0] == "vanilla" and agent_roles[-1] == "color"
    final = hanabi.rebuild(record.events)
    assert final.score() == score == record.events[-1]["payload"]["score"]

    page.locator("#replay-link").click()
    expect(page).to_have_url(re.compile(rf"/static/replay\.html\?game={game_id}$"))
    expect(page.locator("#position")).to_have_text(f"Move {len(moves)} of {len(moves)}")
    expect(page.locator("#stat-score")).to_have_text(f"{score}/25")
    for color, height in zip("RYGWB", final.fireworks):
        name = hanabi.COLOR_NAMES["RYGWB".index(color)]
        label = f"{name} firework: {height} of 5" if height == 0 else f"{name} firework: {name} {height}"
        expect(page.locator(f'#fireworks [aria-label="{label}"]')).to_have_count(1)
    expect(page.locator("#replay-note")).to_contain_text(f"Game over: {score} points.")
    if screenshot_dir is not None:
        page.keyboard.press("ArrowLeft")
        page.keyboard.press("ArrowLeft")
        page.screenshot(path=str(screenshot_dir / "hanabi_replay.png"), full_page=True)
    page.keyboard.press("Home")
    expect(page.locator("#position")).to_have_text(f"Move 0 of {len(moves)}")
    expect(page.locator("#replay-move")).to_have_text("The deal.")
