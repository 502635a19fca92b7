"""The per-game scores (scoring.py) grouped: per participant, per condition, differences between conditions
and learning across a participant's games (docs/SCORING.md, "Aggregates").

The unit of analysis is the participant: within a game type and a group (a study condition, or the partner
for games outside a study) each participant's finished games are averaged first, and a group's mean is the
mean of its participants' means, with a t interval over participants. Differences between two groups
resample participants (bootstrap) and shuffle them between the groups (permutation), seeded.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from typing import Any, Iterable

from server.research import stats
from server.research.scoring import GameScore

# The metrics the aggregates average (games.csv columns; booleans count as 0/1).
METRICS = (
    "score", "perfect", "bombed", "turns", "median_move_s", "instructions_typed", "clarifications",
    "instructions_adopted", "agent_top_share", "agent_top_chance", "agent_prior_mass", "agent_prior_lift",
    "person_adherence", "agent_response",
    "person_known_color", "person_known_rank", "person_known_both", "person_known_none",
    "agent_known_color", "agent_known_rank", "agent_known_both", "agent_known_none",
)
# Metrics that are shares or rates: their intervals are clipped to [0, 1].
SHARES = frozenset(m for m in METRICS if m in ("perfect", "bombed") or m.startswith(("agent_top", "agent_prior_mass",
                                                                                        "person_known", "agent_known"))
                   or m in ("person_adherence", "agent_response"))
# What the summary (the command's printout, the report's first table) shows.
HEADLINE = ("score", "perfect", "bombed", "agent_top_share", "person_adherence", "agent_response", "median_move_s")
DEFAULT_SEED = 2026
DEFAULT_RESAMPLES = 10000


def number_games(scores: list[GameScore]) -> list[GameScore]:
    """Set each game's `game_number`: its place (1, 2, ...) among its participant's games of that game type,
    by start time, counting unfinished games too (they were played). Returns the scores oldest first."""
    ordered = sorted(scores, key=lambda s: (s.row["created_at"] or "", s.row["game_id"]))
    seen: dict[tuple[str, str], int] = defaultdict(int)
    for s in ordered:
        key = (s.row["participant"], s.row["game"])
        seen[key] += 1
        s.row["game_number"] = seen[key]
    return ordered


def _value(v: Any) -> float | None:
    if v is None:
        return None
    return float(v)


def _finished(scores: Iterable[GameScore]) -> list[dict[str, Any]]:
    return [s.row for s in scores if s.row["finished"]]


def participant_means(rows: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, dict[str, list]]]:
    """{(game, group): {participant: {metric: [values of their finished games]}}}."""
    out: dict[tuple[str, str], dict[str, dict[str, list]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for row in rows:
        person = out[(row["game"], row["group"])][row["participant"]]
        for metric in METRICS:
            v = _value(row[metric])
            if v is not None:
                person[metric].append(v)
        person["_game_number"].append(row["game_number"])
        person["_score_at"].append(_value(row["score"]))
    return out


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def participants_table(scores: list[GameScore]) -> list[dict[str, Any]]:
    """One row per participant, game type and group: games played and finished, the mean of each metric over
    their finished games, and the slope of their score on game number (with its t interval from 3 games)."""
    played: dict[tuple[str, str, str], int] = defaultdict(int)
    meta: dict[tuple[str, str, str], dict[str, Any]] = {}
    for s in scores:
        key = (s.row["participant"], s.row["game"], s.row["group"])
        played[key] += 1
        meta[key] = {"study": s.row["study"], "condition": s.row["condition"]}
    means = participant_means(_finished(scores))
    rows = []
    for (participant, game, group), n in sorted(played.items(), key=lambda kv: tuple(str(x) for x in kv[0])):
        person = means.get((game, group), {}).get(participant, {})
        slope = stats.ols_slope(person.get("_game_number", []), person.get("_score_at", []))
        rows.append({"participant": participant, "game": game, "group": group, **meta[(participant, game, group)],
                     "games": n, "finished": len(person.get("_game_number", [])),
                     **{metric: _mean(person.get(metric, [])) for metric in METRICS},
                     "learning_slope": slope.slope, "learning_low": slope.low, "learning_high": slope.high})
    return rows


def conditions_table(scores: list[GameScore]) -> list[dict[str, Any]]:
    """Long form: one row per game type, group and metric: participants, games, the mean of participants'
    means and its 95% t interval."""
    rows = []
    finished = _finished(scores)
    meta = {(r["game"], r["group"]): (r["study"], r["condition"]) for r in finished}
    for (game, group), people in sorted(participant_means(finished).items()):
        for metric in METRICS:
            per_person = [_mean(p[metric]) for p in people.values() if p.get(metric)]
            games = sum(len(p[metric]) for p in people.values() if p.get(metric))
            e = stats.mean_ci(per_person)
            low, high = e.low, e.high
            if metric in SHARES and low is not None:
                low, high = max(0.0, low), min(1.0, high)
            rows.append({"game": game, "group": group, "study": meta[(game, group)][0],
                         "condition": meta[(game, group)][1], "metric": metric, "participants": e.n, "games": games,
                         "mean": e.value, "ci_low": low, "ci_high": high})
    return rows


def differences_table(scores: list[GameScore], *, seed: int = DEFAULT_SEED,
                      resamples: int = DEFAULT_RESAMPLES) -> list[dict[str, Any]]:
    """Every pair of groups of a game type, for every metric: mean(a) - mean(b) of participants' means, its
    bootstrap 95% interval and the permutation p-value (`resamples` each, seeded by `seed` and the pair)."""
    rows = []
    by_game: dict[str, dict[str, dict]] = defaultdict(dict)
    for (game, group), people in participant_means(_finished(scores)).items():
        by_game[game][group] = people
    for game, groups in sorted(by_game.items()):
        for a, b in itertools.combinations(sorted(groups), 2):
            for metric in METRICS:
                xa = [_mean(p[metric]) for p in groups[a].values() if p.get(metric)]
                xb = [_mean(p[metric]) for p in groups[b].values() if p.get(metric)]
                if not xa or not xb:
                    continue
                d = stats.bootstrap_diff(xa, xb, seed=seed, key=f"{game}|{metric}|{a}|{b}", resamples=resamples)
                rows.append({"game": game, "metric": metric, "group_a": a, "group_b": b,
                             "mean_a": _mean(xa), "mean_b": _mean(xb), "n_a": d.n_a, "n_b": d.n_b,
                             "difference": d.diff, "ci_low": d.low, "ci_high": d.high,
                             "p_permutation": d.p_permutation, "resamples": resamples, "seed": seed})
    return rows


def learning_table(scores: list[GameScore], *, seed: int = DEFAULT_SEED,
                   resamples: int = DEFAULT_RESAMPLES) -> list[dict[str, Any]]:
    """Learning across a participant's games: per game type and group (and `all` groups together), the slope
    of score on game number within participants, with a cluster-bootstrap 95% interval over participants."""
    rows = []
    means = participant_means(_finished(scores))
    by_game: dict[str, dict[str, dict]] = defaultdict(dict)
    for (game, group), people in means.items():
        by_game[game][group] = people
    for game, groups in sorted(by_game.items()):
        named = sorted(groups.items())
        if len(named) > 1:
            everyone: dict[str, Any] = {}
            for group, people in named:
                everyone.update({f"{group}\0{p}": v for p, v in people.items()})
            named.append(("all", everyone))
        for group, people in named:
            units = {p: (v["_game_number"], v["_score_at"]) for p, v in people.items()}
            s = stats.within_slope(units, seed=seed, key=f"{game}|learning|{group}",
                                   resamples=max(200, resamples // 5))
            rows.append({"game": game, "group": group, "participants": len(people), "participants_with_2_games": s.units,
                         "games": s.points, "slope_per_game": s.slope, "ci_low": s.low, "ci_high": s.high})
    return rows
