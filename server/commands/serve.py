"""`instructplay serve`: migrate the database, start the game server, print its URL."""

from __future__ import annotations

import argparse
import logging


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to listen on (default INSTRUCTPLAY_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default INSTRUCTPLAY_PORT or 5000)")
    parser.add_argument("--db", help="database URL (default INSTRUCTPLAY_DATABASE_URL or the SQLite file "
                                     "instance/instructplay.db); e.g. postgresql+psycopg://user@host/db")


def run(args: argparse.Namespace) -> int:
    from server.app import create_app, socketio
    from server.config import load_config

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = load_config()
    overrides = {k: v for k, v in {"HOST": args.host, "PORT": args.port, "DATABASE_URL": args.db}.items() if v}
    config.update(overrides)
    app = create_app(config)
    host, port = config["HOST"], int(config["PORT"])
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    print(f"instructplay: serving on http://{shown}:{port}/", flush=True)
    socketio.run(app, host=host, port=port, allow_unsafe_werkzeug=True, use_reloader=False, log_output=False)
    return 0
