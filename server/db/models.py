"""SQLAlchemy 2 models: participants, games, instructions, events (append-only) and outcomes.

docs/DATABASE.md explains every table, the event types and their payloads. Times are server times in
UTC. A game can be rebuilt from its `events` rows alone; `instructions` and `outcomes` are
denormalised views of some of those events, kept for researchers' queries.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
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
    # found by uq_events_game_seq (game_id first): no index of game_id alone, which every move's insert had to
    # update too (migration 0004 drops it)
    game_id: Mapped[str] = mapped_column(ForeignKey("games.id"))
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


# ---------------------------------------------------------------- studies (server/studies/, docs/STUDIES.md)


class Study(Base):
    """A study opened with `instructplay study open FILE`; its file is kept as numbered versions."""

    __tablename__ = "studies"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StudyVersion(Base):
    """One version of a study file, word for word (a changed file is a new version; the newest is open)."""

    __tablename__ = "study_versions"
    __table_args__ = (UniqueConstraint("study_id", "version", name="uq_study_versions_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    study_id: Mapped[str] = mapped_column(ForeignKey("studies.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(500))
    source: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StudyParticipant(Base):
    """A participant's place in a study: their condition, block order and deals (fixed at consent, never
    changed), the pages planned for them and the one they are on (`step`)."""

    __tablename__ = "study_participants"
    __table_args__ = (
        UniqueConstraint("study_id", "participant_id", name="uq_study_participants_participant"),
        # one living participant per slot of a condition (abandoned ones free theirs)
        Index("uq_study_participants_slot", "study_id", "condition", "slot", unique=True,
              sqlite_where=text("status != 'abandoned'"), postgresql_where=text("status != 'abandoned'")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    study_id: Mapped[str] = mapped_column(ForeignKey("studies.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    participant_id: Mapped[str] = mapped_column(ForeignKey("participants.id"), index=True)
    source: Mapped[str] = mapped_column(String(16))
    external: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="active")
    condition: Mapped[str] = mapped_column(String(64))
    slot: Mapped[int] = mapped_column(Integer)
    block_order: Mapped[list[Any]] = mapped_column()
    seeds: Mapped[list[Any]] = mapped_column()
    pages: Mapped[list[Any]] = mapped_column()
    step: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_active_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class StudyToken(Base):
    """A browser's key to a participant's place (SHA-256; the token itself is never stored)."""

    __tablename__ = "study_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    study_participant_id: Mapped[int] = mapped_column(ForeignKey("study_participants.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StudyGame(Base):
    """The game a participant played at a step of their study (one per step: a second tab joins it)."""

    __tablename__ = "study_games"
    __table_args__ = (UniqueConstraint("study_participant_id", "step", name="uq_study_games_step"),)

    game_id: Mapped[str] = mapped_column(ForeignKey("games.id"), primary_key=True)
    study_participant_id: Mapped[int] = mapped_column(ForeignKey("study_participants.id"), index=True)
    step: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StudyEvent(Base):
    """Everything a participant does in a study, with the server's time (docs/DATABASE.md, "Study events").
    A declined consent is stored with no participant."""

    __tablename__ = "study_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    study_id: Mapped[str] = mapped_column(ForeignKey("studies.id"), index=True)
    study_participant_id: Mapped[int | None] = mapped_column(ForeignKey("study_participants.id"), index=True)
    type: Mapped[str] = mapped_column(String(32))
    step: Mapped[int | None] = mapped_column(Integer)
    game_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)


# ---------------------------------------------------------------- research (server/research/privacy.py)


class Deletion(Base):
    """A participant's data was deleted (`instructplay participant delete`): when, how many rows of each table,
    and who only as SHA-256(salt + id), so a request about an id can be checked without the id being kept."""

    __tablename__ = "deletions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject_hash: Mapped[str] = mapped_column(String(64), index=True)
    salt: Mapped[str] = mapped_column(String(64))
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
