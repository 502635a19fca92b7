"""A person's whole Say-Select game in a real browser against the real server, then found again in the
database and in the export; the page's side of a refused instruction, of a new Bob training and of a
reload; an instruction typed the moment the page opens; and the replay of the game."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from server.db.models import Event, Game, Instruction, Outcome
from tests.e2e.conftest import check_accessibility

pytestmark = pytest.mark.e2e

INSTRUCTION = "Pick the ball whose number I say, and quit when I say the same number twice."
FIRST_BOB_MOVE_TIMEOUT_MS = 60_000  # the server trains the start instruction's Bobs before it answers
MOVE_TIMEOUT_MS = 30_000
PARSER_LOAD_TIMEOUT_MS = 120_000  # the conventions backend loads its sentence-embedding model once
HISTORY_LINE = re.compile(r"^Step (\d+)\s*(?:You said (\d)\.|Bob picked ball (\d): ([+\u2212]1)|Bob quit\..*)$")


def open_table(page: Page, url: str, partner: str = "Bob who follows instructions", partner_id: str = "instructq") -> None:
    """From the start page, start a Say-Select game with `partner` (its name on the page, and its id)."""
    page.goto(f"{url}/")
    page.locator("label.choice", has_text="Say-Select").click()
    page.locator("label.choice", has_text=partner).click()
    page.get_by_role("button", name="Start game").click()
    expect(page).to_have_url(re.compile(rf"/static/say_select\.html\?partner={partner_id}$"))
    expect(page.locator("#turn-status")).to_have_text("Your turn: say a number from 1 to 5.")


def game_id(page: Page) -> str:
    return page.evaluate("JSON.parse(sessionStorage.getItem('instructplay.say-select')).game_id")


def plus_balls(page: Page) -> list[int]:
    """The balls the page shows as +1, read from their accessible labels."""
    return [n for n in range(1, 6) if "+1" in page.locator(f"#ball-{n}").get_attribute("aria-label").split(",")[0]]


def say(page: Page, n: int, steps_after: int, timeout: float) -> None:
    """Say `n` with the number key and wait until Bob has answered (the history has `steps_after` lines)."""
    expect(page.locator(f"#say-{n}")).to_be_enabled()
    page.keyboard.press(str(n))
    expect(page.locator("#history li")).to_have_count(steps_after, timeout=timeout)


def moves_on_page(page: Page) -> list[tuple[str, dict, int]]:
    """The history as the page words it, parsed back into (actor, move, reward)."""
    moves = []
    for i, line in enumerate(page.locator("#history li").all_inner_texts()):
        m = HISTORY_LINE.match(" ".join(line.split()))
        assert m, f"history line {line!r} is not in words the test knows"
        assert int(m.group(1)) == i + 1
        if m.group(2):
            moves.append(("human", {"say": int(m.group(2))}, 0))
        elif m.group(3):
            moves.append(("agent", {"select": int(m.group(3))}, 1 if m.group(4) == "+1" else -1))
        else:
            moves.append(("agent", {"quit": True}, 0))
    return moves


def test_a_whole_game_lands_in_the_database_and_the_export(page, live_server, screenshot_dir, tmp_path):
    open_table(page, live_server.url)

    page.locator("#instruction").fill(INSTRUCTION)
    page.keyboard.press("Enter")
    expect(page.locator("#understanding:has(.understood-summary)")).to_contain_text(INSTRUCTION)
    expect(page.locator("#instruction")).to_have_value("")
    page.keyboard.press("Escape")  # leave the box: number keys now say numbers

    plus = plus_balls(page)
    assert 1 <= len(plus) <= 3, f"the page shows {len(plus)} +1 balls; Say-Select deals 1 to 3"
    plan = plus + [plus[-1]] * 5  # every +1 ball, then repeat the last to ask Bob to quit
    for i, n in enumerate(plan):
        say(page, n, steps_after=2 * (i + 1), timeout=FIRST_BOB_MOVE_TIMEOUT_MS if i == 0 else MOVE_TIMEOUT_MS)
        if i == 0:
            expect(page.locator("#bob-banner")).to_contain_text("Bob")
            expect(page.locator("#bob-banner .bob-reason")).to_contain_text(f"You said {n}")  # his reason, in words
            expect(page.locator("#prior-bars")).to_be_hidden()  # numbers are for researchers: behind Details
            page.get_by_role("switch", name="Details").click()
            expect(page.locator("#prior-bars li")).to_have_count(6)
            expect(page.locator("#prior-bars li.chosen")).to_have_count(1)
            expect(page.locator(".ball.flip")).to_have_count(0)  # the pick's animation has finished
            if screenshot_dir:
                page.screenshot(path=str(screenshot_dir / "say_select_play.png"), full_page=True)
            check_accessibility(page, "with details shown ")
            page.get_by_role("switch", name="Details").click()
        if page.locator("#game-over").is_visible():
            break
    expect(page.locator("#game-over")).to_be_visible()
    expect(page.locator("#turn-status")).to_have_text("Game over.")
    if screenshot_dir:
        page.screenshot(path=str(screenshot_dir / "say_select_over.png"), full_page=True)
    check_accessibility(page, "at the end of a Say-Select game ")

    moves = moves_on_page(page)
    k = len(plus)
    total = sum(reward for _, _, reward in moves)
    final = page.locator("#final-score").inner_text()
    assert final == f"{total / k:.2f}"
    assert len(moves) == 10 or moves[-1][1] == {"quit": True}

    gid = game_id(page)
    engine = create_engine(live_server.database_url)
    with Session(engine) as session:
        game = session.get(Game, gid)
        assert game is not None and game.game == "say-select" and game.agent == "instructq"
        stored = session.scalars(select(Event).where(Event.game_id == gid, Event.type == "move")
                                 .order_by(Event.seq)).all()
        assert [(e.actor, e.move, e.payload["reward"]) for e in stored] == moves
        texts = session.scalars(select(Instruction.text).where(Instruction.game_id == gid)).all()
        assert INSTRUCTION in texts
        outcome = session.get(Outcome, gid)
        assert (outcome.total_reward, outcome.k, f"{outcome.score:.2f}") == (total, k, final)
    engine.dispose()

    out = tmp_path / "export.jsonl"
    subprocess.run([sys.executable, "-m", "server.cli", "export", "--out", str(out), "--db", live_server.database_url],
                   check=True, capture_output=True, timeout=120)
    exported = {g["game_id"]: g for g in map(json.loads, out.read_text().splitlines())}
    record = exported[gid]
    assert [(e["actor"], e["move"], e["payload"]["reward"]) for e in record["events"] if e["type"] == "move"] == moves
    assert INSTRUCTION in [i["text"] for i in record["instructions"]]
    assert record["outcome"]["total_reward"] == total


def test_an_over_long_instruction_shows_the_servers_error_and_the_game_goes_on(page, live_server):
    open_table(page, live_server.url)
    too_long = "Pick the number I say. " * 60  # 1380 characters; the server allows 1000

    page.locator("#instruction").fill(too_long)
    page.get_by_role("button", name="Send").click()

    notice = page.get_by_role("alert")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("the limit is 1000")
    expect(page.locator("#instruction")).to_have_value(too_long.strip())  # kept, to be shortened

    page.locator("#say-2").click()
    expect(page.locator("#history li").first).to_contain_text("You said 2.")
    with Session(create_engine(live_server.database_url)) as session:
        texts = session.scalars(select(Instruction.text).where(Instruction.game_id == game_id(page))).all()
    assert too_long.strip() not in texts


HALF_CLEAR = "select the number I say and also something about colors"  # read in part: the partner asks
NEW_CONVENTION = "Pick the ball one more than the number I say."  # a prior no Bob was trained for yet
WATCH_STATUS = """() => {
    window.statuses = [];
    new MutationObserver(() => window.statuses.push(document.querySelector("#agent-status-text").textContent))
        .observe(document.querySelector("#agent-status-text"), { childList: true, characterData: true, subtree: true });
}"""


def test_a_new_bob_trains_in_seconds_while_the_person_plays_and_a_reload_resumes_the_game(page, conventions_server):
    open_table(page, conventions_server.url)
    expect(page.locator(".understood-summary")).to_be_visible(timeout=PARSER_LOAD_TIMEOUT_MS)  # the paper's
    page.evaluate(WATCH_STATUS)
    page.locator("#instruction").fill(NEW_CONVENTION)
    page.keyboard.press("Enter")
    expect(page.locator("#understanding:has(.understood-summary)")).to_contain_text(NEW_CONVENTION)
    page.locator("#say-4").click()  # the person plays on while Bob learns
    expect(page.locator("#history li").first).to_contain_text("You said 4.")
    expect(page.locator("#history li")).to_have_count(2, timeout=FIRST_BOB_MOVE_TIMEOUT_MS)
    expect(page.locator("#agent-status-text")).to_have_text("Bob is ready.")
    statuses = page.evaluate("window.statuses")
    assert any("Bob is learning your instruction" in s for s in statuses), statuses
    assert all("%" not in s for s in statuses)  # time left in seconds, not a bare percentage
    expect(page.locator("#history li").nth(1)).to_contain_text("Bob picked ball 5")  # one more than 4
    before = game_id(page)
    history = page.locator("#history li").all_inner_texts()

    page.reload()

    expect(page.locator("#history li")).to_have_count(2)
    assert game_id(page) == before
    assert page.locator("#history li").all_inner_texts() == history
    expect(page.locator("#connection")).to_have_text("Connected")


def test_an_instruction_typed_as_the_page_opens_is_the_one_bob_follows(page, conventions_server):
    """Race 1 of issue 16 as a person meets it: typed and sent at once, the instruction must win over the
    start instruction being read at the same time, whichever reading ends first."""
    page.goto(f"{conventions_server.url}/static/say_select.html?partner=instructq")
    page.locator("#instruction").fill(NEW_CONVENTION)
    page.wait_for_function("document.querySelector('#turn-status').textContent.startsWith('Your turn')")
    page.keyboard.press("Enter")
    expect(page.locator("#understanding:has(.understood-summary)")).to_contain_text(NEW_CONVENTION)
    page.keyboard.press("Escape")
    page.keyboard.press("2")
    expect(page.locator("#history li")).to_have_count(2, timeout=FIRST_BOB_MOVE_TIMEOUT_MS)
    expect(page.locator("#history li").nth(1)).to_contain_text("Bob picked ball 3")
    with Session(create_engine(conventions_server.database_url)) as session:
        rows = session.scalars(select(Event).where(Event.game_id == game_id(page), Event.type == "instruction")
                               .order_by(Event.seq)).all()
    adopted = [(e.actor, e.payload["text"]) for e in rows if e.payload["adopted"]]
    assert adopted[-1] == ("human", NEW_CONVENTION)
    first_typed = next(e.seq for e in rows if e.actor == "human")
    assert all(e.actor == "human" for e in rows if e.seq > first_typed)  # no start instruction after it


def test_an_unclear_instruction_is_asked_about_then_confirmed_or_rephrased(page, conventions_server, screenshot_dir):
    open_table(page, conventions_server.url)
    # The paper's instruction, read when the game starts; the first reading also loads the parser's model.
    expect(page.locator(".understood-summary")).to_be_visible(timeout=PARSER_LOAD_TIMEOUT_MS)

    page.locator("#instruction").fill(HALF_CLEAR)
    page.keyboard.press("Enter")
    question = page.get_by_role("group", name=re.compile("I understood: I select the number you say"))
    expect(question).to_be_visible()
    expect(page.locator(".not-adopted")).to_be_visible()
    if screenshot_dir:
        page.screenshot(path=str(screenshot_dir / "say_select_clarify.png"), full_page=True)
    question.get_by_role("button", name="Yes, that's it").click()
    expect(question).to_be_hidden()
    expect(page.locator("#understanding:has(.understood-summary)")).to_contain_text("I select the number you say.")
    expect(page.locator(".not-adopted")).to_have_count(0)

    page.locator("#instruction").fill("choose wisely")
    page.keyboard.press("Enter")
    question = page.get_by_role("group", name=re.compile("How should I play"))
    expect(question).to_be_visible()
    expect(question.get_by_role("button", name="Yes, that's it")).to_be_hidden()  # nothing read, nothing to confirm
    question.get_by_role("button", name="Rephrase").click()
    expect(page.locator("#instruction")).to_be_focused()
    expect(page.locator("#instruction")).to_have_value("choose wisely")

    with Session(create_engine(conventions_server.database_url)) as session:
        rows = session.scalars(select(Instruction).where(Instruction.game_id == game_id(page))
                               .order_by(Instruction.id)).all()
    person = [(i.text, i.understood["adopted"]) for i in rows][1:]  # the first is the paper's, by the system
    # the confirmation is stored as the reading's words (an instruction, or a confirmation event)
    assert person == [(HALF_CLEAR, False), ("I select the number you say.", True), ("choose wisely", False)]
