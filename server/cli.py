"""The `instructplay` command line: one entry point for serving, training, evaluating, interpreting,
exporting and scoring.

Each command lives in the module that owns the work; this file only routes to it. A command module
provides `add_arguments(parser)` and `run(args) -> int`. Modules are imported only when their command
runs, so `instructplay --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# command -> (module, help). "train" and "evaluate" take the game as their first argument.
COMMANDS = {
    "serve": ("server.commands.serve", "start the game server"),
    "train say-select": ("agents.learn.say_select_cli", "train Say-Select agents with instructQ / Q-learning"),
    "train hanabi": ("agents.learn.hanabi_cli", "train Hanabi agents with instructPPO / instructQ"),
    "evaluate hanabi": ("agents.learn.hanabi_eval_cli", "evaluate Hanabi agents: self-play, conventions, cross-play"),
    "plot hanabi": ("agents.learn.hanabi_plot_cli", "plot Hanabi training runs side by side: score and conventions"),
    "interpret": ("agents.priors.interpret_cli", "show what an instruction is understood to mean"),
    "conventions": ("agents.priors.conventions_cli", "list the named conventions of a game"),
    "export": ("server.commands.export", "export every game with its instructions and events as JSON Lines"),
    "db": ("server.commands.db", "database maintenance (upgrade to the newest schema)"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="instructplay", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    groups: dict[str, argparse._SubParsersAction] = {}
    for name, (module, help_text) in COMMANDS.items():
        words = name.split()
        if len(words) == 1:
            p = sub.add_parser(words[0], help=help_text)
        else:
            if words[0] not in groups:
                g = sub.add_parser(words[0], help=f"{words[0]} a game's agents")
                groups[words[0]] = g.add_subparsers(dest="game", required=True)
            p = groups[words[0]].add_parser(words[1], help=help_text)
        p.set_defaults(_module=module)
        try:
            importlib.import_module(module).add_arguments(p)
        except ModuleNotFoundError as e:
            if not (e.name and module.startswith(e.name)):
                raise
            p.set_defaults(_missing=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "_missing", False):
        print(f"instructplay: this command is not implemented yet ({args._module})", file=sys.stderr)
        return 2
    return int(importlib.import_module(args._module).run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
