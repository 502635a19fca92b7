"""`instructplay study check FILE...`: every problem of a study file, each with its line; a summary of
what a participant goes through when there is none. Exit status 1 when a file has errors."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="study files (YAML), e.g. docs/studies/example.yaml")


def check_file(path: Path, out=sys.stdout) -> bool:
    """Print the file's problems as FILE:LINE: severity: message (and a summary when it is valid); True when
    it has no errors."""
    from server.studies import spec

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        print(f"{path}: error: cannot read it ({e})", file=out)
        return False
    study, problems = spec.check(text)
    for p in problems:
        print(f"{path}:{p.line or 1}: {p.severity}: {p.message}", file=out)
    if study is None:
        errors = sum(p.severity == "error" for p in problems)
        print(f"{path}: {errors} error{'s' * (errors != 1)}; fix {'them' if errors != 1 else 'it'} and check again",
              file=out)
        return False
    print(summary(study), file=out)
    return True


def summary(study) -> str:
    from server.studies import assignment

    lines = [f"study {study.id}: {study.title!r}, consent version {study.consent_version}",
             f"  entry: {', '.join(study.entry)}; idle timeout {study.idle_timeout_s / 60:g} min; "
             f"{len(study.seeds)} seeds shared by all conditions"]
    for c in study.conditions:
        games = "; ".join(f"{b}: {g.game} with {g.partner}"
                          + ("" if g.may_instruct else ", no typed instructions")
                          + (f", given {g.instruction!r}" if g.instruction else "")
                          + (f", lambda {g.lam:g}" if g.lam is not None else "") for b, g in c.games.items())
        lines.append(f"  condition {c.id} (target {c.target}): {games}")
    rows = [assignment.block_order(study, slot) for slot in range(len(assignment.williams_square(len(study.blocks))))]
    lines.append(f"  block orders ({study.order}): " + " | ".join(" > ".join(r) for r in rows))
    pages = assignment.plan(study, study.conditions[0].id, 0).pages
    lines.append(f"  pages of a participant: {' > '.join(p['kind'] for p in pages)}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    ok = [check_file(Path(f)) for f in args.files]
    return 0 if all(ok) else 1
