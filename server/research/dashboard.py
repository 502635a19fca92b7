"""What the researcher dashboard (/research, static/research.html) shows, read from the database.

    overview(engine, studies)   each study's participants by state and its conditions against their targets,
                                the games in progress with their turn, the latest finished games
    ScoreBoard.current(...)     the coordination scores (server/research: score_games, build_tables, plots),
                                computed again only when a game has finished or gone since the last time
    export_zip(store, ...)      `instructplay export --format csv` as one zip
    report_page(store, ...)     `instructplay score`'s one-page HTML report, from the data as it is now

A participant's state (docs/RESEARCHERS.md): `finished` (completed the study), `abandoned` (timed out),
`playing` (active, and the game of their step is being played), `consented` (active, on any other page:
a tutorial, a questionnaire, a game not started yet); `declined` counts the consents declined (nobody is
stored for them). The reads are read-only queries on the store's engine; nothing here writes.
"""

from __future__ import annotations

import io
import math
import tempfile
import threading
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, case, func, select
from sqlalchemy.orm import Session

from server.db.models import Event, Game, Outcome, Study, StudyEvent, StudyGame, StudyParticipant
from server.db.store import iso
from server.research import exports
from server.research import tables as T
from server.research.report import Tables, build_tables, headline, plots, report_html, score_games

STATES = ("consented", "playing", "finished", "abandoned", "declined")
LIVE_GAMES = 100          # games in progress shown, the most recently active first
FINISHED_GAMES = 50       # finished games shown, newest first
PARTICIPANTS = 500        # participants listed per study, the most recently active first
_PLOTTING = threading.Lock()  # matplotlib's pyplot is not thread-safe


# ---------------------------------------------------------------- live: studies and games


def overview(engine: Engine, studies: Any) -> dict[str, Any]:
    """Everything the dashboard refreshes every few seconds (docs/RESEARCHERS.md, "What it shows")."""
    with Session(engine) as session:
        return {"now": iso(datetime.now(timezone.utc)),
                "studies": [_study(session, studies, study) for study in session.scalars(select(Study).order_by(Study.id))],
                "live": _live_games(session),
                "finished": _finished_games(session),
                "scores_version": scores_version(session)}


def _study(session: Session, studies: Any, study: Study) -> dict[str, Any]:
    places = list(session.scalars(select(StudyParticipant).where(StudyParticipant.study_id == study.id)
                                  .order_by(StudyParticipant.last_active_at.desc(), StudyParticipant.id)))
    step_games = {(r.study_participant_id, r.step): (r.game_id, r.status) for r in session.execute(
        select(StudyGame.study_participant_id, StudyGame.step, StudyGame.game_id, Game.status)
        .join(Game, Game.id == StudyGame.game_id)
        .join(StudyParticipant, StudyParticipant.id == StudyGame.study_participant_id)
        .where(StudyParticipant.study_id == study.id))}
    declined = session.scalar(select(func.count()).select_from(StudyEvent).where(
        StudyEvent.study_id == study.id, StudyEvent.study_participant_id.is_(None), StudyEvent.type == "consent")) or 0

    people = []
    for place in places:
        game_id, game_status = step_games.get((place.id, place.step), (None, None))
        page = (place.pages or [{}])[min(place.step, len(place.pages or [{}]) - 1)]
        people.append({"participant": place.participant_id, "condition": place.condition, "slot": place.slot,
                       "version": place.version, "state": _state(place.status, game_status),
                       "step": place.step, "steps": len(place.pages or []), "page": page.get("kind"),
                       "game": page.get("game"), "game_id": game_id, "created_at": iso(place.created_at),
                       "last_active_at": iso(place.last_active_at)})
    states = {s: sum(1 for p in people if p["state"] == s) for s in STATES}
    states["declined"] = declined

    spec, version = _spec(studies, study.id)
    targets = {c.id: (c.target, c.description) for c in spec.conditions} if spec else {}
    conditions = []
    for condition in list(targets) + sorted({p["condition"] for p in people} - set(targets)):
        mine = [p for p in people if p["condition"] == condition]
        target, description = targets.get(condition, (None, "not in the study's newest version"))
        counts = {s: sum(1 for p in mine if p["state"] == s) for s in STATES[:4]}
        conditions.append({"id": condition, "description": description, "target": target,
                           "living": counts["consented"] + counts["playing"] + counts["finished"], **counts})
    return {"id": study.id, "title": study.title, "version": version, "states": states, "conditions": conditions,
            "participants": people[:PARTICIPANTS], "listed": min(len(people), PARTICIPANTS), "total": len(people),
            "idle_timeout_minutes": spec.idle_timeout_s / 60 if spec else None}


def _state(status: str, game_status: str | None) -> str:
    if status == "completed":
        return "finished"
    if status == "abandoned":
        return "abandoned"
    return "playing" if game_status == "active" else "consented"


def _spec(studies: Any, study_id: str):
    """(the study file's newest version, its number), or (None, None) when it cannot be read."""
    try:
        return studies.versioned(study_id)
    except Exception:  # noqa: BLE001  (a file this server no longer parses: the counts still show)
        return None, None


def _live_games(session: Session) -> list[dict[str, Any]]:
    moves = func.sum(case((Event.type == "move", 1), else_=0))
    last = func.max(Event.created_at)
    rows = session.execute(
        select(Game.id, Game.game, Game.agent, Game.participant_id, Game.config, Game.created_at,
               moves.label("moves"), last.label("last"))
        .join(Event, Event.game_id == Game.id).where(Game.status == "active")
        .group_by(Game.id).order_by(last.desc()).limit(LIVE_GAMES)).all()
    out = []
    for r in rows:
        config = r.config or {}
        study = config.get("study") or {}
        seat = int(config.get("seat") or 0)
        count = int(r.moves or 0)
        out.append({"game_id": r.id, "game": r.game, "partner": r.agent, "participant": r.participant_id,
                    "study": study.get("id"), "condition": study.get("condition"), "moves": count,
                    "to_act": "human" if count % 2 == seat else "agent",
                    "started_at": iso(r.created_at), "last_event_at": iso(r.last)})
    return out


def _finished_games(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Game.id, Game.game, Game.agent, Game.participant_id, Game.config, Game.ended_at, Outcome.score,
               Outcome.turns)
        .join(Outcome, Outcome.game_id == Game.id).where(Game.status == "over")
        .order_by(Game.ended_at.desc(), Game.id).limit(FINISHED_GAMES)).all()
    return [{"game_id": r.id, "game": r.game, "partner": r.agent, "participant": r.participant_id,
             "study": ((r.config or {}).get("study") or {}).get("id"),
             "condition": ((r.config or {}).get("study") or {}).get("condition"),
             "ended_at": iso(r.ended_at), "score": r.score, "turns": r.turns} for r in rows]


def scores_version(session: Session) -> str:
    """Changes whenever a game starts, finishes or is deleted: the aggregate scores (finished games) and the game
    numbers may have changed."""
    count, ended, latest = session.execute(select(func.count(Game.id), func.count(Game.ended_at),
                                                  func.max(Game.ended_at))).one()
    return f"{count}-{ended}-{iso(latest) or ''}"


# ---------------------------------------------------------------- scores


@dataclass(frozen=True)
class Scored:
    version: str
    tables: Tables
    images: dict[str, bytes]


class ScoreBoard:
    """The scores of every game, or of one study's, kept until `scores_version` changes (a game started,
    finished or was deleted), so that a dashboard refreshing every few seconds scores nothing twice."""

    def __init__(self, *, seed: int = T.DEFAULT_SEED, resamples: int = T.DEFAULT_RESAMPLES):
        self.seed = seed
        self.resamples = resamples
        self._kept: dict[str | None, Scored] = {}
        self._lock = threading.Lock()

    def current(self, store: Any, study: str | None) -> Scored:
        with self._lock:  # one computation at a time; a second request waits for it and gets its result
            with Session(store.engine) as session:
                version = scores_version(session)
            kept = self._kept.get(study)
            if kept is None or kept.version != version:
                tables = compute(store, study, seed=self.seed, resamples=self.resamples)
                with _PLOTTING:
                    images = plots(tables)
                kept = self._kept[study] = Scored(version, tables, images)
            return kept


def compute(store: Any, study: str | None, *, seed: int = T.DEFAULT_SEED,
            resamples: int = T.DEFAULT_RESAMPLES) -> Tables:
    scores, skipped = score_games(store.research_games(study=study))
    return build_tables(scores, seed=seed, resamples=resamples, skipped=skipped)


def scores_json(scored: Scored, study: str | None) -> dict[str, Any]:
    """The tables the dashboard shows: the headline per game type and condition (mean [95% CI]), the
    differences between conditions in the headline metrics, learning, and the plots' names."""
    t = scored.tables
    return _finite({
        "version": scored.version, "study": study, "games": len(t.games),
        "finished": sum(1 for g in t.games if g["finished"]),
        "participants": len({g["participant"] for g in t.games}),
        "headline_metrics": list(T.HEADLINE), "headline": headline(t),
        "differences": [d for d in t.differences if d["metric"] in T.HEADLINE],
        "learning": t.learning, "plots": sorted(scored.images), "skipped": t.skipped,
        "seed": t.seed, "resamples": t.resamples})


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: those become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def report_page(store: Any, study: str | None) -> str:
    """`instructplay score`'s report.html for the data as it is now (every game, unfinished ones included)."""
    tables = compute(store, study)
    with _PLOTTING:
        images = plots(tables)
    title = f"Coordination scores: study {study}" if study else "Coordination scores"
    return report_html(tables, images, title=title)


# ---------------------------------------------------------------- the CSV export


def export_zip(store: Any, study: str | None, pseudonymise: bool = False) -> tuple[bytes, dict[str, int]]:
    """`instructplay export --format csv [--study ID] [--pseudonymise]` (docs/EXPORT.md) as a zip of its tables;
    (the zip's bytes, rows per table)."""
    pseudonyms = exports.Pseudonyms() if pseudonymise else None
    with tempfile.TemporaryDirectory(prefix="instructplay-export-") as folder:
        counts = exports.export_csv(store, Path(folder), exports.Filters(study=study), pseudonyms)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(Path(folder).iterdir()):
                archive.write(path, path.name)
    return buffer.getvalue(), counts


def stamp() -> str:
    """A UTC time for file names: 20261123T100005Z."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
