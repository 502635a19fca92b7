"""Hanabi training throughput, and the served agent's load and move times, measured in one run.

Training (instructPPO, `agents/learn/hanabi_ppo.py`, batch of --envs games on the batched engine):
  engine      environment steps/s of BatchedHanabi.step + encode + legal mask with random legal moves
  rollout     environment steps/s while the policy network samples the moves (what PPO collects)
  learner     samples/s through the PPO update (forward, loss with the KL to the prior, backward, Adam)
  reference   environment steps/s of the rules of record, one game at a time (HanabiGame + encode)
Each is also printed as a ratio to the reference, which runs on the same machine in the same run.
With --device cuda the engine, rollout and learner run on the GPU (the reference and serving stay on the CPU).

Serving (`agents/policies/hanabi.py`): seconds to load a checkpoint, milliseconds per act() (one move
with its explanation), as wall time and as this process's CPU time. Targets for the server: load < 1 s, act < 5 ms.

Run: .venv/bin/python benchmarks/hanabi_train.py [--envs 256] [--seconds 5] [--threads 2] [--agent PATH] [--device cuda]
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time

import torch

from agents.envs.hanabi.batched import BatchedHanabi
from agents.envs.hanabi.encoding import encode
from agents.envs.hanabi.rules import HanabiGame
from agents.learn.hanabi_ppo import PPOArgs, new_state, rollout, update
from agents.learn.hanabi_training import training_device
from agents.policies.hanabi import load_hanabi_agent
from agents.policies.hanabi_net import PolicyNet


def timed(seconds: float, step) -> float:
    """Calls of `step` per second over about `seconds`; `step` returns how many units it did."""
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        done += step()
    return done / (time.perf_counter() - start)


def reference(seconds: float) -> float:
    rng = random.Random(0)
    game = HanabiGame(seed=0)

    def step():
        nonlocal game
        if game.is_over():
            game = HanabiGame(seed=rng.randrange(10**9))
        game.step(rng.choice(game.legal_moves()))
        encode(game, game.current_player)
        return 1

    return timed(seconds, step)


def sync(device: torch.device) -> None:
    """Wait for the work queued on `device` (a GPU runs asynchronously), so that timings are true."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def engine(envs: int, seconds: float, device: torch.device) -> float:
    env = BatchedHanabi(envs, device=device, seed=0)

    def step():
        legal = env.legal_mask()
        env.step(torch.multinomial(legal.float(), 1).squeeze(1))
        env.encode()
        sync(device)
        return envs

    return timed(seconds, step)


def training(envs: int, seconds: float, device: torch.device) -> tuple[float, float]:
    args = PPOArgs(num_envs=envs, num_steps=16, value_warmup_updates=0, device=str(device))
    state = new_state(args, PolicyNet())
    env = BatchedHanabi(envs, device=device, seed=0)
    obs, legal, scores = env.encode(), env.legal_mask(), []
    batches = []

    def collect():
        nonlocal obs, legal
        buf, obs, legal = rollout(args, state.net, env, obs, legal, scores)
        batches.append(buf)
        sync(device)
        return args.batch_size

    rollout_rate = timed(seconds, collect)
    buf = batches[-1]

    def learn():
        with torch.no_grad():
            next_value = state.net(obs, legal)[1]
        update(args, state, buf, next_value)
        sync(device)
        return args.batch_size * args.update_epochs

    return rollout_rate, timed(seconds, learn)


def serving(path: str | None, moves: int = 300) -> tuple[float, float, float]:
    """(load seconds, act milliseconds of wall time, act milliseconds of this process's CPU time)."""
    with tempfile.TemporaryDirectory() as tmp:
        if path is None:
            path = os.path.join(tmp, "agent.pt")
            torch.save(PolicyNet().checkpoint(meta={"name": "bench", "instruction": "color"}), path)
        start = time.perf_counter()
        agent = load_hanabi_agent(path)
        load_s = time.perf_counter() - start
    game, rng, wall, cpu = HanabiGame(seed=0), random.Random(0), 0.0, 0.0
    for _ in range(moves):
        if game.is_over():
            game = HanabiGame(seed=rng.randrange(10**9))
        start, start_cpu = time.perf_counter(), time.process_time()
        uid = agent.act(game, game.legal_moves(), None, 0.0).move
        wall, cpu = wall + time.perf_counter() - start, cpu + time.process_time() - start_cpu
        game.step(uid)
    return load_s, 1000 * wall / moves, 1000 * cpu / moves


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--envs", type=int, default=256)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--agent", default=None, help="checkpoint to time act() on (default: a fresh network)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda: where the engine, rollout and learner run")
    args = parser.parse_args()
    try:
        device = training_device(args.device)
    except ValueError as error:
        parser.error(str(error))
    torch.set_num_threads(args.threads)
    ref = reference(args.seconds)
    eng = engine(args.envs, args.seconds, device)
    roll, learn = training(args.envs, args.seconds, device)
    load_s, act_ms, act_cpu_ms = serving(args.agent)
    print(f"torch threads {args.threads}, {args.envs} games per batch, device {device}")
    print(f"reference (rules of record, 1 game)   {ref:10.0f} steps/s   1.00x")
    print(f"engine (batched, random moves)        {eng:10.0f} steps/s   {eng / ref:5.2f}x")
    print(f"rollout (batched, policy samples)     {roll:10.0f} steps/s   {roll / ref:5.2f}x")
    print(f"learner (PPO update)                  {learn:10.0f} samples/s {learn / ref:5.2f}x")
    print(f"agent load {load_s:.3f} s (target < 1 s); act {act_ms:.2f} ms per move of wall time, "
          f"{act_cpu_ms:.2f} ms of CPU time (target < 5 ms; wall > CPU when other processes share the cores)")


if __name__ == "__main__":
    main()
