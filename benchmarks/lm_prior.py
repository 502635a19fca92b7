"""Benchmark: the causal-LM prior's shared-prefix KV-cache scorer against naive scoring, same model, same run.

Naive scoring is the paper's: one full forward pass per (observation, action) prompt. The fast scorer
encodes each observation's shared prefix once, scores every action from the cached keys and values,
and batches many prompts. Both run on the Hanabi table (the 321 partner-move texts x 12 action texts,
or a subset with --histories) and on Say-Select (every partner number, several instructions). The script
prints the largest log-probability difference (must be < 1e-4) and the speed-up, then times a cached
prior lookup (must be well under 50 microseconds).

    .venv/bin/python -m benchmarks.lm_prior                      # a random ~11M-parameter GPT-2 built here
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
    p.add_argument("--histories", type=int, default=24, help="Hanabi partner-move texts to score (321 = all)")
    p.add_argument("--batch-size", type=int, default=96, help="prompts per forward pass of the fast scorer")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a shared 2-core machine)")
    return p.parse_args()


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def bench_hanabi(prior, histories, actions) -> None:
    from agents.priors.base import log_softmax
    from agents.priors.cache import PriorCache
    from agents.priors.hanabi_table import HANABI_COLOR_INSTRUCTION

    instruction = HANABI_COLOR_INSTRUCTION
    naive, naive_s = timed(lambda: np.array([prior.naive_log_probs("hanabi", instruction, h, actions)
                                             for h in histories]))
    prior.cache = PriorCache()  # empty, so the fast scorer runs the model for every prompt
    logits, fast_s = timed(lambda: prior.hanabi_logits(instruction, histories, actions, progress=True))
    fast = np.array([log_softmax(row) for row in logits])
    report(f"Hanabi table {len(histories)} x {len(actions)}", naive, fast, naive_s, fast_s)


def bench_say_select(prior) -> None:
    from agents.priors.base import log_softmax
    from agents.priors.cache import PriorCache

    pairs = [(i, o) for i in SAY_INSTRUCTIONS for o in SAY_OBSERVATIONS]
    naive, naive_s = timed(lambda: np.array([prior.naive_log_probs("say-select", i, o, SAY_ACTIONS) for i, o in pairs]))
    prior.cache = PriorCache()

    def fast_scores():
        return np.concatenate([prior.say_select_scores(i, SAY_OBSERVATIONS, SAY_ACTIONS) for i in SAY_INSTRUCTIONS])

    scores, fast_s = timed(fast_scores)
    fast = np.array([log_softmax(row) for row in scores])
    report(f"Say-Select {len(pairs)} prompts x {len(SAY_ACTIONS)} candidates", naive, fast, naive_s, fast_s)


def report(label: str, naive: np.ndarray, fast: np.ndarray, naive_s: float, fast_s: float) -> None:
    diff = float(np.abs(naive - fast).max())
    verdict = "OK" if diff < TOLERANCE else f"FAIL (must be < {TOLERANCE:g})"
    print(f"{label}: naive {naive_s:.2f} s, shared-prefix KV batched {fast_s:.2f} s, "
          f"speed-up {naive_s / fast_s:.1f}x; max |log-prob difference| {diff:.2e} {verdict}")


def bench_lookup(prior) -> None:
    from agents.priors.cache import CachedPrior, PriorCache

    with tempfile.TemporaryDirectory() as folder:
        cached = CachedPrior(prior, PriorCache(os.path.join(folder, "priors.sqlite3")))
        args = ("say-select", SAY_INSTRUCTIONS[0], "My partner selected 3.", SAY_ACTIONS)
        _, first_s = timed(lambda: cached.log_probs(*args))
        n = 200_000
        hit_s = min(timeit.repeat(lambda: cached.log_probs(*args), number=n, repeat=3)) / n
        disk = CachedPrior(prior, PriorCache(os.path.join(folder, "priors.sqlite3")))
        _, disk_s = timed(lambda: disk.log_probs(*args))
    print(f"cached prior lookup (CachedPrior.log_probs, in-memory hit): {hit_s * 1e6:.2f} us "
          f"({'OK' if hit_s < 50e-6 else 'FAIL'}: target < 50 us); first read from the SQLite file "
          f"{disk_s * 1e6:.0f} us; first computation {first_s * 1e3:.1f} ms")


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

            path = build_tiny_lm(folder, arch="gpt2", n_layer=args.layers, n_embd=args.width, n_head=6, init_std=0.05)
        prior = CausalLMPrior(path, device=args.device, hanabi_mode="graded", batch_size=args.batch_size)
        params = sum(p.numel() for p in prior.model.parameters())
        print(f"model {path if args.model else 'random GPT-2 built here'}: {params / 1e6:.1f}M parameters, "
              f"{args.device}, {torch.get_num_threads()} torch thread(s)")
        bench_hanabi(prior, all_partner_move_texts()[:args.histories], all_action_texts())
        bench_say_select(prior)
        bench_lookup(prior)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
