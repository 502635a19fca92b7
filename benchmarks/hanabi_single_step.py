"""Single-game Hanabi step cost: the rules of record against HLE's own C++ step, measured in the same run.

The server steps one game at a time, so what counts is microseconds per move. Both engines play
the same kind of games (random legal moves, plays only 10% of the time, so games run to the end of
the deck) and we time, per move:
  step           ours: HanabiGame.step(uid) replaying recorded games (HLE: apply_move + chance deals)
  legal+step     list the legal moves, pick one, make it (HLE: state.legal_moves(), apply_move, deals)
  +encode        and encode the next player's canonical observation (HLE: ObservationEncoder.encode)

Run: .venv/bin/python benchmarks/hanabi_single_step.py [--games 300] [--players 2]
HLE is optional (CMAKE_POLICY_VERSION_MINIMUM=3.5 .venv/bin/pip install hanabi-learning-environment==0.0.4);
without it only our numbers are printed. Target: our step under 50 microseconds.
"""

from __future__ import annotations

import argparse
import random
import time

from agents.envs.hanabi.encoding import encode
from agents.envs.hanabi.rules import HanabiGame

PLAY_PROBABILITY = 0.1


def choose(legal: list[int], is_play, rng: random.Random) -> int:
    others = [u for u in legal if not is_play(u)]
    return rng.choice(legal) if not others or rng.random() < PLAY_PROBABILITY else rng.choice(others)


def ours(games: int, players: int, with_encoding: bool) -> tuple[float, int, list]:
    """Seconds and moves for `games` games of legal-move listing + step (+ encoding); returns the games played."""
    rng, steps, played = random.Random(0), 0, []
    start = time.perf_counter()
    for seed in range(games):
        game = HanabiGame(players, seed=seed)
        h = game.hand_size
        is_play = lambda u: h <= u < 2 * h  # noqa: E731
        while not game.is_over():
            game.step(choose(game.legal_moves(), is_play, rng))
            if with_encoding:
                encode(game, game.current_player)
            steps += 1
        played.append(game)
    return time.perf_counter() - start, steps, played


def ours_step_only(played: list) -> tuple[float, int]:
    """Replay recorded games, timing only HanabiGame.step."""
    replays = [(HanabiGame(g.num_players, deck=g.deck_order), [i.uid for i in g.history]) for g in played]
    start = time.perf_counter()
    for game, uids in replays:
        for uid in uids:
            game.step(uid)
    return time.perf_counter() - start, sum(len(uids) for _, uids in replays)


def hle(games: int, players: int, mode: str) -> tuple[float, int]:
    from hanabi_learning_environment import pyhanabi

    rng, steps = random.Random(0), 0
    start = time.perf_counter()
    for seed in range(games):
        game = pyhanabi.HanabiGame({"players": players, "seed": seed + 1, "random_start_player": False})
        encoder = pyhanabi.ObservationEncoder(game, pyhanabi.ObservationEncoderType.CANONICAL)
        state = game.new_initial_state()
        while state.cur_player() == pyhanabi.CHANCE_PLAYER_ID:
            state.deal_random_card()
        while not state.is_terminal():
            moves = state.legal_moves()
            plays = [m.type() == pyhanabi.HanabiMoveType.PLAY for m in moves]
            index = choose(list(range(len(moves))), lambda i: plays[i], rng)
            state.apply_move(moves[index])
            while state.cur_player() == pyhanabi.CHANCE_PLAYER_ID:
                state.deal_random_card()
            if mode == "encode":
                encoder.encode(state.observation(state.cur_player()))
            steps += 1
    return time.perf_counter() - start, steps


def hle_step_only(games: int, players: int) -> tuple[float, int]:
    """HLE apply_move + chance deals only: moves are chosen and listed outside the timed region."""
    from hanabi_learning_environment import pyhanabi

    rng, steps, elapsed = random.Random(0), 0, 0.0
    for seed in range(games):
        game = pyhanabi.HanabiGame({"players": players, "seed": seed + 1, "random_start_player": False})
        state = game.new_initial_state()
        while state.cur_player() == pyhanabi.CHANCE_PLAYER_ID:
            state.deal_random_card()
        while not state.is_terminal():
            moves = state.legal_moves()
            move = moves[choose(list(range(len(moves))), lambda i: moves[i].type() == pyhanabi.HanabiMoveType.PLAY, rng)]
            start = time.perf_counter()
            state.apply_move(move)
            while state.cur_player() == pyhanabi.CHANCE_PLAYER_ID:
                state.deal_random_card()
            elapsed += time.perf_counter() - start
            steps += 1
    return elapsed, steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", type=int, default=300)
    parser.add_argument("--players", type=int, default=2)
    args = parser.parse_args()
    try:
        import hanabi_learning_environment.pyhanabi  # noqa: F401
        have_hle = True
    except ImportError:
        have_hle = False
        print("HLE not installed: printing our numbers only")

    seconds, steps, played = ours(args.games, args.players, with_encoding=False)
    rows = {"legal+step": [seconds / steps]}
    rows["step"] = [ours_step_only(played)[0] / steps]
    seconds, steps, _ = ours(args.games, args.players, with_encoding=True)
    rows["+encode"] = [seconds / steps]
    if have_hle:
        seconds, hle_steps = hle_step_only(args.games, args.players)
        rows["step"].append(seconds / hle_steps)
        seconds, hle_steps = hle(args.games, args.players, "raw")
        rows["legal+step"].append(seconds / hle_steps)
        rows["+encode"].append(hle(args.games, args.players, "encode")[0] / hle_steps)

    print(f"{args.games} games, {args.players} players, {steps} moves (ours); microseconds per move")
    print(f"{'mode':<12}{'ours':>10}{'HLE':>10}{'HLE/ours':>10}")
    for mode, times in rows.items():
        line = f"{mode:<12}{times[0] * 1e6:>10.1f}"
        if len(times) == 2:
            line += f"{times[1] * 1e6:>10.1f}{times[1] / times[0]:>10.2f}"
        print(line)
    verdict = "meets" if rows["step"][0] < 50e-6 else "MISSES"
    print(f"our single-game step: {rows['step'][0] * 1e6:.1f} us, {verdict} the 50 us target")


if __name__ == "__main__":
    main()
