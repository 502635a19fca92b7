"""`instructplay db upgrade`: bring the database to the newest schema (the server also does this on start);
`instructplay db current`: print the schema revision."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["upgrade", "current"], help="upgrade to the newest schema, or show the current one")
    parser.add_argument("--db", help="database URL (default INSTRUCTPLAY_DATABASE_URL or the SQLite default)")


def run(args: argparse.Namespace) -> int:
    from server.config import load_config
    from server.db import migrate
    from server.db.store import make_engine

    engine = make_engine(args.db or str(load_config()["DATABASE_URL"]))
    try:
        if args.action == "upgrade":
            migrate.upgrade(engine)
        print(f"instructplay: database {engine.url.render_as_string(hide_password=True)} at revision "
              f"{migrate.current_revision(engine)}")
    finally:
        engine.dispose()
    return 0
