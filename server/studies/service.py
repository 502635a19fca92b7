"""A participant's way through a study, from the link to the completion code; every step an event.

    /s/<study>?PROLIFIC_PID=...  ->  enter: known participant? resume (their token, or their id on a new
                                     device); else the consent page (nothing is stored before consent)
    consent: agree    -> assigned (condition, Latin-square order, matched deals) in one transaction
             decline  -> only the decline is stored (no id)
    then the pages planned at assignment, one `step` at a time:
      tutorial        -> the person confirms; next
      game            -> start_game with {"study": {id, token}} starts the game of this step, or joins the one
                         open (a second tab never starts a second game); game over -> next
      questionnaire   -> answers checked and stored; next
      done            -> the completion code, and the redirect when the study gives one

The place is read from the participant's token (or their platform id), never from what the client says
it is at: a step is completed only by a request naming the step the server has them at, so a double click
or a second tab cannot skip a page. A participant idle past the study's timeout is abandoned: their
place and game are marked so, their slot in the condition is free for the next arrival, and coming back
shows that the session timed out (they are never given a new condition).
"""

from __future__ import annotations

import json
import logging
import random
import re
import secrets
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from server.db.models import utcnow
from server.db.store import NewPlace, NewStudyEvent, PlaceRecord, StaleGame, StudyStore
from server.games.service import Games, GameService, GameSettings, Room, token_hash
from server.messages import ProtocolError, StartGame, StudyRef, storable
from server.studies import assignment
from server.studies.spec import Questionnaire, Study, StudyFileError, parse

log = logging.getLogger(__name__)

ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@:-]{0,63}$")
PROLIFIC_EXTRA = ("STUDY_ID", "SESSION_ID")
MTURK_EXTRA = ("assignmentId", "hitId")
MTURK_PREVIEW = "ASSIGNMENT_ID_NOT_AVAILABLE"
CLIENT_EVENTS = {"visibility": ("hidden", "visible"), "reconnect": None, "disconnect": None}
MAX_CLIENT_EVENT_BYTES = 1000
GAME_PAGES = {"say-select": "/static/say_select.html", "hanabi": "/static/hanabi.html"}
GAME_NAMES = {"say-select": "Say-Select", "hanabi": "Hanabi"}


class StudyError(Exception):
    """A study request refused: the HTTP status, and a message for the person (plus per-field `errors`)."""

    def __init__(self, message: str, status: int = 400, errors: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.errors = errors or {}


@dataclass(frozen=True)
class Identity:
    participant_id: str
    source: str                   # prolific | mturk | ask | anonymous
    external: dict[str, str]      # the platform's other ids (STUDY_ID, SESSION_ID / assignmentId, hitId)


@lru_cache(maxsize=1)
def _markdown():
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False})


def markdown(text: str) -> str:
    """Markdown as HTML; raw HTML in the text is shown as text, never run."""
    return _markdown().render(text or "")


class StudyService:
    """Studies as the participants go through them (the HTTP routes and the socket's study games call in)."""

    def __init__(self, store: StudyStore, games: Games, config: dict[str, Any]):
        self.store = store
        self.games = games
        self.config = config
        self.rng = random.Random()
        self._parsed: dict[tuple[str, int], Study] = {}
        self._assign_lock = threading.Lock()
        self._place_locks: dict[int, threading.Lock] = {}
        self._locks_lock = threading.Lock()
        self._sweeper: threading.Thread | None = None

    # --- the study file ---

    def study(self, study_id: str, version: int | None = None) -> Study:
        """The study's `version` (default: the newest, the one open to new participants)."""
        return self.versioned(study_id, version)[0]

    def versioned(self, study_id: str, version: int | None = None) -> tuple[Study, int]:
        """(the study's `version`, its number); by default the newest, the one open to new participants."""
        record = self.store.study_version(study_id, version)
        if record is None:
            raise StudyError(f"there is no study {study_id!r}; check the link you were given", 404)
        key = (study_id, record.version)
        if key not in self._parsed:
            try:
                self._parsed[key] = parse(record.source)
            except StudyFileError as e:  # stored files were checked when opened; this is a server change
                log.error("study %s version %d no longer parses: %s", study_id, record.version, e)
                raise StudyError("this study cannot run on this server right now; please tell the researcher", 503)
        return self._parsed[key], record.version

    def problems(self, study: Study) -> list[str]:
        """Why this server cannot run the study's games (a prior backend it does not run), if it cannot."""
        running = {"say-select": str(self.config.get("PRIOR_BACKEND", "conventions")), "hanabi": "conventions"}
        return [f"the study reads {game} instructions with {', '.join(sorted(wanted))} but this server runs "
                f"{running[game]} (set INSTRUCTPLAY_PRIOR_BACKEND={min(wanted)} and restart it)"
                for game, wanted in study.prior_backends().items() if wanted != {running[game]}]

    def info(self, study_id: str) -> dict[str, Any]:
        """What the entry page shows before anyone is known: title, description, whether it is open."""
        study = self.study(study_id)
        problems = self.problems(study)
        for problem in problems:
            log.error("study %s: %s", study_id, problem)
        status = "unavailable" if problems else "full" if self._full(study) else "open"
        return {"id": study.id, "title": study.title, "description_html": markdown(study.description),
                "entry": list(study.entry), "status": status}

    # --- entering and consent ---

    def enter(self, study_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Someone opened the study's link: resume their place (by their token, or by their platform id on a
        new device), or show the consent page, or ask for an id. Stores nothing about a new person."""
        study = self.study(study_id)
        self._start_sweeper()
        params = body.get("params") or {}
        if "mturk" in study.entry and isinstance(params, dict) and params.get("assignmentId") == MTURK_PREVIEW:
            return self._page("preview", html=markdown("Accept the HIT first; then this page starts the study."))
        identity = self._identify(study, body)
        token = body.get("token")
        if isinstance(token, str) and token:
            place = self.store.place_by_token(study_id, token_hash(token))
            if place is not None and (identity is None or identity.participant_id == place.participant_id):
                place = self._moved_past_game(self._expire_if_idle(place))
                self.store.record(study_id, place.id, [NewStudyEvent("entry", place.step, payload={"by": "token"})])
                return self._message(place)
        if identity is not None:
            place = self.store.place_by_participant(study_id, identity.participant_id)
            if place is not None:
                place = self._moved_past_game(self._expire_if_idle(place))
                return self._message(place, self._new_token(place, identity, "id"))
            self.sweep_study(study_id)
            if self._full(study):
                return self._page("full", html=markdown("All places in this study are taken. Thank you for your "
                                                        "interest; you can close this page."))
            return self._consent_page(study, identity)
        if "anonymous" in study.entry and (body.get("anonymous") is True or "ask" not in study.entry):
            return self._consent_page(study, None)
        if "ask" in study.entry:
            return self._page("ask_id", anonymous="anonymous" in study.entry,
                              html=markdown("Please type the participant ID you were given."))
        return self._page("need_link", html=markdown(
            "This study is reached through a link from its recruitment site (e.g. Prolific), which says who you "
            "are. Please open the study from there."))

    def consent(self, study_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """The consent answer. Declined: only the decline is stored, with no id. Agreed: the person is assigned
        (or, if they were already, their place is resumed: never a new condition)."""
        study, version = self.versioned(study_id)
        identity = self._identify(study, body)
        if identity is None and body.get("anonymous") is True and "anonymous" in study.entry:
            identity = Identity(f"anon-{uuid.uuid4().hex[:12]}", "anonymous", {})
        if identity is None:
            raise StudyError("the study does not know who you are: open it from the link you were given"
                             + (", or type your participant ID" if "ask" in study.entry else ""))
        agree = body.get("agree")
        if not isinstance(agree, bool):
            raise StudyError('send "agree": true or false')
        if not agree:
            self.store.record(study_id, None, [NewStudyEvent("consent", payload={
                "decision": "declined", "consent_version": study.consent_version, "study_version": version})])
            return self._page("declined", html=markdown(study.declined_text))
        existing = self.store.place_by_participant(study_id, identity.participant_id)
        if existing is not None:
            return self._message(existing, self._new_token(existing, identity, "consent again"))
        problems = self.problems(study)
        if problems:
            raise StudyError("this study cannot run on this server right now; please tell the researcher", 503)
        self.sweep_study(study_id)
        token = secrets.token_urlsafe(24)
        place = self._assign(study, version, identity, token)
        if place is None:
            return self._page("full", html=markdown("All places in this study were taken just now. Thank you for "
                                                    "your interest; you can close this page."))
        return self._message(place, token)

    def _assign(self, study: Study, version: int, identity: Identity, token: str) -> PlaceRecord | None:
        def decide(living: list[tuple[str, int]]) -> NewPlace | None:
            counts = Counter(c for c, _ in living)
            condition = assignment.choose_condition(counts, {c.id: c.target for c in study.conditions}, self.rng)
            if condition is None:
                return None
            slot = assignment.free_slot({s for c, s in living if c == condition})
            plan = assignment.plan(study, condition, slot)
            return NewPlace(condition, slot, plan.order, plan.seeds, plan.pages, [
                NewStudyEvent("consent", payload={"decision": "agreed", "consent_version": study.consent_version,
                                                  "study_version": version}),
                NewStudyEvent("assignment", payload={
                    "condition": condition, "slot": slot, "order": plan.order, "seeds": plan.seeds,
                    "study_version": version, "living_before": dict(counts)}),
                NewStudyEvent("entry", 0, payload={"by": "new", "source": identity.source,
                                                   "external": identity.external}),
                NewStudyEvent("page", 0, payload=plan.pages[0]),
            ])

        for _ in range(5):
            try:
                with self._assign_lock:
                    place = self.store.assign(study.id, version, identity.participant_id, identity.source,
                                              identity.external, token_hash(token), decide)
            except StaleGame:  # another process assigned this person or took the slot: look again
                existing = self.store.place_by_participant(study.id, identity.participant_id)
                if existing is not None:
                    self.store.add_token(existing.id, token_hash(token), [])
                    return existing
                continue
            if place is not None:
                log.info("study %s: %s assigned to %s, slot %d, order %s", study.id, identity.participant_id,
                         place.condition, place.slot, place.block_order)
            return place
        raise StudyError("the study is busy; try again in a moment", 503)

    def _new_token(self, place: PlaceRecord, identity: Identity, by: str) -> str:
        token = secrets.token_urlsafe(24)
        self.store.add_token(place.id, token_hash(token), [NewStudyEvent("entry", place.step, payload={
            "by": by, "source": identity.source, "external": identity.external})])
        return token

    def _identify(self, study: Study, body: dict[str, Any]) -> Identity | None:
        """The participant from the link's parameters (Prolific, MTurk) or the id typed in, where the study
        takes ids from there; None when there is none."""
        params = body.get("params") or {}
        if not isinstance(params, dict):
            raise StudyError('"params" must be the link\'s query parameters as an object')
        params = {k: v for k, v in params.items() if isinstance(k, str) and isinstance(v, str)}
        if "prolific" in study.entry and params.get("PROLIFIC_PID"):
            return Identity(_checked_id(params["PROLIFIC_PID"], "PROLIFIC_PID"), "prolific",
                            {k: _checked_id(params[k], k) for k in PROLIFIC_EXTRA if params.get(k)})
        if "mturk" in study.entry and params.get("workerId"):
            return Identity(_checked_id(params["workerId"], "workerId"), "mturk",
                            {k: _checked_id(params[k], k) for k in MTURK_EXTRA if params.get(k)})
        typed = body.get("participant")
        if "ask" in study.entry and isinstance(typed, str) and typed.strip():
            return Identity(_checked_id(typed.strip(), "your participant ID"), "ask", {})
        return None

    def _consent_page(self, study: Study, identity: Identity | None) -> dict[str, Any]:
        return self._page("consent", version=study.consent_version, html=markdown(study.consent_text),
                          title=study.title, participant=identity.participant_id if identity else None)

    def _full(self, study: Study) -> bool:
        counts = Counter(c for c, _ in self.store.living(study.id))
        return all(counts.get(c.id, 0) >= c.target for c in study.conditions)

    # --- the place ---

    def current(self, study_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """The participant's page now (moving them on past a game that has ended)."""
        return self._message(self._place(study_id, body))

    def submit(self, study_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Complete the page at `step` (a tutorial read, a questionnaire's answers); the next page.
        A step the participant is no longer at changes nothing (a second tab, a double click)."""
        place = self._place(study_id, body)
        step = body.get("step")
        if isinstance(step, bool) or not isinstance(step, int):
            raise StudyError('send the "step" you are completing, as a number')
        if place.status != "active" or step != place.step:
            return self._message(place)
        study = self.study(study_id, place.version)
        page = place.pages[step]
        events: list[NewStudyEvent] = []
        if page["kind"] == "questionnaire":
            answers = check_answers(study.questionnaires[page["name"]], body.get("answers"))
            events.append(NewStudyEvent("answers", step, payload={"questionnaire": page["name"], "answers": answers,
                                                                  **_page_context(page)}))
        elif page["kind"] == "game":
            linked = self.store.game_at(place.id, step)
            if linked is None or linked[1] != "over":
                raise StudyError("finish your game first: it is still being played", 409)
        elif page["kind"] != "tutorial":
            return self._message(place)
        self._advance(study, place, events)
        return self._message(self.store.place(place.id))

    def log(self, study_id: str, body: dict[str, Any]) -> None:
        """A page's report: the tab was hidden or shown, the socket reconnected or dropped."""
        place = self._place(study_id, body, expire=False)
        kind = body.get("type")
        if kind not in CLIENT_EVENTS:
            raise StudyError(f"unknown event {str(kind)[:40]!r}; send one of {', '.join(CLIENT_EVENTS)}")
        data = body.get("data") or {}
        if not isinstance(data, dict) or len(json.dumps(data)) > MAX_CLIENT_EVENT_BYTES:
            raise StudyError(f'"data" must be an object of at most {MAX_CLIENT_EVENT_BYTES} bytes')
        allowed = CLIENT_EVENTS[kind]
        if allowed is not None and data.get("state") not in allowed:
            raise StudyError(f'a {kind} event needs "state": one of {", ".join(allowed)}')
        page = body.get("page") if body.get("page") in ("study", "game") else "study"
        game = self.store.game_at(place.id, place.step)
        self.store.record(study_id, place.id, [NewStudyEvent(kind, place.step, game[0] if game else None,
                                                             payload={**data, "page": page})])

    def _place(self, study_id: str, body: dict[str, Any], expire: bool = True) -> PlaceRecord:
        token = body.get("token")
        place = self.store.place_by_token(study_id, token_hash(token)) if isinstance(token, str) and token else None
        if place is None:
            raise StudyError("this browser's key to the study is not known; open the study from your link again", 401)
        if expire:
            place = self._expire_if_idle(place)
        return self._moved_past_game(place)

    def _moved_past_game(self, place: PlaceRecord) -> PlaceRecord:
        """The place, moved on when the game of its step is over."""
        if place.status != "active" or place.pages[place.step]["kind"] != "game":
            return place
        linked = self.store.game_at(place.id, place.step)
        if linked is None or linked[1] != "over":
            return place
        self._advance(self.study(place.study_id, place.version), place, [])
        return self.store.place(place.id)

    def _advance(self, study: Study, place: PlaceRecord, events: list[NewStudyEvent]) -> None:
        nxt = place.step + 1
        page = place.pages[nxt]
        events = events + [NewStudyEvent("page", nxt, payload=page)]
        status = None
        if page["kind"] == "done":
            status = "completed"
            events.append(NewStudyEvent("completed", nxt, payload={"code": study.completion_code}))
        self.store.advance(place.id, place.step, events, status)

    def _message(self, place: PlaceRecord, token: str | None = None) -> dict[str, Any]:
        """What the study page shows for `place` (with the browser's new token, when one was made)."""
        study = self.study(place.study_id, place.version)
        out: dict[str, Any] = {"study": study.id, "title": study.title, "participant": place.participant_id,
                               "step": place.step, "steps": len(place.pages)}
        if token is not None:
            out["token"] = token
        if place.status == "abandoned":
            out["page"] = {"kind": "timed_out", "html": markdown(
                f"Your session ended because it was left idle for more than {study.idle_timeout_s / 60:g} minutes, "
                f"so your place was given to someone else. Thank you for your time. If you came from Prolific, "
                f"please return the study there.")}
            return out
        out["page"] = self._page_message(study, place)
        return out

    def _page_message(self, study: Study, place: PlaceRecord) -> dict[str, Any]:
        page = place.pages[place.step]
        kind = page["kind"]
        if kind == "tutorial":
            return {"kind": kind, "game": page["game"], "html": markdown(study.tutorials[page["game"]])}
        if kind == "questionnaire":
            q = study.questionnaires[page["name"]]
            title = q.title if page["name"] != "after_game" else f"{q.title} ({GAME_NAMES[page['game']]})"
            return {"kind": kind, "name": page["name"], "title": title, "html": markdown(q.text),
                    "items": [item.public() for item in q.items]}
        if kind == "game":
            spec = study.condition(place.condition).games[page["block"]]
            games = [i for i, p in enumerate(place.pages) if p["kind"] == "game"]
            linked = self.store.game_at(place.id, place.step)
            url = f"{GAME_PAGES[page['game']]}?study={study.id}" + ("" if spec.details else "&details=off")
            return {"kind": kind, "game": page["game"], "name": GAME_NAMES[page["game"]], "url": url,
                    "number": games.index(place.step) + 1, "of": len(games), "may_instruct": spec.may_instruct,
                    "started": linked is not None and linked[1] == "active"}
        redirect = study.completion_redirect.get(place.source, study.completion_redirect.get("*"))
        redirect = redirect.replace("{code}", study.completion_code) if redirect else None
        return {"kind": "done", "code": study.completion_code, "redirect": redirect,
                "html": markdown(study.completion_text)}

    @staticmethod
    def _page(kind: str, **fields: Any) -> dict[str, Any]:
        return {"page": {"kind": kind, **fields}}

    # --- the game of a step (socket start_game with a study reference) ---

    def open_game(self, ref: StudyRef, game: str, sid: str) -> tuple[GameService, Room, str | None]:
        """The game at the participant's step: started with their condition's settings, or, when it was
        started already (a reload, a second tab, another device), joined. (service, room, resume token or
        None when joined)."""
        place = self.store.place_by_token(ref.study, token_hash(ref.token))
        if place is None:
            raise ProtocolError("bad_token", f"this browser's key to the study is not known; open the study from "
                                             f"your link again (/s/{ref.study})")
        place = self._moved_past_game(self._expire_if_idle(place))
        study = self.study(place.study_id, place.version)
        if place.status != "active":
            raise ProtocolError("not_allowed", f"your part in this study has ended; go back to the study page "
                                               f"(/s/{study.id})")
        problems = self.problems(study)
        if problems:
            raise ProtocolError("not_allowed", "this study's games cannot run on this server right now; please "
                                               "tell the researcher")
        with self._place_lock(place.id):
            place = self.store.place(place.id)
            page = place.pages[place.step]
            if page["kind"] != "game" or page["game"] != game:
                now = "a game of " + GAME_NAMES[page["game"]] if page["kind"] == "game" else f"a {page['kind']} page"
                raise ProtocolError("not_allowed", f"your next step in the study is {now}; go back to the study "
                                                   f"page (/s/{study.id}) to continue")
            linked = self.store.game_at(place.id, place.step)
            if linked is not None and linked[1] != "abandoned":
                return self._join(place, linked[0], sid)
            spec = study.condition(place.condition).games[page["block"]]
            request = StartGame(game=spec.game, partner=spec.partner, seat=spec.seat, seed=page["seed"],
                                participant=place.participant_id, instruction=None)
            settings = GameSettings(lam=spec.lam, delay=spec.delay, instruction=spec.instruction,
                                    may_instruct=spec.may_instruct, record={"study": {
                                        "id": study.id, "version": place.version, "condition": place.condition,
                                        "block": page["block"], "round": page["round"], "step": place.step,
                                        "slot": place.slot, "participant": place.participant_id}})
            service = self.games.for_new(spec.game)
            room, token = service.start_game(request, sid, settings)
            try:
                self.store.link_game(place.id, place.step, room.id, [NewStudyEvent(
                    "game_started", place.step, room.id, payload={"block": page["block"], "round": page["round"],
                                                                  "seed": page["seed"],
                                                                  "replaces": linked[0] if linked else None})],
                                     replace=linked[0] if linked else None)
            except StaleGame:  # another process started this step's game first: keep theirs
                self.games.abandon(room.id, "a second start of the same study game; the first one was kept")
                return self._join(place, self.store.game_at(place.id, place.step)[0], sid)
            return service, room, token

    def _join(self, place: PlaceRecord, game_id: str, sid: str) -> tuple[GameService, Room, None]:
        service, room = self.games.join(game_id, sid)
        self.store.record(place.study_id, place.id, [NewStudyEvent("game_joined", place.step, game_id)])
        return service, room, None

    def _place_lock(self, place_id: int) -> threading.Lock:
        with self._locks_lock:
            return self._place_locks.setdefault(place_id, threading.Lock())

    # --- idle participants ---

    def _expire_if_idle(self, place: PlaceRecord, now: datetime | None = None) -> PlaceRecord:
        if place.status != "active":
            return place
        study = self.study(place.study_id)
        cutoff = (now or utcnow()) - timedelta(seconds=study.idle_timeout_s)
        if place.last_active_at >= cutoff:
            return place
        for idle, game_id, last_move in self.store.idle_places(place.study_id, cutoff):
            if idle.id == place.id:
                self._abandon_if_idle(study, idle, game_id, last_move, cutoff)
        return self.store.place(place.id)

    def sweep_study(self, study_id: str, now: datetime | None = None) -> list[str]:
        """Abandon every participant of the study idle past its timeout (nothing stored by them: no page, no
        answer, no move, no tab shown or hidden); the participant ids abandoned."""
        study = self.study(study_id)
        cutoff = (now or utcnow()) - timedelta(seconds=study.idle_timeout_s)
        return [place.participant_id for place, game_id, last_move in self.store.idle_places(study_id, cutoff)
                if self._abandon_if_idle(study, place, game_id, last_move, cutoff)]

    def sweep(self, now: datetime | None = None) -> list[str]:
        out = []
        for study_id in self.store.study_ids():
            out += self.sweep_study(study_id, now)
        return out

    def _abandon_if_idle(self, study: Study, place: PlaceRecord, game_id: str | None, last_move: datetime | None,
                         cutoff: datetime) -> bool:
        if last_move is not None and last_move >= cutoff:
            return False  # playing: the game's events are activity
        minutes = study.idle_timeout_s / 60
        page = place.pages[place.step]
        if not self.store.abandon(place.id, [NewStudyEvent("abandoned", place.step, game_id, payload={
                "reason": "idle", "idle_timeout_minutes": minutes, "page": page["kind"],
                "last_active_at": place.last_active_at.isoformat()})]):
            return False
        log.info("study %s: %s abandoned after %g idle minutes at step %d (%s)", study.id, place.participant_id,
                 minutes, place.step, page["kind"])
        if game_id is not None:
            try:
                self.games.abandon(game_id, f"the study participant was idle for more than {minutes:g} minutes")
            except ProtocolError:
                pass  # over or abandoned already
        return True

    def _start_sweeper(self) -> None:
        """Sweep every study for idle participants every STUDY_SWEEP_S seconds (0: never; arrivals and returns
        still sweep), from the first time anyone enters a study."""
        interval = float(self.config.get("STUDY_SWEEP_S", 60))
        if interval <= 0 or self._sweeper is not None:
            return
        with self._locks_lock:
            if self._sweeper is not None:
                return
            self._sweeper = threading.Thread(target=self._sweep_forever, args=(interval,), daemon=True,
                                             name="study-sweeper")
            self._sweeper.start()

    def _sweep_forever(self, interval: float) -> None:
        while True:
            time.sleep(interval)
            try:
                self.sweep()
            except Exception:
                log.exception("sweeping studies for idle participants failed; trying again in %g s", interval)


def check_answers(questionnaire: Questionnaire, answers: Any) -> dict[str, Any]:
    """The answers as stored (likert: the point 1..n; choice: the option's text, or a list of them; text: the
    text), or a StudyError listing, per item, what to fix."""
    if not isinstance(answers, dict):
        raise StudyError('send "answers" as an object: item id -> answer', 422)
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    for unknown in set(answers) - {item.id for item in questionnaire.items}:
        errors[str(unknown)[:64]] = "there is no such question"
    for item in questionnaire.items:
        value = answers.get(item.id)
        if value is None or value == "" or value == []:
            if item.required:
                errors[item.id] = "Please answer this question."
            continue
        if item.type == "likert":
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= len(item.labels):
                errors[item.id] = f"Pick one of the points 1 to {len(item.labels)}."
            else:
                out[item.id] = value
        elif item.type == "choice":
            chosen = value if item.multiple and isinstance(value, list) else [value]
            if not all(isinstance(v, str) and v in item.labels for v in chosen) or len(set(chosen)) != len(chosen):
                errors[item.id] = "Pick among the options shown."
            else:
                out[item.id] = chosen if item.multiple else chosen[0]
        elif not isinstance(value, str) or not storable(value):
            errors[item.id] = "Type your answer as text."
        elif len(value) > item.max_chars:
            errors[item.id] = f"Please keep it under {item.max_chars} characters (it has {len(value)})."
        else:
            out[item.id] = value.strip()
    if errors:
        raise StudyError("some answers need a look", 422, errors)
    return out


def _checked_id(value: str, name: str) -> str:
    value = value.strip()
    if not ID_RE.match(value):
        raise StudyError(f"{name} must be 1-64 letters, digits or . _ @ : - (got {value[:80]!r}); check the link "
                         f"or what you typed")
    return value


def _page_context(page: dict[str, Any]) -> dict[str, Any]:
    return {k: page[k] for k in ("block", "round", "game") if k in page}
