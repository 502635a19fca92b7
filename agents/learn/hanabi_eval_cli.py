"""`instructplay evaluate hanabi`: self-play scores, convention metrics and cross-play of Hanabi agents.

    instructplay evaluate hanabi agents/checkpoints/hanabi/color.pt rulebot:rank --games 1000 --out eval/
    instructplay evaluate hanabi A.pt B.pt C.pt --cross-play

Agents are checkpoint paths or `rulebot:color` / `rulebot:rank`. For each agent it prints the self-play
mean with its standard error, the perfect-game and bomb-out rates and the knowledge of played cards,
and saves the conditional action matrix as <out>/<name>_action_matrix.png; with --cross-play it adds
a table of every pair. Deals come from --seed, so the numbers repeat exactly.
"""

from __future__ import annotations

import argparse
import json
import os


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("agents", nargs="+", help="checkpoint paths, or rulebot:color / rulebot:rank")
    parser.add_argument("--games", type=int, default=1000, help="games per evaluation (at least 1000 for reported numbers)")
    parser.add_argument("--seed", type=int, default=1, help="deal i uses seed + i")
    parser.add_argument("--out", default="eval", help="directory for the action-matrix images and results.json")
    parser.add_argument("--cross-play", action="store_true", help="also play every pair of agents together")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")


def run(args: argparse.Namespace) -> int:
    import torch

    from agents.hanabi_policy import load_hanabi_agent
    from agents.learn.hanabi_eval import cross_play, cross_play_table, save_action_matrix, self_play

    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    try:
        agents = [load_hanabi_agent(path) for path in args.agents]
    except (FileNotFoundError, ValueError) as e:
        print(f"instructplay: {e}")
        return 2
    results = {"games": args.games, "seed": args.seed, "self_play": {}}
    for agent in agents:
        report = self_play(agent, args.games, args.seed)
        image = os.path.join(args.out, f"{agent.name}_action_matrix.png")
        save_action_matrix(report, image, f"{agent.name}: P(my move | partner's last move)")
        summary = report.summary()
        results["self_play"][agent.name] = summary
        knowledge = ", ".join(f"{k} {v:.1%}" for k, v in summary["played_card_knowledge"].items())
        print(f"{agent.name}: self-play {summary['mean']:.2f} ± {summary['sem']:.2f} over {summary['games']} games, "
              f"perfect {summary['perfect_rate']:.1%}, bomb-out {summary['bomb_rate']:.1%}; "
              f"played cards known by {knowledge}; action matrix in {image}")
    if args.cross_play and len(agents) > 1:
        table = cross_play_table(cross_play(agents, args.games, args.seed))
        results["cross_play"] = table
        print(table)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(results, f, indent=2)
    return 0
