"""Browser tests' set-up: the real server in a subprocess, and Chromium driven by Playwright.

`live_server` (the default table prior), `conventions_server` (PRIOR_BACKEND=conventions) and
`hanabi_server` (the shipped Hanabi agents, no agent delay) each start `python -m server.cli serve` on a
free port with its own SQLite file, an empty Bob cache, a short agent delay and Bobs trained for 10,000
episodes instead of the paper's 50,000 (seconds instead of half a minute; seed 0 still learns the
intuitive convention; learning itself is tested in tests/unit), and wait until it answers. `browser` launches the system Chromium (/usr/bin/chromium; `./run.sh test` installs
it) or, failing that, a browser Playwright downloaded itself. A missing browser fails the tests: it
never skips them.

Set INSTRUCTPLAY_E2E_SCREENSHOTS to a folder (e.g. docs/img) to have the tests save screenshots there.
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
STARTUP_TIMEOUT_S = 90
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
    log_path = folder / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--port", str(port)],
            cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
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


@pytest.fixture(scope="session")
def screenshot_dir() -> Path | None:
    folder = os.environ.get("INSTRUCTPLAY_E2E_SCREENSHOTS")
    if not folder:
        return None
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return path
