"""`instructplay train hanabi`: clone a rule-based bot, then train with instructPPO (or vanilla PPO), resumably.

    instructplay train hanabi --algo bc  --instruction color --out runs/hanabi/color-bc
    instructplay train hanabi --algo ppo --instruction color --init runs/hanabi/color-bc/latest.pt \\
        --out runs/hanabi/color --steps 5000000 --minutes 100
    instructplay train hanabi --algo ppo --instruction color --out runs/hanabi/color --resume   # go on
    instructplay train hanabi --algo ppo --instruction color --out runs/hanabi/color-gpu --device cuda

A run writes into --out: latest.pt (the checkpoint, also the agent the server and `evaluate` load),
log.jsonl (one row per evaluation: steps, wall time, self-play score, played-card knowledge, lam,
losses) and progress.png (that log as a plot). It checkpoints every --checkpoint-minutes and when it
stops, so a stopped run loses little and `--resume` carries on from the same step count. PPO and Q
train on --device (cpu or cuda); checkpoints hold CPU tensors, so a run resumes on either device and
its agent loads on a machine without a GPU. The logged self-play evaluations run on a CPU copy of the net.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import time


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--algo", choices=["bc", "ppo", "q"], default="ppo",
                        help="bc: clone the rule-based bot of the instruction; ppo: instructPPO; q: instructQ "
                             "(vanilla PPO / Q-learning with --instruction none)")
    parser.add_argument("--instruction", choices=["color", "rank", "none"], default="color")
    parser.add_argument("--out", required=True, help="run directory (checkpoint, log, plot)")
    parser.add_argument("--init", default=None,
                        help="checkpoint to start from: for ppo/q e.g. a bc run's latest.pt; for bc, a clone to keep improving")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    parser.add_argument("--steps", type=int, default=2_000_000, help="PPO: total environment steps of the agent")
    parser.add_argument("--minutes", type=float, default=110.0, help="stop (with a checkpoint) after this long")
    parser.add_argument("--checkpoint-minutes", type=float, default=10.0)
    parser.add_argument("--eval-games", type=int, default=200, help="self-play games per logged evaluation")
    parser.add_argument("--bc-games", type=int, default=4000, help="bc: games per round")
    parser.add_argument("--bc-rounds", type=int, default=5, help="bc: rounds (the first is the bot's own play)")
    parser.add_argument("--bc-epochs", type=int, default=4, help="bc: passes over all samples after each round")
    parser.add_argument("--bc-lr", type=float, default=1e-3, help="bc: Adam learning rate")
    parser.add_argument("--num-envs", type=int, default=256)
    parser.add_argument("--lam", type=float, default=None,
                        help="PPO: starting KL weight toward the prior (default: PPOArgs.lam, the paper's 0.05)")
    parser.add_argument("--lam-min", type=float, default=None,
                        help="PPO: the floor lam is annealed to (default: PPOArgs.lam_min, 0.01)")
    parser.add_argument("--lr", type=float, default=None,
                        help="PPO/Q: Adam learning rate (default: PPOArgs.lr 3e-5, QArgs.lr)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (1 is fastest when other processes share the cores)")
    parser.add_argument("--device", default="cpu",
                        help="ppo/q: where the network, the games and the buffers live: cpu or cuda (cuda:N)")


def run(args: argparse.Namespace) -> int:
    import torch

    from agents.learn.hanabi_training import training_device

    if args.algo == "bc" and args.device != "cpu":
        print("instructplay: --algo bc runs on the CPU; --device is for ppo and q")
        return 2
    try:
        training_device(args.device)
    except ValueError as error:
        print(f"instructplay: {error}")
        return 2
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    if args.algo == "bc":
        return _run_bc(args)
    if args.algo == "q":
        return _run_q(args)
    return _run_ppo(args)


def _hardware(threads: int, device: str = "cpu") -> str:
    """The CPU model, the cores this process may use, the torch threads it used and the GPU it trained on."""
    import torch

    model = platform.machine()
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), model)
    gpu = f"GPU {torch.cuda.get_device_name(device)}" if torch.device(device).type == "cuda" else "no GPU"
    return f"{model}, {len(os.sched_getaffinity(0))} cores (shared), {threads} torch thread(s), {gpu}"


def _run_bc(args) -> int:
    from agents.learn.hanabi_bc import BCArgs, clone

    if args.instruction == "none":
        print("instructplay: --algo bc clones a convention bot; pick --instruction color or rank")
        return 2
    import torch

    from agents.policies.hanabi_net import PolicyNet

    bc = BCArgs(instruction=args.instruction, games_per_round=args.bc_games, rounds=args.bc_rounds,
                epochs=args.bc_epochs, lr=args.bc_lr, seed=args.seed)
    init = torch.load(args.init, map_location="cpu", weights_only=True) if args.init else {}
    start = time.time()
    net = clone(bc, PolicyNet.from_checkpoint(init) if init else None, log=print)
    earlier = init.get("meta", {}).get("bc_runs", [])
    meta = {"name": f"{args.instruction}-bc", "instruction": args.instruction, "algo": "bc",
            "init": f"clone of rulebot:{args.instruction}", "bc_runs": earlier + [vars(bc)],
            "wall_s": round(time.time() - start + init.get("meta", {}).get("wall_s", 0)),
            "play_lambda": 0.0, "beta": 2.0, "hardware": _hardware(args.threads)}
    torch.save(net.checkpoint(step=0, meta=meta), os.path.join(args.out, "latest.pt"))
    _evaluate_and_log(args, net, meta, step=0, wall=time.time() - start, extra={})
    print(f"saved {os.path.join(args.out, 'latest.pt')}")
    return 0


def _run_ppo(args) -> int:
    import torch
    from tqdm import tqdm

    from agents.learn.hanabi_ppo import PPOArgs, load, new_state, save, train
    from agents.policies.hanabi_net import PolicyNet

    path = os.path.join(args.out, "latest.pt")
    schedule = {k: v for k, v in (("lam", args.lam), ("lam_min", args.lam_min), ("lr", args.lr)) if v is not None}
    ppo = PPOArgs(instruction=args.instruction, total_steps=args.steps, num_envs=args.num_envs, seed=args.seed,
                  device=args.device, **schedule)
    if args.resume:
        if not os.path.exists(path):
            print(f"instructplay: nothing to resume in {args.out}; start without --resume")
            return 2
        state = load(path, ppo)
        meta = torch.load(path, map_location="cpu", weights_only=True).get("meta", {})
    else:
        init = torch.load(args.init, map_location="cpu", weights_only=True) if args.init else None
        state = new_state(ppo, PolicyNet.from_checkpoint(init) if init else PolicyNet())
        init_meta = init.get("meta", {}) if init else {}
        meta = {"init": init_meta.get("init", f"checkpoint {args.init}") if init else "random",
                "init_checkpoint": args.init, "init_wall_s": init_meta.get("wall_s", 0)}
        if init_meta.get("steps"):  # the start was itself trained with RL: keep its record for the model card
            meta["init_wall_s"] = init_meta.get("init_wall_s", 0)
            meta["stages"] = init_meta.get("stages", []) + [rl_stage(init_meta)]
    name = {"none": "vanilla"}.get(args.instruction, args.instruction)
    meta.update({"name": name, "instruction": None if args.instruction == "none" else args.instruction,
                 "algo": "ppo" if args.instruction == "none" else "instructPPO", "beta": ppo.beta,
                 "lam_schedule": lam_schedule(ppo),
                 "lr": ppo.lr, "play_lambda": 0.0, "hardware": _hardware(args.threads, args.device)})
    deadline = time.time() + args.minutes * 60
    next_checkpoint = time.time() + args.checkpoint_minutes * 60
    bar = tqdm(total=ppo.total_steps, initial=state.step, unit="step", unit_scale=True)
    latest: dict = {}

    def on_update(state, stats):
        nonlocal next_checkpoint
        bar.update(ppo.batch_size)
        bar.set_postfix(score=f"{stats['train_score']:.2f}", lam=f"{stats['lam']:.3f}", sps=f"{stats['steps_per_s']:.0f}")
        latest.update(stats)
        if time.time() >= next_checkpoint:
            _checkpoint(args, ppo, state, meta, latest, path, save)
            next_checkpoint = time.time() + args.checkpoint_minutes * 60

    until = ppo.total_steps
    while state.step < until and time.time() < deadline:
        chunk = min(until, state.step + 50 * ppo.batch_size)
        train(ppo, state, chunk, on_update=on_update)
    bar.close()
    _checkpoint(args, ppo, state, meta, latest, path, save)
    print(f"saved {path} at {state.step} steps ({state.wall / 60:.1f} min of training in all)")
    return 0


def lam_schedule(ppo) -> str:
    """instructPPO's KL weight over a run, in words for the model card."""
    if ppo.instruction == "none":
        return "0"
    if ppo.lam == ppo.lam_min:
        return f"{ppo.lam} (constant)"
    return (f"{ppo.lam} -> {ppo.lam_min} in {ppo.anneal_steps} steps over {ppo.anneal_frac:.0%} "
            f"of {ppo.total_steps:,} steps")


def rl_stage(meta: dict) -> dict:
    """One finished RL run of an agent, as its model card lists it."""
    return {k: meta[k] for k in ("algo", "steps", "wall_s", "lam_schedule", "lr") if k in meta}


def _run_q(args) -> int:
    """instructQ; a resumed run keeps the network and step count but starts with an empty replay."""
    import torch
    from tqdm import tqdm

    from agents.learn.hanabi_q import QArgs, train
    from agents.policies.hanabi_net import PolicyNet

    path = os.path.join(args.out, "latest.pt")
    q = QArgs(instruction=args.instruction, total_steps=args.steps, num_envs=args.num_envs, seed=args.seed,
              device=args.device, **({"lr": args.lr} if args.lr is not None else {}))
    if args.resume and not os.path.exists(path):
        print(f"instructplay: nothing to resume in {args.out}; start without --resume")
        return 2
    source = path if args.resume else args.init
    ckpt = torch.load(source, map_location="cpu", weights_only=True) if source else {}
    net = PolicyNet.from_checkpoint(ckpt) if ckpt else PolicyNet()
    resumed = ckpt if args.resume else {}
    run = {"step": resumed.get("step", 0), "wall": resumed.get("wall", 0.0), "log": resumed.get("log", [])}
    meta = dict(resumed.get("meta", {})) or {"init": ckpt.get("meta", {}).get("init", source or "random")}
    meta.update({"name": f"{'vanilla' if args.instruction == 'none' else args.instruction}-q",
                 "instruction": None if args.instruction == "none" else args.instruction,
                 "algo": "Q-learning" if args.instruction == "none" else "instructQ", "beta": q.beta,
                 "lam_schedule": f"{q.lam} halved after each fifth of {q.total_steps:,} steps" if args.instruction != "none" else "0",
                 "lr": q.lr, "hardware": _hardware(args.threads, args.device)})
    bar = tqdm(total=q.total_steps, initial=run["step"], unit="step", unit_scale=True)
    deadline = time.time() + args.minutes * 60
    clock = {"last": time.time(), "next_checkpoint": time.time() + args.checkpoint_minutes * 60}

    def checkpoint(step, evaluate):
        run["wall"] += time.time() - clock["last"]
        clock["last"], run["step"] = time.time(), step
        # the agent acts by argmax Q + lam * beta * L with the lam reached, as the paper's Q agents do
        meta.update({"steps": step, "wall_s": round(run["wall"]), "play_lambda": q.lam_at(step)})
        if evaluate:
            run["log"].append(_evaluate_and_log(args, net, meta, step, run["wall"], {}))
        torch.save(net.checkpoint(step=step, wall=run["wall"], log=run["log"], meta=meta), path)

    def on_step(step, stats):
        bar.update(q.num_envs)
        bar.set_postfix(score=f"{stats['train_score']:.2f}", lam=f"{stats['lam']:.3f}")
        if time.time() >= clock["next_checkpoint"]:
            checkpoint(step, evaluate=True)
            clock["next_checkpoint"] = time.time() + args.checkpoint_minutes * 60
        if time.time() >= deadline:
            raise _OutOfTime(step)

    try:
        step = train(q, net, q.total_steps, run["step"], on_step)
    except _OutOfTime as stop:
        step = stop.args[0]
    bar.close()
    checkpoint(step, evaluate=True)
    print(f"saved {path} at {step} steps")
    return 0


class _OutOfTime(Exception):
    """Raised from the progress callback when --minutes is spent; carries the step count."""


def _checkpoint(args, ppo, state, meta, stats, path, save) -> None:
    meta.update({"steps": state.step, "wall_s": round(state.wall)})
    save(path, ppo, state, meta)
    row = _evaluate_and_log(args, state.net, meta, state.step, state.wall, stats)
    state.log.append(row)
    save(path, ppo, state, meta)


def _evaluate_and_log(args, net, meta, step, wall, extra) -> dict:
    """Self-play a CPU copy of `net` (the served agents run on the CPU), log and plot the result."""
    from agents.learn.hanabi_eval import self_play
    from agents.policies.hanabi import HanabiAgent

    agent = HanabiAgent(copy.deepcopy(net).cpu(), meta["name"], meta.get("instruction"), beta=meta.get("beta", 1.0),
                        play_lambda=meta.get("play_lambda", 0.0))
    report = self_play(agent, args.eval_games, seed=10_000)
    row = {"step": step, "wall_s": round(wall), **report.summary(),
           **{k: round(v, 4) for k, v in extra.items() if isinstance(v, float)}}
    with open(os.path.join(args.out, "log.jsonl"), "a") as f:
        f.write(json.dumps(row) + "\n")
    plot_log(os.path.join(args.out, "log.jsonl"), os.path.join(args.out, "progress.png"))
    print(f"step {step}: self-play {row['mean']:.2f} ± {row['sem']:.2f}, knowledge {row['played_card_knowledge']}")
    return row


def plot_log(log_path: str, png_path: str) -> None:
    """Self-play score and played-card knowledge against environment steps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(log_path) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    steps = [r["step"] for r in rows]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
    top.errorbar(steps, [r["mean"] for r in rows], yerr=[r["sem"] for r in rows], marker="o")
    top.set_ylabel("self-play score")
    for cls in ("color", "rank", "both", "none"):
        bottom.plot(steps, [r["played_card_knowledge"][cls] for r in rows], marker=".", label=cls)
    bottom.set_ylabel("fraction of plays")
    bottom.set_xlabel("environment steps")
    bottom.legend(title="card knowledge at play")
    fig.tight_layout()
    fig.savefig(png_path, dpi=100)
    plt.close(fig)
