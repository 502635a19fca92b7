"""`instructplay plot hanabi`: training runs side by side, as one picture.

    instructplay plot hanabi runs/color-lam05 runs/color-lam20 --out lam.png

Each run directory holds the log.jsonl that `instructplay train hanabi` writes. The picture has two
panels against environment steps: the logged self-play score (with its standard error) and the share
of plays of cards whose colour only (or rank only) the player knew, the paper's convention metric;
`--knowledge rank` picks the rank share. One line per run, labelled by its directory name, so a sweep
over lam shows at a glance what following the instruction costs in score.
"""

from __future__ import annotations

import argparse
import json
import os


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="+", help="run directories of `instructplay train hanabi` (each with log.jsonl)")
    parser.add_argument("--out", required=True, help="the PNG to write")
    parser.add_argument("--knowledge", choices=["color", "rank"], default="color",
                        help="which share of played cards to plot: known by colour only, or by rank only")
    parser.add_argument("--title", default=None)


def read_log(run: str) -> list[dict]:
    """The rows of a run's log.jsonl, in step order."""
    path = os.path.join(run, "log.jsonl")
    if not os.path.exists(path):
        raise FileNotFoundError(f"no log.jsonl in {run}; pass the --out directory of `instructplay train hanabi`")
    with open(path) as f:
        return sorted((json.loads(line) for line in f if line.strip()), key=lambda r: r["step"])


def plot_runs(logs: dict[str, list[dict]], png_path: str, knowledge: str = "color", title: str | None = None) -> None:
    """Score and the `knowledge`-only share of plays against steps, one line per labelled run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 7), sharex=True)
    for label, rows in logs.items():
        steps = [r["step"] / 1e6 for r in rows]
        line = top.errorbar(steps, [r["mean"] for r in rows], yerr=[r["sem"] for r in rows], marker="o",
                            markersize=3, capsize=2, label=label)
        bottom.plot(steps, [100 * r["played_card_knowledge"][knowledge] for r in rows], marker="o", markersize=3,
                    color=line[0].get_color(), label=label)
    top.set_ylabel("self-play score")
    bottom.set_ylabel(f"plays knowing {'colour' if knowledge == 'color' else 'rank'} only (%)")
    bottom.set_xlabel("environment steps of the run (millions)")
    top.legend(fontsize=8)
    top.grid(alpha=0.3)
    bottom.grid(alpha=0.3)
    if title:
        top.set_title(title)
    fig.tight_layout()
    fig.savefig(png_path, dpi=100)
    plt.close(fig)


def run(args: argparse.Namespace) -> int:
    try:
        logs = {os.path.basename(os.path.normpath(r)): read_log(r) for r in args.runs}
    except FileNotFoundError as e:
        print(f"instructplay: {e}")
        return 2
    plot_runs(logs, args.out, args.knowledge, args.title)
    print(f"wrote {args.out}")
    return 0
