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
import resource
import sys
import time
import types
from dataclasses import replace

import numpy as np

from agents.envs.say_select import bob_prior_table
from agents.learn.commands.train_say_select import train_runs
from agents.learn.say_select_q import Config, train
from agents.priors import PAPER_INSTRUCTION, TablePrior
from benchmarks import reference_say_select

FULL_EPISODES, FULL_SEEDS = 50_000, 10


class Timer:
    """Wall seconds and CPU seconds (this process and its finished children) of a block."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), _cpu_seconds()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, _cpu_seconds() - self.cpu


def _cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def time_reference(table, episodes: int) -> Timer:
    with Timer() as timer:
        reference_say_select.train(1, table, 0.25, replace(Config(), episodes=episodes))
    return timer


def time_fast_one_seed(table, episodes: int) -> Timer:
    with Timer() as timer:
        train([1], table, [0.25], replace(Config(), episodes=episodes))
    return timer


def time_fast_ten_seeds(table, episodes: int, workers: int) -> Timer:
    """All 10 seeds together over `workers` processes, worker start-up included."""
    seeds = np.arange(1, FULL_SEEDS + 1)
    with Timer() as timer:
        train_runs(seeds, np.broadcast_to(table, (FULL_SEEDS,) + table.shape), np.full(FULL_SEEDS, 0.25),
                   replace(Config(), episodes=episodes), workers, desc="fast, 10 seeds")
    return timer


def time_paper_code(directory: str, episodes: int) -> Timer:
    """The paper's train.train() with GPT-J replaced by the table prior (p = 0.9)."""
    prior = TablePrior(0.9)

    def table_predict(model, tokenizer, prompt, targets, cache):
        return prior.log_probs("say-select", PAPER_INSTRUCTION, prompt, targets)

    sys.modules["llm"] = types.SimpleNamespace(gpt2_predict=table_predict, gpt2_predict_fake=table_predict)
    sys.path.insert(0, os.path.abspath(directory))
    import train as paper_train  # noqa: E402  (the paper's say-select/train.py)

    with Timer() as timer:
        paper_train.train(True, None, episodes, replay_size=1000, lambda_=[0.0, 0.25], lr=0.02, batchsize=64,
                          model=None, tokenizer=None, cache={}, seed=1, eps=0.15, epoch_len=100,
                          use_adam=[True, True])
    return timer


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

    runs = [("reference (dict-based, the paper's loop)", 1, args.reference_episodes,
             time_reference(table, args.reference_episodes))]
    if args.paper_code:
        runs.append(("paper's own code (table prior for GPT-J)", 1, args.reference_episodes,
                     time_paper_code(args.paper_code, args.reference_episodes)))
    runs.append(("fast trainer, 1 seed", 1, args.episodes, time_fast_one_seed(table, args.episodes)))
    runs.append((f"fast trainer, 10 seeds, {args.workers} workers", FULL_SEEDS, args.episodes,
                 time_fast_ten_seeds(table, args.episodes, args.workers)))

    print(f"\n{'trainer':<42}{'episodes':>9}{'seed-ep/s wall':>16}{'seed-ep/s CPU':>15}")
    for name, seeds, episodes, t in runs:
        print(f"{name:<42}{episodes:>9}{seeds * episodes / t.wall:>16.0f}{seeds * episodes / t.cpu:>15.0f}")

    print(f"\nprojected 10 seeds x {FULL_EPISODES} episodes on {cores} cores (CPU: with the cores to ourselves):")
    parallel = min(cores, FULL_SEEDS)
    fast = runs[-1][3]
    fast_wall, fast_cpu = (x * FULL_EPISODES / args.episodes for x in (fast.wall, fast.cpu / min(parallel, args.workers)))
    print(f"  {runs[-1][0]:<40} wall {fast_wall:7.1f} s   CPU {fast_cpu:7.1f} s")
    for name, _, episodes, t in runs[:-2]:
        wall, cpu = (x * FULL_EPISODES * FULL_SEEDS / parallel / episodes for x in (t.wall, t.cpu))
        print(f"  {name:<40} wall {wall / 60:7.1f} min CPU {cpu / 60:7.1f} min   "
              f"-> fast trainer is {wall / fast_wall:.0f}x (wall), {cpu / fast_cpu:.0f}x (CPU)")
    one = runs[-2][3]
    print(f"  one seed alone: fast trainer {one.cpu * FULL_EPISODES / args.episodes:.1f} s CPU, "
          f"{runs[0][3].cpu / runs[0][2] / (one.cpu / args.episodes):.0f}x the reference per episode")

if __name__ == "__main__":
    main()
