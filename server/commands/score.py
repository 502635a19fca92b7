"""`instructplay score [--study ID] [--out DIR]`: every game's coordination scores, per participant and per
condition with 95% intervals, differences between conditions and learning across games, as CSV tables,
plots and a one-page HTML report (docs/SCORING.md)."""

from __future__ import annotations

import argparse
import sys

from server.research.tables import DEFAULT_RESAMPLES, DEFAULT_SEED


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--study", help="score only this study's games (its id); default: every game")
    parser.add_argument("--out", default="scores", help="folder for the CSV tables, plots and report.html "
                                                        "(default: ./scores)")
    parser.add_argument("--db", help="database URL (default INSTRUCTPLAY_DATABASE_URL or the SQLite default)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help=f"seed of the bootstrap and permutation draws (default {DEFAULT_SEED})")
    parser.add_argument("--resamples", type=int, default=DEFAULT_RESAMPLES,
                        help=f"bootstrap and permutation resamples per comparison (default {DEFAULT_RESAMPLES})")


def score(url: str, out: str, *, study: str | None = None, seed: int = DEFAULT_SEED,
          resamples: int = DEFAULT_RESAMPLES, echo=print) -> int:
    from pathlib import Path

    from server.db import migrate
    from server.db.store import Store, make_engine
    from server.research.report import build_tables, score_games, summary_lines, write_report

    if resamples < 100:
        echo(f"instructplay score: --resamples {resamples} is too few for a 95% interval; use 1000 or more",
             file=sys.stderr)
        return 2
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        store = Store(engine)
        scores, skipped = score_games(store.research_games(study=study))
        if not scores:
            where = f"study {study!r}" if study else "the database"
            echo(f"instructplay score: no games in {where} ({url}); check --study and --db "
                 f"(`instructplay export --out -` lists what is stored)", file=sys.stderr)
            return 1
        tables = build_tables(scores, seed=seed, resamples=resamples, skipped=skipped)
        title = f"Coordination scores: study {study}" if study else "Coordination scores"
        written = write_report(tables, Path(out), title=title)
    finally:
        engine.dispose()
    for line in summary_lines(tables):
        echo(line)
    for line in skipped:
        echo(f"instructplay score: skipped {line}", file=sys.stderr)
    echo(f"instructplay score: {len(scores)} games; wrote {', '.join(written)} to {out}", file=sys.stderr)
    return 0


def run(args: argparse.Namespace) -> int:
    from server.config import load_config

    url = args.db or str(load_config()["DATABASE_URL"])
    return score(url, args.out, study=args.study, seed=args.seed, resamples=args.resamples)
