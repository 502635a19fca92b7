"""The `instructplay` command line: one entry point for serving, training, evaluating, plotting,
interpreting, listing conventions, exporting, scoring people's games, deleting a participant's data and
database upgrades.

`COMMANDS` below is the one table of commands. Each command is a module in the `commands` package beside
the code it runs (server/commands/, agents/learn/commands/, agents/priors/commands/), named after the
command, that provides `add_arguments(parser)` and `run(args) -> int`; this file only routes to it.
A command module imports its heavy dependencies inside `run`, so `instructplay --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# command -> (module, help). "train" and "evaluate" take the game as their first argument.
COMMANDS = {
    "serve": ("server.commands.serve", "start the game server"),
    "train say-select": ("agents.learn.commands.train_say_select", "train Say-Select agents with instructQ / Q-learning"),
    "train hanabi": ("agents.learn.commands.train_hanabi", "train Hanabi agents with instructPPO / instructQ"),
    "train reader": ("agents.priors.commands.train_reader",
                     "train the learned reader of instructions (both games) on the labelled instructions"),
    "evaluate hanabi": ("agents.learn.commands.evaluate_hanabi",
                        "evaluate Hanabi agents: self-play, conventions, cross-play"),
    "plot hanabi": ("agents.learn.commands.plot_hanabi", "plot Hanabi training runs side by side: score and conventions"),
    "interpret": ("agents.priors.commands.interpret", "show what an instruction is understood to mean"),
    "conventions": ("agents.priors.commands.conventions", "list the named conventions of a game"),
    "export": ("server.commands.export",
               "export games, events, instructions, study answers and scores as JSON Lines or CSV tables"),
    "score": ("server.commands.score",
              "score people's games: coordination per game, participant and condition, with a report"),
    "participant delete": ("server.commands.participant", "delete one participant's data, keeping a record that it was done"),
    "db": ("server.commands.db", "database maintenance (upgrade to the newest schema)"),
    "study check": ("server.studies.commands.check_study", "check a study file: every problem with its line"),
    "study open": ("server.studies.commands.open_study",
                   "load a study file into the database as its newest version, and print its links"),
}
GROUPS = {"train": "train a game's agents, or the learned reader of instructions", "evaluate": "evaluate a game's agents",
          "plot": "plot a game's training runs", "study": "run a study: check or open its file",
          "participant": "a participant's data: delete it"}


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
                g = sub.add_parser(words[0], help=GROUPS[words[0]])
                groups[words[0]] = g.add_subparsers(dest="game", required=True)
            p = groups[words[0]].add_parser(words[1], help=help_text)
        p.set_defaults(_module=module)
        importlib.import_module(module).add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(importlib.import_module(args._module).run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
