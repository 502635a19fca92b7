"""`instructplay score`'s output: the CSV tables, the plots and the one-page HTML report (docs/SCORING.md).

    scores = score_games(records)              every game's GameScore, numbered per participant
    tables = build_tables(scores, seed=..)     games, conventions, participants, conditions, differences, learning
    write_report(tables, out_dir)              the CSVs, the PNGs, report.html
    summary_lines(tables)                      the per-condition printout
"""

from __future__ import annotations

import base64
import csv
import html
import io
import logging
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from server.research import tables as T
from server.research.scoring import CONVENTION_COLUMNS, GAME_COLUMNS, GameScore, score_record

log = logging.getLogger(__name__)

PLOTS = ("score_by_condition.png", "adherence_by_condition.png", "score_by_game_number.png")
ADHERENCE = (("agent_top_share", "agent: moves its prior ranks first"),
             ("agent_response", "agent: answers the convention"),
             ("person_adherence", "person: follows the convention"))


@dataclass
class Tables:
    games: list[dict[str, Any]]
    conventions: list[dict[str, Any]]
    participants: list[dict[str, Any]]
    conditions: list[dict[str, Any]]
    differences: list[dict[str, Any]]
    learning: list[dict[str, Any]]
    seed: int
    resamples: int
    skipped: list[str]


def score_games(records: Iterable[Any]) -> tuple[list[GameScore], list[str]]:
    """Score every game (a GameRecord or an export dict with its events); a game that cannot be scored (e.g.
    events of an older format) is skipped with a reason, never silently."""
    scores, skipped = [], []
    for record in records:
        try:
            scores.append(score_record(record))
        except (KeyError, ValueError, TypeError, IndexError) as e:
            game_id = record.get("game_id") if isinstance(record, dict) else getattr(record, "id", "?")
            skipped.append(f"{game_id}: {type(e).__name__}: {e}")
            log.warning("game %s cannot be scored: %s", game_id, e)
    return T.number_games(scores), skipped


def build_tables(scores: list[GameScore], *, seed: int = T.DEFAULT_SEED, resamples: int = T.DEFAULT_RESAMPLES,
                 skipped: list[str] | None = None) -> Tables:
    return Tables(games=[s.row for s in scores], conventions=[c for s in scores for c in s.conventions],
                  participants=T.participants_table(scores), conditions=T.conditions_table(scores),
                  differences=T.differences_table(scores, seed=seed, resamples=resamples),
                  learning=T.learning_table(scores, seed=seed, resamples=resamples),
                  seed=seed, resamples=resamples, skipped=skipped or [])


# ---------------------------------------------------------------- CSV


def cell(value: Any) -> str:
    """A CSV cell that pandas and R read back as the value: empty for missing, true/false, numbers as repr."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(round(value, 10))
    return str(value)


def write_csv(path: Path, rows: list[dict[str, Any]], columns: list[str]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([cell(row.get(c)) for c in columns])


def _columns(rows: list[dict[str, Any]], default: list[str]) -> list[str]:
    return list(rows[0]) if rows else default


PARTICIPANT_COLUMNS = ["participant", "game", "group", "study", "condition", "games", "finished", *T.METRICS,
                       "learning_slope", "learning_low", "learning_high"]
CONDITION_COLUMNS = ["game", "group", "study", "condition", "metric", "participants", "games", "mean", "ci_low",
                     "ci_high"]
DIFFERENCE_COLUMNS = ["game", "metric", "group_a", "group_b", "mean_a", "mean_b", "n_a", "n_b", "difference",
                      "ci_low", "ci_high", "p_permutation", "resamples", "seed"]
LEARNING_COLUMNS = ["game", "group", "participants", "participants_with_2_games", "games", "slope_per_game",
                    "ci_low", "ci_high"]


def write_report(tables: Tables, out: Path, *, title: str = "Coordination scores") -> dict[str, Path]:
    """Write games.csv, conventions.csv, participants.csv, conditions.csv, differences.csv, learning.csv,
    the three plots and report.html into `out`; returns what was written, by name."""
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, rows, columns in (("games.csv", tables.games, GAME_COLUMNS),
                                ("conventions.csv", tables.conventions, CONVENTION_COLUMNS),
                                ("participants.csv", tables.participants, PARTICIPANT_COLUMNS),
                                ("conditions.csv", tables.conditions, CONDITION_COLUMNS),
                                ("differences.csv", tables.differences, DIFFERENCE_COLUMNS),
                                ("learning.csv", tables.learning, LEARNING_COLUMNS)):
        write_csv(out / name, rows, columns)
        written[name] = out / name
    images = plots(tables)
    for name, png in images.items():
        (out / name).write_bytes(png)
        written[name] = out / name
    (out / "report.html").write_text(report_html(tables, images, title=title), encoding="utf-8")
    written["report.html"] = out / "report.html"
    return written


# ---------------------------------------------------------------- plots


def _estimates(tables: Tables, metric: str) -> dict[str, list[dict[str, Any]]]:
    """{game: [conditions rows of `metric` with a mean]}, groups in order."""
    out: dict[str, list[dict[str, Any]]] = {}
    for row in tables.conditions:
        if row["metric"] == metric and row["mean"] is not None:
            out.setdefault(row["game"], []).append(row)
    return out


def _errors(rows: list[dict[str, Any]]) -> list[list[float]]:
    low = [r["mean"] - r["ci_low"] if r["ci_low"] is not None else 0.0 for r in rows]
    high = [r["ci_high"] - r["mean"] if r["ci_high"] is not None else 0.0 for r in rows]
    return [low, high]


def _png(fig) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()


def _games(tables: Tables) -> list[str]:
    return sorted({r["game"] for r in tables.games}) or ["(no games)"]


def plots(tables: Tables) -> dict[str, bytes]:
    """The three plots as PNG bytes: score and adherence by condition (means with 95% intervals), and score
    against game number (every finished game, the mean per game number, the within-participant slope)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    games = _games(tables)
    out = {}
    score = _estimates(tables, "score")
    fig, axes = plt.subplots(1, len(games), figsize=(5 * len(games), 3.8), squeeze=False)
    for ax, game in zip(axes[0], games):
        rows = score.get(game, [])
        ax.errorbar(range(len(rows)), [r["mean"] for r in rows], yerr=_errors(rows), fmt="o", capsize=6)
        ax.set_xticks(range(len(rows)), [f"{r['group']}\n(n={r['participants']})" for r in rows])
        ax.set_xlim(-0.6, max(len(rows), 1) - 0.4)
        ax.set_title(f"{game}: score by condition")
        ax.set_ylabel("score (mean, 95% CI)" if game == "say-select" else "points (mean, 95% CI)")
        ax.grid(axis="y", alpha=0.3)
    out["score_by_condition.png"] = _png(fig)

    fig, axes = plt.subplots(1, len(games), figsize=(5 * len(games), 3.8), squeeze=False)
    for ax, game in zip(axes[0], games):
        groups = sorted({r["group"] for r in tables.conditions if r["game"] == game})
        for k, (metric, label) in enumerate(ADHERENCE):
            rows = {r["group"]: r for r in _estimates(tables, metric).get(game, [])}
            xs = [i + (k - 1) * 0.22 for i, g in enumerate(groups) if g in rows]
            picked = [rows[g] for g in groups if g in rows]
            ax.errorbar(xs, [r["mean"] for r in picked], yerr=_errors(picked), fmt="os^"[k], capsize=4, label=label)
        ax.set_xticks(range(len(groups)), groups)
        ax.set_xlim(-0.6, max(len(groups), 1) - 0.4)
        ax.set_ylim(-0.05, 1.05)
        ax.set_title(f"{game}: adherence by condition")
        ax.set_ylabel("share (mean, 95% CI)")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    out["adherence_by_condition.png"] = _png(fig)

    fig, axes = plt.subplots(1, len(games), figsize=(5 * len(games), 3.8), squeeze=False)
    for ax, game in zip(axes[0], games):
        finished = [r for r in tables.games if r["game"] == game and r["finished"]]
        groups = sorted({r["group"] for r in finished})
        for j, group in enumerate(groups):
            rows = [r for r in finished if r["group"] == group]
            xs = [r["game_number"] + (j - (len(groups) - 1) / 2) * 0.08 for r in rows]
            ax.scatter(xs, [r["score"] for r in rows], alpha=0.45, s=18, label=group)
        numbers = sorted({r["game_number"] for r in finished})
        means = [sum(r["score"] for r in finished if r["game_number"] == n)
                 / sum(1 for r in finished if r["game_number"] == n) for n in numbers]
        ax.plot(numbers, means, "k-", lw=1.5, label="mean")
        slope = next((r for r in tables.learning if r["game"] == game and r["group"] == "all"), None) \
            or next((r for r in tables.learning if r["game"] == game), None)
        if slope and slope["slope_per_game"] is not None:
            interval = "" if slope["ci_low"] is None else f" [{slope['ci_low']:+.2f}, {slope['ci_high']:+.2f}]"
            ax.set_title(f"{game}: slope {slope['slope_per_game']:+.2f}/game{interval}", fontsize=10)
        else:
            ax.set_title(f"{game}: score against game number", fontsize=10)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("the participant's game number")
        ax.set_ylabel("score")
        ax.grid(alpha=0.3)
        if finished:
            ax.legend(fontsize=7)
    out["score_by_game_number.png"] = _png(fig)
    return out


# ---------------------------------------------------------------- text and HTML


def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def interval(row: dict[str, Any] | None, digits: int = 3) -> str:
    if row is None or row.get("mean") is None:
        return "–"
    if row.get("ci_low") is None:
        return fmt(row["mean"], digits)
    return f"{fmt(row['mean'], digits)} [{fmt(row['ci_low'], digits)}, {fmt(row['ci_high'], digits)}]"


def headline(tables: Tables) -> list[dict[str, Any]]:
    """One row per game type and group: participants, games, and each HEADLINE metric as mean [95% CI]."""
    cells: dict[tuple[str, str], dict[str, Any]] = {}
    for row in tables.conditions:
        key = (row["game"], row["group"])
        entry = cells.setdefault(key, {"game": row["game"], "group": row["group"], "participants": 0, "games": 0})
        if row["metric"] == "score":
            entry["participants"], entry["games"] = row["participants"], row["games"]
        if row["metric"] in T.HEADLINE:
            entry[row["metric"]] = interval(row, 2 if row["metric"] in ("score", "median_move_s") else 3)
    return [cells[k] for k in sorted(cells)]


def summary_lines(tables: Tables) -> list[str]:
    """The printout: per game type and condition, the coordination means with 95% intervals; the
    differences in score; learning."""
    lines = []
    for row in headline(tables):
        lines.append(f"{row['game']} / {row['group']}: {row['participants']} participants, {row['games']} finished games")
        for metric in T.HEADLINE:
            lines.append(f"    {metric:<18} {row.get(metric, '–')}")
    for d in tables.differences:
        if d["metric"] in ("score", "agent_top_share", "person_adherence"):
            ci = "" if d["ci_low"] is None else f" [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}]"
            p = "" if d["p_permutation"] is None else f", permutation p = {d['p_permutation']:.4f}"
            lines.append(f"{d['game']}: {d['metric']} {d['group_a']} - {d['group_b']} = {fmt(d['difference'])}{ci}{p}")
    for r in tables.learning:
        if r["slope_per_game"] is not None:
            ci = "" if r["ci_low"] is None else f" [{r['ci_low']:+.3f}, {r['ci_high']:+.3f}]"
            lines.append(f"{r['game']} / {r['group']}: score {r['slope_per_game']:+.3f} per game{ci} "
                         f"({r['participants_with_2_games']} participants with 2+ games)")
    if not lines:
        lines.append("no finished games to score")
    return lines


def _table(rows: list[dict[str, Any]], columns: list[str], digits: int = 3) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(fmt(r.get(c), digits))}</td>" for c in columns) + "</tr>"
                   for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def report_html(tables: Tables, images: dict[str, bytes], *, title: str) -> str:
    """One self-contained page: the headline per condition, differences, learning, the plots (embedded), and
    the participants' and games' tables folded away."""
    made = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    finished = sum(1 for g in tables.games if g["finished"])
    figures = "".join(f'<figure><img alt="{html.escape(name)}" src="data:image/png;base64,'
                      f'{base64.b64encode(png).decode()}"></figure>' for name, png in images.items())
    differences = [d for d in tables.differences if d["metric"] in T.HEADLINE]
    skipped = "".join(f"<li>{html.escape(s)}</li>" for s in tables.skipped)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font: 13px/1.4 system-ui, sans-serif; margin: 1.5em auto; max-width: 1200px; color: #222; }}
table {{ border-collapse: collapse; margin: 0.5em 0 1.2em; font-size: 12px; }}
th, td {{ border: 1px solid #ccc; padding: 2px 6px; text-align: right; }}
th {{ background: #f3f3f3; }} td:first-child, td:nth-child(2) {{ text-align: left; }}
figure {{ display: inline-block; margin: 0.3em; }} img {{ max-width: 100%; }}
details {{ margin: 0.6em 0; }} .note {{ color: #555; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p class="note">{len(tables.games)} games ({finished} finished), {len({g['participant'] for g in tables.games})}
participants. Made {made}. Means are over participants (each participant's finished games averaged first), with
95% t intervals; differences have percentile bootstrap intervals and permutation p-values ({tables.resamples}
resamples, seed {tables.seed}). Definitions: docs/SCORING.md.</p>
<h2>By condition</h2>
{_table(headline(tables), ["game", "group", "participants", "games", *T.HEADLINE])}
<h2>Differences between conditions</h2>
{_table(differences, DIFFERENCE_COLUMNS[:-2], 4) if differences else '<p class="note">one condition per game: nothing to compare</p>'}
<h2>Learning across a participant's games</h2>
{_table(tables.learning, LEARNING_COLUMNS, 4)}
<h2>Plots</h2>
{figures}
<details><summary>Every metric by condition ({len(tables.conditions)} rows)</summary>
{_table(tables.conditions, CONDITION_COLUMNS, 4)}</details>
<details><summary>Participants ({len(tables.participants)})</summary>
{_table(tables.participants, ["participant", "game", "group", "games", "finished", "score", "agent_top_share",
                              "person_adherence", "agent_response", "learning_slope"])}</details>
<details><summary>Games ({len(tables.games)})</summary>
{_table(tables.games, ["game_id", "participant", "game", "group", "game_number", "status", "score", "turns",
                       "median_move_s", "instructions_typed", "agent_top_share", "person_adherence",
                       "agent_response"])}</details>
{f"<details><summary>Games that could not be scored ({len(tables.skipped)})</summary><ul>{skipped}</ul></details>" if skipped else ""}
</body></html>
"""
