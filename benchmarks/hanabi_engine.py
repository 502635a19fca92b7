"""Batched Hanabi engine throughput against DeepMind's HLE, measured side by side in one run.

Both play 2-player games with uniformly random legal moves (so games bomb out after ~13 moves, as
HLE's own numbers assume) and count moves per second of wall time:

  HLE raw        pyhanabi: state.legal_moves(), random.choice, apply_move, chance deals
  HLE +encode    the same plus ObservationEncoder.encode of the player to move (658 ints)
  HLE rl_env     rl_env.HanabiEnv.step(uid) (dict observations for every player)
  ours raw       BatchedHanabi: legal_mask(), sample a legal uid per game, step() with autoreset
  ours +encode   the same plus encode(out=buffer): the 658-dim float32 observation of every game

Ratios: ours raw / HLE raw, ours +encode / HLE +encode, ours +encode / HLE rl_env. The "per CPU s"
column divides by this process's CPU time instead of wall time: it is what the machine's other
load cannot inflate (for ours it counts all --threads threads).

Threads: on this shared 2-core machine, 2 torch threads ran 5-20x SLOWER than 1 (each parallel op
waits for a thread that another process has descheduled), so the default is 1; try --threads 2 on
an idle machine.

Run: .venv/bin/python benchmarks/hanabi_engine.py [--batch 1024 4096 16384] [--seconds 3] [--threads 1] [--device cuda]
HLE: CMAKE_POLICY_VERSION_MINIMUM=3.5 .venv/bin/pip install hanabi-learning-environment==0.0.4
(without it only our numbers are printed). Target: ours +encode >= 300K steps/s on a 2-core CPU.
"""

import argparse
import os
import random
import time

import torch

from agents.envs.hanabi.batched import BatchedHanabi


def timed(run, seconds, sync=lambda: None):
    """Call run() (which returns the moves it made) until `seconds` of wall time have passed.
    Returns (moves, calls, wall seconds, CPU seconds); sync() waits for queued device work."""
    moves, calls, wall, cpu = 0, 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - wall < seconds:
        moves += run()
        calls += 1
    sync()
    return moves, calls, time.perf_counter() - wall, time.process_time() - cpu


def hle_pyhanabi(pyhanabi, seconds, with_encoding):
    game = pyhanabi.HanabiGame({"players": 2, "random_start_player": False})
    encoder = pyhanabi.ObservationEncoder(game, pyhanabi.ObservationEncoderType.CANONICAL)
    rng = random.Random(0)

    def one_game():
        state, moves = game.new_initial_state(), 0
        while not state.is_terminal():
            if state.cur_player() == pyhanabi.CHANCE_PLAYER_ID:
                state.deal_random_card()
                continue
            if with_encoding:
                encoder.encode(state.observation(state.cur_player()))
            state.apply_move(rng.choice(state.legal_moves()))
            moves += 1
        return moves

    return timed(one_game, seconds)


def hle_rl_env(rl_env, seconds):
    env = rl_env.make("Hanabi-Full", num_players=2)
    rng = random.Random(0)

    def one_game():
        obs, done, moves = env.reset(), False, 0
        while not done:
            current = obs["current_player"]
            obs, _, done, _ = env.step(rng.choice(obs["player_observations"][current]["legal_moves_as_int"]))
            moves += 1
        return moves

    return timed(one_game, seconds)


def ours(batch, device, seconds, with_encoding):
    engine = BatchedHanabi(batch, device=device, seed=0)
    buffer = torch.empty(batch, engine.encoding_size, device=device)
    generator = torch.Generator(device).manual_seed(0)
    finished = torch.zeros((), dtype=torch.long, device=device)

    def one_step():
        nonlocal finished
        legal = engine.legal_mask()
        if with_encoding:
            engine.encode(out=buffer)
        actions = (torch.rand(legal.shape, generator=generator, device=device) * legal).argmax(1)
        finished += engine.step(actions)[1].sum()
        return batch

    for _ in range(30):  # warm up, and let the games' ages spread out (all start together)
        one_step()
    finished.zero_()
    sync = torch.cuda.synchronize if device.type == "cuda" else lambda: None
    steps, _, wall, cpu = timed(one_step, seconds, sync)
    return steps, wall, cpu, steps / max(int(finished), 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, nargs="+", default=[1024, 4096, 16384], help="games stepped at once")
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (see the docstring)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (skipped when CUDA is not available)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("CUDA is not available here: skipping the CUDA run.")
        return 0

    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; torch {torch.__version__}, "
          f"{args.threads} threads, device {device}\n")
    rows, reference = [], {}
    try:
        from hanabi_learning_environment import pyhanabi, rl_env
    except ImportError:
        print("HLE is not installed (CMAKE_POLICY_VERSION_MINIMUM=3.5 .venv/bin/pip install "
              "hanabi-learning-environment==0.0.4): printing our numbers only.\n")
    else:
        for name, result in [("HLE raw", hle_pyhanabi(pyhanabi, args.seconds, False)),
                             ("HLE +encode", hle_pyhanabi(pyhanabi, args.seconds, True)),
                             ("HLE rl_env", hle_rl_env(rl_env, args.seconds))]:
            steps, games, wall, cpu = result
            reference[name] = steps / wall
            rows.append((name, 1, steps / wall, steps / cpu, f"{steps / games:.1f}", ""))

    for batch in args.batch:
        for name, with_encoding, against in [("ours raw", False, "HLE raw"), ("ours +encode", True, "HLE +encode")]:
            steps, wall, cpu, moves_per_game = ours(batch, device, args.seconds, with_encoding)
            rate = steps / wall
            ratio = f"{rate / reference[against]:.0f}x {against}" if against in reference else ""
            if with_encoding and "HLE rl_env" in reference:
                ratio += f", {rate / reference['HLE rl_env']:.0f}x rl_env"
            rows.append((name, batch, rate, steps / cpu if device.type == "cpu" else float("nan"),
                         f"{moves_per_game:.1f}", ratio))

    print(f"{'mode':<14}{'batch':>7}{'steps/s':>12}{'per CPU s':>12}{'moves/game':>12}  ratio")
    for name, batch, rate, per_cpu, moves, ratio in rows:
        print(f"{name:<14}{batch:>7}{rate:>12,.0f}{per_cpu:>12,.0f}{moves:>12}  {ratio}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
