"""The store: every database read and write the server makes, each write one transaction.

The server calls `append` BEFORE it applies or sends an event's effect. A failed write raises
`StorageUnavailable` (the database is down or unwritable; nothing was stored), its kind `StorageBusy` (no
connection of the pool came free in time: the server is overloaded, the database may be fine) or `StaleGame`
(another writer already stored an event with that sequence number), and the caller applies nothing.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import Connection, Dialect, Engine, bindparam, create_engine, delete, event, func, insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, selectinload

from server import wire
from server.db.models import (Deletion, Event, Game, Instruction, Outcome, Participant, Study, StudyEvent, StudyGame,
                              StudyParticipant, StudyToken, StudyVersion, utcnow)

log = logging.getLogger(__name__)


class StorageUnavailable(RuntimeError):
    """The database could not be written or read; nothing was stored."""


class StorageBusy(StorageUnavailable):
    """No database connection came free within the pool's timeout: the server is overloaded; nothing was stored."""


class StaleGame(RuntimeError):
    """Another writer already stored an event with this sequence number: reload the game."""


@dataclass(frozen=True)
class NewEvent:
    seq: int
    turn: int
    actor: str  # "human" | "agent" | "system"
    type: str
    move: dict[str, Any] | None = None
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NewInstruction:
    event_seq: int
    text: str
    backend: str
    prior: dict[str, Any]
    understood: dict[str, Any]


@dataclass(frozen=True)
class NewOutcome:
    score: float
    total_reward: int
    k: int | None
    turns: int


@dataclass(frozen=True)
class GameRecord:
    id: str
    participant_id: str
    game: str
    agent: str
    seed: int
    config: dict[str, Any]
    resume_token_hash: str
    status: str
    created_at: str
    ended_at: str | None
    events: list[dict[str, Any]]


def make_engine(url: str, *, pool_size: int = 20, max_overflow: int = 20, pool_timeout: float = 30.0) -> Engine:
    """An engine for `url`; for a SQLite file, its folder is created and foreign keys are enforced.

    The pool (DB_POOL_SIZE, DB_MAX_OVERFLOW, DB_POOL_TIMEOUT_S) is sized for one server process with hundreds
    of games: every socket handler and agent task is a thread that holds a connection for one transaction.
    SQLAlchemy's defaults (5 + 10, 30 s) ran out at 500 games on PostgreSQL. Several processes share one
    PostgreSQL, whose max_connections (100 by default) must cover them all: deploy/scale.py sizes each pool.
    JSON columns are written with orjson (server/wire.py), as the socket's messages are."""
    pool = {"pool_size": pool_size, "max_overflow": max_overflow, "pool_timeout": pool_timeout}
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    if url.startswith("sqlite"):
        memory = url in ("sqlite://", "sqlite:///:memory:")
        engine = create_engine(url, connect_args={"timeout": 30}, json_serializer=wire.dumps,
                               **({} if memory else pool))
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, json_serializer=wire.dumps, **pool)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """Foreign keys on; write-ahead log with synchronous=NORMAL. SQLite's default (a rollback journal, fsync
    on every commit) took 10 ms per commit here and serialized every game's writes behind it: two commits per
    move and reply capped a server at about 50 replies per second. In WAL mode a commit is durable against a
    crash or kill -9 of the server; only a power loss or OS crash may lose the last commits before a checkpoint
    (use PostgreSQL where that matters)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "memory":
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def iso(t: datetime | None) -> str | None:
    """ISO 8601 in UTC ('...Z'); SQLite hands back naive datetimes, which are UTC here."""
    if t is None:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    return t.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


class Store:
    def __init__(self, engine: Engine):
        self.engine = engine
        self._group = _GroupCommit()  # SQLite's event appends (see _append_events)

    def _write(self, what: str, work) -> None:
        with self._storing(what), Session(self.engine) as session, session.begin():
            work(session)

    @contextmanager
    def _storing(self, what: str) -> Iterator[None]:
        """A write's failures as the server reports them: StaleGame, StorageBusy or StorageUnavailable."""
        try:
            yield
        except Exception as e:
            failure = self._failure(what, e)
            if failure is None:
                raise
            raise failure from e

    def _failure(self, what: str, e: Exception) -> Exception | None:
        """The server's error for a write's failure `e` (None: not a storage failure, raise `e` as it is)."""
        dbapi = self.engine.dialect.loaded_dbapi  # the driver's own errors, raised by the raw path (_append_events)
        if isinstance(e, IntegrityError):
            return StaleGame(f"{what}: {e.orig}")
        if isinstance(e, dbapi.IntegrityError):
            return StaleGame(f"{what}: {e}")
        if isinstance(e, PoolTimeout):
            return self._busy(what, e)
        if isinstance(e, (SQLAlchemyError, dbapi.Error, OSError)):
            log.error("storage unavailable while %s: %s", what, e)
            return StorageUnavailable(f"the database is unavailable ({type(e).__name__}); nothing was stored")
        return None

    def _busy(self, what: str, e: PoolTimeout) -> StorageBusy:
        log.warning("database busy while %s: no pooled connection came free (%s; %s): raise "
                    "INSTRUCTPLAY_DB_POOL_SIZE / DB_MAX_OVERFLOW (within PostgreSQL's max_connections) or add "
                    "server processes", what, e, self.engine.pool.status())
        return StorageBusy(f"the server is too busy to reach its database (no connection came free within "
                           f"{self.engine.pool.timeout():g} s); nothing was stored")

    def create_game(self, *, game_id: str, participant_id: str, game: str, agent: str, seed: int,
                    config: dict[str, Any], resume_token_hash: str, first_event: NewEvent) -> None:
        """The game, its participant (unless known) and its first event, in one transaction of Core statements
        (the ORM's unit of work took 0.87 ms of CPU per game on SQLite, these statements 0.28 ms: every game start)."""
        now = utcnow()
        with self._storing(f"creating game {game_id}"), self.engine.begin() as conn:
            _add_participant(conn, participant_id)
            conn.execute(GAMES.insert(), {"id": game_id, "participant_id": participant_id, "game": game, "agent": agent,
                                          "seed": seed, "config": config, "resume_token_hash": resume_token_hash,
                                          "status": "active", "created_at": now})
            conn.execute(EVENTS.insert(), _event_values(game_id, first_event, now))

    def append(self, game_id: str, events: list[NewEvent], *, instruction: NewInstruction | None = None,
               outcome: NewOutcome | None = None, status: str | None = None) -> None:
        """Store `events` (and the instruction or outcome they carry, or the game's new `status`, e.g.
        "abandoned") in one transaction. The hot path of every move: Core statements on one connection, no
        ORM unit of work (a third of the server's CPU per move went to the Session's flush and commit)."""

        if instruction is None and outcome is None and status is None:
            try:
                return self._append_events(game_id, events)
            except Exception as e:  # mapped as _storing maps it; the description is written only on a failure
                failure = self._failure(_storing_events(game_id, events), e)
                if failure is None:
                    raise
                raise failure from e
        what = _storing_events(game_id, events)
        new_status = "over" if outcome is not None else status
        now = utcnow()
        with self._storing(what), self.engine.begin() as conn:
            conn.execute(EVENTS.insert(), [_event_values(game_id, e, now) for e in events])
            if instruction is not None:
                conn.execute(INSTRUCTIONS.insert(), {
                    "game_id": game_id, "event_seq": instruction.event_seq, "text": instruction.text,
                    "backend": instruction.backend, "prior": instruction.prior, "understood": instruction.understood,
                    "created_at": now})
            if outcome is not None:
                conn.execute(OUTCOMES.insert(), {"game_id": game_id, "score": outcome.score,
                                                 "total_reward": outcome.total_reward, "k": outcome.k,
                                                 "turns": outcome.turns, "created_at": now})
            if new_status is not None:
                conn.execute(_END_GAME, {"b_id": game_id, "b_status": new_status, "b_ended_at": now})

    def _append_events(self, game_id: str, events: list[NewEvent]) -> None:
        """Events alone (every move but a game's last), through the driver itself: the statement is compiled once
        per database dialect and its values converted by the columns' own SQLAlchemy types, so a row is stored
        exactly as the Core insert stores it, at about half the CPU (see _EventInsert). On a SQLite file by group
        commit, on the connection _GroupCommit keeps; otherwise on a pooled connection. The driver's errors are
        mapped as `_storing` maps them (by the caller, `append`); a connection it reports as lost is dropped
        from the pool."""
        statement = _EventInsert.of(self.engine.dialect)
        rows = [statement.values(_event_values(game_id, e, utcnow())) for e in events]
        if _GroupCommit.serves(self.engine):
            return self._group.write(self.engine, statement.sql, rows)
        conn = self.engine.raw_connection()
        # PostgreSQL: one row is one INSERT, atomic by itself, sent in autocommit: one round trip to the
        # database instead of three (BEGIN, INSERT, COMMIT), each of which the server would wait on
        alone = len(rows) == 1 and self.engine.dialect.name == "postgresql"
        cursor = None
        try:
            if alone:
                conn.dbapi_connection.autocommit = True
            cursor = conn.cursor()
            if len(rows) == 1:
                cursor.execute(statement.sql, rows[0])
            else:
                cursor.executemany(statement.sql, rows)
            if not alone:
                conn.commit()
        except BaseException as e:
            if isinstance(e, self.engine.dialect.loaded_dbapi.Error) and \
                    self.engine.dialect.is_disconnect(e, conn.dbapi_connection, cursor):
                conn.invalidate(e)
            else:
                _quietly(conn.rollback)
            raise
        finally:
            if cursor is not None:
                _quietly(cursor.close)
            if alone and not conn.dbapi_connection.closed:
                _quietly(lambda: setattr(conn.dbapi_connection, "autocommit", False))
            conn.close()  # back to the pool

    def last_seq(self, game_id: str) -> int | None:
        """The seq of the game's latest stored event (None: no such game): what is current, whatever a
        process holds in memory."""
        try:
            with Session(self.engine) as session:
                return session.scalar(select(func.max(Event.seq)).where(Event.game_id == game_id))
        except (SQLAlchemyError, OSError) as e:
            raise StorageUnavailable(f"the database is unavailable ({type(e).__name__})") from e

    def load_game(self, game_id: str) -> GameRecord | None:
        """The game and its events in order, or None when there is no such game."""
        try:
            with Session(self.engine) as session:
                row = session.scalars(select(Game).where(Game.id == game_id)
                                      .options(selectinload(Game.events))).one_or_none()
                return None if row is None else _record(row)
        except PoolTimeout as e:
            raise self._busy("reading", e) from e
        except (SQLAlchemyError, OSError) as e:
            raise StorageUnavailable(f"the database is unavailable ({type(e).__name__})") from e

    def finished_games(self, limit: int = 100) -> list[dict[str, Any]]:
        """The latest finished games, newest first: id, game, partner, seed, end time, score, turns."""
        try:
            with Session(self.engine) as session:
                rows = session.execute(
                    select(Game.id, Game.game, Game.agent, Game.seed, Game.ended_at, Outcome.score, Outcome.turns)
                    .join(Outcome, Outcome.game_id == Game.id).where(Game.status == "over")
                    .order_by(Game.ended_at.desc(), Game.id).limit(limit)).all()
        except PoolTimeout as e:
            raise self._busy("reading", e) from e
        except (SQLAlchemyError, OSError) as e:
            raise StorageUnavailable(f"the database is unavailable ({type(e).__name__})") from e
        return [{"game_id": r.id, "game": r.game, "partner": r.agent, "seed": r.seed, "ended_at": iso(r.ended_at),
                 "score": r.score, "turns": r.turns} for r in rows]

    def export_games(self) -> Iterator[dict[str, Any]]:
        """Every game, oldest first, with its participant, instructions, events and outcome."""
        with Session(self.engine) as session:
            ids = session.scalars(select(Game.id).order_by(Game.created_at, Game.id)).all()
        yield from self._exports(ids)

    def _exports(self, ids: list[str]) -> Iterator[dict[str, Any]]:
        """The games `ids` as `export_games` gives them, one in memory at a time."""
        for game_id in ids:
            with Session(self.engine) as session:
                row = session.scalars(select(Game).where(Game.id == game_id).options(
                    selectinload(Game.events), selectinload(Game.instructions),
                    selectinload(Game.outcome))).one()
                yield _export(row)

    # --- research (server/research/): reads for scores and exports, and deleting a participant ---

    def research_games(self, *, study: str | None = None, since: datetime | None = None,
                       participant: str | None = None) -> Iterator[dict[str, Any]]:
        """Games as `export_games` gives them, oldest first: a study's (its `config.study.id`), those created
        at or after `since`, one participant's; one game in memory at a time."""
        query = select(Game.id, Game.config).order_by(Game.created_at, Game.id)
        if since is not None:
            query = query.where(Game.created_at >= since)
        if participant is not None:
            query = query.where(Game.participant_id == participant)
        with Session(self.engine) as session:
            ids = [r.id for r in session.execute(query)
                   if study is None or ((r.config or {}).get("study") or {}).get("id") == study]
        yield from self._exports(ids)

    def research_participants(self, ids: list[str] | None = None) -> list[dict[str, Any]]:
        """Participants (all, or those in `ids`) with their first-seen time and their number of games."""
        with Session(self.engine) as session:
            counts = dict(session.execute(select(Game.participant_id, func.count()).group_by(Game.participant_id)).all())
            query = select(Participant).order_by(Participant.created_at, Participant.id)
            if ids is not None:
                query = query.where(Participant.id.in_(ids))
            return [{"participant": p.id, "created_at": iso(p.created_at), "games": counts.get(p.id, 0)}
                    for p in session.scalars(query)]

    def research_study_rows(self, *, study: str | None = None, participant: str | None = None,
                            since: datetime | None = None) -> dict[str, list[dict[str, Any]]]:
        """Studies' rows for research exports: `assignments` (study_participants), `events` (study_events of
        those participants, and declined consents), `versions` (each study version's file name and digest)."""
        with Session(self.engine) as session:
            query = select(StudyParticipant).order_by(StudyParticipant.id)
            if study is not None:
                query = query.where(StudyParticipant.study_id == study)
            if participant is not None:
                query = query.where(StudyParticipant.participant_id == participant)
            places = list(session.scalars(query))
            by_place = {p.id: p.participant_id for p in places}
            events = select(StudyEvent).order_by(StudyEvent.id)
            if study is not None:
                events = events.where(StudyEvent.study_id == study)
            if since is not None:
                events = events.where(StudyEvent.created_at >= since)
            versions = select(StudyVersion).order_by(StudyVersion.study_id, StudyVersion.version)
            if study is not None:
                versions = versions.where(StudyVersion.study_id == study)
            return {
                "assignments": [{"study": p.study_id, "version": p.version, "participant": p.participant_id,
                                 "source": p.source, "external": p.external, "status": p.status,
                                 "condition": p.condition, "slot": p.slot, "block_order": p.block_order,
                                 "seeds": p.seeds, "step": p.step, "steps": len(p.pages or []),
                                 "created_at": iso(p.created_at), "last_active_at": iso(p.last_active_at),
                                 "ended_at": iso(p.ended_at)}
                                for p in places if since is None or _utc(p.created_at) >= _utc(since)],
                "events": [{"id": e.id, "study": e.study_id, "participant": by_place.get(e.study_participant_id),
                            "type": e.type, "step": e.step, "game_id": e.game_id, "time": iso(e.created_at),
                            "payload": e.payload}
                           for e in session.scalars(events)
                           if e.study_participant_id in by_place or (e.study_participant_id is None
                                                                     and participant is None)],
                "versions": [{"study": v.study_id, "version": v.version, "digest": v.digest,
                              "file_name": v.file_name, "created_at": iso(v.created_at)}
                             for v in session.scalars(versions)],
            }

    def delete_participant(self, participant_id: str, subject_hash: str, salt: str) -> dict[str, int] | None:
        """Delete everything of one participant in one transaction (their games with events, instructions and
        outcomes; their study places with tokens, game links and study events; the participant) and store a
        Deletion record that names them only by `subject_hash`. None (nothing done) for an unknown id."""
        counts: dict[str, int] = {}

        def work(session: Session) -> None:
            if session.get(Participant, participant_id) is None:
                return
            game_ids = list(session.scalars(select(Game.id).where(Game.participant_id == participant_id)))
            place_ids = list(session.scalars(select(StudyParticipant.id)
                                             .where(StudyParticipant.participant_id == participant_id)))
            for name, model, condition in (
                ("study_tokens", StudyToken, StudyToken.study_participant_id.in_(place_ids)),
                ("study_events", StudyEvent, StudyEvent.study_participant_id.in_(place_ids)
                 | StudyEvent.game_id.in_(game_ids)),
                ("study_games", StudyGame, StudyGame.study_participant_id.in_(place_ids) | StudyGame.game_id.in_(game_ids)),
                ("study_participants", StudyParticipant, StudyParticipant.id.in_(place_ids)),
                ("events", Event, Event.game_id.in_(game_ids)),
                ("instructions", Instruction, Instruction.game_id.in_(game_ids)),
                ("outcomes", Outcome, Outcome.game_id.in_(game_ids)),
                ("games", Game, Game.id.in_(game_ids)),
                ("participants", Participant, Participant.id == participant_id),
            ):
                counts[name] = session.execute(delete(model).where(condition)).rowcount
            session.add(Deletion(subject_hash=subject_hash, salt=salt, counts=dict(counts)))

        self._write("deleting a participant", work)
        return counts or None

    def deletions(self) -> list[dict[str, Any]]:
        """Every stored deletion record, oldest first (no ids: their salted hashes)."""
        with Session(self.engine) as session:
            return [{"subject_hash": d.subject_hash, "salt": d.salt, "counts": d.counts, "time": iso(d.created_at)}
                    for d in session.scalars(select(Deletion).order_by(Deletion.id))]


# Table-level statements with their values passed as parameters: the same statement every time, so SQLAlchemy
# compiles it once (an ORM class's insert, or values() inside the statement, rebuilt and re-keyed it per call)
GAMES, EVENTS = Game.__table__, Event.__table__
INSTRUCTIONS, OUTCOMES = Instruction.__table__, Outcome.__table__
_END_GAME = GAMES.update().where(GAMES.c.id == bindparam("b_id")).values(status=bindparam("b_status"),
                                                                       ended_at=bindparam("b_ended_at"))


def _add_participant(session: Session | Connection, participant_id: str) -> None:
    """Insert the participant unless it exists, in one statement, so that many first games of one new
    participant at once do not collide (check-then-insert would)."""
    dialect = (session.get_bind() if isinstance(session, Session) else session).dialect.name
    if dialect not in ("sqlite", "postgresql"):
        if session.execute(select(Participant.id).where(Participant.id == participant_id)).first() is None:
            session.execute(insert(Participant).values(id=participant_id))
        return
    upsert = sqlite_insert if dialect == "sqlite" else postgresql_insert
    session.execute(upsert(Participant.__table__).on_conflict_do_nothing(index_elements=["id"]), {"id": participant_id})


class _EventInsert:
    """The events table's INSERT for one dialect, compiled once, with each column's bind processor (JSON text,
    SQLite's datetime strings) taken from SQLAlchemy: Store._append_events runs it on the driver directly.
    Measured once here in a loop of single-event appends to SQLite (not a benchmark script): 0.10 ms of CPU per
    append through Core, 0.05 ms this way; under a cProfile of the server the Core path's time was mostly
    statement caching, parameter coercion and the execution context around the driver's own calls."""

    COLUMNS = ("game_id", "seq", "turn", "actor", "type", "move", "payload", "created_at")
    _compiled: dict[Dialect, "_EventInsert"] = {}

    def __init__(self, dialect: Dialect):
        table = Event.__table__
        compiled = insert(table).values({c: bindparam(c) for c in self.COLUMNS}).compile(dialect=dialect)
        self.sql = str(compiled)
        self.order = tuple(compiled.positiontup) if compiled.positional else None
        self.processors = {c: table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in self.COLUMNS}
        self.processors = {c: f for c, f in self.processors.items() if f is not None}

    @classmethod
    def of(cls, dialect: Dialect) -> "_EventInsert":
        statement = cls._compiled.get(dialect)
        if statement is None:
            statement = cls._compiled[dialect] = cls(dialect)
        return statement

    def values(self, row: dict[str, Any]) -> dict[str, Any] | tuple[Any, ...]:
        """`row`'s values as the driver takes them: converted, and in the statement's order where it is positional."""
        for c, process in self.processors.items():
            row[c] = process(row[c])
        return row if self.order is None else tuple(row[c] for c in self.order)


class _GroupCommit:
    """SQLite's event appends (every move but a game's last), written together: an append queues its rows, and
    whoever next holds the writer writes every queued row in one transaction on the connection it keeps (no
    pool checkout per move). A SQLite commit is what costs (the write-ahead log's frames and locks, about as much
    CPU as the rest of a move's storing), so under load several moves share one. Each append still returns only
    once its rows are committed, and a transaction refused for a duplicate event (another process moved that
    game on, StaleGame) is written again one append at a time, so each append gets its own outcome.

    Under gevent an append lets the loop's other ready greenlets run first (gevent.sleep(0)): they queue theirs
    for the same commit. With threads, appends queue while one thread commits (SQLite releases the GIL). One
    append alone is written at once, as before. The writer is a lock of the operating system (agents/locks.py):
    nothing while it is held lets gevent switch greenlets."""

    def __init__(self):
        from agents.locks import gevent_patched, native_lock

        self._writer, self._queue_lock = native_lock(), native_lock()
        self._queue: list[_QueuedAppend] = []
        self._engine: Engine | None = None
        self._conn = None  # a pooled connection, kept while the engine is the same
        self._loop_thread = None  # under gevent: the OS thread of the event loop (greenlets yield only there)
        if gevent_patched():
            from gevent import monkey

            self._thread_id = monkey.get_original("_thread", "get_ident")
            self._loop_thread = self._thread_id()

    @staticmethod
    def serves(engine: Engine) -> bool:
        """A SQLite file (an in-memory database keeps its pool's own rules)."""
        return engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:")

    def write(self, engine: Engine, sql: str, rows: list) -> None:
        mine = _QueuedAppend(rows)
        with self._queue_lock:
            self._queue.append(mine)
        if self._loop_thread is not None and self._thread_id() == self._loop_thread:
            import gevent

            gevent.sleep(0)
        with self._writer:
            if not mine.done:
                with self._queue_lock:
                    batch, self._queue = self._queue, []
                try:
                    self._commit(engine, sql, batch)
                except BaseException as e:  # e.g. interrupted: no append of the batch may think it was stored
                    self._drop(engine, e, keep=False)  # and no half-done transaction left for the next one
                    for queued in batch:
                        if not queued.done:
                            queued.error, queued.done = RuntimeError(f"the write was interrupted: {e!r}"), True
                    raise
        if mine.error is not None:
            raise mine.error

    def _commit(self, engine: Engine, sql: str, batch: list[_QueuedAppend]) -> None:
        rows = [row for queued in batch for row in queued.rows]
        try:
            conn = self._connection(engine)
            cursor = conn.cursor()
            try:
                if len(rows) == 1:
                    cursor.execute(sql, rows[0])
                else:
                    cursor.executemany(sql, rows)
            finally:
                _quietly(cursor.close)
            conn.commit()
        except Exception as e:
            stale = isinstance(e, engine.dialect.loaded_dbapi.IntegrityError)
            self._drop(engine, e, keep=stale)
            if stale and len(batch) > 1:
                for queued in batch:  # one append's duplicate event must not refuse the others
                    self._commit(engine, sql, [queued])
                return
            for queued in batch:
                queued.error, queued.done = e, True
            return
        for queued in batch:
            queued.done = True

    def _connection(self, engine: Engine):
        if self._engine is not engine or self._conn is None:
            if self._conn is not None:
                _quietly(self._conn.close)  # back to the pool of the engine it came from
            self._conn, self._engine = None, engine
            if not event.contains(engine, "engine_disposed", self._disposed):
                event.listen(engine, "engine_disposed", self._disposed)
            self._conn = engine.raw_connection()
        return self._conn

    def _disposed(self, engine: Engine) -> None:
        """engine.dispose() closes the pool's connections: the kept one too (it is checked out, so the pool
        would leave it open; invalidating closes the driver's connection), once no write is using it."""
        with self._writer:
            if self._engine is engine and self._conn is not None:
                conn, self._conn = self._conn, None
                _quietly(conn.invalidate)

    def _drop(self, engine: Engine, e: BaseException, *, keep: bool) -> None:
        """After a failed transaction: roll it back and keep the connection, or give it up (a lost connection is
        invalidated; any other failure returns it to the pool, and the next write takes a fresh one)."""
        conn = self._conn
        if conn is None:
            return
        if keep:
            _quietly(conn.rollback)
            return
        self._conn = None
        if isinstance(e, engine.dialect.loaded_dbapi.Error) and engine.dialect.is_disconnect(e, conn.dbapi_connection, None):
            _quietly(lambda: conn.invalidate(e))
        else:
            _quietly(conn.rollback)
            _quietly(conn.close)


@dataclass(eq=False)
class _QueuedAppend:
    rows: list
    done: bool = False
    error: Exception | None = None


def _storing_events(game_id: str, events: list[NewEvent]) -> str:
    return f"storing {', '.join(e.type for e in events)} for game {game_id}"


def _quietly(action) -> None:
    try:
        action()
    except Exception:  # the connection is being given up anyway
        log.debug("ignored while cleaning up a failed write", exc_info=True)


def _event_values(game_id: str, e: NewEvent, now: datetime) -> dict[str, Any]:
    return {"game_id": game_id, "seq": e.seq, "turn": e.turn, "actor": e.actor, "type": e.type, "move": e.move,
            "payload": e.payload, "created_at": now}


def _event_dict(e: Event) -> dict[str, Any]:
    return {"seq": e.seq, "turn": e.turn, "actor": e.actor, "type": e.type, "move": e.move,
            "time": iso(e.created_at), "payload": e.payload}


def _record(row: Game) -> GameRecord:
    return GameRecord(id=row.id, participant_id=row.participant_id, game=row.game, agent=row.agent,
                      seed=row.seed, config=row.config, resume_token_hash=row.resume_token_hash,
                      status=row.status, created_at=iso(row.created_at), ended_at=iso(row.ended_at),
                      events=[_event_dict(e) for e in row.events])


def _export(row: Game) -> dict[str, Any]:
    outcome = row.outcome
    return {
        "game_id": row.id, "game": row.game, "agent": row.agent, "participant": row.participant_id,
        "seed": row.seed, "config": row.config, "status": row.status,
        "created_at": iso(row.created_at), "ended_at": iso(row.ended_at),
        "outcome": None if outcome is None else {"score": outcome.score, "total_reward": outcome.total_reward,
                                                 "k": outcome.k, "turns": outcome.turns},
        "instructions": [{"id": i.id, "event_seq": i.event_seq, "text": i.text, "time": iso(i.created_at),
                          "backend": i.backend, "prior": i.prior, "understood": i.understood}
                         for i in row.instructions],
        "events": [_event_dict(e) for e in row.events],
    }


# ---------------------------------------------------------------- studies (server/studies/)


@dataclass(frozen=True)
class StudyVersionRecord:
    study_id: str
    version: int
    digest: str
    file_name: str
    source: str
    created_at: str


@dataclass(frozen=True)
class PlaceRecord:
    """A participant's place in a study (a study_participants row)."""

    id: int
    study_id: str
    version: int
    participant_id: str
    source: str
    external: dict[str, Any]
    status: str              # active | completed | abandoned
    condition: str
    slot: int
    block_order: list[str]
    seeds: list[dict[str, Any]]
    pages: list[dict[str, Any]]
    step: int
    created_at: datetime
    last_active_at: datetime


@dataclass(frozen=True)
class NewStudyEvent:
    type: str
    step: int | None = None
    game_id: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NewPlace:
    """What assignment decided for a new participant, and the events that record it."""

    condition: str
    slot: int
    block_order: list[str]
    seeds: list[dict[str, Any]]
    pages: list[dict[str, Any]]
    events: list[NewStudyEvent]


class StudyStore(Store):
    """Every read and write of studies: versions, participants' places, their tokens, games and events.
    Each write is one transaction; failures raise StorageUnavailable, or StaleGame for a unique clash."""

    def _run(self, what: str, work):
        result = []
        self._write(what, lambda session: result.append(work(session)))
        return result[0]

    def _read(self, work):
        try:
            with Session(self.engine) as session:
                return work(session)
        except PoolTimeout as e:
            raise self._busy("reading a study", e) from e
        except (SQLAlchemyError, OSError) as e:
            raise StorageUnavailable(f"the database is unavailable ({type(e).__name__})") from e

    # --- versions ---

    def open_study(self, study_id: str, title: str, source: str, digest: str, file_name: str) -> tuple[int, bool]:
        """Store the file as the study's newest version unless it is the newest already: (version, new)."""

        def work(session: Session) -> tuple[int, bool]:
            study = session.get(Study, study_id)
            if study is None:
                session.add(Study(id=study_id, title=title))
                session.flush()
            else:
                study.title = title
            latest = session.scalars(select(StudyVersion).where(StudyVersion.study_id == study_id)
                                     .order_by(StudyVersion.version.desc()).limit(1)).one_or_none()
            if latest is not None and latest.digest == digest:
                return latest.version, False
            version = 1 if latest is None else latest.version + 1
            session.add(StudyVersion(study_id=study_id, version=version, digest=digest, file_name=file_name,
                                     source=source))
            return version, True

        return self._run(f"opening study {study_id}", work)

    def study_version(self, study_id: str, version: int | None = None) -> StudyVersionRecord | None:
        """The study's `version`, or its newest (the open one)."""

        def work(session: Session) -> StudyVersionRecord | None:
            query = select(StudyVersion).where(StudyVersion.study_id == study_id)
            query = query.where(StudyVersion.version == version) if version is not None \
                else query.order_by(StudyVersion.version.desc()).limit(1)
            row = session.scalars(query).one_or_none()
            return None if row is None else StudyVersionRecord(row.study_id, row.version, row.digest, row.file_name,
                                                               row.source, iso(row.created_at))

        return self._read(work)

    def study_ids(self) -> list[str]:
        return self._read(lambda session: list(session.scalars(select(Study.id).order_by(Study.id))))

    # --- places ---

    def place_by_token(self, study_id: str, token_hash: str) -> PlaceRecord | None:
        def work(session: Session) -> PlaceRecord | None:
            row = session.scalars(select(StudyParticipant).join(StudyToken)
                                  .where(StudyToken.token_hash == token_hash,
                                         StudyParticipant.study_id == study_id)).one_or_none()
            return None if row is None else _place(row)

        return self._read(work)

    def place_by_participant(self, study_id: str, participant_id: str) -> PlaceRecord | None:
        def work(session: Session) -> PlaceRecord | None:
            row = session.scalars(select(StudyParticipant).where(
                StudyParticipant.study_id == study_id, StudyParticipant.participant_id == participant_id)).one_or_none()
            return None if row is None else _place(row)

        return self._read(work)

    def place(self, place_id: int) -> PlaceRecord:
        return self._read(lambda session: _place(session.get(StudyParticipant, place_id)))

    def living(self, study_id: str) -> list[tuple[str, int]]:
        """(condition, slot) of every participant who is not abandoned (active or completed)."""
        return self._read(lambda session: _living(session, study_id))

    def assign(self, study_id: str, version: int, participant_id: str, source: str, external: dict[str, Any],
               token_hash: str, decide) -> PlaceRecord | None:
        """Create a participant's place in one transaction: `decide(living)` gets the (condition, slot) of
        every living participant and returns a NewPlace, or None when the study is full (nothing is stored).
        Raises StaleGame if the participant or the slot was taken meanwhile (by another process)."""

        def work(session: Session) -> PlaceRecord | None:
            new = decide(_living(session, study_id))
            if new is None:
                return None
            _add_participant(session, participant_id)
            row = StudyParticipant(study_id=study_id, version=version, participant_id=participant_id, source=source,
                                   external=external, status="active", condition=new.condition, slot=new.slot,
                                   block_order=new.block_order, seeds=new.seeds, pages=new.pages, step=0)
            session.add(row)
            session.flush()
            session.add(StudyToken(token_hash=token_hash, study_participant_id=row.id))
            session.add_all(_study_event(study_id, row.id, e) for e in new.events)
            session.flush()
            return _place(row)

        return self._run(f"assigning {participant_id} in study {study_id}", work)

    def add_token(self, place_id: int, token_hash: str, events: list[NewStudyEvent]) -> None:
        def work(session: Session) -> None:
            row = session.get(StudyParticipant, place_id)
            session.add(StudyToken(token_hash=token_hash, study_participant_id=place_id))
            session.add_all(_study_event(row.study_id, place_id, e) for e in events)
            row.last_active_at = utcnow()

        self._run(f"adding a token of study participant {place_id}", work)

    def record(self, study_id: str, place_id: int | None, events: list[NewStudyEvent]) -> None:
        """Store events (of a participant, or with none: a declined consent); the participant was active now."""

        def work(session: Session) -> None:
            session.add_all(_study_event(study_id, place_id, e) for e in events)
            if place_id is not None:
                session.get(StudyParticipant, place_id).last_active_at = utcnow()

        self._run(f"storing {', '.join(e.type for e in events)} in study {study_id}", work)

    def advance(self, place_id: int, from_step: int, events: list[NewStudyEvent], status: str | None = None) -> bool:
        """Move the participant from `from_step` to the next step, with `events`; False (nothing stored) when
        they are not at `from_step` any more (another tab moved them on) or not active."""

        def work(session: Session) -> bool:
            row = session.get(StudyParticipant, place_id, with_for_update=True)
            if row.step != from_step or row.status != "active":
                return False
            row.step = from_step + 1
            row.last_active_at = utcnow()
            if status is not None:
                row.status = status
                row.ended_at = utcnow()
            session.add_all(_study_event(row.study_id, place_id, e) for e in events)
            return True

        return self._run(f"advancing study participant {place_id}", work)

    def link_game(self, place_id: int, step: int, game_id: str, events: list[NewStudyEvent],
                  replace: str | None = None) -> None:
        """Record that the participant's game at `step` is `game_id` (in place of the abandoned game `replace`);
        StaleGame if that step has another one already."""

        def work(session: Session) -> None:
            row = session.get(StudyParticipant, place_id)
            if replace is not None:
                old = session.get(StudyGame, replace)
                if old is not None:
                    session.delete(old)
                    session.flush()
            session.add(StudyGame(game_id=game_id, study_participant_id=place_id, step=step))
            session.add_all(_study_event(row.study_id, place_id, e) for e in events)
            row.last_active_at = utcnow()

        self._run(f"linking game {game_id} to study participant {place_id}", work)

    def game_at(self, place_id: int, step: int) -> tuple[str, str] | None:
        """(game id, its status) of the participant's game at `step`, if it was started."""

        def work(session: Session) -> tuple[str, str] | None:
            row = session.execute(select(StudyGame.game_id, Game.status).join(Game, Game.id == StudyGame.game_id)
                                  .where(StudyGame.study_participant_id == place_id, StudyGame.step == step)).first()
            return None if row is None else (row.game_id, row.status)

        return self._read(work)

    def abandon(self, place_id: int, events: list[NewStudyEvent]) -> bool:
        """Mark an active participant abandoned (their slot is free again); False if they were not active."""

        def work(session: Session) -> bool:
            row = session.get(StudyParticipant, place_id, with_for_update=True)
            if row.status != "active":
                return False
            row.status = "abandoned"
            row.ended_at = utcnow()
            session.add_all(_study_event(row.study_id, place_id, e) for e in events)
            return True

        return self._run(f"abandoning study participant {place_id}", work)

    def idle_places(self, study_id: str, before: datetime) -> list[tuple[PlaceRecord, str | None, datetime | None]]:
        """Active participants not seen since `before`, each with the game at their step (if one was started)
        and the time of that game's latest event."""

        def work(session: Session):
            rows = session.scalars(select(StudyParticipant).where(
                StudyParticipant.study_id == study_id, StudyParticipant.status == "active",
                StudyParticipant.last_active_at < before)).all()
            out = []
            for row in rows:
                game_id = session.scalar(select(StudyGame.game_id).where(
                    StudyGame.study_participant_id == row.id, StudyGame.step == row.step))
                last = None if game_id is None else session.scalar(
                    select(func.max(Event.created_at)).where(Event.game_id == game_id))
                out.append((_place(row), game_id, _utc(last)))
            return out

        return self._read(work)

    def study_events(self, study_id: str, place_id: int | None = None) -> list[dict[str, Any]]:
        """The study's events in the order stored (of one participant when `place_id` is given)."""

        def work(session: Session) -> list[dict[str, Any]]:
            query = select(StudyEvent).where(StudyEvent.study_id == study_id).order_by(StudyEvent.id)
            if place_id is not None:
                query = query.where(StudyEvent.study_participant_id == place_id)
            return [{"id": e.id, "participant": e.study_participant_id, "type": e.type, "step": e.step,
                     "game_id": e.game_id, "time": iso(e.created_at), "payload": e.payload}
                    for e in session.scalars(query)]

        return self._read(work)


def _utc(t: datetime | None) -> datetime | None:
    if t is None:
        return None
    return t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t.astimezone(timezone.utc)


def _living(session: Session, study_id: str) -> list[tuple[str, int]]:
    return [(r.condition, r.slot) for r in session.execute(
        select(StudyParticipant.condition, StudyParticipant.slot).where(
            StudyParticipant.study_id == study_id, StudyParticipant.status != "abandoned"))]


def _place(row: StudyParticipant) -> PlaceRecord:
    return PlaceRecord(id=row.id, study_id=row.study_id, version=row.version, participant_id=row.participant_id,
                       source=row.source, external=row.external, status=row.status, condition=row.condition,
                       slot=row.slot, block_order=row.block_order, seeds=row.seeds, pages=row.pages, step=row.step,
                       created_at=_utc(row.created_at), last_active_at=_utc(row.last_active_at))


def _study_event(study_id: str, place_id: int | None, e: NewStudyEvent) -> StudyEvent:
    return StudyEvent(study_id=study_id, study_participant_id=place_id, type=e.type, step=e.step, game_id=e.game_id,
                      payload=e.payload)
