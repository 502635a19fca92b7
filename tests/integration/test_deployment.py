"""The scaled deployment as deploy/scale.py starts it: two worker processes (`instructplay serve`, gunicorn)
behind HAProxy with sticky sessions, sharing PostgreSQL and the Redis message queue. Real socket.io clients
on 127.0.0.1 play Hanabi games split across the workers:

- games started through the balancer land on both workers, a tab on the other worker sees every move once
  (through Redis), and a game resumed on either worker shows what the database holds (never a stale turn),
- a worker killed with kill -9 mid-game is restarted, and every game it held is resumed and finished with
  no event lost,
- 20 games at once through the balancer: no error, no stall.

After each game the stored events are checked: sequence numbers 0..n-1 with no gap or repeat, one move per
turn, every move a client was shown is stored, and nothing a client was shown twice.

Needs INSTRUCTPLAY_TEST_POSTGRES_URL, INSTRUCTPLAY_TEST_REDIS_URL and HAProxy (apt-get install -y haproxy);
without them the tests skip, except on CI (CI=true), where they fail. Waits are for events, with generous
bounds (a loaded 2-core machine), never on the clock.
"""

from __future__ import annotations

import json
import os
import queue
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest
import socketio as socketio_client
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from server.config import REPO_ROOT
from server.db.models import Event
from tests.integration.db_urls import fresh_database
from tests.integration.socket_inbox import Inbox

POSTGRES_URL = os.environ.get("INSTRUCTPLAY_TEST_POSTGRES_URL")
REDIS_URL = os.environ.get("INSTRUCTPLAY_TEST_REDIS_URL")
ON_CI = os.environ.get("CI") == "true"
WAIT_S = 90          # the longest any one awaited event may take (startup aside)
STARTUP_S = 240      # two workers importing torch and loading the agents on a loaded machine
INSTRUCTION = "When you get a colour hint, play the cards it touches."


def missing_services() -> list[str]:
    missing = []
    if not POSTGRES_URL:
        missing.append("INSTRUCTPLAY_TEST_POSTGRES_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)")
    if not REDIS_URL:
        missing.append("INSTRUCTPLAY_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/0)")
    if not shutil.which("haproxy"):
        missing.append("HAProxy (apt-get install -y haproxy)")
    return missing


# ------------------------------------------------------------------------------------------- the deployment


@dataclass
class Deployment:
    url: str
    run_dir: Path
    database_url: str
    process: subprocess.Popen

    def state(self) -> dict[str, Any]:
        return json.loads((self.run_dir / "deployment.json").read_text())

    def workers(self) -> list[dict[str, Any]]:
        return self.state()["workers"]

    def worker_of(self, game_id: str) -> dict[str, Any]:
        """The worker that started `game_id` (it logs each game it starts)."""
        for w in self.workers():
            if f"game {game_id} started" in Path(w["log"]).read_text(errors="replace"):
                return w
        raise AssertionError(f"no worker logged starting game {game_id}")

    def other_worker(self, worker: dict[str, Any]) -> dict[str, Any]:
        return next(w for w in self.workers() if w["port"] != worker["port"])

    def servers_up(self) -> set[str]:
        """The workers HAProxy now sends traffic to (its stats socket's `show stat`)."""
        import socket

        with socket.socket(socket.AF_UNIX) as s:
            s.connect(self.state()["haproxy_socket"])
            s.sendall(b"show stat\n")
            out = b""
            while chunk := s.recv(65536):
                out += chunk
        rows = [r.split(",") for r in out.decode().splitlines()]
        header = rows[0]
        header[0] = header[0].lstrip("# ")
        name, status = header.index("svname"), header.index("status")
        return {r[name] for r in rows[1:]
                if len(r) > status and r[0] == "workers" and r[name] != "BACKEND" and r[status] == "UP"}

    def wait_all_up(self) -> None:
        deadline = time.monotonic() + STARTUP_S
        wanted = {f"w{w['port']}" for w in self.workers()}
        while self.servers_up() != wanted:
            assert time.monotonic() < deadline, f"HAProxy does not see every worker up:\n{self.logs()}"
            time.sleep(0.5)

    def logs(self) -> str:
        parts = [f"--- launcher\n{(self.run_dir / 'launcher.log').read_text(errors='replace')[-3000:]}"]
        for w in self.workers():
            parts.append(f"--- worker {w['port']}\n{Path(w['log']).read_text(errors='replace')[-3000:]}")
        return "\n".join(parts)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    missing = missing_services()
    if missing:
        message = "the scaled deployment needs " + "; ".join(missing)
        if ON_CI:
            pytest.fail(message + " (CI=true: CI must provide them)")
        pytest.skip(message)
    folder = tmp_path_factory.mktemp("deployment")
    with fresh_database("postgresql", folder) as database_url:
        port = free_port()
        env = {**os.environ, "INSTRUCTPLAY_DATABASE_URL": database_url, "INSTRUCTPLAY_MESSAGE_QUEUE": REDIS_URL,
               "INSTRUCTPLAY_MESSAGE_QUEUE_CHANNEL": f"instructplay-test-{uuid.uuid4().hex}",
               "INSTRUCTPLAY_AGENT_DELAY_MS": "0", "INSTRUCTPLAY_PRIOR_BACKEND": "table",
               "INSTRUCTPLAY_BOB_CACHE_DIR": str(folder / "bobs"), "INSTRUCTPLAY_DEAL_KEY": uuid.uuid4().hex,
               # the per-connection limits are not what these tests are about: scripted players move fast
               "INSTRUCTPLAY_MESSAGE_RATE": "1000", "INSTRUCTPLAY_MESSAGE_BURST": "1000",
               "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
        with open(folder / "launcher.log", "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "deploy/scale.py", "--workers", "2", "--port", str(port), "--bind", "127.0.0.1",
                 "--first-worker-port", "0", "--run-dir", str(folder)],
                cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        dep = Deployment(f"http://127.0.0.1:{port}", folder, database_url, process)
        try:
            deadline = time.monotonic() + STARTUP_S
            while "serving on" not in (folder / "launcher.log").read_text(errors="replace"):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"deploy/scale.py did not start (exit {process.poll()}):\n"
                                f"{(folder / 'launcher.log').read_text(errors='replace')}")
                time.sleep(0.5)
            yield dep
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------------------------------- clients


class Tab:
    """A browser tab: a socket.io client whose events land in an inbox (socket_inbox.py: waited on by name and
    content, whatever order the client's handler threads ran in); every event is also kept."""

    def __init__(self, url: str):
        self.url = url
        self.sio = socketio_client.Client(reconnection=False)
        self.inbox = Inbox()
        self.sio.on("*", self.inbox.put)
        deadline = time.monotonic() + WAIT_S
        while True:  # as a browser does: reconnect until a server takes it (a worker may just have died)
            try:
                self.sio.connect(url, transports=["websocket"], wait_timeout=WAIT_S)
                return
            except socketio_client.exceptions.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1.0)

    @property
    def seen(self) -> list[tuple[str, Any]]:
        return self.inbox.seen

    def wait(self, name: str, where: Callable[[Any], bool] = lambda m: True, timeout: float = WAIT_S) -> Any:
        try:
            return self.inbox.wait(name, where, timeout, raise_on="error")
        except AssertionError as e:
            raise AssertionError(f"{self.url}: {e}") from None

    def saw(self, name: str, where: Callable[[Any], bool]) -> Any:
        """The event if it came already, else wait for it."""
        for event, data in list(self.seen):
            if event == name and where(data):
                return data
        return self.wait(name, where)

    def agent_moves(self, game_id: str) -> list[dict[str, Any]]:
        return [d for e, d in self.seen if e == "agent_move" and d["game_id"] == game_id]

    def close(self) -> None:
        try:
            self.sio.disconnect()
        except Exception:
            pass


@dataclass
class Player:
    """One person playing one game from whichever tab is current; remembers every move it was shown."""

    deployment: Deployment
    tab: Tab
    game_id: str = ""
    token: str = ""
    state: dict[str, Any] = field(default_factory=dict)
    shown: dict[int, dict[str, Any]] = field(default_factory=dict)  # turn -> move, as the client saw it
    rng: random.Random = field(default_factory=lambda: random.Random(0))

    def start(self, seed: int, instruction: str | None = None) -> None:
        msg = {"game": "hanabi", "partner": "instructed", "seat": 0, "seed": seed}
        if instruction:
            msg["instruction"] = instruction
        self.tab.sio.emit("start_game", msg)
        started = self.tab.wait("game_started")
        self.game_id, self.token = started["game_id"], started["resume_token"]
        self.state = self.tab.wait("state", self._mine)
        if instruction:
            self.tab.wait("understanding", self._mine)

    def _mine(self, m: dict[str, Any]) -> bool:
        return m.get("game_id") == self.game_id

    def resume_on(self, url: str) -> dict[str, Any]:
        """Leave this tab, open one on `url`, resume; the state must be what the database holds."""
        self.tab.close()
        self.tab = Tab(url)
        self.tab.sio.emit("resume", {"game_id": self.game_id, "token": self.token})
        self.tab.wait("game_started", self._mine)
        self.state = self.tab.wait("state", self._mine)
        turn, stored = self.state["turn"], stored_moves(self.deployment, self.game_id)
        # a pending agent move restarts on resume and may be stored by the time the database is read
        assert turn == stored or (self.state["to_act"] == "agent" and stored == turn + 1), \
            f"stale state on {url}: turn {turn}, while {stored} moves are stored"
        self._note_history()
        if self.state["to_act"] == "agent":  # the agent's move was pending when its process died
            self._await_agent()
        return self.state

    def play_turn(self, pause: float = 0.0) -> None:
        """The person hints or discards (never plays a card blind: games run long); then the agent answers.
        Nothing once the game is over."""
        if self.state["over"]:
            return
        if pause:
            time.sleep(pause)
        legal = self.state["legal"]
        move = self.rng.choice([m for m in legal if m["type"] != "play"] or legal)
        turn = self.state["turn"]
        self.tab.sio.emit("move", {"game_id": self.game_id, "move": move})
        self.state = self.tab.wait("state", lambda m: self._mine(m) and m["turn"] > turn)
        self._note_history()
        if self.state["to_act"] == "agent":
            self._await_agent()

    def _await_agent(self) -> None:
        turn = self.state["turn"]
        moved = self.tab.wait("agent_move", lambda m: self._mine(m) and m["turn"] == turn)
        self.shown[turn] = moved["move"]
        self.state = self.tab.wait("state", lambda m: self._mine(m) and m["turn"] > turn)
        self._note_history()

    def _note_history(self) -> None:
        for entry in self.state["view"]["history"]:
            self.shown.setdefault(entry["turn"], entry["move"])

    def play_to_end(self, pause: float = 0.0) -> None:
        while not self.state["over"]:
            self.play_turn(pause)


# ------------------------------------------------------------------------------------------- the database


def stored_events(deployment: Deployment, game_id: str) -> list[Event]:
    engine = _engine(deployment)
    with Session(engine) as s:
        return list(s.scalars(select(Event).where(Event.game_id == game_id).order_by(Event.seq)))


_engines: dict[str, Any] = {}


def _engine(deployment: Deployment):
    if deployment.database_url not in _engines:
        _engines[deployment.database_url] = create_engine(deployment.database_url, pool_size=2)
    return _engines[deployment.database_url]


def stored_moves(deployment: Deployment, game_id: str) -> int:
    return sum(1 for e in stored_events(deployment, game_id) if e.type == "move")


def check_stored(player: Player, *tabs: Tab) -> None:
    """0 lost, 0 duplicated: the events are 0..n-1, one move per turn, ending in game_over; every move any
    client was shown is stored as shown; no tab was sent the same agent move twice."""
    events = stored_events(player.deployment, player.game_id)
    assert [e.seq for e in events] == list(range(len(events))), "a gap or a repeat in the event sequence"
    moves = [e for e in events if e.type == "move"]
    assert [e.turn for e in moves] == list(range(len(moves))), "a turn stored twice, or a turn missing"
    assert events[-1].type == "game_over"
    stored = {e.turn: e.move for e in moves}
    for turn, move in player.shown.items():
        assert stored.get(turn, {}).get("uid") == move["uid"], f"turn {turn}: shown {move}, stored {stored.get(turn)}"
    for tab in tabs:
        turns = [m["turn"] for m in tab.agent_moves(player.game_id)]
        assert len(turns) == len(set(turns)), f"an agent move delivered twice to {tab.url}: {sorted(turns)}"
        for m in tab.agent_moves(player.game_id):
            assert stored[m["turn"]]["uid"] == m["move"]["uid"]


# ------------------------------------------------------------------------------------------- tests


def test_games_split_across_workers_resume_on_either_without_a_stale_state(deployment):
    """Through the balancer, games land on both workers. Then, for each game: a watcher on the other worker
    receives every agent move once (Redis); the person moves to the other worker and plays there; a tab that
    resumes back on the first worker (which still holds the game in memory) sees the stored turn, not its own."""
    deployment.wait_all_up()
    players = [Player(deployment, Tab(deployment.url), rng=random.Random(i)) for i in range(4)]
    for i, p in enumerate(players):
        p.start(seed=100 + i, instruction=INSTRUCTION if i % 2 == 0 else None)
    homes = [deployment.worker_of(p.game_id) for p in players]
    assert len({h["port"] for h in homes}) == 2, f"the balancer sent every game to one worker: {homes}"

    for p, home in zip(players, homes):
        other = deployment.other_worker(home)
        for _ in range(3):
            p.play_turn()
        watcher = Tab(other["url"])
        watcher.sio.emit("resume", {"game_id": p.game_id, "token": p.token})
        assert watcher.wait("state", p._mine)["turn"] == stored_moves(deployment, p.game_id)
        before = len(p.tab.agent_moves(p.game_id))
        for _ in range(3):
            p.play_turn()
        for moved in p.tab.agent_moves(p.game_id)[before:]:  # made on the home worker, delivered on the other
            watcher.saw("agent_move", lambda m, t=moved["turn"]: p._mine(m) and m["turn"] == t)

        p.resume_on(other["url"])     # the person's tab moves to the other worker
        for _ in range(4):
            p.play_turn()
        p.resume_on(home["url"])      # and back: the home worker's copy in memory is 4 moves behind
        p.play_to_end()
        check_stored(p, p.tab, watcher)
        watcher.close()
        p.tab.close()
    log = deployment.logs()
    assert "Traceback" not in log, log


def test_a_worker_killed_mid_game_is_restarted_and_every_game_resumes_with_no_event_lost(deployment):
    players = [Player(deployment, Tab(deployment.url), rng=random.Random(10 + i)) for i in range(4)]
    for i, p in enumerate(players):
        p.start(seed=200 + i)
        for _ in range(2):
            p.play_turn()
    homes = [deployment.worker_of(p.game_id) for p in players]
    victim = homes[0]
    on_victim = [p for p, h in zip(players, homes) if h["port"] == victim["port"]]

    # moves in flight on the victim: some are stored and answered, some not, when kill -9 strikes
    for p in on_victim:
        p.tab.sio.emit("move", {"game_id": p.game_id, "move": p.state["legal"][-1]})
    os.killpg(victim["pid"], signal.SIGKILL)

    for p in players:  # every person reloads the page: through the balancer, which skips the dead worker
        p.resume_on(deployment.url)
        p.play_to_end()
        check_stored(p, p.tab)

    deadline = time.monotonic() + STARTUP_S
    while True:  # the launcher restarts the killed worker
        now = next(w for w in deployment.workers() if w["port"] == victim["port"])
        if now["pid"] != victim["pid"] and answers(now["url"]):
            break
        assert time.monotonic() < deadline, f"the killed worker was not restarted:\n{deployment.logs()}"
        time.sleep(0.5)
    assert now["restarts"] >= 1
    deployment.wait_all_up()  # and HAProxy sends traffic to it again
    for p in on_victim:  # the restarted worker rebuilds the finished games from their events
        assert p.resume_on(now["url"])["over"]
        check_stored(p, p.tab)
        p.tab.close()
    for p in players:
        p.tab.close()


def test_twenty_games_at_once_through_the_balancer(deployment):
    """A small load test: 20 people move every 0.1-0.5 s for 8 turns each, all at once, through HAProxy."""
    deployment.wait_all_up()
    players = [Player(deployment, Tab(deployment.url), rng=random.Random(100 + i)) for i in range(20)]
    failures: list[str] = []
    latencies: list[float] = []

    def play(p: Player, seed: int) -> None:
        try:
            p.start(seed=seed, instruction=INSTRUCTION if seed % 3 == 0 else None)
            for _ in range(8):
                if p.state["over"]:
                    break
                t = time.perf_counter()
                p.play_turn(pause=p.rng.uniform(0.1, 0.5))
                latencies.append(time.perf_counter() - t)
            p.play_to_end()
            check_stored(p, p.tab)
        except AssertionError as e:
            failures.append(f"game {p.game_id}: {e}")

    threads = [threading.Thread(target=play, args=(p, 300 + i)) for i, p in enumerate(players)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    for p in players:
        p.tab.close()
    assert not [t for t in threads if t.is_alive()], "a game never finished"
    assert not failures, "\n".join(failures) + "\n" + deployment.logs()
    assert len({deployment.worker_of(p.game_id)["port"] for p in players}) == 2
    latencies.sort()
    print(f"20 games through HAProxy: {len(latencies)} timed turns (pause included), "
          f"p50 {latencies[len(latencies) // 2]:.2f} s, max {latencies[-1]:.2f} s")


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/api/partners?game=hanabi", timeout=3) as r:
            return r.status == 200
    except OSError:
        return False
