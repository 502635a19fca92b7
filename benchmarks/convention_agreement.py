"""Benchmark: how often the shipped Hanabi agents follow a convention they were not trained for, once it is
adopted and shapes their moves through the prior (argmax over legal moves of log pi + lambda log p).

For each Hanabi convention, the agent the "instructed" partner brings in for it (server/games/hanabi.py
`role_for`: the colour agent for color-hint-play, the rank agent for rank-hint-play, the vanilla agent for
everything else) plays itself on the same deals, both seats following the convention's prior, at several
lambdas (0 is the agent's own behaviour; 1 is the server's HANABI_LAMBDA). At every move where the
convention speaks and prefers some legal moves over others, the move agrees when it is one the convention
prefers. The script prints, per convention, those moves, the agreement at each lambda and the mean score,
and writes agents/priors/conventions/agreement.json, which the play page uses to say when a partner follows
a convention it has no trained agent for only weakly (agreement under WEAK_BELOW at the server's lambda).

    .venv/bin/python -m benchmarks.convention_agreement                   # 60 games per setting
    .venv/bin/python -m benchmarks.convention_agreement --games 200 --lambdas 0 1 4
    .venv/bin/python -m benchmarks.convention_agreement --conventions save-critical play-only-certain

The prior is the convention's own (softmax of beta * L, beta 1, as ConventionsPrior gives an instruction
read as that convention alone), computed on what the agent sees: the partner's last move in the paper's
words and the table (agents.priors.conventions.hanabi.observation_text), with the hints naming their value.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from agents.envs.hanabi.language import move_text
from agents.envs.hanabi.rules import HanabiGame
from agents.policies.hanabi import load_hanabi_agent
from agents.priors.conventions import CONVENTIONS
from agents.priors.conventions.convention import mixture
from agents.priors.conventions.hanabi import observation_text
from agents.priors.conventions.prior import DEFAULT_BETA

ROOT = Path(__file__).resolve().parents[1]
AGENTS = ROOT / "agents" / "checkpoints" / "hanabi"
OUT = ROOT / "agents" / "priors" / "conventions" / "agreement.json"
ROLE = {"color-hint-play": "color", "rank-hint-play": "rank"}  # as server/games/hanabi.py ROLE_OF_CONVENTION
SERVER_LAMBDA = 1.0
WEAK_BELOW = 0.75


def play(agent, convention, lam: float, seed: int) -> tuple[int, int, int]:
    """One self-play game: (moves where the convention prefers some legal moves, moves that agree, score)."""
    game = HanabiGame(2, seed=seed)
    spoke = agreed = 0
    beta = DEFAULT_BETA["hanabi"]
    while not game.is_over():
        legal = game.legal_moves()
        observation = observation_text(game, game.current_player)
        texts = [move_text(u, full=True) for u in legal]
        preferences = convention.prefer(observation, texts)
        log_prior = np.log(mixture([(convention, 1.0)], observation, texts, beta))
        uid = agent.act(game, legal, log_prior, lam).move
        if preferences is not None and np.ptp(preferences) > 0:
            spoke += 1
            agreed += int(preferences[legal.index(uid)] == np.max(preferences))
        game.step(uid)
    return spoke, agreed, game.score()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--games", type=int, default=60)
    p.add_argument("--lambdas", type=float, nargs="+", default=[0.0, SERVER_LAMBDA, 4.0])
    p.add_argument("--conventions", nargs="*", help="ids (default: every Hanabi convention)")
    p.add_argument("--agents", default=str(AGENTS))
    p.add_argument("--no-write", action="store_true", help="do not update agreement.json")
    args = p.parse_args()
    agents = {role: load_hanabi_agent(str(Path(args.agents) / f"{role}.pt")) for role in ("color", "rank", "vanilla")}
    chosen = [c for c in CONVENTIONS["hanabi"] if not args.conventions or c.id in args.conventions]
    print(f"{args.games} self-play games per setting (seeds 0..{args.games - 1}); agreement = share of the moves "
          f"where the convention prefers some legal moves that are among those it prefers")
    header = "  ".join(f"lambda {lam:g}: agree (score)" for lam in args.lambdas)
    print(f"{'convention':<22}{'agent':<9}{'moves':>7}  {header}")
    results = {}
    for convention in chosen:
        role = ROLE.get(convention.id, "vanilla")
        row = {"agent": role, "games": args.games, "by_lambda": {}}
        start = time.perf_counter()
        for lam in args.lambdas:
            spoke = agreed = 0
            scores = []
            for seed in range(args.games):
                s, a, score = play(agents[role], convention, lam, seed)
                spoke, agreed, scores = spoke + s, agreed + a, scores + [score]
            row["by_lambda"][f"{lam:g}"] = {"moves": spoke, "agreement": round(agreed / spoke, 4) if spoke else None,
                                            "score": round(float(np.mean(scores)), 2)}
        cells = "  ".join(f"{_pct(row['by_lambda'][f'{lam:g}']['agreement']):>12} ({row['by_lambda'][f'{lam:g}']['score']:5.2f})"
                          for lam in args.lambdas)
        moves = row["by_lambda"][f"{args.lambdas[-1]:g}"]["moves"]
        print(f"{convention.id:<22}{role:<9}{moves:>7}  {cells}   [{time.perf_counter() - start:.0f} s]", flush=True)
        results[convention.id] = row
    if not args.no_write and f"{SERVER_LAMBDA:g}" in {f"{lam:g}" for lam in args.lambdas}:
        write(results, args)


def write(results: dict, args: argparse.Namespace) -> None:
    old = json.loads(OUT.read_text()) if OUT.exists() else {}
    conventions = {**old.get("conventions", {}), **{
        cid: {"agent": row["agent"], "own_agent": row["agent"] != "vanilla",
              "agreement": row["by_lambda"][f"{SERVER_LAMBDA:g}"]["agreement"],
              "without_prior": row["by_lambda"].get("0", {}).get("agreement"),
              "score": row["by_lambda"][f"{SERVER_LAMBDA:g}"]["score"]} for cid, row in results.items()}}
    OUT.write_text(json.dumps({"lambda": SERVER_LAMBDA, "games": args.games, "weak_below": WEAK_BELOW,
                               "measured_by": "benchmarks/convention_agreement.py", "conventions": conventions},
                              indent=1) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}")


def _pct(x) -> str:
    return "-" if x is None else f"{x:.0%}"


if __name__ == "__main__":
    main()
