"""`instructplay serve` as `./run.sh serve` and the Dockerfile run it: gunicorn's threaded worker with
simple-websocket, one process, SQLite. It prints its URL once it answers, closes websockets cleanly
(Werkzeug's development server logged a 400 for every disconnect and took 3 s to close), and stops on
SIGTERM with a client still connected."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

import socketio as socketio_client

from server.config import REPO_ROOT
from tests.integration.test_deployment import free_port

STARTUP_S = 180


def test_serve_prints_its_url_closes_websockets_cleanly_and_stops_on_sigterm(tmp_path):
    port = free_port()
    env = {**os.environ, "INSTRUCTPLAY_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
           "INSTRUCTPLAY_PRIOR_BACKEND": "table", "INSTRUCTPLAY_BOB_CACHE_DIR": str(tmp_path / "bobs"),
           "INSTRUCTPLAY_BOB_EPISODES": "2000", "INSTRUCTPLAY_DEAL_KEY": "0" * 64, "PYTHONUNBUFFERED": "1"}
    log_path = tmp_path / "serve.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--port", str(port)], cwd=REPO_ROOT,
                                  env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_S
        while f"instructplay: serving on {url}/" not in log_path.read_text(errors="replace"):
            assert server.poll() is None and time.monotonic() < deadline, log_path.read_text(errors="replace")
            time.sleep(0.2)
        with urllib.request.urlopen(url + "/api/partners?game=hanabi", timeout=30) as r:  # answers once printed
            assert r.status == 200
        assert "gthread" in log_path.read_text()

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
