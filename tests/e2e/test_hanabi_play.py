"""Whole Hanabi games in a real browser against the real server and the shipped trained agents: moves by
keyboard and by click, an instruction typed mid-game, "Why?" asked of the agent, then every move found in
the database, the person's own cards shown at the end, and the replay page stepping from the deal to the
game's final state. One game with each fixed partner (colour, rank and vanilla agent), one with the
instructed partner, which changes agent when it reads the instruction, and one where the person chooses
cards at every moment of the partner's turns (issue 16: the choice must be the card played or discarded)."""

from __future__ import annotations

import random
import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from server.db.models import Event, Game, Instruction
from server.db.store import Store
from server.games import hanabi
from tests.e2e.conftest import HANABI_ROLES, SHIPPED_HANABI_AGENTS, LiveServer, check_accessibility

pytestmark = pytest.mark.e2e

INSTRUCTION = "When I tell you the colour of a card, play it."
SEED = 4
AGENT_TIMEOUT_MS = 60_000      # the first agent move loads the agent
READ_TIMEOUT_MS = 180_000      # the conventions reader loads its sentence-embedding model once
INSTRUCT_AFTER = 3             # the person's moves before the instruction
HINT = re.compile(r"^Your partner hinted (?:(red|yellow|green|white|blue)|([1-5])s) on your (.+)$")


def log_count(page: Page) -> int:
    return page.locator("#log li").count()


def person_moves(page: Page, plays_on: str = "colour") -> None:
    """A simple legal policy: play the newest card the partner's last hint touched when it was a hint of
    the kind `plays_on` ("colour" or "rank": the partner's convention; a click on the card, then the P
    key), else discard the newest card when allowed (a click, then D), else click the first hint that is
    allowed; then wait until the partner has answered or the game is over."""
    before = log_count(page)
    last = page.locator("#log li .what").last.inner_text() if before else ""
    hint = HINT.match(last)
    if hint and hint.group(1 if plays_on == "colour" else 2):
        page.locator("#own-hand .hcard").nth("ABCDE".index(hint.group(3)[-1])).click()
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


def instruct(page: Page, text: str) -> None:
    """Type an instruction by keyboard (I, the text, Enter) and wait until the partner says what it read."""
    page.keyboard.press("i")
    page.keyboard.type(text)
    page.keyboard.press("Enter")
    expect(page.locator("#understanding")).to_contain_text(text)
    expect(page.locator("#understanding .understood-summary")).to_have_text(re.compile(r"\S"), timeout=READ_TIMEOUT_MS)
    page.keyboard.press("Escape")


def ask_why(page: Page) -> tuple[int, str]:
    """Click "Why?" about the partner's last move; the turn of that move and the explanation shown."""
    turn = log_count(page) - 1
    page.get_by_role("button", name="Why?").click()
    expect(page.locator("#explanation .explanation-text")).to_have_text(re.compile(r"\S"))
    return turn, page.locator("#explanation .explanation-text").inner_text()


def play_to_the_end(page: Page, plays_on: str = "colour") -> int:
    """Play until the game is over; the final score the page shows."""
    while page.locator("#game-over").is_hidden():
        person_moves(page, plays_on)
    expect(page.locator("#turn-status")).to_have_text("Game over.")
    expect(page.locator("#actions")).to_be_hidden()
    return int(re.match(r"(\d+) / 25", page.locator("#final-score").inner_text()).group(1))


def stored_game(page: Page, server: LiveServer) -> tuple[str, Game, list[Event], list[Instruction], hanabi.HanabiGame]:
    """The game this tab played, as the database has it: the game, its moves, its instructions, and the
    final position rebuilt from its events; the moves are checked against the page's move log."""
    page_log = [" ".join(t.split()) for t in page.locator("#log li .what").all_inner_texts()]
    game_id = page.evaluate("JSON.parse(sessionStorage.getItem('instructplay.hanabi')).game_id")
    engine = create_engine(server.database_url)
    with Session(engine) as s:
        game = s.get(Game, game_id)
        moves = s.scalars(select(Event).where(Event.game_id == game_id, Event.type == "move").order_by(Event.seq)).all()
        instructions = s.scalars(select(Instruction).where(Instruction.game_id == game_id)).all()
    record = Store(engine).load_game(game_id)
    engine.dispose()
    final = hanabi.rebuild(record.events)
    assert [entry["text"] for entry in hanabi.move_log(final, 0)] == page_log
    assert len(moves) == len(page_log) and [m.turn for m in moves] == list(range(len(moves)))
    assert [m.actor for m in moves[:2]] == ["human", "agent"]
    assert record.events[-1]["type"] == "game_over" and record.events[-1]["payload"]["score"] == final.score()
    return game_id, game, moves, instructions, final


def check_own_cards_shown(page: Page, final: hanabi.HanabiGame, seat: int = 0) -> None:
    """Once the game is over the person's own hand is shown face up: the cards the game ended with."""
    expect(page.locator("#own-hand-title")).to_contain_text("here are your cards")
    shown = page.locator("#own-hand .hcard.face").evaluate_all("cards => cards.map(c => c.getAttribute('aria-label'))")
    expected = [f"Your card {'ABCDE'[i]}: {hanabi.COLOR_NAMES[c]} {r + 1}" for i, (c, r) in enumerate(final.hand_cards(seat))]
    assert [label.split(" (")[0] for label in shown] == expected


def check_replay(page: Page, game_id: str, moves: int, score: int, final: hanabi.HanabiGame) -> None:
    """Open the replay from the game-over panel: it opens on the deal and ends at the final position with the
    final score; its hanab.live download works."""
    page.locator("#replay-link").click()
    expect(page).to_have_url(re.compile(rf"/static/replay\.html\?game={game_id}$"))
    expect(page.locator("#position")).to_have_text(f"Move 0 of {moves}")
    expect(page.locator("#replay-move")).to_have_text("The deal.")
    download = page.locator("#download")
    expect(download).to_be_visible()
    assert page.request.get(download.evaluate("link => link.href")).json()["players"][0] == "Human"
    page.keyboard.press("End")
    expect(page.locator("#position")).to_have_text(f"Move {moves} of {moves}")
    expect(page.locator("#stat-score")).to_have_text(f"{score}/25")
    for color, height in zip("RYGWB", final.fireworks):
        name = hanabi.COLOR_NAMES["RYGWB".index(color)]
        label = f"{name} firework: {height} of 5" if height == 0 else f"{name} firework: {name} {height}"
        expect(page.locator(f'#fireworks [aria-label="{label}"]')).to_have_count(1)
    expect(page.locator("#replay-note")).to_contain_text(f"Game over: {score} points.")


@pytest.mark.parametrize("partner", HANABI_ROLES)
def test_a_whole_game_with_each_shipped_agent(page, hanabi_server, partner):
    page.goto(f"{hanabi_server.url}/static/hanabi.html?partner={partner}&seed={SEED}")
    expect(page.locator("#turn-status")).to_have_text("Your turn: play, discard or give a hint.")
    expect(page.locator("#acting-agent-detail")).to_contain_text(f"{partner}.pt")  # for researchers only
    expect(page.locator("#acting-agent-detail")).to_be_hidden()
    plays_on = "rank" if partner == "rank" else "colour"

    for _ in range(INSTRUCT_AFTER):
        person_moves(page, plays_on)
    instruct(page, INSTRUCTION)
    person_moves(page, plays_on)
    why_turn, why_text = ask_why(page)
    score = play_to_the_end(page, plays_on)

    game_id, game, moves, instructions, final = stored_game(page, hanabi_server)
    assert (game.game, game.agent, game.seed, game.status) == ("hanabi", partner, SEED, "over")
    agent_moves = [m for m in moves if m.actor == "agent"]
    assert {(m.payload["agent"]["role"], m.payload["agent"]["source"]) for m in agent_moves} == {
        (partner, str(SHIPPED_HANABI_AGENTS / f"{partner}.pt"))}
    assert all(m.payload["explanation"] for m in agent_moves)
    (why_move,) = [m for m in agent_moves if m.turn == why_turn]
    assert " ".join(why_move.payload["explanation"].split()) == " ".join(why_text.split())
    (instruction,) = instructions
    assert instruction.text == INSTRUCTION and instruction.understood["adopted"]
    # before the instruction the agent plays by its training alone; after it, the instruction's prior
    # re-weights its moves (lambda 1), except the vanilla agent's, which ignores it (lambda 0)
    before = [m for m in agent_moves if m.seq < instruction.event_seq]
    after = [m for m in agent_moves if m.seq > instruction.event_seq]
    assert len(before) == INSTRUCT_AFTER and after
    assert all(m.payload["prior"] is None and m.payload["lambda"] == 0 for m in before)
    assert all(m.payload["prior"]["instruction"] == INSTRUCTION for m in after)
    assert {m.payload["lambda"] for m in after} == {0 if partner == "vanilla" else 1}
    assert final.score() == score
    check_own_cards_shown(page, final)

    check_replay(page, game_id, len(moves), score, final)


def test_the_instructed_partner_changes_agent_with_the_instruction(page, hanabi_server, screenshot_dir):
    page.goto(f"{hanabi_server.url}/static/hanabi.html?partner=instructed&seed={SEED}")
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
    instruct(page, INSTRUCTION)
    expect(page.locator("#understanding .understood-summary")).to_contain_text("colour")
    expect(page.locator("#acting-agent")).to_contain_text("colour")
    person_moves(page)
    expect(page.locator("#prior-caption")).to_contain_text("What your instruction suggested")
    page.keyboard.press("?")
    expect(page.locator("#explanation .explanation-text")).to_have_text(re.compile(r"\S"))
    if screenshot_dir is not None:
        page.locator("#own-hand .hcard").nth(1).click()
        page.locator("#color-hints button:enabled").first.focus()
        page.screenshot(path=str(screenshot_dir / "hanabi_play.png"), full_page=True)

    score = play_to_the_end(page)
    game_id, game, moves, instructions, final = stored_game(page, hanabi_server)
    assert (game.game, game.agent, game.seed, game.status) == ("hanabi", "instructed", SEED, "over")
    (instruction,) = instructions
    assert instruction.text == INSTRUCTION and instruction.understood["adopted"]
    agent_roles = [m.payload["agent"]["role"] for m in moves if m.actor == "agent"]
    assert agent_roles[0] == "vanilla" and agent_roles[-1] == "color"
    assert final.score() == score
    check_own_cards_shown(page, final)
    check_accessibility(page, "at the end of a Hanabi game ")

    check_replay(page, game_id, len(moves), score, final)
    check_accessibility(page, "on a Hanabi replay ")
    if screenshot_dir is not None:
        page.keyboard.press("ArrowLeft")
        page.keyboard.press("ArrowLeft")
        page.screenshot(path=str(screenshot_dir / "hanabi_replay.png"), full_page=True)
    page.keyboard.press("Home")
    expect(page.locator("#position")).to_have_text(f"Move 0 of {len(moves)}")
    expect(page.locator("#replay-move")).to_have_text("The deal.")


MOVE_THEN_CHOOSE = """([move, card, when, delay]) => {
    // the person's move (a click on its button), then a click on their card `card`: `delay` ms after the move,
    // or the moment the partner's move shows (before the state that follows it), as a quick player would
    const choose = () => document.querySelectorAll("#own-hand .hcard")[card].click();
    if (when === "as the partner moves") {
        const seen = new MutationObserver(() => { seen.disconnect(); choose(); });
        seen.observe(document.querySelector("#agent-move"), { childList: true, characterData: true, subtree: true });
    }
    document.querySelector(move).click();
    if (when === "after my move") setTimeout(choose, delay);
}"""


def test_a_card_chosen_during_the_partners_turn_is_the_one_played_or_discarded(page, hanabi_server):
    """Race 2 of issue 16, with no pause before the partner's move: right after each of their moves, at a
    different moment each time (before the server answered, while the partner moves, the moment its move
    shows), the person chooses another card; it must stay chosen through the redraws, and be the card their
    next discard takes."""
    rng = random.Random(16)
    page.goto(f"{hanabi_server.url}/static/hanabi.html?partner=color&seed={SEED + 1}")
    expect(page.locator("#turn-status")).to_have_text("Your turn: play, discard or give a hint.")
    cards, moves = page.locator("#own-hand .hcard"), page.locator("#log li .what")
    expected, discards, rounds = None, 0, 0
    while discards < 8 and page.locator("#game-over").is_hidden():
        if expected is not None:
            expect(cards.nth(expected)).to_have_attribute("aria-pressed", "true")
        before, held = log_count(page), cards.count()
        leaving = None
        if expected is not None and page.locator("#discard").is_enabled():
            move, leaving, discards = "#discard", expected, discards + 1
        else:
            move = "#color-hints button:enabled, #rank-hints button:enabled"
        when = "as the partner moves" if rounds % 2 else "after my move"
        if when == "after my move" and leaving is not None and leaving < 2:
            when = "as the partner moves"  # only A comes before the card leaving; later cards move up one place
        # never A (chosen for the person when nothing is); while the card leaving is still drawn, one before it
        expected = rng.randrange(1, leaving if when == "after my move" and leaving else min(held, 4) - 1)
        page.evaluate(MOVE_THEN_CHOOSE, [move, expected, when, rng.choice([0, 1, 2, 5, 10, 20])])
        if leaving is not None:
            expect(moves.nth(before)).to_have_text(re.compile(rf"^You discarded .* from {'ABCDE'[leaving]}$"))
        page.wait_for_function(
            f"document.querySelectorAll('#log li').length >= {before + 2} || !document.querySelector('#game-over').hidden",
            timeout=AGENT_TIMEOUT_MS)
        expect(page.locator("#turn-status")).to_have_text(re.compile("Your turn|Game over"))
        rounds += 1
    assert discards == 8, f"the game ended after {discards} discards"
