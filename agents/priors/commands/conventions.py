"""`instructplay conventions --game GAME [--json]`: list a game's named conventions with their descriptions."""

from __future__ import annotations

import argparse
import json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--game", required=True, choices=("say-select", "hanabi"))
    parser.add_argument("--json", action="store_true", help="one JSON object per line")


def run(args: argparse.Namespace) -> int:
    from agents.priors.conventions import CONVENTIONS

    for c in CONVENTIONS[args.game]:
        if args.json:
            print(json.dumps({"convention": c.id, "description": c.description, "conditional": c.conditional}))
        else:
            print(f"{c.id:<18} {c.description}")
    return 0
