"""Serving capacity: Hanabi games played over Socket.IO against a real server process on 127.0.0.1, each
figure printed beside a Flask-SocketIO echo round trip measured in the same run (the stack's own floor).

The game server is `instructplay serve` (gunicorn, simple-websocket) with AGENT_DELAY_MS=0 and the shipped
Hanabi agents, once with each worker of --worker (gthread, gevent: both by default, and the two compared at
the end); the echo server is a bare Flask-SocketIO app on gunicorn's threaded worker, whose one handler sends
each `echo` back. Clients are python-socketio clients (websocket transport) spread over a few
client processes; each plays one game at a time, seat 0, partner `instructed` with a colour instruction,
and starts a new game when one ends. By default (--client async) a client process runs its 250 clients on
one asyncio loop (AsyncClient over aiohttp) and handles each client's events in order, as a browser does;
--client threads uses the threaded client (a thread per event, 125 clients per process), whose own CPU and
scheduling delays were counted in the latencies: at 500 games it took as much CPU as the server.

  paced    human-paced clients: 1-3 s between a state and the person's move. Per concurrency (--games):
           p50/p99/max from sending a move to receiving the agent's `agent_move`, less its `delay_ms` (0
           here), errors (`error` events, stalls: no reply within --stall-s, failed connections), and the
           server's CPU per move and reply (its worker's CPU time / replies). Echo: the same number of clients
           sending `echo` 1-3 s apart.
  stress   closed loop: each client moves as soon as it may (echo: sends again as soon as answered), at
           rising concurrency (--stress). Throughput (replies/s) grows until the server's one process is
           saturated; the knee is the lowest concurrency that reaches 90% of the best throughput. Past it
           only latency grows (Little's law: p50 ~ concurrency / throughput).
  profile  py-spy samples the game server's worker during a closed-loop run (--profile-games): CPU time by
           area (JSON, SQLAlchemy, the database driver, Socket.IO transport, torch, priors, rules, logging)
           and the top functions, in ms per move and reply (needs py-spy: pip install py-spy).
  reference  --reference REV: the closed loop again, on SQLite, against this checkout's server and the server of
           git revision REV (checked out in a worktree beside this one), both running, measured in turns
           (--reference-rounds per level, the median kept), and the CPU per move and reply of both.
           306e67d is the code issue #14 measured (Werkzeug's development server, about 10 ms per reply).

Run (defaults are small; the issue's figures are for 500 games):
  .venv/bin/python benchmarks/serving.py                                  # 20 paced games, SQLite + PostgreSQL
  .venv/bin/python benchmarks/serving.py --games 10,100,500 --duration 60 --stress 1,2,4,8,16,32,64 --profile
  .venv/bin/python benchmarks/serving.py --games 100,500 --duration 30 --stress 1,4,16,64 --worker gevent \
      --reference 306e67d                                               # issue #14's figures
PostgreSQL: --postgres URL (default INSTRUCTPLAY_TEST_POSTGRES_URL, or the local server if pg_isready says so);
each run gets a fresh schema, dropped afterwards. --db sqlite or --db postgresql runs one of them.
Target (issue #14): p99 under 100 ms at 500 human-paced games, 0 errors, on both databases.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter, defaultdict
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

INSTRUCTION = "When you get a colour hint, play the cards it touches."
CLIENTS_PER_PROCESS = {"async": 250, "threads": 125}
CLIENT = "async"  # --client: how the load's clients run (AsyncPlayer, or the threaded Player)
STARTUP_TIMEOUT_S = 120
# The server's per-connection limits are raised for the stress: a closed-loop client moves as fast as the
# server answers, which a person never does (the limits themselves are tested elsewhere).
UNLIMITED = {"MESSAGE_RATE": "100000", "MESSAGE_BURST": "100000", "GAMES_PER_MINUTE": "100000",
             "GAMES_BURST": "100000"}


# ----------------------------------------------------------------------------------------------- servers


def echo_app():
    """The floor: a bare Flask-SocketIO app (threading mode, like ours) that sends every `echo` back."""
    from flask import Flask
    from flask_socketio import SocketIO, emit

    app = Flask(__name__)
    sio = SocketIO(app, async_mode="threading")

    @sio.on("echo")
    def echo(data):
        emit("echo", data)

    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """A server in a subprocess (its own process group), waited for until it answers `probe`."""

    def __init__(self, argv: list[str], env: dict[str, str], log_path: Path, port: int, probe: str,
                 cwd: Path = REPO_ROOT):
        self.port, self.log_path = port, log_path
        self.url = f"http://127.0.0.1:{port}"
        self.single_process = False  # set once worker_pid finds no gunicorn worker
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if self.process.poll() is not None:
                sys.exit(f"the server exited with code {self.process.returncode}; its log:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + probe, timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    sys.exit(f"the server did not answer within {STARTUP_TIMEOUT_S} s; its log:\n{self.log_tail()}")
                time.sleep(0.3)

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def worker_pid(self) -> int:
        """gunicorn's one worker: the child of the arbiter (the process we started); the process itself for a
        server of one process (a --reference revision that ran Werkzeug's server: found childless once, it is
        not waited for again at every CPU reading)."""
        if self.single_process:
            return self.process.pid
        for _ in range(50):
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
            if children:
                return int(children[0])
            time.sleep(0.1)
        self.single_process = True
        return self.process.pid

    def cpu_seconds(self) -> tuple[float, float]:
        """CPU time (user, system) of the arbiter and its worker so far."""
        return cpu_of([self.process.pid, self.worker_pid()])

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def cpu_of(pids: list[int]) -> tuple[float, float]:
    """CPU time (user, system) so far of processes `pids` and their children."""
    user = system = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    seen: set[int] = set()
    while pids:
        pid = pids.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            pids += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except OSError:
            continue
        user, system = user + int(fields[11]) / tick, system + int(fields[12]) / tick
    return user, system


class DeploymentProcess(ServerProcess):
    """deploy/scale.py: `workers` game servers behind HAProxy, sharing PostgreSQL and Redis."""

    def __init__(self, workers: int, database_url: str, queue_url: str, folder: Path, extra: dict[str, str]):
        port = free_port()
        self.run_dir = folder / f"deploy-{port}"
        env = {**os.environ, "INSTRUCTPLAY_DATABASE_URL": database_url, "INSTRUCTPLAY_MESSAGE_QUEUE": queue_url,
               "INSTRUCTPLAY_MESSAGE_QUEUE_CHANNEL": f"bench-{uuid.uuid4().hex}", "INSTRUCTPLAY_AGENT_DELAY_MS": "0",
               "INSTRUCTPLAY_BOB_CACHE_DIR": str(folder / "bobs"), "INSTRUCTPLAY_DEAL_KEY": uuid.uuid4().hex,
               "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
               **{f"INSTRUCTPLAY_{k}": v for k, v in extra.items()}}
        super().__init__([sys.executable, str(REPO_ROOT / "deploy" / "scale.py"), "--workers", str(workers),
                          "--port", str(port), "--bind", "127.0.0.1", "--first-worker-port", "0",
                          "--run-dir", str(self.run_dir)], env, folder / f"deploy-{port}.log", port,
                         "/api/partners?game=hanabi")

    def worker_pid(self) -> int:
        return int(Path(f"/proc/{self.workers()[0]}/task/{self.workers()[0]}/children").read_text().split()[0])

    def workers(self) -> list[int]:
        return [w["pid"] for w in json.loads((self.run_dir / "deployment.json").read_text())["workers"]]

    def cpu_seconds(self) -> tuple[float, float]:
        """CPU time of every worker (HAProxy's own is not counted)."""
        return cpu_of(self.workers())


def game_server(database_url: str, folder: Path, extra: dict[str, str], tree: Path = REPO_ROOT) -> ServerProcess:
    """`instructplay serve` of the code in `tree` (this checkout, or a --reference revision's worktree)."""
    port = free_port()
    env = {**os.environ, "INSTRUCTPLAY_DATABASE_URL": database_url, "INSTRUCTPLAY_AGENT_DELAY_MS": "0",
           "INSTRUCTPLAY_BOB_CACHE_DIR": str(folder / "bobs"), "INSTRUCTPLAY_DEAL_KEY": uuid.uuid4().hex,
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "PYTHONPATH": str(tree), **{f"INSTRUCTPLAY_{k}": v for k, v in extra.items()}}
    return ServerProcess([sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
                         env, folder / f"server-{port}.log", port, "/api/partners?game=hanabi", cwd=tree)


@contextmanager
def worktree(rev: str, folder: Path) -> Iterator[Path]:
    """The code of git revision `rev` checked out beside this one (a git worktree, removed afterwards)."""
    tree = folder / f"reference-{rev}"
    subprocess.run(["git", "-C", str(REPO_ROOT), "worktree", "add", "--detach", "--force", str(tree), rev],
                   check=True, capture_output=True)
    try:
        yield tree
    finally:
        subprocess.run(["git", "-C", str(REPO_ROOT), "worktree", "remove", "--force", str(tree)], capture_output=True)


def echo_server(folder: Path) -> ServerProcess:
    port = free_port()
    return ServerProcess([sys.executable, __file__, "_echo-server", str(port)], dict(os.environ),
                         folder / "echo.log", port, "/socket.io/?EIO=4&transport=polling")


@contextmanager
def database(kind: str, folder: Path, postgres_url: str | None) -> Iterator[str]:
    """A URL to an empty database: a SQLite file in `folder`, or a fresh PostgreSQL schema (dropped after)."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / f'bench-{uuid.uuid4().hex[:8]}.db'}"
        return
    from sqlalchemy import create_engine, text

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in postgres_url else "?"
    try:
        yield f"{postgres_url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def default_postgres_url() -> str | None:
    url = os.environ.get("INSTRUCTPLAY_TEST_POSTGRES_URL")
    if url:
        return url
    if shutil.which("pg_isready") and subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"]).returncode == 0:
        return "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    return None


# ----------------------------------------------------------------------------------------------- clients


class Scheduler:
    """One thread that runs callbacks at given times (every client of a process shares it)."""

    def __init__(self):
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._cv = threading.Condition()
        self._n = 0
        self._stopped = False
        threading.Thread(target=self._run, daemon=True).start()

    def at(self, when: float, fn: Callable[[], None]) -> None:
        with self._cv:
            self._n += 1
            heapq.heappush(self._heap, (when, self._n, fn))
            self._cv.notify()

    def stop(self) -> None:
        with self._cv:
            self._stopped = True
            self._cv.notify()

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._stopped and (not self._heap or self._heap[0][0] > time.perf_counter()):
                    self._cv.wait(None if not self._heap else max(0.0, self._heap[0][0] - time.perf_counter()))
                if self._stopped:
                    return
                _, _, fn = heapq.heappop(self._heap)
            try:
                fn()
            except Exception as e:  # a client whose connection broke: counted by its own handlers
                print(f"scheduled call failed: {e!r}", file=sys.stderr)


class Results:
    def __init__(self):
        self.lock = threading.Lock()
        self.latencies_ms: list[float] = []
        self.errors: Counter = Counter()
        self.replies = 0
        self.games_done = 0

    def as_dict(self) -> dict[str, Any]:
        return {"latencies_ms": self.latencies_ms, "errors": dict(self.errors), "replies": self.replies,
                "games_done": self.games_done}


class Player:
    """One client: plays Hanabi games one after another (or sends echoes), paced or closed-loop."""

    def __init__(self, url: str, mode: str, pace: tuple[float, float], sched: Scheduler, results: Results,
                 until: float, record_from: float, stall_s: float, rng: random.Random, sio: Any = None):
        import socketio

        self.url, self.mode, self.pace, self.sched, self.results = url, mode, pace, sched, results
        self.until, self.record_from, self.stall_s, self.rng = until, record_from, stall_s, rng
        self.sio = sio or socketio.Client(reconnection=False, handle_sigint=False)
        self.game_id: str | None = None
        self.understood = False          # the instruction's reading came back (a person reads it first)
        self.waiting: dict[str, Any] | None = None  # the state to move from once it has
        self.sent_at: float | None = None
        self.sent_seq = 0
        self.done = threading.Event()
        self.sio.on("*", self._on_event)
        self.sio.on("disconnect", self._on_disconnect)

    def connect(self) -> bool:
        try:
            self.sio.connect(self.url, transports=["websocket"], wait_timeout=30)
            return True
        except Exception as e:
            self._error(f"connect failed: {type(e).__name__}")
            self.done.set()
            return False

    def start(self, first_delay: float) -> None:
        self.sched.at(time.perf_counter() + first_delay, self._begin)

    def _begin(self) -> None:
        if self.mode == "echo":
            self._send_echo()
        else:
            self._start_game()

    def _think(self) -> float:
        lo, hi = self.pace
        return lo if hi <= lo else self.rng.uniform(lo, hi)

    # echo
    def _send_echo(self) -> None:
        if time.perf_counter() >= self.until:
            self.done.set()
            return
        self.sent_seq += 1
        self.sent_at = time.perf_counter()
        self._emit("echo", {"n": self.sent_seq, "pad": "x" * 200})
        self._watch(self.sent_seq)

    # game
    def _start_game(self) -> None:
        if time.perf_counter() >= self.until:
            self.done.set()
            return
        self.game_id, self.understood, self.waiting = None, False, None
        self._emit("start_game", {"game": "hanabi", "partner": "instructed", "seat": 0,
                                  "seed": self.rng.randrange(2**31), "instruction": INSTRUCTION})

    def _move(self, state: dict[str, Any]) -> None:
        if time.perf_counter() >= self.until:
            self.done.set()
            return
        legal = state["legal"]
        plays = [m for m in legal if m["type"] == "play"]
        others = [m for m in legal if m["type"] != "play"] or plays
        move = self.rng.choice(plays if plays and self.rng.random() < 0.15 else others)
        self.sent_seq += 1
        self.sent_at = time.perf_counter()
        self._emit("move", {"game_id": self.game_id, "move": move})
        self._watch(self.sent_seq)

    def _emit(self, event: str, data: dict[str, Any]) -> None:
        self.sio.emit(event, data)

    def _watch(self, seq: int) -> None:
        """Count a stall when no reply to send number `seq` came within stall_s; start afresh."""

        def check():
            if self.sent_seq == seq and self.sent_at is not None and not self.done.is_set():
                self._error("stall")
                self.sent_at = None
                self._begin()

        self.sched.at(time.perf_counter() + self.stall_s, check)

    def _reply(self, delay_ms: float = 0.0) -> None:
        now = time.perf_counter()
        if self.sent_at is not None:
            with self.results.lock:
                self.results.replies += 1
                if self.sent_at >= self.record_from:
                    self.results.latencies_ms.append((now - self.sent_at) * 1000 - delay_ms)
        self.sent_at = None

    def _on_event(self, event: str, data: Any = None) -> None:
        if self.done.is_set():
            return
        # python-socketio runs each handler in a thread of its own: a new game's state or understanding may be
        # handled before its game_started, so whichever comes first names the game being started
        if self.game_id is None and event in ("game_started", "state", "understanding") and isinstance(data, dict):
            self.game_id = data.get("game_id")
        if event == "echo":
            self._reply()
            self.sched.at(time.perf_counter() + self._think(), self._send_echo)
        elif event == "game_started":
            self.game_id = data["game_id"]
        elif event == "agent_move":
            self._reply(float(data.get("delay_ms") or 0.0))
        elif event == "understanding" and data.get("game_id") == self.game_id:
            self.understood = True
            if self.waiting is not None:
                state, self.waiting = self.waiting, None
                self.sched.at(time.perf_counter() + self._think(), lambda: self._move(state))
        elif event == "state" and data.get("game_id") == self.game_id:
            if data["to_act"] == "human" and not data["over"]:
                if not self.understood:
                    self.waiting = data
                else:
                    self.sched.at(time.perf_counter() + self._think(), lambda: self._move(data))
        elif event == "game_over":
            if self.sent_at is not None:  # the person's move ended the game: the reply is game_over
                self._reply()
            with self.results.lock:
                self.results.games_done += 1
            self.sched.at(time.perf_counter() + self._think(), self._start_game)
        elif event == "error":
            self._error(f"error {data.get('code')}")

    def _on_disconnect(self, *_args) -> None:
        if not self.done.is_set():
            self._error("disconnected")
            self.done.set()

    def _error(self, what: str) -> None:
        with self.results.lock:
            self.results.errors[what] += 1


def start_players(players: list[Player], connected: list[bool], seconds: float, warmup: float,
                  pace: tuple[float, float], rng: random.Random) -> float:
    """Give the connected players their first move, each at a random moment within one pace; moves sent in the
    first `warmup` seconds are not timed, none after `seconds`. Returns when the run began."""
    begin = time.perf_counter()
    for p in players:
        p.until, p.record_from = begin + seconds, begin + warmup
    for p, ok in zip(players, connected):
        if ok:
            p.start(rng.uniform(0, max(pace[1], 0.05)))
    return begin


def run_clients(url: str, mode: str, count: int, pace: tuple[float, float], seconds: float, warmup: float,
                stall_s: float, seed: int) -> dict[str, Any]:
    """`count` clients in this process for `seconds` (after connecting); moves sent in the first `warmup`
    seconds are not timed."""
    from concurrent.futures import ThreadPoolExecutor

    sched, results, rng = Scheduler(), Results(), random.Random(seed)
    players = []
    start = time.perf_counter()
    with ThreadPoolExecutor(16) as pool:  # connect 16 at a time, like a crowd arriving
        players = [Player(url, mode, pace, sched, results, float("inf"), float("inf"), stall_s,
                          random.Random(rng.random())) for _ in range(count)]
        connected = list(pool.map(Player.connect, players))
    begin = start_players(players, connected, seconds, warmup, pace, rng)
    for p in players:
        p.done.wait(max(0.0, begin + seconds + stall_s + 5 - time.perf_counter()))
    # a reply still owed after the end is waited for (counted as a stall by then)
    for p in players:
        if p.sent_at is not None and not p.done.is_set():
            results.errors["stall"] += 1
    sched.stop()
    for p in players:
        try:
            p.done.set()
            p.sio.disconnect()
        except Exception:
            pass
    out = results.as_dict()
    out["connect_s"] = begin - start
    return out


class AsyncPlayer(Player):
    """A Player on asyncio (python-socketio's AsyncClient over aiohttp): every client of a process shares one
    event loop, and a client's events are handled one at a time in the order they arrived, as in a browser.
    The default load: the threaded client runs each event in a thread of its own, so 125 clients per process
    wake hundreds of threads a second, and at 500 games the load took as much CPU as the server and its
    scheduling delays were counted in the latency (see --client)."""

    def __init__(self, url: str, mode: str, pace: tuple[float, float], loop, results: Results, until: float,
                 record_from: float, stall_s: float, rng: random.Random):
        import socketio

        # the handlers are Player's own: the AsyncClient calls plain functions on its loop, one event at a time
        super().__init__(url, mode, pace, self, results, until, record_from, stall_s, rng,
                         sio=socketio.AsyncClient(reconnection=False, handle_sigint=False))
        self.loop = loop

    async def connect_async(self) -> bool:
        try:
            await self.sio.connect(self.url, transports=["websocket"], wait_timeout=30)
            return True
        except Exception as e:
            self._error(f"connect failed: {type(e).__name__}")
            self.done.set()
            return False

    def at(self, when: float, fn: Callable[[], None]) -> None:
        """Run `fn` at perf_counter time `when` on the loop (Player's handlers schedule through this)."""
        self.loop.call_later(max(0.0, when - time.perf_counter()), fn)

    def _emit(self, event: str, data: dict[str, Any]) -> None:
        self.loop.create_task(self.sio.emit(event, data))


async def _run_async_clients(url: str, mode: str, count: int, pace: tuple[float, float], seconds: float,
                             warmup: float, stall_s: float, seed: int) -> dict[str, Any]:
    import asyncio

    loop, results, rng = asyncio.get_running_loop(), Results(), random.Random(seed)
    players = [AsyncPlayer(url, mode, pace, loop, results, float("inf"), float("inf"), stall_s,
                           random.Random(rng.random())) for _ in range(count)]
    start = time.perf_counter()
    gate = asyncio.Semaphore(16)  # connect 16 at a time, like a crowd arriving

    async def connect(p: AsyncPlayer) -> bool:
        async with gate:
            return await p.connect_async()

    connected = await asyncio.gather(*(connect(p) for p in players))
    begin = start_players(players, connected, seconds, warmup, pace, rng)
    end = begin + seconds + stall_s + 5
    while time.perf_counter() < end and not all(p.done.is_set() for p in players):
        await asyncio.sleep(0.2)
    for p in players:  # a reply still owed after the end is counted as a stall by then
        if p.sent_at is not None and not p.done.is_set():
            results.errors["stall"] += 1
        p.done.set()
    await asyncio.gather(*(p.sio.disconnect() for p in players), return_exceptions=True)
    out = results.as_dict()
    out["connect_s"] = begin - start
    return out


def run_async_clients(*args: Any) -> dict[str, Any]:
    import asyncio

    return asyncio.run(_run_async_clients(*args))


def drive(url: str, mode: str, count: int, pace: tuple[float, float], seconds: float, warmup: float,
          stall_s: float, seed: int) -> dict[str, Any]:
    """Run `count` clients over as many client processes as needed; merge their results."""
    procs = []
    most = CLIENTS_PER_PROCESS[CLIENT]
    per = max(1, -(-count // max(1, -(-count // most))))
    left, i = count, 0
    while left > 0:
        n = min(per, left)
        args = {"url": url, "mode": mode, "count": n, "pace": list(pace), "seconds": seconds, "warmup": warmup,
                "stall_s": stall_s, "seed": seed * 1000 + i, "client": CLIENT}
        procs.append(subprocess.Popen([sys.executable, __file__, "_clients", json.dumps(args)], cwd=REPO_ROOT,
                                      stdout=subprocess.PIPE, text=True))
        left, i = left - n, i + 1
    merged: dict[str, Any] = {"latencies_ms": [], "errors": Counter(), "replies": 0, "games_done": 0}
    for proc in procs:
        out, _ = proc.communicate(timeout=seconds + stall_s + 240)
        if proc.returncode != 0:
            merged["errors"]["client process failed"] += 1
            continue
        r = json.loads(out.strip().splitlines()[-1])
        merged["latencies_ms"] += r["latencies_ms"]
        merged["errors"].update(r["errors"])
        merged["replies"] += r["replies"]
        merged["games_done"] += r["games_done"]
    return merged


# ----------------------------------------------------------------------------------------------- figures


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(q / 100 * len(s)))]


def errors_text(errors: Counter) -> str:
    return "0" if not errors else ", ".join(f"{n} {what}" for what, n in errors.most_common())


SLOW_GC = re.compile(r"slow garbage collection: generation (\d) took (\d+) ms")


def slow_collections(server: ServerProcess) -> list[int]:
    """The server's logged slow garbage collections so far (server/app.py), in ms."""
    return [int(ms) for _, ms in SLOW_GC.findall(server.log_path.read_text(errors="replace"))]


def measure(server: ServerProcess, mode: str, count: int, pace, seconds, warmup, stall_s, seed) -> dict[str, Any]:
    gc_before = len(slow_collections(server))
    user0, sys0 = server.cpu_seconds()
    clients0 = resource.getrusage(resource.RUSAGE_CHILDREN)  # the client processes end within drive()
    t0 = time.perf_counter()
    r = drive(server.url, mode, count, pace, seconds, warmup, stall_s, seed)
    wall = time.perf_counter() - t0
    user1, sys1 = server.cpu_seconds()
    clients1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    r["cpu_s"], r["sys_s"] = (user1 - user0) + (sys1 - sys0), sys1 - sys0
    r["client_cpu_s"] = (clients1.ru_utime - clients0.ru_utime) + (clients1.ru_stime - clients0.ru_stime)
    r["wall_s"] = wall
    r["slow_gc_ms"] = slow_collections(server)[gc_before:]
    return r


def line(label: str, r: dict[str, Any], seconds: float) -> str:
    lat = r["latencies_ms"]
    cpu = r["cpu_s"] / r["replies"] * 1000 if r["replies"] else float("nan")
    kernel = r["sys_s"] / r["replies"] * 1000 if r["replies"] else float("nan")
    return (f"{label:<7} p50 {pct(lat, 50):7.1f} ms  p99 {pct(lat, 99):7.1f} ms  max {max(lat, default=float('nan')):7.1f} ms"
            f"  {r['replies'] / seconds:6.1f}/s  n={len(lat):<6} cpu {cpu:5.2f} ms/reply ({kernel:.2f} system; game starts included)  errors: {errors_text(r['errors'])}"
            f"\n            cores busy over the whole run (connecting included): server {r['cpu_s'] / r['wall_s']:.2f}, the load's client processes "
            f"{r['client_cpu_s'] / r['wall_s']:.2f} (of {os.cpu_count()})"
            + (f"; garbage collections of 50 ms or more: {len(r['slow_gc_ms'])}"
               + (f" (longest {max(r['slow_gc_ms'])} ms)" if r['slow_gc_ms'] else "") if "slow_gc_ms" in r else ""))


def paced(game: ServerProcess, echo: ServerProcess, counts: list[int], args) -> dict[int, dict]:
    results = {}
    for n in counts:
        print(f"\n  {n} human-paced clients ({args.pace_min:g}-{args.pace_max:g} s between moves), {args.duration:g} s:")
        e = measure(echo, "echo", n, (args.pace_min, args.pace_max), args.duration, args.warmup, args.stall_s, 1)
        print("    " + line("echo", e, args.duration), flush=True)
        g = measure(game, "game", n, (args.pace_min, args.pace_max), args.duration, args.warmup, args.stall_s, 2)
        print("    " + line("game", g, args.duration), flush=True)
        ratio = pct(g["latencies_ms"], 99) / pct(e["latencies_ms"], 99)
        print(f"    game p99 = {ratio:.1f} x the echo floor's p99; {g['games_done']} games finished")
        results[n] = g
    return results


def compare_workers(kind: str, by_worker: dict[str, dict[int, dict]]) -> None:
    """The gevent worker against the threaded one, measured in this run, per number of paced games."""
    if not {"gthread", "gevent"} <= set(by_worker):
        return
    print(f"\n  {kind}: gevent worker against gthread, same run (CPU per move and reply; p99):")
    for n, t in by_worker["gthread"].items():
        g = by_worker["gevent"].get(n)
        if g is None:
            continue
        cpu_t, cpu_g = (r["cpu_s"] / max(1, r["replies"]) * 1000 for r in (t, g))
        p99_t, p99_g = pct(t["latencies_ms"], 99), pct(g["latencies_ms"], 99)
        print(f"    {n:4d} games: cpu {cpu_g:5.2f} vs {cpu_t:5.2f} ms/reply ({cpu_t / cpu_g:.2f}x less); "
              f"p99 {p99_g:8.1f} vs {p99_t:8.1f} ms")


def stress(game: ServerProcess, echo: ServerProcess, levels: list[int], args) -> None:
    print(f"\n  closed loop (each client moves as soon as it may), {args.stress_seconds:g} s per level:")
    rows = []
    for c in levels:
        e = measure(echo, "echo", c, (0, 0), args.stress_seconds, 2, args.stall_s, 3)
        g = measure(game, "game", c, (0, 0), args.stress_seconds, 2, args.stall_s, 4)
        rows.append((c, g["replies"] / args.stress_seconds, g))
        print(f"    {c:4d} games: {g['replies'] / args.stress_seconds:7.1f} replies/s  p50 {pct(g['latencies_ms'], 50):7.1f} ms"
              f"  p99 {pct(g['latencies_ms'], 99):7.1f} ms  cpu {g['cpu_s'] / max(1, g['replies']) * 1000:5.2f} ms/reply"
              f" ({g['sys_s'] / max(1, g['replies']) * 1000:.2f} system)"
              f"  errors: {errors_text(g['errors'])}   | echo {e['replies'] / args.stress_seconds:7.1f}/s"
              f"  p50 {pct(e['latencies_ms'], 50):6.1f} ms  p99 {pct(e['latencies_ms'], 99):6.1f} ms", flush=True)
    best = max(r[1] for r in rows)
    knee = next(r for r in rows if r[1] >= 0.9 * best)
    print(f"    knee: {knee[0]} concurrent closed-loop games reach {knee[1]:.0f} replies/s (90% of the best, "
          f"{best:.0f}/s); past it only latency grows. At 1-3 s between moves a client asks for 0.5 "
          f"replies/s, so this server takes about {2 * best:.0f} human-paced games before moves queue.")


def reference(rev: str, levels: list[int], worker: str, folder: Path, args) -> None:
    """The same closed loop against this checkout's server and the server at git revision `rev` (SQLite), both
    started side by side and measured in turns, level by level (this machine's load drifts within minutes,
    so the two are paired, not measured minutes apart): each one's CPU per move and reply, and the ratio.
    Issue #14 measured about 10 ms at 306e67d (Werkzeug's development server)."""
    rounds = max(1, args.reference_rounds)
    print(f"\nreference: this checkout ({worker}) and the server at {rev}, SQLite, the same closed loop, in turns "
          f"({rounds} rounds of {args.stress_seconds:g} s each per level):")
    with worktree(rev, folder) as tree, database("sqlite", folder, None) as url_now, \
            database("sqlite", folder, None) as url_ref:
        now = game_server(url_now, folder, {**UNLIMITED, "SERVER_WORKER": worker})
        try:
            old = game_server(url_ref, folder, UNLIMITED, tree)
        except SystemExit as e:
            now.stop()
            print(f"    the reference server did not start: {e}")
            return
        try:
            for server in (now, old):
                measure(server, "game", 2, (0, 0), 3, 3, args.stall_s, 0)  # load the agents and the reader
            for c in levels:
                cpu: dict[str, list[float]] = {"now": [], "old": []}
                rate: dict[str, list[float]] = {"now": [], "old": []}
                errors: Counter = Counter()
                for _ in range(rounds):
                    for name, server in (("now", now), ("old", old)):
                        g = measure(server, "game", c, (0, 0), args.stress_seconds, 2, args.stall_s, 4)
                        cpu[name].append(g["cpu_s"] / max(1, g["replies"]) * 1000)
                        rate[name].append(g["replies"] / args.stress_seconds)
                        errors.update({f"{name}: {k}": v for k, v in g["errors"].items()})
                mid = {k: sorted(v)[len(v) // 2] for k, v in cpu.items()}
                print(f"    {c:4d} games: this checkout {mid['now']:5.2f} ms/reply ({max(rate['now']):5.0f} replies/s), "
                      f"{rev} {mid['old']:5.2f} ms/reply ({max(rate['old']):5.0f}/s): {mid['old'] / mid['now']:.1f}x less "
                      f"CPU per move and reply (rounds: {', '.join(f'{o / n:.1f}x' for n, o in zip(cpu['now'], cpu['old']))})"
                      f"  errors: {errors_text(errors)}", flush=True)
        finally:
            old.stop()
            now.stop()


# ----------------------------------------------------------------------------------------------- profile

AREAS = [  # (area, how a frame's file starts, as py-spy prints it) in order: the first match names the area
    ("JSON", ("json/",)),
    ("SQLAlchemy", ("sqlalchemy/",)),
    ("database driver", ("psycopg", "sqlite3/")),
    ("Socket.IO transport", ("socketio/", "engineio/", "simple_websocket/", "wsproto/", "flask_socketio/")),
    ("redis", ("redis/",)),
    ("torch", ("torch/",)),
    ("numpy", ("numpy/",)),
    ("priors", ("agents/priors/",)),
    ("agents", ("agents/policies/",)),
    ("rules", ("agents/envs/",)),
    ("server: games", ("server/games/",)),
    ("server: other", ("server/",)),
    ("logging", ("logging/",)),
    ("gunicorn", ("gunicorn/",)),
    ("threads, queues, sockets", ("threading.py", "queue.py", "selectors.py", "socket.py", "ssl.py")),
    ("flask/werkzeug", ("flask/", "werkzeug/")),
    ("copy, dataclasses", ("copy.py", "dataclasses.py")),
]


NO_STACK = "(no Python frame: a thread starting or ending, garbage collection, C code)"


def area_of(frame: str) -> str:
    """The area of a py-spy frame "function (file:line)"."""
    if frame == NO_STACK:
        return "no Python frame (threads, GC, C)"
    where = frame.rpartition(" (")[2]
    where = where.removeprefix(str(REPO_ROOT) + "/")
    for area, starts in AREAS:
        if where.startswith(starts):
            return area
    return "other"


def py_spy(pid: int, seconds: float, out: Path, gil: bool) -> subprocess.Popen:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return subprocess.Popen([spy, "record", "--pid", str(pid), "--rate", "200", "--duration", str(int(seconds)),
                             "--format", "raw", "--output", str(out), "--nonblocking", *(["--gil"] if gil else [])],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def read_stacks(path: Path) -> tuple[int, Counter, Counter, Counter, Counter]:
    """(samples, self and inclusive samples by area, self and inclusive samples by function)."""
    self_area, incl_area, self_fn, incl_fn = Counter(), Counter(), Counter(), Counter()
    total = 0
    for row in path.read_text().splitlines():
        stack, _, count = row.rpartition(" ")
        if not count.isdigit():
            continue
        stack = stack.strip()
        frames = [f for f in stack.split(";") if f.strip() and not f.startswith(("thread (", "process "))]
        frames = frames or [NO_STACK]
        n = int(count)
        total += n
        self_fn[frames[-1]] += n
        self_area[area_of(frames[-1])] += n
        for fn in set(frames):
            if not fn.startswith(("Thread._bootstrap", "Thread.run (threading.py")):
                incl_fn[fn] += n
        for area in {area_of(f) for f in frames}:
            incl_area[area] += n
    return total, self_area, incl_area, self_fn, incl_fn


def profile(game: ServerProcess, args, folder: Path) -> None:
    """py-spy on the worker during closed-loop play, sampling the thread that holds the GIL: the CPU one
    process can give, which is what limits its replies per second. (Time a thread spends waiting on the
    database or the network does not hold the GIL and is not here.)"""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        print("\n  profile: py-spy is not installed (pip install py-spy); skipped")
        return
    pid, seconds, rate = game.worker_pid(), args.profile_seconds, 200
    out = folder / "profile-gil.txt"
    rec = py_spy(pid, seconds, out, gil=not args.profile_all_threads)
    time.sleep(1.0)
    pace = (args.pace_min, args.pace_max) if args.profile_paced else (0, 0)
    r = measure(game, "game", args.profile_games, pace, seconds - 3, 1, args.stall_s, 5)
    try:
        _, err = rec.communicate(timeout=seconds + 120)
    except subprocess.TimeoutExpired:
        rec.kill()
        _, err = rec.communicate()
    if not out.exists():
        print(f"\n  profile: py-spy failed: {(err or '').strip()[-500:]}")
        return
    total, self_area, incl_area, self_fn, incl_fn = read_stacks(out)
    replies = max(1, r["replies"])
    cpu_ms = r["cpu_s"] / replies * 1000
    # py-spy falls behind its rate on a busy machine (here often half the samples it asks for), so a share of
    # the samples is turned into ms as that share of the CPU measured per reply, not as samples / rate
    ms = lambda n: n / max(1, total) * cpu_ms  # noqa: E731  samples -> ms of CPU per move and reply
    how = "human-paced" if args.profile_paced else "closed-loop"
    print(f"\n  profile: {args.profile_games} {how} games, {r['replies']} replies, {cpu_ms:.2f} ms of server CPU "
          f"per move and reply, shared out below by py-spy's samples of the thread holding the GIL ({total} "
          f"samples, {total / max(1, seconds - 3):.0f}/s of the {rate}/s asked; stacks: {out})")
    print(f"    {'area':<34}{'self':>7}{'ms':>7}{'incl.':>8}{'ms':>7}")
    for area, n in self_area.most_common():
        print(f"    {area:<34}{100 * n / total:6.1f}%{ms(n):7.2f}{100 * incl_area[area] / total:7.1f}%"
              f"{ms(incl_area[area]):7.2f}")
    print("    top functions by inclusive time (self beside):")
    for fn, n in incl_fn.most_common(args.profile_top):
        print(f"    {100 * n / total:6.1f}% {ms(n):6.2f} ms  self {ms(self_fn[fn]):5.2f} ms  {fn}")
    print("    top functions by self time:")
    for fn, n in self_fn.most_common(args.profile_top):
        print(f"    {100 * n / total:6.1f}% {ms(n):6.2f} ms  {fn}")


# ----------------------------------------------------------------------------------------------- main


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_clients":
        a = json.loads(sys.argv[2])
        run = run_async_clients if a["client"] == "async" else run_clients
        print(json.dumps(run(a["url"], a["mode"], a["count"], tuple(a["pace"]), a["seconds"], a["warmup"],
                             a["stall_s"], a["seed"])), flush=True)
        return
    if len(sys.argv) > 1 and sys.argv[1] == "_echo-server":
        from server.commands.serve import serve_forever

        serve_forever(echo_app, "127.0.0.1", int(sys.argv[2]), 1000, name="echo", worker="gthread")
        return

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--games", default="20", help="human-paced concurrencies, comma-separated (default 20)")
    p.add_argument("--duration", type=float, default=30, help="seconds per paced measurement (default 30)")
    p.add_argument("--warmup", type=float, default=5, help="seconds at the start not timed (default 5)")
    p.add_argument("--pace-min", type=float, default=1.0)
    p.add_argument("--pace-max", type=float, default=3.0)
    p.add_argument("--stress", default="", help="closed-loop concurrencies, e.g. 1,2,4,8,16,32 (default none)")
    p.add_argument("--stress-seconds", type=float, default=15)
    p.add_argument("--profile", action="store_true", help="profile the server with py-spy")
    p.add_argument("--profile-games", type=int, default=8)
    p.add_argument("--profile-seconds", type=float, default=20)
    p.add_argument("--profile-top", type=int, default=25)
    p.add_argument("--profile-all-threads", action="store_true",
                   help="sample every thread that runs, not only the one holding the GIL (C code that released it: "
                        "torch, SQLite, sockets)")
    p.add_argument("--profile-paced", action="store_true",
                   help="profile human-paced games (--pace-min/--pace-max: game starts and idle connections count) "
                        "instead of closed-loop ones")
    p.add_argument("--reference", metavar="REV",
                   help="also run the closed loop (--stress, SQLite) against the server at git revision REV, in this "
                        "run, and print the CPU per move and reply of both: 306e67d is the code issue #14 measured")
    p.add_argument("--reference-rounds", type=int, default=3,
                   help="turns of this checkout and the reference per level, the median reported (default 3)")
    p.add_argument("--stall-s", type=float, default=30, help="a reply later than this is a stall (default 30)")
    p.add_argument("--worker", default="gthread,gevent",
                   help="the game server's gunicorn worker(s): gthread, gevent or both, each measured in turn (default both)")
    p.add_argument("--db", default="sqlite,postgresql", help="sqlite, postgresql or both (default both)")
    p.add_argument("--client", choices=("async", "threads"), default="async",
                   help="the load's clients: asyncio (one event loop per client process, events handled in order; "
                        "default) or python-socketio's threaded client (a thread per event)")
    p.add_argument("--postgres", default=default_postgres_url(), help="PostgreSQL URL (postgresql+psycopg://...)")
    p.add_argument("--deployment", type=int, default=0, metavar="N",
                   help="measure the scaled deployment instead: deploy/scale.py with N workers behind HAProxy "
                        "(PostgreSQL and Redis; the profile is of its first worker)")
    p.add_argument("--redis", default=os.environ.get("INSTRUCTPLAY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
                   help="Redis URL for --deployment")
    args = p.parse_args()
    global CLIENT
    CLIENT = args.client
    counts = [int(x) for x in args.games.split(",") if x]
    levels = [int(x) for x in args.stress.split(",") if x]
    kinds = [k for k in args.db.split(",") if k]
    workers = [w for w in args.worker.split(",") if w]
    if args.deployment:
        kinds = ["postgresql"]
    if "postgresql" in kinds and not args.postgres:
        print("no PostgreSQL (set --postgres or INSTRUCTPLAY_TEST_POSTGRES_URL): SQLite only")
        kinds.remove("postgresql")

    folder = Path(tempfile.mkdtemp(prefix="instructplay-serving-"))
    print(f"benchmarks/serving.py: Hanabi over Socket.IO on 127.0.0.1, {os.cpu_count()} CPUs, logs in {folder}")
    echo = echo_server(folder)
    try:
        for kind in kinds:
            with database(kind, folder, args.postgres) as url:
                by_worker = {}
                for worker in workers:
                    extra = {**UNLIMITED, "SERVER_WORKER": worker}
                    if args.deployment:
                        game = DeploymentProcess(args.deployment, url, args.redis, folder, extra)
                        what = f"deploy/scale.py, {args.deployment} {worker} workers behind HAProxy, Redis queue"
                    else:
                        game = game_server(url, folder, extra)
                        what = f"gunicorn {worker}, 1 process"
                    try:
                        print(f"\n{kind}: game server {game.url} ({what}); echo floor {echo.url} (1 process)")
                        measure(game, "game", 2, (0, 0), 3, 3, args.stall_s, 0)  # load the agents and the reader
                        by_worker[worker] = paced(game, echo, counts, args)
                        if levels:
                            stress(game, echo, levels, args)
                        if args.profile and kind == kinds[0]:
                            profile(game, args, folder)
                    finally:
                        game.stop()
                compare_workers(kind, by_worker)
        if args.reference and levels:
            reference(args.reference, levels, workers[-1], folder, args)
    finally:
        echo.stop()


if __name__ == "__main__":
    main()
