"""`instructplay export --out FILE.jsonl`: every game with its instructions, events and outcome, one
game per line (docs/DATABASE.md, "Export")."""

from __future__ import annotations

import argparse
import json
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="the JSON Lines file to write ('-' for standard output)")
    parser.add_argument("--db", help="database URL (default INSTRUCTPLAY_DATABASE_URL or the SQLite default)")


def export(url: str, out) -> int:
    """Write every game in the database at `url` to the text stream `out`; returns the number of games."""
    from server.db import migrate
    from server.db.store import Store, make_engine

    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        count = 0
        for game in Store(engine).export_games():
            out.write(json.dumps(game, separators=(",", ":")) + "\n")
            count += 1
        return count
    finally:
        engine.dispose()


def run(args: argparse.Namespace) -> int:
    from server.config import load_config

    url = args.db or str(load_config()["DATABASE_URL"])
    if args.out == "-":
        count = export(url, sys.stdout)
    else:
        with open(args.out, "w", encoding="utf-8") as out:
            count = export(url, out)
    print(f"instructplay: exported {count} games to {args.out}", file=sys.stderr)
    return 0
