"""SQLAlchemy 2 models: participants, games, instructions, events (append-only) and outcomes.

docs/DATABASE.md explains every table, the event types and their payloads. Times are server times in
UTC. A game can be rebuilt from its `events` rows alone; `instructions` and `outcomes` are
denormalised views of some of those events, kept for researchers' queries.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Participant(Base):
    __tablename__ = "participants"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    games: Mapped[list["Game"]] = relationship(back_populates="participant")


class Game(Base):
    __tablename__ = "games"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    participant_id: Mapped[str] = mapped_column(ForeignKey("participants.id"), index=True)
    game: Mapped[str] = mapped_column(String(32))
    agent: Mapped[str] = mapped_column(String(64))
    seed: Mapped[int] = mapped_column(Integer)
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    resume_token_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    participant: Mapped[Participant] = relationship(back_populates="games")
    events: Mapped[list["Event"]] = relationship(back_populates="game_row", order_by="Event.seq")
    instructions: Mapped[list["Instruction"]] = relationship(back_populates="game_row", order_by="Instruction.id")
    outcome: Mapped["Outcome | None"] = relationship(back_populates="game_row")


class Instruction(Base):
    __tablename__ = "instructions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    game_id: Mapped[str] = mapped_column(ForeignKey("games.id"), index=True)
    event_seq: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    backend: Mapped[str] = mapped_column(String(200))
    prior: Mapped[dict[str, Any]] = mapped_column()
    understood: Mapped[dict[str, Any]] = mapped_column()

    game_row: Mapped[Game] = relationship(back_populates="instructions")


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("game_id", "seq", name="uq_events_game_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    game_id: Mapped[str] = mapped_column(ForeignKey("games.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    turn: Mapped[int] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(16))
    type: Mapped[str] = mapped_column(String(32))
    move: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)

    game_row: Mapped[Game] = relationship(back_populates="events")


class Outcome(Base):
    __tablename__ = "outcomes"

    game_id: Mapped[str] = mapped_column(ForeignKey("games.id"), primary_key=True)
    score: Mapped[float] = mapped_column(Float)
    total_reward: Mapped[int] = mapped_column(Integer)
    k: Mapped[int | None] = mapped_column(Integer)
    turns: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    game_row: Mapped[Game] = relationship(back_populates="outcome")
