"""`instructplay train say-select`: train instructQ (or vanilla Q-learning, --lambda 0) pairs on Say-Select,
print each seed's convention (Bob's 6x5 action matrix, as in the paper) and how many seeds learned the
intuitive one; `--fast` trains each seed's Bob as the server does (`train_bob_fast`); `--sweep` runs the
prior-sharpness study and plots it.

Runs are spread over worker processes; inside a process they advance in lockstep (see say_select_q.py).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import queue as queue_lib
from dataclasses import fields, replace

import numpy as np

SWEEP_PS = (0.375, 0.6, 0.8, 0.9, 0.99)
DEFAULT_PLOT = "docs/img/say_select_sweep.png"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from agents.priors.table import PAPER_INSTRUCTION

    parser.add_argument("--seeds", type=int, default=10, help="number of seeds, run as seeds 1..N (default 10)")
    parser.add_argument("--lambda", dest="lam", type=float, default=0.25, help="Bob's prior weight; 0 = vanilla Q-learning")
    parser.add_argument("--prior", choices=("table", "lm"), default="table",
                        help="table: the labelled stand-in for GPT-J (default); lm: score with a local causal LM (--model)")
    parser.add_argument("--p", type=float, default=0.9, help="table prior: probability of the number the partner said")
    parser.add_argument("--model", help="with --prior lm: path (or hub name) of a causal LM")
    parser.add_argument("--instruction", default=PAPER_INSTRUCTION, help="the instruction given to Bob's prior")
    parser.add_argument("--episodes", type=int, default=None,
                        help="training episodes per seed (default 50000; with --fast the most a Bob may take, 20000)")
    parser.add_argument("--fast", action="store_true",
                        help="train each seed's Bob as the server does: 4 runs as one, stopped at the first perfect "
                             "evaluation of a Bob who follows the instruction (train_bob_fast)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: one per CPU core)")
    parser.add_argument("--sweep", action="store_true",
                        help=f"prior-sharpness study: table p in {SWEEP_PS} at --lambda, plus lambda 0")
    parser.add_argument("--plot", default=DEFAULT_PLOT, help=f"where --sweep saves its plot (default {DEFAULT_PLOT})")


def run(args: argparse.Namespace) -> int:
    from agents.learn.say_select_q import FAST, Config

    episodes = args.episodes or (FAST.episodes if args.fast else Config().episodes)
    if args.seeds < 1 or episodes < 1:
        raise SystemExit("train say-select: --seeds and --episodes must be at least 1")
    cfg = replace(Config(), episodes=episodes)
    workers = args.workers or os.cpu_count() or 1
    if args.sweep:
        return run_sweep(args, cfg, workers)

    from agents.envs.say_select import bob_prior_table

    prior, label = make_prior(args)
    print(f"prior: {label}")
    print(f'instruction: "{args.instruction}"')
    print(f"lambda (Bob): {args.lam:g}   episodes: {cfg.episodes}   seeds: 1..{args.seeds}"
          + ("" if args.fast else f"   workers: {workers}"))
    table = bob_prior_table(prior, args.instruction)
    seeds = np.arange(1, args.seeds + 1)
    if args.fast:
        return run_fast(seeds, table, args.lam, episodes)
    result = train_runs(seeds, np.broadcast_to(table, (len(seeds),) + table.shape), np.full(len(seeds), args.lam),
                        cfg, workers)
    intuitive = result.intuitive()
    for seed, matrix, score, ok in zip(seeds, result.conventions(), result.best_score, intuitive):
        print(f"\nseed {seed}: eval score {score:.3f}, intuitive: {'yes' if ok else 'no'}")
        print(format_convention(matrix))
    print(f"\nintuitive: {int(intuitive.sum())}/{len(seeds)}")
    return 0


def run_fast(seeds, table, lam: float, episodes: int) -> int:
    """Each seed's Bob as the server trains it, one after the other, with its time and convention."""
    import time

    from agents.learn.say_select_q import is_intuitive, train_bob_fast

    print("trainer: train_bob_fast, as the server trains a new Bob (4 runs as one, stopped at the first perfect "
          f"evaluation of a faithful Bob, at most {episodes} episodes)")
    intuitive = 0
    for seed in seeds:
        start = time.perf_counter()
        bob = train_bob_fast(table, lam, int(seed), episodes=episodes)
        ok = is_intuitive(bob.conventions())
        intuitive += ok
        print(f"\nseed {seed}: eval score {bob.eval_score:.3f}, intuitive: {'yes' if ok else 'no'}, "
              f"{time.perf_counter() - start:.2f} s")
        print(format_convention(bob.conventions()))
    print(f"\nintuitive: {intuitive}/{len(seeds)}")
    return 0


def make_prior(args):
    """The prior the options ask for, and a label that says what it is."""
    if args.prior == "table":
        from agents.priors.table import TablePrior

        if not 0 < args.p < 1:
            raise SystemExit(f"train say-select: --p must be between 0 and 1 (exclusive), got {args.p}")
        prior = TablePrior(args.p)
        return prior, (f"table stand-in for GPT-J (p={args.p:g}: the number the partner said gets {args.p:g}, "
                       f"the other actions share {1 - args.p:g})")
    if not args.model:
        raise SystemExit("train say-select: --prior lm needs --model PATH (a local causal LM, e.g. a GPT-J folder)")
    from agents.priors.lm import CausalLMPrior

    return CausalLMPrior(args.model), f"causal LM {args.model}"


def format_convention(matrix: np.ndarray) -> str:
    """Bob's 6x5 matrix with labelled rows (his previous selection) and columns (Alice's number); 0 = quit."""
    lines = ["  prev \\ said   1 2 3 4 5"]
    for prev, row in zip(["n/a", "1", "2", "3", "4", "5"], matrix):
        lines.append(f"  {prev:>3}          " + " ".join(str(int(a)) for a in row))
    return "\n".join(lines)


# --- running many seeds over worker processes ---------------------------------------------------------


def train_runs(seeds, tables, lams, cfg, workers: int = 1, desc: str = "training"):
    """Train len(seeds) runs (seed, Bob prior table, lambda each), split over `workers` processes, with a
    progress bar. Returns one say_select_q.Result holding every run in order."""
    from tqdm import tqdm

    from agents.learn.say_select_q import Result, train

    seeds, tables, lams = np.asarray(seeds), np.asarray(tables), np.asarray(lams, dtype=float)
    chunks = [c for c in np.array_split(np.arange(len(seeds)), max(1, min(workers, len(seeds)))) if len(c)]
    with tqdm(total=len(seeds) * cfg.episodes, desc=desc, unit="ep", unit_scale=True) as bar:
        if len(chunks) == 1:
            return train(seeds, tables, lams, cfg, progress=lambda f: _show(bar, [f], [len(seeds)]))
        results = _train_in_processes(chunks, seeds, tables, lams, cfg, bar)
    return Result(*(np.concatenate([getattr(r, f.name) for r in results]) for f in fields(Result)))


def _show(bar, fractions, sizes) -> None:
    bar.n = int(sum(f * n for f, n in zip(fractions, sizes)) * bar.total / sum(sizes))
    bar.refresh()


def _train_in_processes(chunks, seeds, tables, lams, cfg, bar):
    context = multiprocessing.get_context("spawn")
    messages = context.Queue()
    processes = [
        context.Process(target=_worker, args=(i, seeds[c], tables[c], lams[c], cfg, messages), daemon=True)
        for i, c in enumerate(chunks)
    ]
    for p in processes:
        p.start()
    fractions, results = [0.0] * len(chunks), [None] * len(chunks)
    try:
        while any(r is None for r in results):
            try:
                kind, i, payload = messages.get(timeout=1.0)
            except queue_lib.Empty:
                dead = [p for p, r in zip(processes, results) if r is None and not p.is_alive()]
                if dead:
                    raise RuntimeError(f"a training worker stopped (exit code {dead[0].exitcode}); try --workers 1")
                continue
            if kind == "error":
                raise RuntimeError(f"training worker {i} failed: {payload}")
            if kind == "progress":
                fractions[i] = payload
            else:
                results[i] = payload
            _show(bar, fractions, [len(c) for c in chunks])
    finally:
        for p in processes:
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()
    return results


def _worker(index, seeds, tables, lams, cfg, messages) -> None:
    from agents.learn.say_select_q import train

    try:
        result = train(seeds, tables, lams, cfg, progress=lambda f: messages.put(("progress", index, f)))
        messages.put(("done", index, result))
    except Exception as e:  # reported to the parent, which raises it
        messages.put(("error", index, f"{type(e).__name__}: {e}"))


# --- the sharpness sweep ------------------------------------------------------------------------------


def run_sweep(args, cfg, workers: int) -> int:
    """N intuitive seeds out of --seeds for each table sharpness p at --lambda, and for lambda 0."""
    from agents.envs.say_select import bob_prior_table
    from agents.priors.table import TablePrior

    settings = [(p, args.lam) for p in SWEEP_PS] + [(SWEEP_PS[-2], 0.0)]  # lambda 0 ignores the prior
    seeds = np.tile(np.arange(1, args.seeds + 1), len(settings))
    tables = np.concatenate([np.broadcast_to(bob_prior_table(TablePrior(p), args.instruction), (args.seeds, 6, 5, 6))
                             for p, _ in settings])
    lams = np.repeat([lam for _, lam in settings], args.seeds)
    print(f"sweep: table prior p in {SWEEP_PS} at lambda {args.lam:g}, and lambda 0; {args.seeds} seeds each, "
          f"{cfg.episodes} episodes, {workers} workers")
    result = train_runs(seeds, tables, lams, cfg, workers, desc="sweep")
    intuitive = result.intuitive().reshape(len(settings), args.seeds)
    scores = result.best_score.reshape(len(settings), args.seeds)

    print(f"\n{'setting':<22}{'intuitive':>10}{'mean eval':>11}{'min eval':>10}")
    for (p, lam), ok, score in zip(settings, intuitive, scores):
        name = f"p={p:g}, lambda={lam:g}" if lam else "lambda=0 (vanilla Q)"
        print(f"{name:<22}{f'{int(ok.sum())}/{args.seeds}':>10}{score.mean():>11.3f}{score.min():>10.3f}")
    vanilla = result.conventions().reshape(len(settings), args.seeds, 6, 5)[-1]
    print("\nlambda=0 conventions (Bob's matrices):")
    for seed, matrix, ok in zip(range(1, args.seeds + 1), vanilla, intuitive[-1]):
        print(f"seed {seed}: intuitive: {'yes' if ok else 'no'}\n{format_convention(matrix)}")
    save_sweep_plot(args.plot, SWEEP_PS, intuitive[:-1].sum(1), int(intuitive[-1].sum()), args.seeds, args.lam)
    print(f"\nplot saved to {args.plot}")
    return 0


def save_sweep_plot(path, ps, counts, vanilla_count, n_seeds, lam) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    ax.plot(ps, counts, marker="o", label=f"instructQ, lambda={lam:g}")
    ax.axhline(vanilla_count, color="gray", linestyle="--", label="vanilla Q-learning (lambda=0)")
    ax.set_xlabel("table prior p (probability of the said number)")
    ax.set_ylabel(f"seeds with the intuitive convention (of {n_seeds})")
    ax.set_ylim(-0.5, n_seeds + 0.5)
    ax.set_title("Say-Select: how sharp a prior instructQ needs")
    ax.legend(loc="center right")
    fig.tight_layout()
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
