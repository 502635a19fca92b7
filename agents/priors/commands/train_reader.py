"""instructplay train reader: train the learned reader (agents/priors/conventions/reader.py) on the labelled
instructions and write its weights.

    instructplay train reader                     # writes agents/priors/conventions/reader.npz
    instructplay train reader --out /tmp/r.npz --epochs 2

Run it after changing any labelled collection (benchmarks/data/people*.jsonl, paraphrases.jsonl,
agents/priors/conventions/data/*.jsonl) or a convention's phrasings: a test checks that the stored weights
were trained on the data as it is. About seven minutes on two idle CPU cores, with a progress bar.
"""

from __future__ import annotations

import argparse
import os
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from agents.priors.conventions.reader import EPOCHS, WEIGHTS

    parser.add_argument("--out", default=str(WEIGHTS), help="where to write the weights (default: the shipped file)")
    parser.add_argument("--epochs", type=int, default=EPOCHS)


def run(args: argparse.Namespace) -> int:
    import torch

    from agents.priors.conventions.reader import ASK, BENCHMARK, TRAINING, Reader, cleaned, training_examples

    if not BENCHMARK.is_dir() or not any(TRAINING.glob("*.jsonl")):
        print(f"error: the labelled instructions are not here ({BENCHMARK}, {TRAINING}/*.jsonl): "
              "train the reader from a checkout of the repository", file=sys.stderr)
        return 2
    torch.set_num_threads(os.cpu_count() or 1)
    examples = training_examples()
    for game in sorted({e.game for e in examples}):
        n = sum(e.game == game for e in examples)
        asks = sum(e.game == game and e.readings == ASK for e in examples)
        print(f"{game}: {n} labelled instructions ({asks} 'ask')", file=sys.stderr)
    reader = Reader.train(examples, cleaned, epochs=args.epochs)
    reader.save(args.out)
    print(f"wrote {args.out} ({len(reader.names)} classes)", file=sys.stderr)
    return 0
