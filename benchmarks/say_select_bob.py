"""Benchmark: how long a new Say-Select Bob takes, the server's trainer against the one it replaced, in one run.

Both train a Bob for the paper's instruction with the table prior (p = 0.9) and lambda 0.25, on the
paper's 10 seeds (1..10, as `instructplay train say-select --seeds 10`), one seed after the other, each
trainer in turn on the same seed so that both see the same load:

- reference: `train_bob(..., episodes=50000)`, the trainer the server used until issue 16 (one run of the
  paper's schedule for BOB_EPISODES = 50,000 episodes, keeping the Bob of the best evaluation);
- fast: `train_bob_fast`, what the server trains with now (agents/learn/say_select_q.py, FAST: 4 runs as one
  batched run, more exploration, stopped at the first perfect evaluation of a faithful Bob).

Both go through the same code (the faster evaluation and update speed up both alike), so the ratio is what
the schedule and the stopping rule buy. The script prints each seed's wall and CPU seconds, whether the Bob
learned the paper's intuitive convention, the means and the ratios, and `intuitive: N/10` for each.

    .venv/bin/python -m benchmarks.say_select_bob
    .venv/bin/python -m benchmarks.say_select_bob --reference-seeds 3     # the slow reference on 3 seeds only
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time

from agents.envs.say_select import bob_prior_table
from agents.learn.say_select_q import FAST, is_intuitive, train_bob, train_bob_fast
from agents.priors import PAPER_INSTRUCTION, TablePrior

LAMBDA = 0.25
REFERENCE_EPISODES = 50_000  # BOB_EPISODES before issue 16
TARGET_S = 2.0


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def timed(train, table, seed: int) -> dict:
    """Train one Bob; its wall and CPU seconds, whether it is intuitive, and the share of its budget it used."""
    shares: list[float] = []
    wall, cpu = time.perf_counter(), cpu_seconds()
    bob = train(table, LAMBDA, seed, shares.append)
    wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    used = max([s for s in shares if s < 1.0], default=1.0)
    return {"wall": wall, "cpu": cpu, "intuitive": is_intuitive(bob.conventions()), "score": bob.eval_score,
            "used": used}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=10, help="seeds 1..N (default 10, the paper's)")
    parser.add_argument("--reference-seeds", type=int, default=None,
                        help="time the reference on the first N seeds only (default: all)")
    args = parser.parse_args()
    seeds = list(range(1, args.seeds + 1))
    reference_seeds = seeds[: args.reference_seeds or len(seeds)]
    table = bob_prior_table(TablePrior(0.9), PAPER_INSTRUCTION)
    print(f"machine: {os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.1f} at start")
    print(f"prior: table p=0.9 for \"{PAPER_INSTRUCTION}\", lambda {LAMBDA}; seeds {seeds[0]}..{seeds[-1]}\n")

    def reference(t, lam, seed, progress):
        return train_bob(t, lam, seed, progress, episodes=REFERENCE_EPISODES)

    def fast(t, lam, seed, progress):
        return train_bob_fast(t, lam, seed, progress)

    rows = {"reference": {}, "fast": {}}
    print(f"{'seed':>4}  {'reference wall / CPU s':>22} {'intuitive':>9}   {'fast wall / CPU s':>18} {'intuitive':>9}"
          f" {'episodes':>9}")
    for seed in seeds:
        if seed in reference_seeds:
            rows["reference"][seed] = timed(reference, table, seed)
        rows["fast"][seed] = timed(fast, table, seed)
        r, f = rows["reference"].get(seed), rows["fast"][seed]
        ref = f"{r['wall']:9.2f} / {r['cpu']:6.2f}   {'yes' if r['intuitive'] else 'NO':>9}" if r else f"{'-':>22} {'':>9}"
        episodes = round(f["used"] * FAST.episodes)
        print(f"{seed:>4}  {ref}   {f['wall']:7.2f} / {f['cpu']:6.2f}   {'yes' if f['intuitive'] else 'NO':>9}"
              f" {episodes:>9}", flush=True)

    print()
    for name, by_seed in rows.items():
        walls = [v["wall"] for v in by_seed.values()]
        cpus = [v["cpu"] for v in by_seed.values()]
        print(f"{name:<10} wall mean {statistics.mean(walls):6.2f} s  median {statistics.median(walls):6.2f} s  "
              f"max {max(walls):6.2f} s   CPU mean {statistics.mean(cpus):6.2f} s   "
              f"intuitive: {sum(v['intuitive'] for v in by_seed.values())}/{len(by_seed)}")
    shared = [s for s in seeds if s in rows["reference"]]
    mean = lambda name, key: statistics.mean(rows[name][s][key] for s in shared)  # noqa: E731
    print(f"\nspeed-up on seeds {shared[0]}..{shared[-1]}: {mean('reference', 'wall') / mean('fast', 'wall'):.1f}x "
          f"wall, {mean('reference', 'cpu') / mean('fast', 'cpu'):.1f}x CPU (mean reference / mean fast)")
    within = sum(v["wall"] < TARGET_S for v in rows["fast"].values())
    print(f"fast Bobs ready in under {TARGET_S:g} s: {within}/{len(seeds)}; "
          f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
