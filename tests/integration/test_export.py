"""`instructplay export` (JSON Lines and CSV tables, filters, pseudonyms, no server paths) and
`instructplay participant delete` (everything of one person goes; a record without their id stays)."""

from __future__ import annotations

import csv
import json
import logging
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.cli import main
from server.db import migrate
from server.db.models import Event, Game, Instruction, Outcome, Participant, StudyEvent, StudyParticipant, StudyToken
from server.db.store import NewPlace, NewStudyEvent, Store, StudyStore, make_engine
from server.research.exports import TABLES, file_name, parse_since, scrub
from server.research.privacy import was_deleted
from tests.unit.test_scoring import HALF, PERFECT, hanabi_game, say_select_scripted, store_game

ALICE, BOB = "PROLIFIC5f3a9c", "PROLIFIC77b2e1"
SECRET = "/srv/secret"
GAMES = {"alice-say": "a" * 32, "alice-hanabi": "b" * 32, "bob-say": "c" * 32}


def study_config(participant: str, step: int) -> dict:
    return {"lambda": 0.25, "seat": 0, "prior_backend": f"causal-lm({SECRET}/models/gpt-j, hanabi=binary, beta=1)",
            "study": {"id": "st", "version": 1, "condition": "typed", "block": "b", "round": 0, "step": step,
                      "slot": 0, "participant": participant}}


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'export.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    store = StudyStore(engine)
    store.open_study("st", "A study", "id: st", "d" * 64, f"{SECRET}/studies/st.yaml")
    place = store.assign("st", 1, ALICE, "prolific", {"STUDY_ID": "s1", "SESSION_ID": "session-42"}, "t" * 64,
                         lambda living: NewPlace("typed", 0, ["b"], [{"block": "b", "round": 0, "game": "say-select",
                                                                      "seed": 3}],
                                                 [{"kind": "game"}, {"kind": "questionnaire"}],
                                                 [NewStudyEvent("consent", 0, payload={"decision": "agreed"}),
                                                  NewStudyEvent("entry", 0, payload={"by": "new", "external": {
                                                      "SESSION_ID": "session-42"}})]))
    row, events = say_select_scripted(GAMES["alice-say"], ALICE, PERFECT, study_config(ALICE, 0))
    store_game(store, row, events)
    store.link_game(place.id, 0, row["id"], [NewStudyEvent("game_started", 0, row["id"], {"seed": 3})])
    store.record("st", place.id, [NewStudyEvent("answers", 1, row["id"], {
        "questionnaire": "after_game", "block": "b", "round": 0, "game": "say-select",
        "answers": {"trust": 6, "partner_was": ["It seemed to follow what I said"],
                    "comment": f"it played well, see {SECRET}/nothing"}})])
    row, events = hanabi_game()
    store_game(store, {**row, "id": GAMES["alice-hanabi"], "participant_id": ALICE}, events)
    store_game(store, *say_select_scripted(GAMES["bob-say"], BOB, HALF, {"lambda": 0.25, "seat": 0}))
    engine.dispose()
    return url


def read(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def all_text(folder: Path) -> str:
    return "".join(p.read_text(encoding="utf-8") for p in sorted(folder.iterdir()))


def test_csv_tables_load_with_documented_columns_iso_times_and_no_server_paths(url, tmp_path):
    out = tmp_path / "csv"
    assert main(["export", "--format", "csv", "--out", str(out), "--db", url]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(TABLES)
    for name, columns in TABLES.items():
        with open(out / name, newline="", encoding="utf-8") as f:
            assert next(csv.reader(f)) == columns, name
    try:
        import pandas
    except ImportError:
        pandas = None
    if pandas is not None:
        for name in TABLES:
            assert list(pandas.read_csv(out / name).columns) == TABLES[name]

    games = {g["game_id"]: g for g in read(out / "games.csv")}
    assert set(games) == set(GAMES.values())
    assert games[GAMES["alice-say"]]["condition"] == "typed" and games[GAMES["alice-say"]]["score"] == "1.0"
    events = read(out / "events.csv")
    alice_moves = [e for e in events if e["participant"] == ALICE and e["type"] == "move"]
    assert len(alice_moves) == 6 + 9                      # 3 says and 3 selections; 9 Hanabi moves
    assert {e["move_label"] for e in alice_moves} >= {"say 1", "select 1", "quit", "hint red", "play A", "discard A"}
    chosen = [e for e in events if e["game_id"] == GAMES["alice-say"] and e["actor"] == "agent"]
    assert [e["prior_chosen"] for e in chosen] == ["0.5", "0.5", "0.5"]
    for e in events + list(games.values()):
        for key in ("time", "created_at", "ended_at"):
            if e.get(key):
                assert e[key].endswith("Z") and datetime.fromisoformat(e[key].replace("Z", "+00:00"))
    instructions = read(out / "instructions.csv")
    assert {(i["actor"], i["adopted"], i["clarify"]) for i in instructions if i["game_id"] == GAMES["alice-hanabi"]} \
        == {("human", "true", "false"), ("human", "false", "true")}
    assert [i["conventions"] for i in instructions if i["text"] == "colour hints mean play"] == ["color-hint-play:1.0"]

    [answers_trust] = [a for a in read(out / "answers.csv") if a["item"] == "trust"]
    assert (answers_trust["participant"], answers_trust["answer"], answers_trust["questionnaire"]) == (ALICE, "6", "after_game")
    choice = [a for a in read(out / "answers.csv") if a["item"] == "partner_was"][0]
    assert json.loads(choice["answer"]) == ["It seemed to follow what I said"]
    [assignment] = read(out / "assignments.csv")
    assert (assignment["participant"], assignment["condition"], json.loads(assignment["block_order"])) == (ALICE, "typed", ["b"])
    assert {s["game_id"] for s in read(out / "scores.csv")} == set(GAMES.values())
    assert {p["participant"]: p["games"] for p in read(out / "participants.csv")} == {ALICE: "2", BOB: "1"}

    text = all_text(out)
    assert f"see {SECRET}/nothing" in text                 # what a person wrote is kept word for word...
    assert SECRET not in text.replace(f"see {SECRET}/nothing", "")  # ...and no path of the server is anywhere else
    config = json.loads(games[GAMES["alice-hanabi"]]["config"]) if games[GAMES["alice-hanabi"]]["config"] else {}
    started = json.loads(next(e["payload"] for e in events if e["game_id"] == GAMES["alice-hanabi"]
                              and e["type"] == "game_started"))
    assert started["agents"] == {"color": "color.pt", "rank": "rulebot:rank", "vanilla": "vanilla.pt"}
    assert "gpt-j" in games[GAMES["alice-say"]]["prior_backend"] and config == {"lambda": 1.0, "seat": 0}


def test_jsonl_stays_the_default_with_filters_and_no_paths(url, tmp_path):
    out = tmp_path / "games.jsonl"
    assert main(["export", "--out", str(out), "--db", url]) == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 3 and set(lines[0]) == {"game_id", "game", "agent", "participant", "seed", "config", "status",
                                                 "created_at", "ended_at", "outcome", "instructions", "events"}
    assert SECRET not in out.read_text()
    hanabi = next(g for g in lines if g["game"] == "hanabi")
    agent_move = next(e for e in hanabi["events"] if e["actor"] == "agent")
    assert agent_move["payload"]["agent"]["source"] == "color.pt"

    def exported(*args: str) -> set[str]:
        path = tmp_path / "f.jsonl"
        assert main(["export", "--out", str(path), "--db", url, *args]) == 0
        return {json.loads(line)["game_id"] for line in path.read_text().splitlines()}

    assert exported("--participant", BOB) == {GAMES["bob-say"]}
    assert exported("--study", "st") == {GAMES["alice-say"]}
    assert exported("--since", "2999-01-01") == set()
    assert exported("--since", "2000-01-01T00:00Z") == set(GAMES.values())
    assert parse_since("2026-11-23T12:00+02:00") == parse_since("2026-11-23T10:00Z")
    assert main(["export", "--out", str(tmp_path / "x"), "--db", url, "--since", "yesterday"]) == 2


def test_csv_filters_keep_only_that_participant_or_study(url, tmp_path):
    out = tmp_path / "bob"
    assert main(["export", "--format", "csv", "--out", str(out), "--db", url, "--participant", BOB]) == 0
    assert {g["participant"] for g in read(out / "games.csv")} == {BOB}
    assert read(out / "assignments.csv") == [] and read(out / "answers.csv") == []
    assert [p["participant"] for p in read(out / "participants.csv")] == [BOB]
    out = tmp_path / "study"
    assert main(["export", "--format", "csv", "--out", str(out), "--db", url, "--study", "st"]) == 0
    assert [g["game_id"] for g in read(out / "games.csv")] == [GAMES["alice-say"]]
    assert len(read(out / "answers.csv")) == 3


def test_pseudonyms_are_stable_within_an_export_and_hide_ids_and_link_parameters(url, tmp_path):
    folders = []
    for name, extra in (("a", []), ("b", []), ("c", ["--salt", "s3cret"]), ("d", ["--salt", "s3cret"])):
        folders.append(tmp_path / name)
        assert main(["export", "--format", "csv", "--out", str(folders[-1]), "--db", url, "--pseudonymise", *extra]) == 0
    a = folders[0]
    text = all_text(a)
    assert ALICE not in text and BOB not in text and "session-42" not in text
    alice = {g["participant"] for g in read(a / "games.csv") if g["game_id"] != GAMES["bob-say"]}
    assert len(alice) == 1 and next(iter(alice)).startswith("p-")
    [pseudonym] = alice
    for table, column in (("events.csv", "participant"), ("instructions.csv", "participant"),
                          ("scores.csv", "participant"), ("assignments.csv", "participant"),
                          ("answers.csv", "participant"), ("study_events.csv", "participant")):
        assert {r[column] for r in read(a / table) if r[column] and r[column] != pseudonym} <= \
            {r["participant"] for r in read(a / "games.csv") if r["game_id"] == GAMES["bob-say"]}, table
    started = next(json.loads(e["payload"]) for e in read(a / "events.csv")
                   if e["game_id"] == GAMES["alice-say"] and e["type"] == "game_started")
    assert started["participant"] == pseudonym and started["study"]["participant"] == pseudonym
    assert read(a / "assignments.csv")[0]["external"] == ""
    by_salt = [{g["participant"] for g in read(f / "games.csv")} for f in folders]
    assert by_salt[0] != by_salt[1]                       # a random salt per export: not linkable
    assert by_salt[2] == by_salt[3]                       # the same salt, the same pseudonyms

    assert main(["export", "--out", str(tmp_path / "p.jsonl"), "--db", url, "--pseudonymise"]) == 0
    assert ALICE not in (tmp_path / "p.jsonl").read_text()


def count(url: str, model, **where) -> int:
    engine = make_engine(url)
    with Session(engine) as session:
        query = select(func.count()).select_from(model)
        for column, value in where.items():
            query = query.where(getattr(model, column) == value)
        n = session.scalar(query)
    engine.dispose()
    return n


def test_deleting_a_participant_removes_their_data_logs_it_and_keeps_a_record_without_the_id(url, caplog, capsys):
    assert count(url, Game, participant_id=ALICE) == 2
    with caplog.at_level(logging.INFO):
        assert main(["participant", "delete", ALICE, "--db", url, "--yes"]) == 0
    assert "deleted" in capsys.readouterr().out
    [line] = [r.getMessage() for r in caplog.records if "deleted participant" in r.getMessage()]
    assert ALICE not in line
    for model, column in ((Game, "participant_id"), (StudyParticipant, "participant_id"), (Participant, "id")):
        assert count(url, model, **{column: ALICE}) == 0
    for model in (Event, Instruction, Outcome):
        assert count(url, model, game_id=GAMES["alice-say"]) == 0 and count(url, model, game_id=GAMES["alice-hanabi"]) == 0
    assert count(url, StudyEvent) == 0 and count(url, StudyToken) == 0
    assert count(url, Game, participant_id=BOB) == 1 and count(url, Event, game_id=GAMES["bob-say"]) > 0

    engine = make_engine(url)
    store = Store(engine)
    [record] = store.deletions()
    assert ALICE not in json.dumps(record) and record["counts"]["games"] == 2 and record["counts"]["study_events"] == 4
    assert record["subject_hash"] in line
    assert len(was_deleted(store, ALICE)) == 1 and was_deleted(store, BOB) == []
    engine.dispose()
    assert main(["participant", "delete", ALICE, "--db", url, "--yes"]) == 1   # gone: nothing more to delete


def test_scrub_reduces_paths_but_keeps_free_text():
    stored = {"agents": {"color": "agents/checkpoints/hanabi/color.pt", "rank": "rulebot:rank"},
              "agent": {"source": "C:\\ckpt\\rank.pt", "label": "rank agent (rank.pt)"},
              "backend": "causal-lm(/models/tiny/gpt-j@float16, hanabi=binary, beta=1)",
              "summary_path": "read from models/tiny/gpt-j and ~/x/y",
              "text": "play /home/me/cards", "participant": "x"}
    clean = scrub(stored)
    assert clean["agents"] == {"color": "color.pt", "rank": "rulebot:rank"}
    assert clean["agent"] == {"source": "rank.pt", "label": "rank agent (rank.pt)"}
    assert clean["backend"] == "causal-lm(gpt-j@float16, hanabi=binary, beta=1)"
    assert clean["summary_path"] == "read from gpt-j and y"
    assert clean["text"] == "play /home/me/cards" and clean["participant"] == "x"
    assert file_name("rulebot:color") == "rulebot:color"
