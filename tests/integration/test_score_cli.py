"""`instructplay score` on a database of hand-built study games whose answers are known: the printout, every
CSV table, the plots and the report (docs/SCORING.md)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from server.cli import main
from server.db import migrate
from server.db.store import Store, make_engine
from server.research import stats
from server.research.report import build_tables, score_games
from tests.unit.test_scoring import HALF, PERFECT, ZERO, hanabi_game, say_select_scripted, store_game

# condition -> participant -> Say-Select games in order
STUDY = {
    "typed": {"p1": [HALF, PERFECT], "p2": [PERFECT], "p3": [PERFECT]},
    "fixed": {"p4": [ZERO, HALF], "p5": [HALF], "p6": [ZERO]},
}


def study_config(condition: str, participant: str, number: int) -> dict:
    return {"lambda": 0.25, "seat": 0, "study": {"id": "st", "version": 1, "condition": condition,
                                                 "block": "say-select", "round": number, "step": number,
                                                 "slot": 0, "participant": participant}}


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'scores.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    store = Store(engine)
    for condition, people in STUDY.items():
        for participant, games in people.items():
            for n, steps in enumerate(games):
                store_game(store, *say_select_scripted(f"{participant}-{n}", participant, steps,
                                                       study_config(condition, participant, n)))
    row, events = hanabi_game()
    store_game(store, {**row, "participant_id": "p1", "config": {**row["config"], **study_config("typed", "p1", 2)}},
               events)
    store_game(store, *say_select_scripted("other", "someone", PERFECT, {"lambda": 0.25, "seat": 0}))
    engine.dispose()
    return url


def read(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_score_prints_per_condition_coordination_and_writes_tables_plots_and_report(url, tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["score", "--study", "st", "--out", str(out), "--db", url, "--resamples", "2000"]) == 0
    printed = capsys.readouterr().out
    assert "say-select / typed: 3 participants, 4 finished games" in printed
    assert "say-select / fixed: 3 participants, 4 finished games" in printed
    for name in ("games.csv", "conventions.csv", "participants.csv", "conditions.csv", "differences.csv",
                 "learning.csv", "score_by_condition.png", "adherence_by_condition.png", "score_by_game_number.png",
                 "report.html"):
        assert (out / name).stat().st_size > 0, name

    games = read(out / "games.csv")
    assert len(games) == 9 and {g["study"] for g in games} == {"st"}          # the game outside the study is left out
    p1 = sorted((g for g in games if g["participant"] == "p1" and g["game"] == "say-select"),
                key=lambda g: g["game_number"])
    assert [(g["game_number"], g["score"]) for g in p1] == [("1", "0.5"), ("2", "1.0")]
    assert all(g["created_at"].endswith("Z") for g in games)

    # participants' means first: typed 0.75, 1, 1; fixed 0.25, 0.5, 0
    conditions = {(r["game"], r["group"], r["metric"]): r for r in read(out / "conditions.csv")}
    typed = conditions[("say-select", "typed", "score")]
    assert (typed["participants"], typed["games"]) == ("3", "4")
    assert float(typed["mean"]) == pytest.approx(11 / 12)
    half = stats.t_quantile(0.975, 2) * stats.clean([0.75, 1, 1]).std(ddof=1) / math.sqrt(3)
    assert float(typed["ci_low"]) == pytest.approx(11 / 12 - half) and float(typed["ci_high"]) == pytest.approx(11 / 12 + half)
    assert float(conditions[("say-select", "fixed", "score")]["mean"]) == pytest.approx(0.25)
    assert float(conditions[("say-select", "typed", "perfect")]["mean"]) == pytest.approx(5 / 6)
    assert conditions[("hanabi", "typed", "score")]["participants"] == "1"

    [diff] = [d for d in read(out / "differences.csv") if d["game"] == "say-select" and d["metric"] == "score"]
    assert (diff["group_a"], diff["group_b"]) == ("fixed", "typed")
    assert float(diff["difference"]) == pytest.approx(0.25 - 11 / 12)
    assert float(diff["ci_low"]) < float(diff["difference"]) < float(diff["ci_high"]) < 0
    assert 0 < float(diff["p_permutation"]) <= 1

    # p1 and p4 each gained 0.5 from their first game to their second
    learning = {(r["game"], r["group"]): r for r in read(out / "learning.csv")}
    assert float(learning[("say-select", "all")]["slope_per_game"]) == pytest.approx(0.5)
    assert learning[("say-select", "all")]["participants_with_2_games"] == "2"

    participants = {(r["participant"], r["game"]): r for r in read(out / "participants.csv")}
    assert participants[("p4", "say-select")]["games"] == "2"
    assert float(participants[("p4", "say-select")]["learning_slope"]) == pytest.approx(0.5)

    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 3 and "fixed" in page and "typed" in page
    assert (out / "score_by_condition.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_same_seed_gives_the_same_intervals(url):
    engine = make_engine(url)
    scores, skipped = score_games(Store(engine).research_games())
    engine.dispose()
    assert skipped == [] and len(scores) == 10
    a, b, c = (build_tables(scores, seed=seed, resamples=500) for seed in (7, 7, 8))
    assert a.differences == b.differences and a.learning == b.learning
    assert a.differences != c.differences
    assert {r["group"] for r in a.conditions} == {"typed", "fixed", "partner=instructq"}  # outside a study: the partner


def test_an_unknown_study_says_what_to_check(url, tmp_path, capsys):
    assert main(["score", "--study", "nope", "--out", str(tmp_path / "x"), "--db", url]) == 1
    assert "no games in study 'nope'" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
