"""Browser tests' set-up: the real server in a subprocess, and Chromium driven by Playwright.

`live_server` (the default table prior), `conventions_server` (PRIOR_BACKEND=conventions) and
`hanabi_server` (the shipped Hanabi agents, no agent delay) each start `python -m server.cli serve` on a
free port with its own SQLite file, an empty Bob cache, a short agent delay and Bobs trained for 10,000
episodes instead of the paper's 50,000 (seconds instead of half a minute; seed 0 still learns the
intuitive convention; learning itself is tested in tests/unit), and wait until it answers. `browser` launches the system Chromium (/usr/bin/chromium; `./run.sh test` installs
it) or, failing that, a browser Playwright downloaded itself. A missing browser fails the tests: it
never skips them.

Set INSTRUCTPLAY_E2E_SCREENSHOTS to a folder (e.g. docs/img) to have the tests save screenshots there.

`check_accessibility(page)` runs axe-core (vendored from the npm registry: tests/e2e/vendor/) on the page as
it stands and fails on any serious or critical violation; `check_phone_layout(page)` fails when the page
scrolls sideways or a visible control is smaller than a 44 x 44 px touch target. `phone` is a tab as a phone
opens it (390 x 844, touch).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SHIPPED_HANABI_AGENTS = REPO_ROOT / "agents" / "checkpoints" / "hanabi"
HANABI_ROLES = ("color", "rank", "vanilla")
SYSTEM_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STARTUP_TIMEOUT_S = 180  # the server warms up (models, the start instruction's Bobs) before it answers
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
PHONE = {"width": 390, "height": 844}
NARROWEST = 360  # the narrowest screen the pages are laid out for
TOUCH_TARGET_PX = 44
EXPECT_TIMEOUT_MS = 20_000  # a loaded 2-core machine can take seconds to answer; Playwright's default is 5 s


@dataclass(frozen=True)
class LiveServer:
    url: str
    database_url: str
    log_path: Path

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_serving(url: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited with code {process.returncode} before answering; its log:\n"
                        f"{log_path.read_text(errors='replace')[-4000:]}")
        try:
            with urllib.request.urlopen(f"{url}/api/partners?game=say-select", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    pytest.fail(f"the server did not answer {url} within {STARTUP_TIMEOUT_S} s; its log:\n"
                f"{log_path.read_text(errors='replace')[-4000:]}")


@contextmanager
def serve(folder: Path, **settings: str) -> Iterator[LiveServer]:
    """The server in a subprocess with its own database and Bob cache in `folder`; `settings` are more
    INSTRUCTPLAY_* variables, or replace these defaults, e.g. PRIOR_BACKEND="conventions", AGENT_DELAY_MS="0"."""
    port = free_port()
    database_url = f"sqlite:///{folder / 'e2e.db'}"
    settings = {"AGENT_DELAY_MS": "50", "BOB_CACHE_DIR": str(folder / "bobs"), "BOB_EPISODES": "10000", **settings}
    env = dict(
        os.environ,
        INSTRUCTPLAY_DATABASE_URL=database_url,
        INSTRUCTPLAY_HOST="127.0.0.1",
        INSTRUCTPLAY_PORT=str(port),
        PYTHONUNBUFFERED="1",
        **{f"INSTRUCTPLAY_{key}": value for key, value in settings.items()},
    )
    with running([sys.executable, "-m", "server.cli", "serve", "--port", str(port)], env, folder, port,
                 database_url) as server:
        yield server


@contextmanager
def running(command: list[str], env: dict[str, str], folder: Path, port: int,
            database_url: str) -> Iterator[LiveServer]:
    """Run `command` (a server on `port`) from the repository root, its output in <folder>/server.log, until
    it answers; stop it afterwards."""
    log_path = folder / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, process, log_path)
        yield LiveServer(url, database_url, log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    """The server with the table prior (the labelled stand-in for the paper's GPT-J prior): every
    instruction gives the same prior, so one Bob serves every test."""
    with serve(tmp_path_factory.mktemp("e2e-server"), PRIOR_BACKEND="table") as server:
        yield server


@pytest.fixture(scope="session")
def conventions_server(tmp_path_factory) -> Iterator[LiveServer]:
    """The server as `./run.sh serve` starts it: free text read by the conventions backend (the
    default), which asks when it is unsure."""
    with serve(tmp_path_factory.mktemp("e2e-conventions"), PRIOR_BACKEND="conventions") as server:
        yield server


@pytest.fixture(scope="session")
def hanabi_server(tmp_path_factory) -> Iterator[LiveServer]:
    """The server with the shipped trained Hanabi agents, agents/checkpoints/hanabi/{color,rank,vanilla}.pt
    (named explicitly: the server would let rule bots stand in for missing checkpoints, and these tests
    are about the real agents), and no pause before the agent's move, to keep whole games quick."""
    missing = [role for role in HANABI_ROLES if not (SHIPPED_HANABI_AGENTS / f"{role}.pt").is_file()]
    if missing:
        pytest.fail(f"the shipped Hanabi agents {missing} are missing from {SHIPPED_HANABI_AGENTS}")
    with serve(tmp_path_factory.mktemp("e2e-hanabi"), HANABI_AGENT_DIR=str(SHIPPED_HANABI_AGENTS),
               AGENT_DELAY_MS="0") as server:
        yield server


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import Error, expect, sync_playwright

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)

    with sync_playwright() as playwright:
        if os.path.exists(SYSTEM_CHROMIUM):
            launch = dict(executable_path=SYSTEM_CHROMIUM, args=CHROMIUM_ARGS)
        else:
            launch = dict(args=CHROMIUM_ARGS)  # a browser from `playwright install chromium`, if there is one
        try:
            browser = playwright.chromium.launch(**launch)
        except Error as e:
            pytest.fail(f"no Chromium for the browser tests ({e.message.splitlines()[0]}). "
                        f"Install it with `apt-get install -y chromium` (./run.sh test does this) "
                        f"or `.venv/bin/playwright install chromium`.")
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A fresh browser tab; the test fails if the page logs a JavaScript error."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    tab.on("console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None)
    yield tab
    context.close()
    assert not errors, "the page logged JavaScript errors:\n" + "\n".join(errors)


def watched(context) -> tuple:
    """A new tab of `context` whose JavaScript errors are collected (the test fails on any)."""
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    tab.on("console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None)
    return tab, errors


@pytest.fixture
def phone(browser):
    """A fresh tab as a phone opens it: 390 x 844 CSS pixels, touch, a phone's user agent."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2,
                                  user_agent="Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
                                             "(KHTML, like Gecko) Chrome/130.0 Mobile Safari/537.36")
    context.set_default_timeout(30_000)
    tab, errors = watched(context)
    yield tab
    context.close()
    assert not errors, "the page logged JavaScript errors:\n" + "\n".join(errors)


def check_accessibility(page, where: str = "") -> None:
    """axe-core on the page as it is now: no serious or critical violation (moderate and minor ones are
    reported by axe too, but not failed on)."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    violations = page.evaluate("""async () => {
        const result = await axe.run(document, { resultTypes: ["violations"] });
        return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 4).map((n) => n.target.join(" ")) }));
    }""")
    bad = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert not bad, f"axe-core found serious or critical violations {where}on {page.url}:\n" + "\n".join(
        f"  {v['impact']}: {v['id']} ({v['help']}) at {v['nodes']}" for v in bad)


def check_phone_layout(page, where: str = "") -> None:
    """At the page's width and at 360 px: nothing scrolls sideways, and every visible control (button, link,
    field, switch, disclosure) is at least 44 x 44 px."""
    size = page.viewport_size
    try:
        for width in sorted({size["width"], NARROWEST}, reverse=True):
            page.set_viewport_size({"width": width, "height": size["height"]})
            wide = page.evaluate("document.documentElement.scrollWidth")
            assert wide <= width, f"the page is {wide} px wide at a {width} px screen {where}({page.url})"
            small = page.evaluate("""(least) => [...document.querySelectorAll(
                    'button, a[href], input, select, textarea, summary, [role=switch]')]
                .filter((el) => el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden')
                .map((el) => {
                    const box = (el.type === 'radio' || el.type === 'checkbox') && el.closest('label') ? el.closest('label')
                        : el;
                    const r = box.getBoundingClientRect();
                    return { what: el.outerHTML.slice(0, 90), w: Math.round(r.width), h: Math.round(r.height) };
                })
                .filter((r) => r.w < least || r.h < least)""", TOUCH_TARGET_PX)
            assert not small, f"controls smaller than {TOUCH_TARGET_PX} px at {width} px {where}({page.url}): {small}"
    finally:
        page.set_viewport_size(size)


@pytest.fixture(scope="session")
def screenshot_dir() -> Path | None:
    folder = os.environ.get("INSTRUCTPLAY_E2E_SCREENSHOTS")
    if not folder:
        return None
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return path
