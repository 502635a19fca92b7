"""`instructplay participant delete ID`: remove one participant's data (games, events, instructions, outcomes,
study places, tokens, study events and answers) in one transaction; a log line and a stored record say that
it was done, naming the participant only by a salted hash (server/research/privacy.py)."""

from __future__ import annotations

import argparse
import logging
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("participant", metavar="ID", help="the participant's id (as exported without --pseudonymise)")
    parser.add_argument("--db", help="database URL (default INSTRUCTPLAY_DATABASE_URL or the SQLite default)")
    parser.add_argument("--yes", action="store_true", help="delete without asking to type the id again")


def delete(url: str, participant: str) -> dict[str, int] | None:
    from server.db import migrate
    from server.db.store import Store, make_engine
    from server.research.privacy import delete_participant

    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        return delete_participant(Store(engine), participant)
    finally:
        engine.dispose()


def run(args: argparse.Namespace) -> int:
    from server.config import load_config

    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    url = args.db or str(load_config()["DATABASE_URL"])
    if not args.yes:
        if not sys.stdin.isatty():
            print("instructplay participant delete: add --yes to delete without a prompt", file=sys.stderr)
            return 2
        typed = input(f"This deletes every game, event and study answer of {args.participant!r} for good.\n"
                      f"Type the id again to delete: ")
        if typed.strip() != args.participant:
            print("instructplay participant delete: the ids differ; nothing was deleted", file=sys.stderr)
            return 1
    counts = delete(url, args.participant)
    if counts is None:
        print(f"instructplay participant delete: no participant {args.participant!r} in {url}; nothing was "
              f"deleted (ids are case-sensitive)", file=sys.stderr)
        return 1
    print(f"instructplay participant delete: deleted {', '.join(f'{n} {t}' for t, n in counts.items())}; "
          f"a record of the deletion (salted hash, time) is kept")
    return 0
