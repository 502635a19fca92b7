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

from agents.envs.hanabi.language import PAPER_INSTRUCTIONS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("agents", nargs="+", help="checkpoint paths, or rulebot:color / rulebot:rank")
    parser.add_argument("--games", type=int, default=1000, help="games per evaluation (at least 1000 for reported numbers)")
    parser.add_argument("--seed", type=int, default=1, help="deal i uses seed + i")
    parser.add_argument("--out", default="eval", help="directory for the action-matrix images and results.json")
    parser.add_argument("--cross-play", action="store_true", help="also play every pair of agents together")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--write-cards", action="store_true",
                        help="write each checkpoint's model card (<checkpoint>.md) from its metadata and these numbers")


def run(args: argparse.Namespace) -> int:
    import torch

    from agents.learn.hanabi_eval import cross_play, cross_play_table, save_action_matrix, self_play
    from agents.policies.hanabi import load_hanabi_agent

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
        if args.write_cards and getattr(agent, "card", None):
            write_card(agent, summary, args, os.path.splitext(agent.path)[0] + ".md")
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


def write_card(agent, summary: dict, args, path: str) -> None:
    """The model card: what the agent was told and trained with, and what `evaluate` measured."""
    meta = agent.card
    knowledge = summary["played_card_knowledge"]
    instruction = meta.get("instruction")
    lines = [
        f"# Hanabi agent `{agent.name}`", "",
        f"- Instruction: {INSTRUCTION_TEXT.get(instruction, 'none (vanilla: no prior, lam = 0)')}",
        f"- Prior backend: {'the paper prior, rebuilt exactly as a rule (agents/policies/hanabi_net.py paper_prior_logits)' if instruction else 'none'}",
        f"- Algorithm: {meta.get('algo')}; lam schedule: {meta.get('lam_schedule', '0')}; beta: {meta.get('beta')}; "
        f"lam used at play time: {meta.get('play_lambda', 0.0)}",
        f"- Start: {meta.get('init')}",
        *_rl_lines(meta),
        f"- Hardware: {meta.get('hardware', 'CPU')}",
        f"- Network: MLP on the 658-number HLE encoding, {sum(p.numel() for p in agent.net.parameters()):,} parameters",
        "",
        f"## Measured by `instructplay evaluate hanabi {agent.path} --games {args.games} --seed {args.seed}`", "",
        f"- Self-play score: {summary['mean']:.2f} ± {summary['sem']:.2f} (s.e.m.) over {summary['games']} games",
        f"- Perfect games: {summary['perfect_rate']:.1%}; bomb-outs: {summary['bomb_rate']:.1%}",
        f"- Knowledge of played cards: colour only {knowledge['color']:.1%}, rank only {knowledge['rank']:.1%}, "
        f"both {knowledge['both']:.1%}, neither {knowledge['none']:.1%}",
        f"- Action matrix: `{agent.name}_action_matrix.png` in the evaluation's --out directory", "",
    ]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def _rl_lines(meta: dict) -> list[str]:
    """Steps and wall time of RL; an agent trained in stages (each run started from the last) lists each."""
    from agents.learn.commands.train_hanabi import rl_stage

    stages = meta.get("stages", []) + [rl_stage(meta)]
    steps, wall = sum(s.get("steps") or 0 for s in stages), sum(s.get("wall_s") or 0 for s in stages)
    lines = [f"- Environment steps of RL: {steps:,}; wall time: {meta.get('init_wall_s', 0) / 60:.1f} min "
             f"to clone the starting policy, then {wall / 60:.1f} min of RL"]
    if len(stages) > 1:
        lines += [f"  - stage {i}: {s.get('algo')}, {s.get('steps') or 0:,} steps in {(s.get('wall_s') or 0) / 60:.1f} min, "
                  f"lam {s.get('lam_schedule', '0')}" + (f", Adam lr {s['lr']:g}" if s.get("lr") else "")
                  for i, s in enumerate(stages, 1)]
    return lines


INSTRUCTION_TEXT = {kind: f"\"{text}\" (the paper's meta_prompt5_{kind})" for kind, text in PAPER_INSTRUCTIONS.items()}
