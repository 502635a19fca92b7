"""The server's own CPU per move and reply, without the transport: Hanabi games played in-process through the
GameService (store, rules, priors, the agent, the messages written as JSON), against a git revision's code in
the same run, and whether the two send the same messages.

benchmarks/serving.py measures the whole server over Socket.IO, where the transport, the clients and the
machine's drifting load add as much as the game itself; this script measures what the server's own code
costs, steadily enough to see a 5% change. The person plays as serving.py's clients do (random legal moves,
plays 15% of the time) on SQLite, the partner `instructed` with a colour instruction (--partner,
--instruction), AGENT_DELAY_MS 0; the agent's turn runs as soon as it is started (no background task), and each
message is written with the server's JSON module (server/wire.py) as the transport would.

  cpu     process CPU time per agent reply (game starts and instructions included), in --rounds rounds of
          --replies replies, the checkout and --reference REV (a git worktree) in turns; the median kept
  digest  sha256 of every message the person would receive (less ids, tokens and timings) over --check-replies
          replies from fixed seeds and a fixed deal key: equal digests mean the change sent the same messages

Run:  .venv/bin/python benchmarks/game_logic.py --reference HEAD~3        # this checkout against HEAD~3
      .venv/bin/python benchmarks/game_logic.py --partner vanilla --instruction "A number clue means play it."
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
INSTRUCTION = "When you get a colour hint, play the cards it touches."
LEFT_OUT = {"game_id", "think_ms", "delay_ms", "resume_token", "participant", "request_id"}  # differ run to run


def worker(args: argparse.Namespace) -> None:
    """Runs in the code under test (cwd: its checkout); prints one JSON line of results."""
    import collections
    import random
    import time

    sys.path.insert(0, os.getcwd())
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    torch.set_num_threads(1)  # as `instructplay serve` runs it (TORCH_THREADS=1)
    torch.set_num_interop_threads(1)
    from server import wire
    from server.app import create_app
    from server.messages import MoveMsg, StartGame

    folder = tempfile.mkdtemp(prefix="game-logic-")
    app = create_app({"DATABASE_URL": f"sqlite:///{folder}/bench.db", "AGENT_DELAY_MS": 0,
                      "BOB_CACHE_DIR": f"{folder}/bobs", "DEAL_KEY": "benchmarks/game_logic.py"})
    service = app.extensions["instructplay"].for_new("hanabi")
    tasks: collections.deque = collections.deque()
    latest: dict = {}
    digest = hashlib.sha256()
    checking = [False]

    def emit(event, data, to=None, **_):
        wire.dumps(data)
        if event == "state":
            latest["state"] = data
        if checking[0]:
            digest.update(event.encode())
            digest.update(json.dumps({k: v for k, v in data.items() if k not in LEFT_OUT}, sort_keys=True,
                                     default=str).encode())

    service.emit = emit
    service.start_task = lambda fn, *a: tasks.append((fn, a))
    service.warm()
    rng = random.Random(0)

    def run_tasks():
        while tasks:
            fn, a = tasks.popleft()
            fn(*a)

    def play(replies: int) -> int:
        done = 0
        while done < replies:
            room, _ = service.start_game(StartGame("hanabi", args.partner, 0, rng.randrange(2**31), None, None), "sid")
            latest["state"] = service.state_message(room)
            service.begin(room, args.instruction, "sid", None)
            run_tasks()
            while not room.over and done < replies:
                legal = latest["state"]["legal"]
                plays = [m for m in legal if m["type"] == "play"]
                others = [m for m in legal if m["type"] != "play"] or plays
                move = rng.choice(plays if plays and rng.random() < 0.15 else others)
                service.move(MoveMsg(room.id, move), "sid")
                run_tasks()
                done += 1
            service.leave("sid")
        return done

    with app.app_context():
        rng.seed(1)
        checking[0] = True
        play(args.check_replies)
        checking[0] = False
        if args.replies:
            play(min(300, args.replies))  # warm caches before timing
        started = time.process_time()
        replies = play(args.replies)
        ms = (time.process_time() - started) / replies * 1000 if replies else float("nan")
    app.extensions["instructplay"].store.engine.dispose()
    shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps({"ms_per_reply": ms, "digest": digest.hexdigest()}))


def measure(tree: Path, args: argparse.Namespace, replies: int, check_replies: int) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", "--replies", str(replies),
               "--check-replies", str(check_replies), "--partner", args.partner, "--instruction", args.instruction]
    out = subprocess.run(command, cwd=tree, capture_output=True, text=True, env={**os.environ, "TORCH_THREADS": "1"})
    if out.returncode != 0:
        raise SystemExit(f"the run in {tree} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reference", metavar="REV", help="also measure git revision REV's code, in turns with this one")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--replies", type=int, default=1500, help="agent replies timed per round (default 1500)")
    p.add_argument("--check-replies", type=int, default=1500, help="replies whose messages are digested (default 1500)")
    p.add_argument("--partner", default="instructed")
    p.add_argument("--instruction", default=INSTRUCTION)
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        worker(args)
        return

    trees = {"this checkout": REPO_ROOT}
    folder = Path(tempfile.mkdtemp(prefix="game-logic-"))
    if args.reference:
        tree = folder / "reference"
        subprocess.run(["git", "-C", str(REPO_ROOT), "worktree", "add", "--detach", "--force", str(tree), args.reference],
                       check=True, capture_output=True)
        trees[args.reference] = tree
    try:
        print(f"benchmarks/game_logic.py: Hanabi in-process, partner {args.partner}, instruction {args.instruction!r}, "
              f"{args.rounds} rounds of {args.replies} replies each", flush=True)
        digests = {name: measure(tree, args, 0, args.check_replies)["digest"] for name, tree in trees.items()}
        for name, value in digests.items():
            print(f"  messages of {args.check_replies} replies, sha256 {value[:16]}...  ({name})")
        if len(set(digests.values())) > 1:
            print("  the messages DIFFER between the two")
        elif len(digests) > 1:
            print("  the same messages from both")
        times: dict[str, list[float]] = {name: [] for name in trees}
        for round_ in range(args.rounds):
            for name, tree in trees.items():
                times[name].append(measure(tree, args, args.replies, 0)["ms_per_reply"])
            print(f"  round {round_ + 1}: " + ", ".join(f"{name} {t[-1]:.3f} ms" for name, t in times.items()), flush=True)
        medians = {name: statistics.median(t) for name, t in times.items()}
        for name, value in medians.items():
            print(f"  {name}: {value:.3f} ms of CPU per move and reply (median of {args.rounds})")
        if args.reference:
            ratio = medians[args.reference] / medians["this checkout"]
            per_round = ", ".join(f"{r / n:.2f}x" for r, n in zip(times[args.reference], times["this checkout"]))
            print(f"  {args.reference} / this checkout: {ratio:.2f}x (rounds: {per_round})")
    finally:
        if args.reference:
            subprocess.run(["git", "-C", str(REPO_ROOT), "worktree", "remove", "--force", str(folder / "reference")],
                           capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
