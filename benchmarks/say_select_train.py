"""Benchmark: the fast Say-Select instructQ trainer against a straightforward port of the paper's loop.

The reference (benchmarks/reference_say_select.py) has the structure of the paper's code: dict-keyed Q
tables, per-step agent calls, per-transition Python loops in the update, a dict-based Adam. Both train
with the table prior (p = 0.9) and lambda 0.25 in this process, on this machine, one after the other;
the reference runs for a fraction of the episodes and is scaled per episode. The script prints
episodes per second for each, the ratios, and the projected time of 10 seeds x 50,000 episodes.

    .venv/bin/python -m benchmarks.say_select_train
    .venv/bin/python -m benchmarks.say_select_train --reference-episodes 1000 --episodes 5000
    .venv/bin/python -m benchmarks.say_select_train --paper-code /path/to/instruct-rl/say-select

--paper-code also times the paper's own `train.train` from a local checkout (read, never copied here),
with its GPT-J call replaced by the same table prior.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import types
from dataclasses import replace

import numpy as np

from agents.envs.say_select import bob_prior_table
from agents.learn.say_select_cli import train_runs
from agents.learn.say_select_q import Config, train
from agents.priors import PAPER_INSTRUCTION, TablePrior
from benchmarks import reference_say_select

FULL_EPISODES, FULL_SEEDS = 50_000, 10


def time_reference(table, episodes: int) -> float:
    start = time.perf_counter()
    reference_say_select.train(1, table, 0.25, replace(Config(), episodes=episodes))
    return (time.perf_counter() - start) / episodes


def time_fast_one_seed(table, episodes: int) -> float:
    start = time.perf_counter()
    train([1], table, [0.25], replace(Config(), episodes=episodes))
    return (time.perf_counter() - start) / episodes


def time_fast_ten_seeds(table, episodes: int, workers: int) -> float:
    """Wall seconds per episode of all 10 seeds together, worker start-up included."""
    seeds = np.arange(1, FULL_SEEDS + 1)
    start = time.perf_counter()
    train_runs(seeds, np.broadcast_to(table, (FULL_SEEDS,) + table.shape), np.full(FULL_SEEDS, 0.25),
               replace(Config(), episodes=episodes), workers, desc="fast, 10 seeds")
    return (time.perf_counter() - start) / episodes


def time_paper_code(directory: str, episodes: int) -> float:
    """The paper's train.train() with GPT-J replaced by the table prior (p = 0.9)."""
    prior = TablePrior(0.9)

    def table_predict(model, tokenizer, prompt, targets, cache):
        return prior.log_probs("say-select", PAPER_INSTRUCTION, prompt, targets)

    sys.modules["llm"] = types.SimpleNamespace(gpt2_predict=table_predict, gpt2_predict_fake=table_predict)
    sys.path.insert(0, os.path.abspath(directory))
    import train as paper_train  # noqa: E402  (the paper's say-select/train.py)

    start = time.perf_counter()
    paper_train.train(True, None, episodes, replay_size=1000, lambda_=[0.0, 0.25], lr=0.02, batchsize=64,
                      model=None, tokenizer=None, cache={}, seed=1, eps=0.15, epoch_len=100,
                      use_adam=[True, True])
    return (time.perf_counter() - start) / episodes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference-episodes", type=int, default=2000, help="episodes for the reference (one seed)")
    parser.add_argument("--episodes", type=int, default=10_000, help="episodes for the fast trainer")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes for the 10-seed run")
    parser.add_argument("--paper-code", help="a checkout of instruct-rl's say-select/ folder, to time it too")
    args = parser.parse_args()

    table = bob_prior_table(TablePrior(0.9), PAPER_INSTRUCTION)
    cores = os.cpu_count() or 1
    print(f"machine: {cores} CPU cores, load average {os.getloadavg()[0]:.1f} at start")

    reference = time_reference(table, args.reference_episodes)
    one = time_fast_one_seed(table, args.episodes)
    ten = time_fast_ten_seeds(table, args.episodes, args.workers)
    rows = [("reference (dict-based, the paper's loop)", reference, args.reference_episodes)]
    if args.paper_code:
        rows.append(("paper's own code (table prior for GPT-J)", time_paper_code(args.paper_code, args.reference_episodes),
                     args.reference_episodes))
    rows.append(("fast trainer, one seed", one, args.episodes))

    print(f"\n{'trainer':<44}{'episodes':>9}{'ep/s per seed':>15}{'one seed x 50k':>16}")
    for name, per_episode, episodes in rows:
        print(f"{name:<44}{episodes:>9}{1 / per_episode:>15.0f}{per_episode * FULL_EPISODES:>15.1f}s")
    print(f"{f'fast trainer, 10 seeds on {args.workers} workers':<44}{args.episodes:>9}"
          f"{FULL_SEEDS / ten:>15.0f}{'':>16}")

    ref_ten = reference * FULL_EPISODES * FULL_SEEDS / min(cores, FULL_SEEDS)  # seeds spread over every core
    fast_ten = ten * FULL_EPISODES
    print(f"\none seed, one core: fast trainer is {reference / one:.0f}x the reference")
    print(f"10 seeds x 50k on {cores} cores: reference {ref_ten / 60:.1f} min, fast trainer {fast_ten:.1f} s "
          f"(projected) -> {ref_ten / fast_ten:.0f}x")
    if args.paper_code:
        paper = rows[1][1]
        print(f"paper's code: {paper * FULL_EPISODES / 60:.1f} min per seed; "
              f"10 seeds on {cores} cores {paper * FULL_EPISODES * FULL_SEEDS / min(cores, FULL_SEEDS) / 60:.1f} min "
              f"-> fast trainer {paper * FULL_EPISODES * FULL_SEEDS / min(cores, FULL_SEEDS) / fast_ten:.0f}x")


if __name__ == "__main__":
    main()
