"""`instructplay study open FILE`: check the study file and load it into the database as the study's newest
version (a changed file is a new version; an unchanged one keeps its number); print the links to share."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="the study file (YAML), e.g. docs/studies/example.yaml")
    parser.add_argument("--db", help="database URL (default INSTRUCTPLAY_DATABASE_URL or the SQLite default)")
    parser.add_argument("--url", help="the server's public address for the links (default http://HOST:PORT)")


def open_study(path: Path, url: str) -> tuple[str, int, bool]:
    """Check the file and store it: (study id, version, whether it is a new version). Raises
    StudyFileError with every error."""
    from server.db import migrate
    from server.db.store import StudyStore, make_engine
    from server.studies import spec

    text = path.read_text(encoding="utf-8")
    study = spec.parse(text)
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        version, new = StudyStore(engine).open_study(study.id, study.title, text, study.digest, str(path))
    finally:
        engine.dispose()
    return study.id, version, new


def run(args: argparse.Namespace) -> int:
    from server.config import load_config
    from server.studies.commands.check_study import check_file
    from server.studies.spec import parse

    path = Path(args.file)
    if not check_file(path):
        return 1
    config = load_config()
    study_id, version, new = open_study(path, args.db or str(config["DATABASE_URL"]))
    study = parse(path.read_text(encoding="utf-8"))
    base = (args.url or f"http://{config['HOST']}:{config['PORT']}").rstrip("/")
    print(f"instructplay: study {study_id} is open at version {version}"
          + ("" if new else " (the file is unchanged)"))
    running = str(config["PRIOR_BACKEND"])
    for game, wanted in study.prior_backends().items():
        have = running if game == "say-select" else "conventions"
        if wanted != {have}:
            print(f"warning: the study reads {game} instructions with {', '.join(sorted(wanted))}, but the server "
                  f"would run {have}: start it with INSTRUCTPLAY_PRIOR_BACKEND={min(wanted)}")
    link = f"{base}/s/{study_id}"
    if "prolific" in study.entry:
        print(f"  Prolific study URL: {link}?PROLIFIC_PID={{{{%PROLIFIC_PID%}}}}&STUDY_ID={{{{%STUDY_ID%}}}}"
              f"&SESSION_ID={{{{%SESSION_ID%}}}}")
    if "mturk" in study.entry:
        print(f"  MTurk ExternalQuestion URL: {link} (MTurk adds workerId, assignmentId, hitId)")
    if "ask" in study.entry or "anonymous" in study.entry:
        print(f"  direct link: {link}")
    return 0
