"""Two server processes sharing a Redis message queue and one database: a game started on one process
is resumed on the other, and the first process's broadcasts reach the second process's client.
Needs INSTRUCTPLAY_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/0)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager

import pytest
import socketio as socketio_client

from server.config import REPO_ROOT
from tests.integration.socket_inbox import Inbox

REDIS_URL = os.environ.get("INSTRUCTPLAY_TEST_REDIS_URL")
pytestmark = pytest.mark.skipif(not REDIS_URL, reason="set INSTRUCTPLAY_TEST_REDIS_URL, e.g. redis://127.0.0.1:6379/0")

# A server process with the intuitive Bob injected (so no training), configured from INSTRUCTPLAY_* variables.
LAUNCHER = """
from server.app import create_app, socketio
from server.config import load_config
from tests.integration.test_socket_play import IntuitiveBob
config = load_config()
app = create_app({"BOB_FACTORY": lambda *args: IntuitiveBob(), "PRIOR_BACKEND": "table"})
socketio.run(app, host="127.0.0.1", port=int(config["PORT"]), allow_unsafe_werkzeug=True, log_output=False)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def server_process(env: dict[str, str], log_path):
    port = free_port()
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "-c", LAUNCHER], cwd=REPO_ROOT, stdout=log,
                                   stderr=subprocess.STDOUT, env={**env, "INSTRUCTPLAY_PORT": str(port)})
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"server exited early:\n{log_path.read_text()}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


class Client:
    """A real Socket.IO client whose received events land in an inbox (socket_inbox.py)."""

    def __init__(self, url: str):
        self.sio = socketio_client.Client()
        self.inbox = Inbox()
        self.sio.on("*", self.inbox.put)
        self.sio.connect(url, transports=["websocket"])

    def wait(self, name: str, where=lambda m: True, timeout: float = 15.0) -> dict:
        return self.inbox.wait(name, where, timeout)


def test_two_processes_share_broadcasts_through_redis(tmp_path):
    env = {**os.environ, "INSTRUCTPLAY_DATABASE_URL": f"sqlite:///{tmp_path / 'shared.db'}",
           "INSTRUCTPLAY_MESSAGE_QUEUE": REDIS_URL, "INSTRUCTPLAY_AGENT_DELAY_MS": "0",
           "INSTRUCTPLAY_MESSAGE_QUEUE_CHANNEL": f"instructplay-test-{uuid.uuid4().hex}",
           "INSTRUCTPLAY_BOB_CACHE_DIR": str(tmp_path / "bobs")}
    with server_process(env, tmp_path / "a.log") as url_a, server_process(env, tmp_path / "b.log") as url_b:
        alice_tab = Client(url_a)
        alice_tab.sio.emit("start_game", {"game": "say-select", "partner": "instructq", "seat": 0, "seed": 4})
        started = alice_tab.wait("game_started")
        alice_tab.wait("agent_status", lambda m: m["status"] == "ready")

        second_tab = Client(url_b)
        second_tab.sio.emit("resume", {"game_id": started["game_id"], "token": started["resume_token"]})
        assert second_tab.wait("state")["turn"] == 0

        alice_tab.sio.emit("move", {"game_id": started["game_id"], "move": {"say": 2}})
        moved = second_tab.wait("agent_move")  # emitted by process A, delivered by process B
        assert moved["game_id"] == started["game_id"] and moved["move"] == {"select": 2}
        for tab in (alice_tab, second_tab):
            tab.sio.disconnect()
