"""The pages as a participant meets them (issue 16): each game played once, start to replay, on a phone
(390 x 844, touch), with no sideways scrolling from 360 px up, touch targets of 44 px, axe-core finding no
serious or critical violation, and no research jargon unless the Details switch is on; every page also
checked by axe-core at desktop size, and `?details=off` removing the switch."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import check_accessibility, check_phone_layout

pytestmark = pytest.mark.e2e

# Words of the researcher's view: none may show on a participant's page while Details is off.
JARGON = re.compile(r"λ|lambda|\bprior\b|log π|\.pt\b|Q-learning|instructQ|argmax|backend|vanilla|checkpoint|InstructRL",
                    re.IGNORECASE)
MOVE_TIMEOUT_MS = 60_000


def check_page(page: Page, where: str) -> None:
    """Laid out for a phone, accessible, and in plain words."""
    check_phone_layout(page, where)
    check_accessibility(page, where)
    shown = page.locator("body").inner_text()
    assert not JARGON.search(shown), f"research words {where}: {JARGON.findall(shown)}"


def start_from_the_start_page(page: Page, url: str, game: str, partner: str, seat: str | None = None) -> None:
    page.goto(f"{url}/")
    expect(page.locator("#partners label.choice").first).to_be_visible()
    page.locator("label.choice", has_text=game).tap()
    expect(page.locator("label.choice", has_text=partner)).to_be_visible()
    if seat:
        page.locator("#seat-box label.choice", has_text=seat).tap()
    page.locator("label.choice", has_text=partner).tap()
    check_page(page, "on the start page ")
    page.get_by_role("button", name="Start game").tap()


def test_say_select_on_a_phone(phone, conventions_server):
    page = phone
    start_from_the_start_page(page, conventions_server.url, "Say-Select", "Bob who follows instructions")
    expect(page.locator("#turn-status")).to_have_text("Your turn: say a number from 1 to 5.")
    expect(page.locator(".understood-summary")).to_be_visible(timeout=MOVE_TIMEOUT_MS)
    check_page(page, "at the start of a Say-Select game ")

    page.locator("#instruction").tap()
    page.keyboard.type("Pick the ball whose number I say, and quit when I say it again.")
    page.get_by_role("button", name="Send").tap()
    expect(page.locator("#understanding:has(.understood-summary)")).to_contain_text("quit when I say it again")
    plus = [n for n in range(1, 6) if "+1" in page.locator(f"#ball-{n}").get_attribute("aria-label").split(",")[0]]
    for i, n in enumerate(plus + [plus[-1]] * 5):
        page.locator(f"#say-{n}").tap()
        expect(page.locator("#history li")).to_have_count(2 * (i + 1), timeout=MOVE_TIMEOUT_MS)
        if i == 0:
            expect(page.locator("#bob-banner .bob-reason")).to_be_visible()
            check_page(page, "after Bob's first move ")
        if page.locator("#game-over").is_visible():
            break
    expect(page.locator("#turn-status")).to_have_text("Game over.")
    check_page(page, "at the end of a Say-Select game ")

    page.locator("#replay-link").tap()
    expect(page.locator("#position")).to_have_text(re.compile(r"^Move 0 of \d+$"))
    expect(page.locator("#download")).to_be_hidden()  # hanab.live JSON is for Hanabi games only
    page.locator("#forward").tap()  # the person's first number, after the instructions
    expect(page.locator("#replay-note")).to_contain_text("Instruction before this move")
    page.locator("#forward").tap()  # Bob's first move
    expect(page.locator("#replay-note")).to_contain_text("Bob: “")  # his reason for it
    check_page(page, "on a Say-Select replay ")
    page.get_by_role("switch", name="Details").tap()
    expect(page.locator(".replay-say-select .bars li")).to_have_count(6)  # Bob's prior for that move
    check_phone_layout(page, "on a Say-Select replay with details ")
    check_accessibility(page, "on a Say-Select replay with details ")


def test_hanabi_on_a_phone(phone, hanabi_server):
    page = phone
    start_from_the_start_page(page, hanabi_server.url, "Hanabi", "Colour-hint partner", seat="Your partner starts")
    expect(page).to_have_url(re.compile(r"/static/hanabi\.html\?partner=color&seat=1$"))
    expect(page.locator("#turn-status")).to_have_text("Your turn: play, discard or give a hint.", timeout=MOVE_TIMEOUT_MS)
    expect(page.locator("#log li")).to_have_count(1)  # the partner moved first
    check_page(page, "at the start of a Hanabi game ")

    turns = 0
    while page.locator("#game-over").is_hidden():
        before = page.locator("#log li").count()
        cards = page.locator("#own-hand .hcard")
        cards.nth(turns % cards.count()).tap()
        if page.locator("#discard").is_enabled():
            page.locator("#discard").tap()
        else:
            page.locator("#color-hints button:enabled, #rank-hints button:enabled").first.tap()
        page.wait_for_function(
            f"document.querySelectorAll('#log li').length >= {before + 2} || !document.querySelector('#game-over').hidden",
            timeout=MOVE_TIMEOUT_MS)
        if turns == 3:
            page.get_by_role("button", name="Why?").tap()
            expect(page.locator("#explanation .explanation-text")).to_have_text(re.compile(r"\S"))
            check_page(page, "in a Hanabi game, with the partner's reason ")
        turns += 1
    expect(page.locator("#turn-status")).to_have_text("Game over.")
    expect(page.locator("#own-hand .hcard.face")).not_to_have_count(0)  # the person's own cards, at last
    check_page(page, "at the end of a Hanabi game ")
    page.get_by_role("switch", name="Details").tap()
    expect(page.locator("#acting-agent-detail")).to_contain_text("color.pt")
    check_phone_layout(page, "at the end of a Hanabi game, with details ")
    check_accessibility(page, "at the end of a Hanabi game, with details ")

    page.locator("#replay-link").tap()
    expect(page.locator("#position")).to_have_text(re.compile(r"^Move 0 of \d+$"))
    expect(page.locator("#download")).to_be_visible()
    page.locator("#last").tap()
    check_phone_layout(page, "on a Hanabi replay ")
    check_accessibility(page, "on a Hanabi replay ")


def test_every_page_at_desktop_size_and_details_off(page, hanabi_server):
    url = hanabi_server.url
    page.goto(f"{url}/")
    expect(page.locator("#partners label.choice").first).to_be_visible()
    check_accessibility(page, "on the start page ")
    page.locator("label.choice", has_text="Hanabi").click()
    expect(page.locator("#seat-box")).to_be_visible()
    check_accessibility(page, "on the start page with Hanabi chosen ")

    page.goto(f"{url}/static/hanabi.html?partner=instructed")
    expect(page.locator("#turn-status")).to_have_text("Your turn: play, discard or give a hint.")
    page.get_by_role("switch", name="Details").click()
    page.locator("#color-hints button:enabled, #rank-hints button:enabled").first.click()
    expect(page.get_by_role("button", name="Why?")).to_be_enabled(timeout=MOVE_TIMEOUT_MS)
    page.get_by_role("button", name="Why?").click()
    expect(page.locator("#explanation .explanation-text")).to_have_text(re.compile(r"\S"))
    check_accessibility(page, "in a Hanabi game with details ")

    page.goto(f"{url}/static/replay.html")
    expect(page.locator("#replay")).to_be_hidden()  # no stray controls or empty panels on the list
    expect(page.locator("#download")).to_be_hidden()
    check_accessibility(page, "on the list of replays ")

    # a study's link: no switch, and nothing behind it shows even if this browser had it on
    for path in ("/", "/static/say_select.html?partner=instructq", "/static/hanabi.html?partner=color"):
        page.goto(f"{url}{path}{'&' if '?' in path else '?'}details=off")
        expect(page.locator(".topbar")).to_be_visible()
        expect(page.get_by_role("switch", name="Details")).to_have_count(0)
        assert page.locator(".details").evaluate_all("els => els.filter(e => e.getClientRects().length).length") == 0
    page.goto(f"{url}/static/say_select.html?partner=instructq&details=off")
    expect(page.locator(".understood-summary")).to_be_visible(timeout=MOVE_TIMEOUT_MS)
    check_accessibility(page, "on the Say-Select page ")
