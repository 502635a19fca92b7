"""Database tests, on SQLite always and on PostgreSQL when INSTRUCTPLAY_TEST_POSTGRES_URL is set:
migrations from scratch, the store's writes and reads, and the JSON Lines export."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import sqlite3
import threading
import time

import pytest
from sqlalchemy import insert, inspect, text

from server.commands.export import export
from server.config import REPO_ROOT
from server.db import migrate
from server.db.models import Base, Event, utcnow
from server.db.store import NewEvent, NewInstruction, NewOutcome, StaleGame, Store, StorageUnavailable, make_engine
from tests.integration.db_urls import BACKENDS, fresh_database

TABLES = {"participants", "games", "instructions", "events", "outcomes"}


@pytest.fixture(params=BACKENDS)
def engine(request, tmp_path):
    with fresh_database(request.param, tmp_path) as url:
        engine = make_engine(url)
        yield engine
        engine.dispose()


@pytest.fixture
def store(engine):
    migrate.upgrade(engine)
    return Store(engine)


def new_game(store: Store, game_id: str = "g1", participant: str = "p1") -> None:
    store.create_game(game_id=game_id, participant_id=participant, game="say-select", agent="instructq", seed=3,
                      config={"lambda": 0.25}, resume_token_hash="h" * 64,
                      first_event=NewEvent(0, 0, "system", "game_started", payload={"balls": [1, -1, -1, -1, -1]}))


def test_migrations_create_the_models_schema_from_scratch(engine):
    assert migrate.current_revision(engine) is None
    migrate.upgrade(engine)
    migrate.upgrade(engine)  # applying again is a no-op
    assert migrate.current_revision(engine) == migrate.head_revision() is not None
    inspector = inspect(engine)
    assert TABLES <= set(inspector.get_table_names())
    for table in Base.metadata.sorted_tables:
        migrated = {c["name"] for c in inspector.get_columns(table.name)}
        assert migrated == {c.name for c in table.columns}, table.name
        # the same indexes too: an index dropped from the models (or added) needs its migration
        # (PostgreSQL also lists a unique constraint's own index, marked duplicates_constraint)
        indexes = {i["name"] for i in inspector.get_indexes(table.name) if not i.get("duplicates_constraint")}
        assert indexes == {i.name for i in table.indexes}, table.name


def test_events_append_in_order_and_rebuild_the_game(store):
    new_game(store)
    store.append("g1", [NewEvent(1, 0, "human", "move", {"say": 1}, {"reward": 0})])
    store.append("g1", [NewEvent(2, 0, "system", "instruction", payload={"text": "hi"})],
                 instruction=NewInstruction(2, "hi", "table", {"log_probs": []}, {"summary": "s"}))
    store.append("g1", [NewEvent(3, 1, "agent", "move", {"select": 1}, {"reward": 1, "think_ms": 1.5}),
                        NewEvent(4, 2, "system", "game_over", payload={"score": 1.0})],
                 outcome=NewOutcome(score=1.0, total_reward=1, k=1, turns=2))
    record = store.load_game("g1")
    assert record.status == "over" and record.ended_at is not None
    assert [(e["seq"], e["type"], e["move"]) for e in record.events] == [
        (0, "game_started", None), (1, "move", {"say": 1}), (2, "instruction", None),
        (3, "move", {"select": 1}), (4, "game_over", None)]
    assert record.events[3]["payload"]["think_ms"] == 1.5
    times = [e["time"] for e in record.events]
    assert all(t.endswith("Z") for t in times) and times == sorted(times)
    assert store.load_game("nope") is None


def test_a_clashing_sequence_number_stores_nothing(store):
    new_game(store)
    with pytest.raises(StaleGame):
        store.append("g1", [NewEvent(1, 0, "human", "move", {"say": 2}), NewEvent(0, 0, "human", "move", {"say": 3})])
    assert len(store.load_game("g1").events) == 1


def test_a_move_stored_through_the_driver_reads_back_as_the_core_insert_stores_it(store, engine):
    """Store.append sends a move's events through the driver itself (compiled once, values converted by the
    columns' own types): the rows must be what SQLAlchemy's insert writes, byte for byte in the database."""
    new_game(store)
    payload = {"reward": 0, "text": "naïve ✓ \"quoted\"", "nested": {"probs": [0.25, 0.75]}, "none": None}
    store.append("g1", [NewEvent(1, 0, "human", "move", {"say": 1}, payload), NewEvent(2, 0, "agent", "move")])
    with engine.begin() as conn:  # the same two rows through Core, under another game
        new_game(store, "g2")
        conn.execute(insert(Event), [
            {"game_id": "g2", "seq": 1, "turn": 0, "actor": "human", "type": "move", "move": {"say": 1},
             "payload": payload, "created_at": utcnow()},
            {"game_id": "g2", "seq": 2, "turn": 0, "actor": "agent", "type": "move", "move": None, "payload": {},
             "created_at": utcnow()}])
        cast = "CAST(move AS TEXT), CAST(payload AS TEXT)"
        rows = {g: conn.execute(text(f"SELECT seq, turn, actor, type, {cast} FROM events WHERE game_id = :g "
                                     "AND seq > 0 ORDER BY seq"), {"g": g}).all() for g in ("g1", "g2")}
        times = conn.execute(text("SELECT CAST(created_at AS TEXT) FROM events WHERE seq = 1 ORDER BY game_id")).all()
    assert rows["g1"] == rows["g2"]
    # the time as stored: the same format, digits and the length of the fraction aside (PostgreSQL's text of a
    # timestamptz drops trailing zeros of the microseconds, and the whole fraction when they are 0)
    shape = [re.sub(r"\d", "9", re.sub(r"\.\d+", "", t)) for (t,) in times]
    assert shape[0] == shape[1], times
    events = store.load_game("g1").events
    assert events[1]["payload"] == payload and events[1]["move"] == {"say": 1} and events[2]["move"] is None
    assert events[1]["time"].endswith("Z")


def test_a_single_clashing_event_is_stale_and_leaves_the_connection_usable(store, engine):
    """One event is stored in one statement (on PostgreSQL in autocommit, one round trip): a clash stores
    nothing, and the connection goes back to the pool in its usual transactional mode."""
    new_game(store)
    store.append("g1", [NewEvent(1, 0, "human", "move", {"say": 1})])
    with pytest.raises(StaleGame):
        store.append("g1", [NewEvent(1, 0, "human", "move", {"say": 2})])
    store.append("g1", [NewEvent(2, 1, "agent", "move", {"select": 1}), NewEvent(3, 1, "human", "move", {"say": 3})])
    assert [(e["seq"], e["move"]) for e in store.load_game("g1").events] == [
        (0, None), (1, {"say": 1}), (2, {"select": 1}), (3, {"say": 3})]
    raw = engine.raw_connection()
    try:
        assert not getattr(raw.dbapi_connection, "autocommit", False)
    finally:
        raw.close()


def test_a_pooled_connection_the_database_dropped_is_replaced(store, engine):
    """The database drops the connection a move would be stored on (PostgreSQL restarted: its backend is
    terminated; SQLite: the handle closed): the move is still stored, on a fresh connection."""
    new_game(store)
    raw = engine.raw_connection()
    if engine.dialect.name == "postgresql":
        pid = raw.dbapi_connection.info.backend_pid
        with engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    else:
        raw.dbapi_connection.close()
    raw.close()  # back to the pool, dead
    store.append("g1", [NewEvent(1, 0, "human", "move", {"say": 1})])
    assert [e["seq"] for e in store.load_game("g1").events] == [0, 1]


def test_an_unreachable_database_raises_storage_unavailable(tmp_path):
    store = Store(make_engine(f"sqlite:///{tmp_path / 'gone' / 'x.db'}"))
    (tmp_path / "gone").rmdir()
    with pytest.raises(StorageUnavailable):
        new_game(store)
    with pytest.raises(StorageUnavailable):
        store.load_game("g1")


def test_export_writes_one_game_per_line_with_instructions_events_and_outcome(store, engine):
    new_game(store, "g1", "p1")
    new_game(store, "g2", "p1")
    store.append("g1", [NewEvent(1, 0, "system", "instruction", payload={"text": "copy me"})],
                 instruction=NewInstruction(1, "copy me", "table(p=0.9)", {"log_probs": [[[0.0]]]}, {"summary": "s"}))
    store.append("g1", [NewEvent(2, 0, "human", "move", {"say": 4})])
    out = io.StringIO()
    assert export(engine.url.render_as_string(hide_password=False), out) == 2
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [g["game_id"] for g in lines] == ["g1", "g2"]
    g1 = lines[0]
    assert set(g1) == {"game_id", "game", "agent", "participant", "seed", "config", "status", "created_at",
                       "ended_at", "outcome", "instructions", "events"}
    assert (g1["participant"], g1["agent"], g1["seed"], g1["outcome"]) == ("p1", "instructq", 3, None)
    assert [(i["text"], i["event_seq"], i["backend"]) for i in g1["instructions"]] == [("copy me", 1, "table(p=0.9)")]
    assert [e["type"] for e in g1["events"]] == ["game_started", "instruction", "move"]
    assert g1["events"][2]["move"] == {"say": 4} and g1["events"][2]["actor"] == "human"


def test_export_command_line_writes_the_file(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    new_game(Store(engine))
    out = tmp_path / "games.jsonl"
    done = subprocess.run([sys.executable, "-m", "server.cli", "export", "--out", str(out), "--db", url],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "exported 1 games" in done.stderr
    assert json.loads(out.read_text())["game_id"] == "g1"


def sqlite_store(tmp_path) -> Store:
    store = Store(make_engine(f"sqlite:///{tmp_path / 'group.db'}"))
    migrate.upgrade(store.engine)
    return store


def appends_while_the_writer_is_busy(store: Store, appends: dict[str, list[NewEvent]]) -> tuple[dict, list[int]]:
    """Each game's events appended from a thread of its own while the test holds the group writer, so that
    all of them queue; then the writer is let go. Returns each game's outcome (None or the error) and the sizes
    of the transactions written."""
    batches: list[int] = []
    commit = store._group._commit
    store._group._commit = lambda engine, sql, batch: (batches.append(len(batch)), commit(engine, sql, batch))[1]
    outcomes: dict[str, object] = {}

    def append(game_id):
        try:
            store.append(game_id, appends[game_id])
            outcomes[game_id] = None
        except BaseException as e:
            outcomes[game_id] = e

    with store._group._writer:
        threads = [threading.Thread(target=append, args=(g,)) for g in appends]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while len(store._group._queue) < len(appends) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(store._group._queue) == len(appends), "the appends never queued"
    for t in threads:
        t.join(60)
    return outcomes, batches


def test_moves_that_wait_for_the_writer_are_committed_together(tmp_path):
    """Group commit: appends queued while another is being written go into one transaction, and each append
    returns only once its own rows are stored."""
    store = sqlite_store(tmp_path)
    games = [f"g{i}" for i in range(6)]
    for g in games:
        new_game(store, g, f"p-{g}")
    outcomes, batches = appends_while_the_writer_is_busy(
        store, {g: [NewEvent(1, 0, "human", "move", {"say": i + 1})] for i, g in enumerate(games)})
    assert outcomes == {g: None for g in games}
    assert batches == [6]
    for i, g in enumerate(games):
        assert [(e["seq"], e["move"]) for e in store.load_game(g).events] == [(0, None), (1, {"say": i + 1})]
    store.append("g0", [NewEvent(2, 1, "agent", "move", {"select": 1})])  # alone: written at once
    assert batches == [6, 1] and len(store.load_game("g0").events) == 3
    store.engine.dispose()


def test_a_stale_move_in_a_shared_commit_refuses_only_itself(tmp_path):
    store = sqlite_store(tmp_path)
    for g in ("g1", "g2", "g3"):
        new_game(store, g, f"p-{g}")
    store.append("g2", [NewEvent(1, 0, "human", "move", {"say": 1})])  # g2's seq 1 is taken
    outcomes, batches = appends_while_the_writer_is_busy(store, {
        "g1": [NewEvent(1, 0, "human", "move", {"say": 2})],
        "g2": [NewEvent(1, 0, "human", "move", {"say": 3})],
        "g3": [NewEvent(1, 0, "human", "move", {"say": 4}), NewEvent(2, 0, "agent", "move", {"select": 4})]})
    assert outcomes["g1"] is None and outcomes["g3"] is None and isinstance(outcomes["g2"], StaleGame)
    assert batches[0] == 3 and sorted(batches[1:]) == [1, 1, 1]  # the shared one refused, then each alone
    assert [e["move"] for e in store.load_game("g2").events] == [None, {"say": 1}]
    assert [e["seq"] for e in store.load_game("g3").events] == [0, 1, 2]
    assert [e["seq"] for e in store.load_game("g1").events] == [0, 1]
    store.engine.dispose()


def test_a_database_that_fails_a_shared_commit_fails_each_append_and_the_next_one_works(tmp_path):
    store = sqlite_store(tmp_path)
    for g in ("g1", "g2"):
        new_game(store, g, f"p-{g}")
    store.append("g1", [NewEvent(1, 0, "human", "move", {"say": 1})])  # the writer now holds a connection
    store._group._conn.dbapi_connection.close()  # the database dropped it
    outcomes, batches = appends_while_the_writer_is_busy(store, {
        "g1": [NewEvent(2, 0, "agent", "move", {"select": 1})], "g2": [NewEvent(1, 0, "human", "move", {"say": 2})]})
    assert batches == [2] and all(isinstance(e, StorageUnavailable) for e in outcomes.values()), outcomes
    store.append("g2", [NewEvent(1, 0, "human", "move", {"say": 2})])  # a fresh connection
    assert [e["seq"] for e in store.load_game("g2").events] == [0, 1]
    store.engine.dispose()


def test_disposing_the_engine_closes_the_connection_the_writer_keeps(tmp_path):
    """The group writer keeps a checked-out connection, which the pool's dispose would leave open."""
    store = sqlite_store(tmp_path)
    new_game(store)
    store.append("g1", [NewEvent(1, 0, "human", "move", {"say": 1})])  # the writer now holds a connection
    kept = store._group._conn.dbapi_connection
    store.engine.dispose()
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        kept.execute("SELECT 1")
    store.append("g1", [NewEvent(2, 0, "agent", "move", {"select": 1})])  # a fresh connection
    assert [e["seq"] for e in store.load_game("g1").events] == [0, 1, 2]
    store.engine.dispose()


def test_an_interrupted_shared_commit_stores_nothing_and_tells_every_append(tmp_path):
    """A write interrupted inside the writer (here a BaseException from the driver's cursor) fails every append
    of its batch, none returns as stored, and the next append is written on a fresh connection."""
    class Interrupted(BaseException):
        pass

    store = sqlite_store(tmp_path)
    for g in ("g1", "g2"):
        new_game(store, g, f"p-{g}")
    connection = store._group._connection

    def interrupted(engine):
        store._group._connection = connection
        conn = connection(engine)
        conn.cursor().execute("INSERT INTO participants (id, created_at) VALUES ('half-done', '2026-01-01')")
        raise Interrupted()

    store._group._connection = interrupted
    outcomes, batches = appends_while_the_writer_is_busy(store, {
        "g1": [NewEvent(1, 0, "human", "move", {"say": 1})], "g2": [NewEvent(1, 0, "human", "move", {"say": 2})]})
    assert batches == [2] and all(e is not None for e in outcomes.values()), outcomes
    assert sum(isinstance(e, Interrupted) for e in outcomes.values()) == 1
    store.append("g2", [NewEvent(1, 0, "human", "move", {"say": 3})])
    assert [e["move"] for e in store.load_game("g2").events] == [None, {"say": 3}]
    assert [e["seq"] for e in store.load_game("g1").events] == [0]
    with store.engine.connect() as conn:  # the half-done statement was rolled back, not committed later
        assert conn.execute(text("SELECT count(*) FROM participants WHERE id = 'half-done'")).scalar() == 0
    store.engine.dispose()
