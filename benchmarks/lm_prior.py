"""Benchmark: the causal-LM prior's shared-prefix KV-cache scorer against naive scoring, same model, same run.

Naive scoring is the paper's: one full forward pass per (observation, action) prompt. The fast scorer
encodes each observation's shared prefix once, scores every action from the cached keys and values,
and batches many prompts. Both run on the Hanabi table (the 321 partner-move texts x 12 action texts,
or a subset with --histories) and on Say-Select (every partner number, several instructions). The script
prints the largest log-probability difference (must be < 1e-4) and the speed-up, then times a cached
prior lookup (must be well under 50 microseconds).

    .venv/bin/python -m benchmarks.lm_prior                      # a random 30M-parameter GPT-2 built here
    .venv/bin/python -m benchmarks.lm_prior --histories 321      # the whole Hanabi table
    .venv/bin/python -m benchmarks.lm_prior --model /path/to/gpt2 --device cuda
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import timeit

import numpy as np

from agents.priors.base import log_softmax
from agents.priors.cache import CachedPrior, PriorCache
from agents.priors.hanabi_table import HANABI_COLOR_INSTRUCTION

SAY_ACTIONS = [" 1", " 2", " 3", " 4", " 5", " 0"]
SAY_OBSERVATIONS = [""] + [f"My partner selected {k}." for k in range(1, 6)]
SAY_INSTRUCTIONS = [
    "I should select the same number as my partner.",
    "Pick whatever number my partner says.",
    "Select the ball my partner names, and quit when my partner repeats the number I selected last time.",
    "Copy.",
]
TOLERANCE = 1e-4


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", help="a local causal LM folder (default: a random GPT-2 built on the spot)")
    p.add_argument("--layers", type=int, default=6, help="layers of the built model")
    p.add_argument("--width", type=int, default=384, help="hidden size of the built model")
    p.add_argument("--vocab", type=int, default=50257, help="output vocabulary of the built model (GPT-2's size)")
    p.add_argument("--histories", type=int, default=12, help="Hanabi partner-move texts to score (321 = all)")
    p.add_argument("--batch-size", type=int, default=96, help="prompts per forward pass of the fast scorer")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a shared 2-core machine)")
    return p.parse_args()


class Clock:
    """Wall time and this process's CPU time; CPU time is the steadier measure on a shared machine."""

    def __init__(self, fn):
        wall, cpu = time.perf_counter(), time.process_time()
        self.result = fn()
        self.wall, self.cpu = time.perf_counter() - wall, time.process_time() - cpu

    def __str__(self):
        return f"{self.wall:.2f} s wall / {self.cpu:.2f} s CPU"


def bench_hanabi(prior, histories, actions) -> bool:
    instruction = HANABI_COLOR_INSTRUCTION
    naive = Clock(lambda: np.array([prior.naive_log_probs("hanabi", instruction, h, actions) for h in histories]))
    prior.cache = PriorCache()  # empty, so the fast scorer runs the model for every prompt
    fast = Clock(lambda: np.array([log_softmax(row) for row in
                                   prior.hanabi_logits(instruction, histories, actions, progress=True)]))
    return report(f"Hanabi table {len(histories)} x {len(actions)}", naive, fast)


def bench_say_select(prior) -> bool:
    pairs = [(i, o) for i in SAY_INSTRUCTIONS for o in SAY_OBSERVATIONS]
    naive = Clock(lambda: np.array([prior.naive_log_probs("say-select", i, o, SAY_ACTIONS) for i, o in pairs]))
    prior.cache = PriorCache()

    def fast_log_probs():
        scores = [prior.say_select_scores(i, SAY_OBSERVATIONS, SAY_ACTIONS) for i in SAY_INSTRUCTIONS]
        return np.array([log_softmax(row) for row in np.concatenate(scores)])

    return report(f"Say-Select {len(pairs)} prompts x {len(SAY_ACTIONS)} candidates", naive, Clock(fast_log_probs))


def report(label: str, naive: Clock, fast: Clock) -> bool:
    diff = float(np.abs(naive.result - fast.result).max())
    verdict = "OK" if diff < TOLERANCE else f"FAIL (must be < {TOLERANCE:g})"
    print(f"{label}:\n  naive {naive}; shared-prefix KV batched {fast}\n"
          f"  speed-up {naive.cpu / fast.cpu:.1f}x in CPU time ({naive.wall / fast.wall:.1f}x wall); "
          f"max |log-prob difference| {diff:.2e} {verdict}")
    return diff < TOLERANCE


def bench_lookup(prior) -> bool:
    prior.cache = PriorCache()  # so that the first call below runs the model
    with tempfile.TemporaryDirectory() as folder:
        cached = CachedPrior(prior, PriorCache(os.path.join(folder, "priors.sqlite3")))
        args = ("say-select", SAY_INSTRUCTIONS[0], "My partner selected 3.", SAY_ACTIONS)
        first = Clock(lambda: cached.log_probs(*args))
        n = 200_000
        hit_s = min(timeit.repeat(lambda: cached.log_probs(*args), number=n, repeat=3)) / n
        disk = CachedPrior(prior, PriorCache(os.path.join(folder, "priors.sqlite3")))
        from_disk = Clock(lambda: disk.log_probs(*args))
    print(f"cached prior lookup (CachedPrior.log_probs, in-memory hit): {hit_s * 1e6:.2f} us "
          f"({'OK' if hit_s < 50e-6 else 'FAIL'}: target < 50 us); first read from the SQLite file "
          f"{from_disk.wall * 1e6:.0f} us; first call (runs the model) {first.wall * 1e3:.1f} ms")
    return hit_s < 50e-6


def main() -> int:
    args = parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    from agents.envs.hanabi.language import all_action_texts, all_partner_move_texts
    from agents.priors.lm import CausalLMPrior

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as folder:
        path = args.model
        if path is None:
            from tests.tiny_lm import build_tiny_lm

            path = build_tiny_lm(folder, arch="gpt2", n_layer=args.layers, n_embd=args.width, n_head=6, init_std=0.05,
                                 vocab_size=args.vocab)
        prior = CausalLMPrior(path, device=args.device, hanabi_mode="graded", batch_size=args.batch_size)
        params = sum(p.numel() for p in prior.model.parameters())
        print(f"model {path if args.model else 'random GPT-2 built here'}: {params / 1e6:.1f}M parameters, "
              f"{args.device}, {torch.get_num_threads()} torch thread(s)")
        results = [bench_hanabi(prior, all_partner_move_texts()[:args.histories], all_action_texts()),
                   bench_say_select(prior), bench_lookup(prior)]
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
