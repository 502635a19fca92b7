"""`instructplay serve` as `./run.sh serve` and the Dockerfile run it: gunicorn's gevent worker (the default),
one process, SQLite; and with the threaded worker and simple-websocket (SERVER_WORKER=gthread). It prints its URL
once it answers, closes websockets cleanly (Werkzeug's development server logged a 400 for every
disconnect and took 3 s to close), keeps answering while a Say-Select Bob trains (under gevent the
training runs off the event loop: server/concurrency.py), and stops on SIGTERM with a client still
connected. Fuzzed messages over a real websocket to the default worker get specific errors."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.request

import pytest
import socketio as socketio_client

from server.config import REPO_ROOT
from tests.integration.test_deployment import free_port

STARTUP_S = 180


def started_serve(env: dict[str, str], log_path) -> tuple[subprocess.Popen, str]:
    """`python -m server.cli serve` on a free port with `env`, its output in `log_path`; returned with its URL
    once it has printed that it serves there (killed if it never does)."""
    port = free_port()
    with open(log_path, "wb") as log:
        server = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--port", str(port)], cwd=REPO_ROOT,
                                  env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_S
        while f"instructplay: serving on {url}/" not in log_path.read_text(errors="replace"):
            assert server.poll() is None and time.monotonic() < deadline, log_path.read_text(errors="replace")
            time.sleep(0.2)
    except BaseException:
        server.kill()
        server.wait()
        raise
    return server, url


@pytest.mark.parametrize("worker", ["gthread", "gevent"])
def test_serve_prints_its_url_closes_websockets_cleanly_and_stops_on_sigterm(tmp_path, worker):
    env = {**os.environ, "INSTRUCTPLAY_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
           "INSTRUCTPLAY_SERVER_WORKER": worker, "INSTRUCTPLAY_BOB_SEED": "5",
           "INSTRUCTPLAY_PRIOR_BACKEND": "conventions", "HF_HUB_OFFLINE": "1", "INSTRUCTPLAY_BOB_CACHE_DIR": str(tmp_path / "bobs"),
           "INSTRUCTPLAY_BOB_EPISODES": "6000", "INSTRUCTPLAY_DEAL_KEY": "0" * 64, "PYTHONUNBUFFERED": "1"}
    log_path = tmp_path / "serve.log"
    server, url = started_serve(env, log_path)
    try:
        with urllib.request.urlopen(url + "/api/partners?game=hanabi", timeout=30) as r:  # answers once printed
            assert r.status == 200
        assert f"Using worker: {worker}" in log_path.read_text()
        answers_while_a_bob_trains(url)

        for transports in (["websocket"], ["polling", "websocket"]):
            client = socketio_client.Client(reconnection=False)
            started = []
            client.on("game_started", started.append)
            client.connect(url, transports=transports, wait_timeout=60)
            client.emit("start_game", {"game": "hanabi", "partner": "vanilla", "seat": 1, "seed": 3})
            deadline = time.monotonic() + 60
            while not started and time.monotonic() < deadline:
                time.sleep(0.05)
            assert started
            t = time.monotonic()
            client.disconnect()
            # generous against the 30 ms it takes, well under Werkzeug's 3 s
            assert time.monotonic() - t < 2.5, f"closing the websocket took {time.monotonic() - t:.1f} s"

        lingering = socketio_client.Client(reconnection=False)
        lingering.connect(url, transports=["websocket"], wait_timeout=60)
        time.sleep(0.5)
        log = log_path.read_text(errors="replace")
        assert " 400 " not in log and "Traceback" not in log and "Error" not in log, log
        server.send_signal(signal.SIGTERM)  # with a websocket open
        server.wait(60)
        assert server.returncode == 0, log_path.read_text(errors="replace")
        lingering.disconnect()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def answers_while_a_bob_trains(url: str) -> None:
    """A Say-Select instruction that needs a new Bob (seconds of CPU): the server answers pages and other
    games meanwhile, and the game goes on with the trained Bob."""
    client = socketio_client.Client(reconnection=False)
    seen: dict[str, list] = {"game_started": [], "agent_status": [], "agent_move": []}
    trained = threading.Event()
    for name in ("game_started", "agent_move"):
        client.on(name, seen[name].append)
    client.on("agent_status", lambda data: (seen["agent_status"].append(data),
                                           data["status"] in ("ready", "failed") and trained.set()))
    client.connect(url, transports=["websocket"], wait_timeout=60)
    # a Bob told to quit at once never scores perfectly, so the fast trainer runs all its BOB_EPISODES
    client.emit("start_game", {"game": "say-select", "partner": "instructq", "seat": 0,
                               "instruction": "quit at once"})
    deadline = time.monotonic() + 120
    while not any(s["status"] == "training" for s in seen["agent_status"]) and not trained.is_set():
        assert time.monotonic() < deadline, seen
        time.sleep(0.02)
    answered = 0
    while not trained.is_set() and time.monotonic() < deadline:
        t = time.monotonic()
        with urllib.request.urlopen(url + "/api/partners?game=say-select", timeout=30) as r:
            assert r.status == 200
        assert time.monotonic() - t < 5, "the server stopped answering while a Bob trained"
        answered += 1
    assert trained.wait(120) and seen["agent_status"][-1]["status"] == "ready", seen["agent_status"]
    assert answered >= 3  # asked again and again while it trained (a blocked server answers once, after)
    gid = seen["game_started"][0]["game_id"]
    client.emit("move", {"game_id": gid, "move": {"say": 3}})
    deadline = time.monotonic() + 60
    while not seen["agent_move"]:
        assert time.monotonic() < deadline, "no agent move after the Bob was trained"
        time.sleep(0.05)
    client.disconnect()


def test_fuzzed_messages_over_the_default_production_server_get_specific_errors(tmp_path):
    """test_faults fuzzes the handlers in-process (threads); this sends fuzzed messages over a real websocket
    to `serve`'s default worker (gevent), where every connection is a greenlet: each bad message gets a
    specific error, none `internal`, the connection stays up and the server still plays a game after."""
    from tests.integration.socket_inbox import Inbox
    from tests.integration.test_faults import fuzzed

    env = {**os.environ, "INSTRUCTPLAY_DATABASE_URL": f"sqlite:///{tmp_path / 'fuzz.db'}",
           "INSTRUCTPLAY_PRIOR_BACKEND": "table", "INSTRUCTPLAY_BOB_CACHE_DIR": str(tmp_path / "bobs"),
           "INSTRUCTPLAY_BOB_EPISODES": "2000", "INSTRUCTPLAY_MESSAGE_RATE": "100000", "INSTRUCTPLAY_MESSAGE_BURST": "100000",
           "INSTRUCTPLAY_DEAL_KEY": "0" * 64, "PYTHONUNBUFFERED": "1"}
    env.pop("INSTRUCTPLAY_SERVER_WORKER", None)
    log_path = tmp_path / "serve.log"
    server, url = started_serve(env, log_path)
    try:
        assert "Using worker: gevent" in log_path.read_text()
        client, inbox = socketio_client.Client(reconnection=False), Inbox()
        client.on("*", inbox.put)
        client.connect(url, transports=["websocket"], wait_timeout=60)
        client.emit("start_game", {"game": "hanabi", "partner": "vanilla", "seat": 0, "seed": 1})
        game_ids = [inbox.wait("game_started", timeout=60)["game_id"]]
        rng = random.Random(2026)
        sent = 2000
        for _ in range(sent):
            event, payload = fuzzed(rng, game_ids)
            client.emit(event, payload)
        client.emit("echo_done", {"request_id": "last"})  # an unknown event: its error comes after all the others
        inbox.wait("error", lambda m: m.get("request_id") == "last", timeout=300)
        codes = [d["code"] for e, d in inbox.seen if e == "error"]
        assert "internal" not in codes and len(codes) > sent // 2, sorted(set(codes))
        assert client.connected
        client.emit("start_game", {"game": "hanabi", "partner": "vanilla", "seat": 0, "seed": 2, "request_id": "after"})
        started = inbox.wait("game_started", lambda m: m.get("request_id") == "after", timeout=60)
        state = inbox.wait("state", lambda m: m["game_id"] == started["game_id"], timeout=60)
        client.emit("move", {"game_id": started["game_id"], "move": [m for m in state["legal"] if m["type"] != "play"][0]})
        inbox.wait("agent_move", lambda m: m["game_id"] == started["game_id"], timeout=60)
        client.disconnect()
        assert "Traceback" not in log_path.read_text(errors="replace")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
