"""`instructplay export --out FILE.jsonl` (every game with its instructions, events and outcome, one game per
line: docs/DATABASE.md, "Export") or `instructplay export --format csv --out DIR` (long tables for pandas and R:
docs/EXPORT.md). Filters: --study, --since, --participant; --pseudonymise replaces participant ids by salted
hashes. Nothing exported names a path of the server."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="JSON Lines: the file to write ('-' for standard output); "
                                                     "CSV: the folder for the tables")
    parser.add_argument("--format", choices=("jsonl", "csv"), default="jsonl",
                        help="jsonl (default): one game per line; csv: long tables (docs/EXPORT.md)")
    parser.add_argument("--db", help="database URL (default INSTRUCTPLAY_DATABASE_URL or the SQLite default)")
    parser.add_argument("--study", help="only this study's games, places and answers (its id)")
    parser.add_argument("--since", help="only games and study events from this ISO 8601 date or time on "
                                        "(e.g. 2026-11-23 or 2026-11-23T10:00Z; UTC unless a zone is given)")
    parser.add_argument("--participant", help="only this participant's data (their id)")
    parser.add_argument("--pseudonymise", "--pseudonymize", action="store_true",
                        help="replace participant ids by salted hashes, the same within this export, and leave "
                             "out link parameters (Prolific session, MTurk assignment ids)")
    parser.add_argument("--salt", help="the pseudonyms' salt (default: random for each export, so two exports "
                                       "cannot be linked); keep it secret")


def export(url: str, out, **options) -> int:
    """Write the games of the database at `url` as JSON Lines to the text stream `out`; the number of games.
    `options`: study, since (datetime), participant, pseudonyms (a Pseudonyms or None)."""
    from server.db import migrate
    from server.db.store import Store, make_engine
    from server.research.exports import Filters, export_jsonl

    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        pseudonyms = options.pop("pseudonyms", None)
        return export_jsonl(Store(engine), out, Filters(**options), pseudonyms)
    finally:
        engine.dispose()


def export_tables(url: str, folder: str, **options) -> dict[str, int]:
    from pathlib import Path

    from server.db import migrate
    from server.db.store import Store, make_engine
    from server.research.exports import Filters, export_csv

    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        pseudonyms = options.pop("pseudonyms", None)
        return export_csv(Store(engine), Path(folder), Filters(**options), pseudonyms)
    finally:
        engine.dispose()


def run(args: argparse.Namespace) -> int:
    from server.config import load_config
    from server.research.exports import Pseudonyms, parse_since

    url = args.db or str(load_config()["DATABASE_URL"])
    try:
        since = parse_since(args.since) if args.since else None
    except ValueError as e:
        print(f"instructplay export: {e}", file=sys.stderr)
        return 2
    if args.salt is not None and not args.pseudonymise:
        print("instructplay export: --salt goes with --pseudonymise", file=sys.stderr)
        return 2
    options = {"study": args.study, "since": since, "participant": args.participant,
               "pseudonyms": Pseudonyms(args.salt) if args.pseudonymise else None}
    if args.format == "csv":
        if args.out == "-":
            print("instructplay export: --format csv writes several tables: give --out a folder", file=sys.stderr)
            return 2
        counts = export_tables(url, args.out, **options)
        print(f"instructplay export: wrote {', '.join(f'{name} ({n} rows)' for name, n in counts.items())} "
              f"to {args.out}", file=sys.stderr)
        return 0
    if args.out == "-":
        count = export(url, sys.stdout, **options)
    else:
        with open(args.out, "w", encoding="utf-8") as out:
            count = export(url, out, **options)
    print(f"instructplay export: exported {count} games to {args.out}", file=sys.stderr)
    return 0
