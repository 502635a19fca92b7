"""The store: every database read and write the server makes, each write one transaction.

The server calls `append` BEFORE it applies or sends an event's effect. A failed write raises
`StorageUnavailable` (the database is down or unwritable; nothing was stored) or `StaleGame` (another
writer already stored an event with that sequence number), and the caller applies nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, selectinload

from server.db.models import Event, Game, Instruction, Outcome, Participant, utcnow

log = logging.getLogger(__name__)


class StorageUnavailable(RuntimeError):
    """The database could not be written or read; nothing was stored."""


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


def make_engine(url: str) -> Engine:
    """An engine for `url`; for a SQLite file, its folder is created and foreign keys are enforced."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
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

    def _write(self, what: str, work) -> None:
        try:
            with Session(self.engine) as session, session.begin():
                work(session)
        except IntegrityError as e:
            raise StaleGame(f"{what}: {e.orig}") from e
        except (SQLAlchemyError, OSError) as e:
            log.error("storage unavailable while %s: %s", what, e)
            raise StorageUnavailable(f"the database is unavailable ({type(e).__name__}); nothing was stored") from e

    def create_game(self, *, game_id: str, participant_id: str, game: str, agent: str, seed: int,
                    config: dict[str, Any], resume_token_hash: str, first_event: NewEvent) -> None:
        def work(session: Session) -> None:
            if session.get(Participant, participant_id) is None:
                session.add(Participant(id=participant_id))
            session.add(Game(id=game_id, participant_id=participant_id, game=game, agent=agent, seed=seed,
                             config=config, resume_token_hash=resume_token_hash, status="active"))
            session.flush()
            session.add(_event_row(game_id, first_event))

        self._write(f"creating game {game_id}", work)

    def append(self, game_id: str, events: list[NewEvent], *, instruction: NewInstruction | None = None,
               outcome: NewOutcome | None = None) -> None:
        """Store `events` (and the instruction or outcome they carry) in one transaction."""

        def work(session: Session) -> None:
            session.add_all(_event_row(game_id, e) for e in events)
            if instruction is not None:
                session.add(Instruction(game_id=game_id, event_seq=instruction.event_seq, text=instruction.text,
                                        backend=instruction.backend, prior=instruction.prior,
                                        understood=instruction.understood))
            if outcome is not None:
                session.add(Outcome(game_id=game_id, score=outcome.score, total_reward=outcome.total_reward,
                                    k=outcome.k, turns=outcome.turns))
                row = session.get(Game, game_id)
                row.status = "over"
                row.ended_at = utcnow()

        self._write(f"storing {', '.join(e.type for e in events)} for game {game_id}", work)

    def load_game(self, game_id: str) -> GameRecord | None:
        """The game and its events in order, or None when there is no such game."""
        try:
            with Session(self.engine) as session:
                row = session.scalars(select(Game).where(Game.id == game_id)
                                      .options(selectinload(Game.events))).one_or_none()
                return None if row is None else _record(row)
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
        except (SQLAlchemyError, OSError) as e:
            raise StorageUnavailable(f"the database is unavailable ({type(e).__name__})") from e
        return [{"game_id": r.id, "game": r.game, "partner": r.agent, "seed": r.seed, "ended_at": iso(r.ended_at),
                 "score": r.score, "turns": r.turns} for r in rows]

    def export_games(self) -> Iterator[dict[str, Any]]:
        """Every game, oldest first, with its participant, instructions, events and outcome."""
        with Session(self.engine) as session:
            ids = session.scalars(select(Game.id).order_by(Game.created_at, Game.id)).all()
        for game_id in ids:
            with Session(self.engine) as session:
                row = session.scalars(select(Game).where(Game.id == game_id).options(
                    selectinload(Game.events), selectinload(Game.instructions),
                    selectinload(Game.outcome))).one()
                yield _export(row)


def _event_row(game_id: str, e: NewEvent) -> Event:
    return Event(game_id=game_id, seq=e.seq, turn=e.turn, actor=e.actor, type=e.type, move=e.move,
                 payload=e.payload)


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
