"""`instructplay export`: the games as JSON Lines (the default: one nested object per game, docs/DATABASE.md
"Export"), or as long CSV tables that load straight into pandas and R (docs/EXPORT.md).

Both formats take the same filters (a study, a start time, one participant), may replace participant ids
by pseudonyms (`Pseudonyms`: a salted SHA-256, the same id the same pseudonym within one export), and
never name a path of the server: `scrub` turns checkpoint paths, study file paths and model paths into
their file names wherever they were stored (game configs, `agents`, an agent's `source`, a backend's name).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, TextIO

from server.research.report import score_games, write_csv
from server.research.scoring import GAME_COLUMNS

# Free text people typed or the server wrote for people: kept word for word (never taken for a path).
FREE_TEXT = frozenset({"text", "question", "summary", "explanation", "description", "answers", "title", "message"})
# Fields that hold a path or a rule bot's name: always reduced to the file name.
PATH_FIELDS = frozenset({"source", "file_name", "path", "checkpoint"})
# A path inside a longer string: two or more components ('/srv/models/gpt-j', 'agents/ckpt/a.pt', 'C:\\m\\x').
_PATH = re.compile(r"(?:[A-Za-z]:|~|[\w.-]+)?(?:[\\/][^\s,()\[\]{}'\"\\/]+){2,}[\\/]?")
PARTICIPANT_FIELDS = frozenset({"participant", "participant_id"})
IDENTIFYING = frozenset({"external"})  # a study participant's link parameters (session, assignment ids)


def file_name(path: str) -> str:
    """The last component of a path ('/srv/ckpt/color.pt' -> 'color.pt'); anything else as it is."""
    return re.split(r"[\\/]", path.rstrip("\\/"))[-1] if re.search(r"[\\/]", path) else path


def _strip_paths(text: str) -> str:
    return _PATH.sub(lambda m: file_name(m.group(0)), text)


class Pseudonyms:
    """Participant id -> 'p-' + the first 16 hex digits of SHA-256(salt + ':' + id). The salt is random for
    each export unless given, so pseudonyms are stable within one export and unlinkable across exports."""

    def __init__(self, salt: str | None = None):
        self.salt = salt if salt is not None else secrets.token_hex(16)

    def __call__(self, participant: str | None) -> str | None:
        if participant is None:
            return None
        return "p-" + hashlib.sha256(f"{self.salt}:{participant}".encode("utf-8")).hexdigest()[:16]


def scrub(value: Any, pseudonyms: Pseudonyms | None = None, key: str | None = None) -> Any:
    """A copy of a stored JSON value fit for export: paths reduced to file names (except inside free text),
    and with `pseudonyms`, participant ids replaced and link parameters (`external`) dropped."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if pseudonyms is not None and k in IDENTIFYING:
                continue
            # `agents`: role -> checkpoint path or rule bot, each a path field
            out[k] = v if k in FREE_TEXT else scrub(v, pseudonyms, "path" if key == "agents" else k)
        return out
    if isinstance(value, list):
        return [scrub(v, pseudonyms, key) for v in value]
    if isinstance(value, str):
        if pseudonyms is not None and key in PARTICIPANT_FIELDS:
            return pseudonyms(value)
        if key in PATH_FIELDS:
            return file_name(value)
        return _strip_paths(value)
    return value


@dataclass(frozen=True)
class Filters:
    study: str | None = None
    since: datetime | None = None
    participant: str | None = None


def parse_since(text: str) -> datetime:
    """An ISO 8601 date or time ('2026-11-23', '2026-11-23T10:00', '...Z'); without a zone, UTC."""
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as e:
        raise ValueError(f"--since {text!r} is not an ISO 8601 date or time; write e.g. 2026-11-23 or "
                         f"2026-11-23T10:00Z") from e
    return t.astimezone(timezone.utc) if t.tzinfo else t.replace(tzinfo=timezone.utc)


def games(store, filters: Filters) -> Iterable[dict[str, Any]]:
    return store.research_games(study=filters.study, since=filters.since, participant=filters.participant)


# ---------------------------------------------------------------- JSON Lines


def export_jsonl(store, out: TextIO, filters: Filters = Filters(), pseudonyms: Pseudonyms | None = None) -> int:
    """One game per line, oldest first (docs/DATABASE.md, "Export"), scrubbed; returns the number of games."""
    count = 0
    for game in games(store, filters):
        out.write(json.dumps(scrub(game, pseudonyms), separators=(",", ":"), ensure_ascii=False) + "\n")
        count += 1
    return count


# ---------------------------------------------------------------- CSV


def js(value: Any) -> str | None:
    """A JSON cell (compact), or empty for null."""
    return None if value is None else json.dumps(value, separators=(",", ":"), ensure_ascii=False)


TABLES = {
    "participants.csv": ["participant", "created_at", "games"],
    "games.csv": ["game_id", "participant", "game", "partner", "seed", "status", "created_at", "ended_at", "seat",
                  "lambda", "prior_backend", "agent_delay_ms", "study", "study_version", "condition", "block",
                  "round", "study_step", "score", "total_reward", "k", "turns", "config"],
    "events.csv": ["game_id", "participant", "seq", "turn", "actor", "type", "time", "move", "move_label", "reward",
                   "explanation", "lambda", "think_ms", "delay_ms", "prior_chosen", "payload"],
    "instructions.csv": ["game_id", "participant", "event_seq", "actor", "time", "text", "backend", "adopted",
                         "clarify", "confidence", "question", "summary", "conventions", "calls_for", "agent_role"],
    "scores.csv": GAME_COLUMNS,
    "assignments.csv": ["study", "version", "participant", "source", "status", "condition", "slot", "block_order",
                        "step", "steps", "created_at", "last_active_at", "ended_at", "external"],
    "answers.csv": ["study", "participant", "questionnaire", "block", "round", "game", "step", "item", "answer",
                    "time"],
    "study_events.csv": ["study", "participant", "id", "type", "step", "game_id", "time", "payload"],
}


def move_label(game: str, move: dict[str, Any] | None) -> str | None:
    """A move in words: Hanabi 'play A', 'hint red', 'hint 3s'; Say-Select 'say 3', 'select 2', 'quit'."""
    if not move:
        return None
    if game == "hanabi":
        from agents.envs.hanabi.language import move_name

        return move_name(int(move["uid"]))
    if "say" in move:
        return f"say {move['say']}"
    return "quit" if move.get("quit") else f"select {move['select']}"


def prior_chosen(game: str, move: dict[str, Any] | None, prior: dict[str, Any] | None) -> float | None:
    """The probability the agent's stored prior gave the move it made (None without a prior)."""
    if not move or not prior or not prior.get("probs"):
        return None
    if game == "hanabi":
        uids = prior.get("uids") or []
        return prior["probs"][uids.index(move["uid"])] if move.get("uid") in uids else None
    index = 5 if move.get("quit") else move.get("select", 0) - 1
    return prior["probs"][index] if 0 <= index < len(prior["probs"]) else None


def _event_row(game: dict[str, Any], e: dict[str, Any]) -> dict[str, Any]:
    payload = dict(e["payload"] or {})
    if e["type"] == "instruction":
        payload.pop("prior", None)  # the whole prior table: in instructions' JSON Lines export, not here
    return {"game_id": game["game_id"], "participant": game["participant"], "seq": e["seq"], "turn": e["turn"],
            "actor": e["actor"], "type": e["type"], "time": e["time"], "move": js(e["move"]),
            "move_label": move_label(game["game"], e["move"]) if e["type"] == "move" else None,
            "reward": payload.get("reward"), "explanation": payload.get("explanation"),
            "lambda": payload.get("lambda") if e["type"] == "move" else None,
            "think_ms": payload.get("think_ms"), "delay_ms": payload.get("delay_ms"),
            "prior_chosen": prior_chosen(game["game"], e["move"], payload.get("prior")) if e["actor"] == "agent" else None,
            "payload": js(payload)}


def _instruction_rows(game: dict[str, Any]) -> list[dict[str, Any]]:
    events = {e["seq"]: e for e in game["events"]}
    rows = []
    for i in game["instructions"]:
        event = events.get(i["event_seq"], {})
        payload = event.get("payload") or {}
        understood = i["understood"] or {}
        conventions = understood.get("understood") or []
        rows.append({"game_id": game["game_id"], "participant": game["participant"], "event_seq": i["event_seq"],
                     "actor": event.get("actor"), "time": i["time"], "text": i["text"], "backend": i["backend"],
                     "adopted": understood.get("adopted", payload.get("adopted")),
                     "clarify": understood.get("clarify"), "confidence": understood.get("confidence"),
                     "question": understood.get("question"), "summary": understood.get("summary"),
                     "conventions": ";".join(f"{c.get('convention')}:{c.get('weight')}" for c in conventions
                                             if isinstance(c, dict)) or None,
                     "calls_for": payload.get("calls_for"), "agent_role": (payload.get("agent") or {}).get("role")})
    return rows


def _game_row(game: dict[str, Any]) -> dict[str, Any]:
    config = game["config"] or {}
    study = config.get("study") or {}
    outcome = game["outcome"] or {}
    return {"game_id": game["game_id"], "participant": game["participant"], "game": game["game"],
            "partner": game["agent"], "seed": game["seed"], "status": game["status"], "created_at": game["created_at"],
            "ended_at": game["ended_at"], "seat": config.get("seat"), "lambda": config.get("lambda"),
            "prior_backend": config.get("prior_backend"), "agent_delay_ms": config.get("agent_delay_ms"),
            "study": study.get("id"), "study_version": study.get("version"),
            "condition": study.get("condition") or config.get("condition"), "block": study.get("block"),
            "round": study.get("round"), "study_step": study.get("step"), "score": outcome.get("score"),
            "total_reward": outcome.get("total_reward"), "k": outcome.get("k"), "turns": outcome.get("turns"),
            "config": js(config)}


def _answer_rows(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for e in events:
        if e["type"] != "answers":
            continue
        p = e["payload"] or {}
        for item, answer in (p.get("answers") or {}).items():
            rows.append({"study": e["study"], "participant": e["participant"], "questionnaire": p.get("questionnaire"),
                         "block": p.get("block"), "round": p.get("round"), "game": p.get("game"), "step": e["step"],
                         "item": item, "answer": js(answer) if isinstance(answer, (list, dict)) else answer,
                         "time": e["time"]})
    return rows


def export_csv(store, out: Path, filters: Filters = Filters(), pseudonyms: Pseudonyms | None = None) -> dict[str, int]:
    """Write the long tables (docs/EXPORT.md) into the folder `out`; returns the rows written per file."""
    out.mkdir(parents=True, exist_ok=True)
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
    records = []
    for raw in games(store, filters):
        game = scrub(raw, pseudonyms)
        records.append(game)
        rows["games.csv"].append(_game_row(game))
        rows["events.csv"].extend(_event_row(game, e) for e in game["events"])
        rows["instructions.csv"].extend(_instruction_rows(game))
    scores, _ = score_games(records)
    rows["scores.csv"] = [s.row for s in scores]
    study = scrub(store.research_study_rows(study=filters.study, participant=filters.participant,
                                            since=filters.since), pseudonyms)
    rows["assignments.csv"] = [{**a, "block_order": js(a["block_order"]), "external": js(a.get("external"))}
                               for a in study["assignments"]]
    rows["answers.csv"] = _answer_rows(study["events"])
    rows["study_events.csv"] = [{**e, "payload": js(e["payload"])} for e in study["events"]]
    everyone = scrub(store.research_participants(), pseudonyms)
    if filters == Filters():
        rows["participants.csv"] = everyone
    else:  # the participants of the games and places exported
        people = {g["participant"] for g in rows["games.csv"]} | {a["participant"] for a in rows["assignments.csv"]}
        rows["participants.csv"] = [p for p in everyone if p["participant"] in people]
    exported = Counter(g["participant"] for g in rows["games.csv"])
    rows["participants.csv"] = [{**p, "games": exported.get(p["participant"], 0)} for p in rows["participants.csv"]]
    for name, columns in TABLES.items():
        write_csv(out / name, rows[name], columns)
    return {name: len(r) for name, r in rows.items()}


