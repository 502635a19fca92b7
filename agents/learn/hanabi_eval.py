"""Evaluation of 2-player Hanabi agents: self-play and cross-play scores and the paper's convention metrics.

- Score: mean with its standard error, perfect-game (25) rate, bomb-out rate (all lives lost).
- Knowledge of played cards (instructrl.md 4.6): at every play, what the player could deduce about the
  card from hints and card counting (HLE's V0 belief support): only its colour, only its rank, both,
  or neither. A colour-instructed agent should play mostly "colour only" cards.
- Conditional action matrix: counts of (partner's move at t, my move at t+1) over the 20 HLE moves,
  shown row-normalised as P(my move | partner's last move).

Agents are anything with `name` and `act_many(games) -> list[int]` (one move per game, for the player
to move); games are played in lockstep so neural agents run one batched forward pass per turn.
Deals are fixed by the seed, so every number here is reproducible.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from agents.envs.hanabi.deduction import known_class, possible_cards
from agents.envs.hanabi.rules import (
    COLOR_HINT_UIDS,
    DISCARD_UIDS,
    MAX_SCORE,
    NUM_MOVES_2P,
    PLAY_UIDS,
    RANK_HINT_UIDS,
    HanabiGame,
)

KNOWLEDGE_CLASSES = ("color", "rank", "both", "none")
# The heat map's short move labels, in uid order: D1-5 discard, P1-5 play, C1-5 colour hint, R1-5 rank hint.
MOVE_LABELS = [f"{kind}{i}" for kind, uids in (("D", DISCARD_UIDS), ("P", PLAY_UIDS), ("C", COLOR_HINT_UIDS),
                                               ("R", RANK_HINT_UIDS)) for i in range(1, len(uids) + 1)]


@dataclass
class Report:
    """What a set of games measured. `knowledge` and `action_counts` count only `measured` seats' moves."""

    scores: list[int] = field(default_factory=list)
    bombs: int = 0
    knowledge: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KNOWLEDGE_CLASSES, 0))
    action_counts: np.ndarray = field(default_factory=lambda: np.zeros((NUM_MOVES_2P, NUM_MOVES_2P), dtype=np.int64))

    @property
    def games(self) -> int:
        return len(self.scores)

    @property
    def mean(self) -> float:
        return float(np.mean(self.scores))

    @property
    def sem(self) -> float:
        return float(np.std(self.scores, ddof=1) / math.sqrt(self.games)) if self.games > 1 else 0.0

    @property
    def perfect_rate(self) -> float:
        return sum(s == MAX_SCORE for s in self.scores) / self.games

    @property
    def bomb_rate(self) -> float:
        return self.bombs / self.games

    def knowledge_fractions(self) -> dict[str, float]:
        plays = sum(self.knowledge.values())
        return {k: (v / plays if plays else 0.0) for k, v in self.knowledge.items()}

    def conditional_matrix(self) -> np.ndarray:
        """Row-normalised P(my move | partner's last move); rows with no data are 0."""
        rows = self.action_counts.sum(1, keepdims=True)
        return np.divide(self.action_counts, rows, out=np.zeros(self.action_counts.shape), where=rows > 0)

    def summary(self) -> dict:
        return {"games": self.games, "mean": round(self.mean, 3), "sem": round(self.sem, 3),
                "perfect_rate": round(self.perfect_rate, 4), "bomb_rate": round(self.bomb_rate, 4),
                "played_card_knowledge": {k: round(v, 4) for k, v in self.knowledge_fractions().items()}}


def play_knowledge(game: HanabiGame, uid: int) -> str | None:
    """The knowledge class of the card the player to move plays with `uid`, or None if `uid` is not a play."""
    if uid not in PLAY_UIDS:
        return None
    return known_class(possible_cards(game, game.current_player, uid - PLAY_UIDS.start))


def play(agents: tuple, num_games: int, seed: int = 1, measure: int | None = None) -> Report:
    """Play `num_games` games, agents[0] in seat 0 and agents[1] in seat 1; deal i uses seed `seed + i`.

    `measure` (a seat) limits the convention metrics to that seat's moves; None measures both seats.
    """
    report = Report()
    games = [HanabiGame(seed=seed + i) for i in range(num_games)]
    previous = [None] * num_games
    live = list(range(num_games))
    while live:
        for seat, agent in enumerate(agents):
            turn = [i for i in live if games[i].current_player == seat and not games[i].is_over()]
            if not turn:
                continue
            moves = agent.act_many([games[i] for i in turn])
            for i, uid in zip(turn, moves):
                _record(report, games[i], previous[i], int(uid), measure in (None, seat))
                games[i].step(int(uid))
                previous[i] = int(uid)
        for i in [i for i in live if games[i].is_over()]:
            report.scores.append(games[i].score())
            report.bombs += games[i].life_tokens == 0
        live = [i for i in live if not games[i].is_over()]
    return report


def _record(report: Report, game: HanabiGame, previous: int | None, uid: int, measured: bool) -> None:
    if not measured:
        return
    cls = play_knowledge(game, uid)
    if cls is not None:
        report.knowledge[cls] += 1
    if previous is not None:
        report.action_counts[previous, uid] += 1


def self_play(agent, num_games: int = 1000, seed: int = 1) -> Report:
    return play((agent, agent), num_games, seed)


def cross_play(agents: list, num_games: int = 1000, seed: int = 1) -> dict[tuple[str, str], Report]:
    """Every pair (with itself too), half the games with each agent in seat 0; keyed by (name, name)."""
    results = {}
    for a, b in itertools.combinations_with_replacement(agents, 2):
        first = play((a, b), num_games // 2, seed)
        second = play((b, a), num_games - num_games // 2, seed + num_games // 2)
        first.scores += second.scores
        first.bombs += second.bombs
        results[(a.name, b.name)] = first
    return results


def cross_play_table(results: dict[tuple[str, str], Report]) -> str:
    """A markdown table of mean +- s.e.m. for every pair."""
    names = list(dict.fromkeys(n for pair in results for n in pair))
    lines = ["| | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for a in names:
        cells = []
        for b in names:
            r = results.get((a, b)) or results.get((b, a))
            cells.append(f"{r.mean:.2f} ± {r.sem:.2f}" if r else "")
        lines.append(f"| {a} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def save_action_matrix(report: Report, path: str, title: str) -> None:
    """The row-normalised action matrix as a heat-map PNG (rows: partner's last move; columns: my move)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 6))
    image = ax.imshow(report.conditional_matrix(), cmap="viridis", vmin=0, vmax=1)
    ax.set_xticks(range(NUM_MOVES_2P), MOVE_LABELS, rotation=90)
    ax.set_yticks(range(NUM_MOVES_2P), MOVE_LABELS)
    ax.set_xlabel("my move at t+1")
    ax.set_ylabel("partner's move at t")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, label="P(my move | partner's move)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
