"""`instructplay serve`: migrate the database, start the game server, print its URL.

The server is gunicorn with one worker process. By default (SERVER_WORKER=gevent) it is gunicorn's gevent
worker with Flask-SocketIO's gevent mode: every connection is a greenlet on one event loop, so a message costs
no thread switch, and with 500 open human-paced games a move and its reply took 4.4 ms of CPU against 10.2 ms
with the threaded worker, in one run of benchmarks/serving.py; the CPU-heavy steps (reading an instruction,
training a Say-Select Bob) run in gevent's pool of native threads (server/concurrency.py). `--worker gthread`
runs gunicorn's threaded worker with simple-websocket instead, as Flask-SocketIO's deployment guide advises for
CPU-heavy apps: each open websocket holds threads (SERVER_THREADS, 1000 by default, is also the most
concurrent clients). Both workers close a websocket cleanly (Werkzeug's development server logged a
400 error for every disconnect and took 3 s). One process, because Socket.IO needs every request of a client
to reach the process that holds its session: to use more cores, run several of these behind a load balancer
with sticky sessions (deploy/scale.py does that on one machine).

The app is built in the worker (never in the arbiter before forking: its background threads, database pool
and message-queue connection must belong to the process that serves), and warmed up there (server/app.py
`warm_up`: the models and the start instruction's Bobs). The URL is printed once that worker has built and
warmed the app, i.e. once it answers as fast as it ever will.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any, Callable

# gunicorn kills a worker that has not reported for this long. Once serving, the gthread worker reports every
# second from its own loop (a long agent move or an open websocket never trips it); before that, building the
# app (torch, the models, warm-up) counts too, and takes minutes on a loaded machine starting several workers.
WORKER_TIMEOUT_S = 300
# On SIGTERM the worker stops accepting and gives open connections this long (websockets never finish on their
# own: the browser reconnects and resumes its game on another process, or on this one once it is back).
GRACEFUL_TIMEOUT_S = 5
# Idle keep-alive HTTP connections (page loads, long-polling) held besides the threads' connections.
KEEPALIVE_CONNECTIONS = 100


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to listen on (default INSTRUCTPLAY_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default INSTRUCTPLAY_PORT or 5000)")
    parser.add_argument("--db", help="database URL (default INSTRUCTPLAY_DATABASE_URL or the SQLite file "
                                     "instance/instructplay.db); e.g. postgresql+psycopg://user@host/db")
    parser.add_argument("--worker", choices=("gthread", "gevent"),
                        help="gunicorn worker (default INSTRUCTPLAY_SERVER_WORKER or gevent: one event loop, less CPU per "
                             "move with hundreds of open games; gthread: threads; server/concurrency.py)")
    parser.add_argument("--threads", type=int, help="worker threads = most concurrent connections "
                                                    "(default INSTRUCTPLAY_SERVER_THREADS or 1000)")


def run(args: argparse.Namespace) -> int:
    from server.config import load_config

    config = load_config()
    overrides = {"HOST": args.host, "PORT": args.port, "DATABASE_URL": args.db, "SERVER_THREADS": args.threads,
                 "SERVER_WORKER": args.worker}
    config.update({k: v for k, v in overrides.items() if v})

    def load():
        _log_setup()
        if config["SERVER_WORKER"] == "gevent":
            import gevent

            # a greenlet per agent move: spawning without recording the spawner's stack is faster, and leaves
            # the garbage collector ~35 frame records per connection fewer to walk
            gevent.config.track_greenlet_tree = False
        use_torch_threads(int(config["TORCH_THREADS"]))
        from server.app import create_app, warm_up

        app = create_app(config)
        warm_up(app)  # the models and the start instruction's Bobs, so the first game waits for none of them
        return app

    serve_forever(load, str(config["HOST"]), int(config["PORT"]), int(config["SERVER_THREADS"]),
                  worker=str(config["SERVER_WORKER"]))
    return 0


def use_torch_threads(threads: int) -> None:
    """Give torch `threads` threads in this process, before it runs anything. An agent's decision is a forward
    pass of one observation through a small network (~0.07 ms), which extra threads cannot speed up, and torch's
    default (a thread per core) kept its idle threads spinning after every pass, on cores other games and
    workers need: 2.9 ms of CPU per move and reply with the default, 1.9 ms with one thread, in one closed-loop
    run of benchmarks/serving.py (16 games, SQLite); same throughput. A Say-Select Bob trains as fast on one
    thread (0.35-0.5 s for seeds 1-3 either way)."""
    import torch

    torch.set_num_threads(threads)
    torch.set_num_interop_threads(threads)


def serve_forever(load: Callable[[], Any], host: str, port: int, threads: int, name: str = "instructplay",
                  worker: str = "gthread") -> None:
    """Serve the WSGI app that `load()` builds (called once, in the worker) with gunicorn's `worker` (gthread:
    `threads` threads; gevent: as many greenlets) on host:port until SIGINT or SIGTERM; print
    "<name>: serving on URL" once it answers."""
    try:
        from gunicorn.app.base import BaseApplication
    except ImportError:
        sys.exit(f"{name}: gunicorn is not installed; `./run.sh serve` installs it with the package's "
                 f"dependencies (or: pip install gunicorn)")

    if worker not in ("gthread", "gevent"):
        sys.exit(f"{name}: SERVER_WORKER must be gthread or gevent, not {worker!r}")
    if worker == "gevent":
        try:
            import gevent  # noqa: F401
        except ImportError:
            sys.exit(f"{name}: the gevent worker needs gevent (pip install gevent; `./run.sh serve` installs it)")

    class Server(BaseApplication):
        def load_config(self) -> None:
            settings = {
                "bind": [f"{host}:{port}"],
                "workers": 1,
                "worker_class": worker,
                "threads": threads,
                "worker_connections": threads + KEEPALIVE_CONNECTIONS,
                "timeout": WORKER_TIMEOUT_S,
                "graceful_timeout": GRACEFUL_TIMEOUT_S,
                "accesslog": None,
                "errorlog": "-",
                "loglevel": "info",
                "proc_name": f"{name}:{port}",
                "post_worker_init": lambda worker: print(f"{name}: serving on {url_of(host, port)}", flush=True),
                # gunicorn >= 25.1 opens a control socket at one fixed path per user: several servers on one
                # machine (deploy/scale.py) would fight over it, and nothing here uses it.
                "control_socket_disable": True,
            }
            for key, value in settings.items():
                if key in self.cfg.settings:
                    self.cfg.set(key, value)

        def load(self):
            return load()

    Server(prog=f"{name} serve").run()


def url_of(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://{shown}:{port}/"


def _log_setup() -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
