"""The one game flow: rooms, and the service that runs docs/PROTOCOL.md for any game through its adapter.

A message takes one path, whatever the game (docs/ARCHITECTURE.md tells it in prose):

    socket handler (server/sockets.py) -> Games -> GameService -> the game's adapter (rules, views, reader)
      move:        check turn and rules -> store the event -> adopt the new state -> emit state -> agent turn
      instruction: (background) read it -> store the event -> adopt unless unclear -> emit understanding
      agent turn:  (background) wait until the agent is ready -> agent.act(view, legal, log p, lambda)
                   (think_ms) -> the deliberate pause (delay_ms) -> store -> adopt -> emit agent_move + state

For every change the service (1) checks it against the rules, (2) stores it as an event, and only then
(3) adopts the new state and (4) emits it. If the store refuses, nothing is applied. A room that is not in
memory (after a restart, or on another process) is rebuilt from its events by replaying them through the
adapter.

Adding a game costs one adapter and one policy. For a third game, write `server/games/<game>.py` with a
subclass of `GameAdapter` (its rules bridge: deal, parse and apply moves, the person's view; its reader of
instructions; its partners and the agents behind them) and a policy in agents/policies/ that implements
`act(view, legal, log_prior, lam) -> Decision`; then add `GameService(YourAdapter(...), ...)` to the list in
server/app.py. Nothing here changes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import logging
import random
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Sequence

import numpy as np

from server import protocol
from server.concurrency import off_loop
from server.db.store import GameRecord, NewEvent, NewInstruction, NewOutcome, StaleGame, Store, StorageUnavailable
from server.messages import ConfirmMsg, ExplainMsg, InstructionMsg, MoveMsg, ProtocolError, ResumeMsg, StartGame, shown

log = logging.getLogger(__name__)

Emit = Callable[..., None]  # emit(event, data, to=room_or_sid)
StartTask = Callable[..., Any]  # start_task(fn, *args)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Delay:
    """The agent's deliberate pause before its move shows: `mean_ms`, or with `sd_ms` > 0 a new draw for every
    move from Normal(mean_ms, sd_ms) floored at `min_ms` (as Hanabi4HMI's response timing)."""

    mean_ms: float
    sd_ms: float = 0.0
    min_ms: float = 0.0

    def draw(self, rng: random.Random) -> float:
        mean = self.mean_ms if self.sd_ms <= 0 else rng.gauss(self.mean_ms, self.sd_ms)
        return max(self.min_ms, mean, 0.0)

    def as_json(self) -> dict[str, float]:
        return {"mean_ms": self.mean_ms, "sd_ms": self.sd_ms, "min_ms": self.min_ms}


@dataclass(frozen=True)
class GameSettings:
    """What a caller on the server fixes for one game beyond start_game's fields (a study's condition, resolved
    from the participant's place in server/studies/; never read from the client). None keeps the server's
    default. Stored in the game's config (and game_started) under "settings", so a rebuilt game keeps them."""

    lam: float | None = None           # the partner's lambda (None: the partner's own)
    delay: Delay | None = None         # the agent's deliberate pause (None: AGENT_DELAY_MS)
    instruction: str | None = None     # given to the agent at the start, as the system's instruction
    may_instruct: bool = True          # False: the person's typed instructions are refused (`not_allowed`)
    record: dict[str, Any] = field(default_factory=dict)  # stored in config beside them, e.g. {"study": {...}}

    def as_config(self) -> dict[str, Any]:
        if self == GameSettings():
            return {}
        return {"settings": {"lambda": self.lam, "delay": self.delay.as_json() if self.delay else None,
                             "instruction": self.instruction, "may_instruct": self.may_instruct}, **self.record}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "GameSettings":
        s = config.get("settings")
        if not s:
            return cls()
        delay = s.get("delay")
        return cls(lam=s.get("lambda"), delay=Delay(**delay) if delay else None, instruction=s.get("instruction"),
                   may_instruct=s.get("may_instruct", True),
                   record={k: v for k, v in config.items() if k == "study"})


def with_lambda(partner: Any, lam: float | None) -> Any:
    """The partner playing with lambda `lam`, for partners that carry their lambda (a dataclass field `lam`, as
    Say-Select's Bobs: they are trained with it). Others keep theirs; the service passes `lam` at each move."""
    if lam is None or not dataclasses.is_dataclass(partner) or "lam" not in {f.name for f in dataclasses.fields(partner)}:
        return partner
    return dataclasses.replace(partner, lam=lam)


@dataclass
class Reading:
    """What an instruction was read to mean. `fields` is what every game reports (backend, understood,
    summary, confidence, clarify, question); `prior` is the game's own form of the prior it implies."""

    fields: dict[str, Any]
    prior: Any

    @property
    def clarify(self) -> bool:
        return bool(self.fields["clarify"])


@dataclass
class AgentTurn:
    """What the agent is given for one move, and what the adapter wants logged with it."""

    agent: Any                      # a policy: act(view, legal, log_prior, lam, asked=...) -> Decision
    view: Any
    legal: Sequence[int]
    log_prior: np.ndarray | None    # log p over `legal`, or None without an adopted instruction
    asked: bool = False             # the person asked for this agent's own convention
    record: dict[str, Any] = field(default_factory=dict)  # stored with the move (e.g. the prior shown)


class Room:
    """A live game: its rules state, the person's seat, the adopted instruction, who may act in it."""

    def __init__(self, adapter: "GameAdapter", record_id: str, partner: Any, seat: int, seed: int, participant: str,
                 resume_token_hash: str, state: Any, next_seq: int):
        self.adapter = adapter
        self.id = record_id
        self.partner = partner
        self.seat = seat
        self.seed = seed
        self.participant = participant
        self.resume_token_hash = resume_token_hash
        self.game = state
        self.next_seq = next_seq
        self.lock = threading.RLock()
        self.sids: set[str] = set()
        self.explanations: dict[int, dict[str, Any]] = {}  # turn -> {"move", "text", "top"}
        self.agent_turn: int | None = None          # the turn whose agent task is running
        self.reading: Reading | None = None         # the adopted instruction's reading
        self.instruction: str | None = None         # its text
        self.instruction_seq: int | None = None     # its event's seq
        self.understanding: dict[str, Any] | None = None  # its understanding message (sent again on resume)
        self.instructions_received = 0              # instructions given to a reading so far, numbered 1, 2... as they came
        self.instruction_number = 0                 # the number of the latest one stored
        self.agent_slot: Any = adapter.new_agent_slot()   # the adapter's per-room agent state
        self.last_active = time.monotonic()         # the last message or move (idle rooms leave memory)
        self.settings = GameSettings()              # what the caller fixed for this game (lambda, delay...)
        self.ended_at: float | None = None          # when the game ended (epoch seconds), once over

    @property
    def over(self) -> bool:
        return self.adapter.is_over(self.game)

    @property
    def turn(self) -> int:
        return self.adapter.turn(self.game)

    @property
    def to_act(self) -> str | None:
        return self.adapter.to_act(self.game, self.seat)

    @property
    def start_instruction(self) -> str | None:
        """What the agent is told when the person says nothing: the caller's fixed instruction (a study
        condition's), else the game's default (None: the agent needs none)."""
        return self.settings.instruction or self.adapter.default_instruction

    @property
    def lam(self) -> float:
        """The lambda the partner plays with in this game: the caller's (a study condition's), else its own."""
        return self.adapter.lam(self.partner) if self.settings.lam is None else self.settings.lam


class GameAdapter:
    """What a game tells the service: the hooks below. Rules state objects are the adapter's own; the
    service only passes them back. `applied` must not change the state it is given (the service stores the
    move first and adopts the new state only once it is safe)."""

    name = ""                            # the protocol's game name
    partners: dict[str, Any] = {}        # the partners people can choose, by id (each has `.id`)
    needs_prior = False                  # the agent cannot act before an instruction is adopted
    default_instruction: str | None = None  # read (as the system's) when a game starts without one
    config: dict[str, Any] = {}          # stored with every new game
    public_seed = True                   # the seed may be sent to the person (False: it would reveal hidden cards)

    def warm(self) -> None:
        """Load models now: at server start (server/app.py `warm_up`), else in the background when the first
        game starts."""

    def partner_list(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    def lam(self, partner: Any) -> float:
        """The lambda `partner` plays with."""
        raise NotImplementedError

    # --- rules bridge ---
    def deal(self, seed: int) -> tuple[Any, dict[str, Any]]:
        """A new game dealt from `seed`, and the fields that record the deal in game_started."""
        raise NotImplementedError

    def rebuild(self, events: list[dict[str, Any]]) -> Any:
        """The rules state as the stored events leave it."""
        raise NotImplementedError

    def turn(self, state: Any) -> int:
        raise NotImplementedError

    def to_act(self, state: Any, seat: int) -> str | None:
        """"human", "agent", or None once the game is over."""
        raise NotImplementedError

    def is_over(self, state: Any) -> bool:
        raise NotImplementedError

    def parse_move(self, state: Any, seat: int, move: dict[str, Any]) -> int:
        """The person's protocol move -> the game's action id, or a ProtocolError that says what to send."""
        raise NotImplementedError

    def applied(self, state: Any, action: int, seat: int) -> tuple[Any, float, dict[str, Any], dict[str, Any]]:
        """(new state, reward, the move as the protocol writes it, public facts stored with the move)."""
        raise NotImplementedError

    def outcome(self, state: Any) -> tuple[NewOutcome, dict[str, Any]]:
        """The finished game's outcome row and its game_over fields."""
        raise NotImplementedError

    # --- what the person sees ---
    def started_fields(self, room: Room) -> dict[str, Any]:
        return {}

    def state_fields(self, room: Room) -> dict[str, Any]:
        """The person's view, their legal moves, the score and the game's own extras."""
        raise NotImplementedError

    def agent_move_fields(self, room: Room, move: dict[str, Any], public: dict[str, Any],
                          record: dict[str, Any]) -> dict[str, Any]:
        """What agent_move carries besides the shared fields (e.g. the move in words)."""
        return {}

    def top_moves(self, top: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The agent's weighed moves as the protocol's explanation writes them."""
        return top

    def public_prior(self, room: Room, record: dict[str, Any]) -> Any:
        """The prior agent_move shows the person (`record`: what is stored with the agent's move). It must
        tell them nothing they may not know; after the game the replay shows the stored one."""
        return record.get("prior")

    def public_top(self, room: Room, top: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The weighed moves an explanation may show the person while the game is on."""
        return top

    # --- instructions ---
    def read(self, text: str) -> Reading:
        raise NotImplementedError

    def instruction_record(self, room: Room, reading: Reading, adopt: bool) -> tuple[dict[str, Any], Any, dict[str, Any]]:
        """(extra fields of the instruction event, the prior as stored in the instructions table,
        extra fields of its `understood` column)."""
        raise NotImplementedError

    def understanding_fields(self, room: Room, reading: Reading, stored: dict[str, Any]) -> dict[str, Any]:
        """The game's fields of an understanding message (`stored`: the instruction event's payload)."""
        raise NotImplementedError

    def adopt(self, room: Room, reading: Reading) -> None:
        """The partner follows `reading` from now on (called with room.lock held)."""

    def reading_from_event(self, payload: dict[str, Any]) -> Reading:
        """The reading a stored instruction event holds (for rebuilding a game)."""
        raise NotImplementedError

    def after_instruction(self, room: Room) -> None:
        """Work an adopted instruction needs before the agent can act (runs in the instruction's task)."""

    # --- the agent ---
    def new_agent_slot(self) -> Any:
        return None

    def after_resume(self, room: Room) -> None:
        """Restart what a lost connection, a restart or a failed write left pending (besides the agent's turn)."""

    def wait_for_agent(self, room: Room) -> str | None:
        """Block until the agent can act; None when ready, else what to tell the person."""
        return None

    def agent_turn(self, room: Room) -> AgentTurn:
        """The agent, and what it is given, for the move now (takes its own snapshot under room.lock)."""
        raise NotImplementedError


class GameService:
    """Runs one game's rooms through the one flow: start, instruction, move, agent turn, rebuild, resume."""

    def __init__(self, adapter: GameAdapter, store: Store, emit: Emit, start_task: StartTask, config: dict[str, Any]):
        self.adapter = adapter
        self.game = adapter.name
        self.store = store
        self.emit = emit
        self.start_task = start_task
        self.delay_ms = int(config["AGENT_DELAY_MS"])
        self.max_instruction_chars = int(config["MAX_INSTRUCTION_CHARS"])
        self.room_idle_s = float(config["ROOM_IDLE_S"])
        self.resume_after_end_s = float(config["RESUME_AFTER_END_S"])
        self.connections_per_game = int(config["CONNECTIONS_PER_GAME"])
        self.rooms: dict[str, Room] = {}
        self._rooms_lock = threading.Lock()
        self._warmed = threading.Event()
        if config.get("TESTING"):
            # no background warm-up in test apps: a thread still loading torch when the test process exits
            # aborts the interpreter ("terminate called without an active exception", exit code 134)
            self._warmed.set()
        self._rng = random.Random()  # the agent's drawn delays

    def partner_list(self) -> list[dict[str, Any]]:
        return self.adapter.partner_list()

    # --- starting and resuming ---

    def start_game(self, req: StartGame, sid: str, settings: GameSettings | None = None) -> tuple[Room, str]:
        """Create and store a new game; the caller joins `sid` to the room and sends game_started + state.
        `settings`: what the server fixes beyond the request (a study's condition)."""
        adapter = self.adapter
        settings = settings or GameSettings()
        partner = adapter.partners.get(req.partner)
        if partner is None:
            raise ProtocolError("unknown_partner", f"no partner {shown(req.partner)} for {self.game}; choose one of "
                                                   f"{', '.join(adapter.partners)} (GET /api/partners?game={self.game})")
        partner = with_lambda(partner, settings.lam)
        if req.instruction is not None:
            if not settings.may_instruct:
                raise ProtocolError("not_allowed", "in this game your partner is given its instructions; start "
                                                   "without an instruction")
            self._check_instruction(req.instruction)
        seed = req.seed if req.seed is not None else secrets.randbelow(2**31)
        state, deal = adapter.deal(seed)
        game_id, token = uuid.uuid4().hex, secrets.token_urlsafe(24)
        participant = req.participant or f"anon-{uuid.uuid4().hex[:12]}"
        lam = adapter.lam(partner) if settings.lam is None else settings.lam
        delay_ms = self.delay_ms if settings.delay is None else settings.delay.mean_ms
        config = {"lambda": lam, "seat": req.seat, "agent_delay_ms": delay_ms, **adapter.config, **settings.as_config()}
        first = NewEvent(seq=0, turn=0, actor="system", type="game_started", payload={
            "game": self.game, "partner": partner.id, "seed": seed, "participant": participant, **deal, **config})
        self.store.create_game(game_id=game_id, participant_id=participant, game=self.game, agent=partner.id,
                               seed=seed, config=config, resume_token_hash=token_hash(token), first_event=first)
        room = Room(adapter, game_id, partner, req.seat, seed, participant, token_hash(token), state, next_seq=1)
        room.settings = settings
        room.sids.add(sid)
        with self._rooms_lock:
            self.rooms[game_id] = room
        log.info("%s game %s started: partner %s, seat %d, seed %d, participant %s", self.game, game_id, partner.id,
                 req.seat, seed, participant)
        return room, token

    def begin(self, room: Room, instruction: str | None, sid: str, request_id: Any) -> None:
        """After game_started: load what the game needs, read the first instruction (the game's default when
        the person gave none), and start the agent's turn if it leads."""
        if not self._warmed.is_set():
            self._warmed.set()
            self.start_task(self._warm)
        first = room.start_instruction
        if instruction:
            self._read_later(room, instruction, "human", sid, request_id)
        elif first:
            self._read_later(room, first, "system", sid, request_id)
        else:
            self._start_agent_turn(room)

    def warm(self) -> None:
        """Load the game's models now (the server calls this at start, before it takes connections)."""
        self._warmed.set()
        self._warm()

    def _warm(self) -> None:
        try:
            self.adapter.warm()
        except Exception:
            log.exception("could not load the %s models ahead of time", self.game)

    def resume(self, req: ResumeMsg, sid: str) -> Room:
        """Check the token and let `sid` act in the game again (rebuilding it from its events when this
        process holds none, or an older state than the database's). A token ends with its game: a finished
        game resumes for RESUME_AFTER_END_S to show its result, an abandoned one not at all."""
        room = self._room(req.game_id)
        if not hmac.compare_digest(room.resume_token_hash, token_hash(req.token)):
            raise ProtocolError("bad_token", "this resume token does not belong to that game; use the "
                                             "resume_token from its game_started, or start a new game")
        if room.ended_at is not None and time.time() - room.ended_at > self.resume_after_end_s:
            raise ProtocolError("game_over", "this game ended a while ago, so it cannot be resumed; start a new "
                                             "game (finished games can be watched as replays)")
        self._connect(room, sid)
        log.info("game %s resumed by %s", room.id, sid)
        return room

    def _connect(self, room: Room, sid: str) -> None:
        """Let `sid` act in `room`, within CONNECTIONS_PER_GAME tabs."""
        with room.lock:
            if sid not in room.sids and len(room.sids) >= self.connections_per_game:
                raise ProtocolError("too_many_connections", f"this game is open in {len(room.sids)} other tabs "
                                                            "already; play it there, or close one of them")
            room.sids.add(sid)
            room.last_active = time.monotonic()

    def after_resume(self, room: Room) -> None:
        """Restart whatever a lost connection, a restart or a failed write left pending: the instruction the
        agent needs, the adapter's own work, and the agent's turn."""
        first = room.start_instruction
        if self.adapter.needs_prior and room.reading is None and first:
            self._read_later(room, first, "system", room.id, None)
        else:
            self.adapter.after_resume(room)
            self._start_agent_turn(room)

    def join(self, game_id: str, sid: str) -> Room:
        """Let `sid` act in game `game_id` without its resume token, for a caller that checked by other means
        that the person may play it (a study participant's token: server/studies/). A second tab joins the
        game already open; it never starts another."""
        room = self._room(game_id)
        self._connect(room, sid)
        log.info("game %s joined by %s", room.id, sid)
        return room

    def abandon(self, room: Room, reason: str) -> None:
        """End a game nobody can play on: store why (event `abandoned`, status "abandoned") and forget it."""
        with room.lock:
            event = NewEvent(seq=room.next_seq, turn=room.turn, actor="system", type="abandoned",
                             payload={"reason": reason})
            self._append(room, [event], status="abandoned")
        with self._rooms_lock:
            self.rooms.pop(room.id, None)
        log.info("game %s abandoned: %s", room.id, reason)

    def leave(self, sid: str) -> None:
        """Forget a closed connection. A game nobody is connected to leaves memory once it is over or idle
        for ROOM_IDLE_S (it stays stored and is rebuilt from its events when resumed)."""
        now = time.monotonic()
        with self._rooms_lock:
            for room in list(self.rooms.values()):
                room.sids.discard(sid)
                idle = now - room.last_active > self.room_idle_s and room.agent_turn is None
                if not room.sids and (room.over or idle):
                    del self.rooms[room.id]

    # --- the person's messages ---

    def move(self, req: MoveMsg, sid: str) -> None:
        room = self._joined(req.game_id, sid)
        with room.lock:
            room.last_active = time.monotonic()
            if room.over:
                raise ProtocolError("game_over", f"this game is over (score {self._score(room)}); start a new game")
            if room.to_act != "human":
                raise ProtocolError("not_your_turn", "it is your partner's turn; wait for its agent_move, then move")
            action = self.adapter.parse_move(room.game, room.seat, req.move)
            self._apply(room, action, "human", {})

    def instruction(self, req: InstructionMsg, sid: str, request_id: Any) -> None:
        room = self._joined(req.game_id, sid)
        if not room.settings.may_instruct:
            raise ProtocolError("not_allowed", "in this game you cannot type instructions: your partner follows "
                                               "the instruction it was given; just play")
        self._check_instruction(req.text)
        if room.over:
            raise ProtocolError("game_over", "this game is over, so your partner has nothing left to do; "
                                             "start a new game and tell it then")
        self._read_later(room, req.text, "human", sid, request_id)

    def explain(self, req: ExplainMsg, sid: str, request_id: Any) -> dict[str, Any]:
        room = self._joined(req.game_id, sid)
        with room.lock:
            if not room.explanations:
                raise ProtocolError("bad_message", "your partner has not moved yet; ask again after its first move")
            turn = max(room.explanations) if req.turn is None else req.turn
            if turn not in room.explanations:
                raise ProtocolError("bad_message", f"your partner did not move at turn {turn}; its moves were at "
                                                   f"turns {sorted(room.explanations)}")
            entry = room.explanations[turn]
            if not room.over:
                entry = {**entry, "top": self.adapter.public_top(room, entry["top"])}
            # a "Why?" is part of the record: stored before it is answered
            self._append(room, [NewEvent(seq=room.next_seq, turn=room.turn, actor="human", type="explain_request",
                                         payload={"about_turn": turn})])
            return protocol.explanation(room.id, turn, entry, request_id)

    def confirm(self, req: ConfirmMsg, sid: str, request_id: Any) -> None:
        """The person's answer to an understanding that asked: "yes, that is what I meant" (choice None) or
        one of its `choices`. The confirmed reading is read again from its words (`confirm_text`, or the
        choice's `text`: the descriptions of every convention understood, so no understood part is lost),
        stored as a `confirmation` event and adopted (`confirmed`, in the background)."""
        room = self._joined(req.game_id, sid)
        if not room.settings.may_instruct:
            raise ProtocolError("not_allowed", "in this game you cannot change your partner's instruction; just play")
        if room.over:
            raise ProtocolError("game_over", "this game is over, so your partner has nothing left to adopt; "
                                             "start a new game and tell it then")
        event = next((e for e in self.store.load_game(room.id).events
                      if e["seq"] == req.instruction_id and e["type"] == "instruction"), None)
        if event is None:
            raise ProtocolError("bad_message", f"there is no instruction {req.instruction_id} in this game; send the "
                                               f"instruction_id of the understanding you answer")
        text = _confirmed_text(event["payload"], req.choice)
        with room.lock:
            room.instructions_received += 1
            number = room.instructions_received
        self.start_task(self.confirmed, room, req.instruction_id, req.choice, text, sid, request_id, number)

    def confirmed(self, room: Room, instruction_id: int, choice: int | None, text: str, reply_to: str,
                  request_id: Any, number: int) -> None:
        """Read the confirmed words, store the confirmation, adopt it (the person said so: it is never asked
        about again) and answer with an understanding; then prepare the agent as for an instruction."""
        try:
            reading = off_loop(self.adapter.read, text)  # CPU-heavy: off gevent's loop
        except Exception:
            log.exception("could not read the confirmed reading for game %s: %r", room.id, text[:200])
            self._error(reply_to, "internal", "the server could not adopt this reading; type the instruction again",
                        "confirm", request_id)
            return
        reading = Reading({**reading.fields, "clarify": False, "question": None, "choices": [], "not_understood": []},
                          reading.prior)
        with room.lock:
            if room.over:
                self._error(reply_to, "game_over", "the game ended before your answer was kept; start a new game",
                            "confirm", request_id)
                return
            superseded = number < room.instruction_number  # a later instruction was stored meanwhile
            room.instruction_number = max(room.instruction_number, number)
            seq = room.next_seq
            extra, stored_prior, understood_extra = self.adapter.instruction_record(room, reading, not superseded)
            payload = {"text": text, **reading.fields, "adopted": not superseded, "instruction_id": instruction_id,
                       "choice": choice, **extra}
            event = NewEvent(seq=seq, turn=room.turn, actor="human", type="confirmation", payload=payload)
            record = NewInstruction(event_seq=seq, text=text, backend=reading.fields["backend"], prior=stored_prior,
                                    understood={k: payload[k] for k in ("understood", "summary", "confidence", "clarify",
                                                                        "question", "adopted")}
                                    | {"confirms": instruction_id, "choice": choice} | understood_extra)
            try:
                self._append(room, [event], instruction=record)
            except ProtocolError as e:
                self._error(reply_to, e.code, e.message, "confirm", request_id)
                return
            if superseded:
                return
            message = self._understanding_message(room, seq, payload, reading)
            self._adopt(room, reading, text, seq, message)
            self.emit("understanding", {**message, "request_id": request_id}, to=room.id)
        self.adapter.after_instruction(room)
        self._start_agent_turn(room)

    # --- background tasks ---

    def _read_later(self, room: Room, text: str, actor: str, reply_to: str, request_id: Any) -> None:
        """Number the instruction as it comes (readings take their own time, so they may end in another
        order) and read it in a background task."""
        with room.lock:
            room.instructions_received += 1
            number = room.instructions_received
        self.start_task(self.instruct, room, text, actor, reply_to, request_id, number)

    def instruct(self, room: Room, text: str, actor: str, reply_to: str, request_id: Any, number: int) -> None:
        """Read instruction `number`, store it, adopt it unless it is unclear or a later one came first, answer
        with an understanding, then prepare the agent for it and start the agent's turn if it is due. Errors
        go to `reply_to`."""
        try:
            reading = off_loop(self.adapter.read, text)  # CPU-heavy: off gevent's loop
        except Exception:
            log.exception("could not interpret an instruction for game %s: %r", room.id, text[:200])
            self._error(reply_to, "internal", "the server could not read this instruction; try rephrasing it",
                        "instruction", request_id)
            with room.lock:
                # a person's instruction that replaced the start instruction before it was read leaves the
                # agent without any: read the start instruction again
                first = room.start_instruction
                again = (actor == "human" and self.adapter.needs_prior and room.reading is None and first
                         and number == room.instructions_received)
            if again:
                self._read_later(room, first, "system", reply_to, None)
        else:
            with room.lock:
                stored = self._store_instruction(room, text, actor, reading, reply_to, request_id, number)
            if stored:
                self.adapter.after_instruction(room)
        self._start_agent_turn(room)

    def _store_instruction(self, room: Room, text: str, actor: str, reading: Reading, reply_to: str,
                           request_id: Any, number: int) -> bool:
        """Store, adopt and announce instruction `number` (caller holds room.lock); False if it was not stored
        or not adopted because a later one came first."""
        if room.over:
            self._error(reply_to, "game_over", "the game ended while your instruction was being read, so it was "
                                               "not kept; start a new game and tell it then", "instruction", request_id)
            return False
        if actor == "system" and number < room.instructions_received:
            # the start instruction stands in until the person says something; they did while it was read
            log.info("game %s: the start instruction was replaced before it was read; not stored", room.id)
            return False
        superseded = number < room.instruction_number  # a later instruction was stored while this one was read
        room.instruction_number = max(room.instruction_number, number)
        seq = room.next_seq
        # An unclear instruction is stored and answered, but the partner keeps what it follows now
        # (unless it follows nothing yet and needs a prior to act at all). A superseded one is stored, not
        # adopted and not announced: the person's later words stand.
        adopt = not superseded and (not reading.clarify or (self.adapter.needs_prior and room.reading is None))
        extra, stored_prior, understood_extra = self.adapter.instruction_record(room, reading, adopt)
        payload = {"text": text, **reading.fields, "adopted": adopt, **extra}
        event = NewEvent(seq=seq, turn=room.turn, actor=actor, type="instruction", payload=payload)
        record = NewInstruction(event_seq=seq, text=text, backend=reading.fields["backend"], prior=stored_prior,
                                understood={k: payload[k] for k in ("understood", "summary", "confidence", "clarify",
                                                                    "question", "adopted")} | understood_extra)
        try:
            self._append(room, [event], instruction=record)
        except ProtocolError as e:
            self._error(reply_to, e.code, e.message, "instruction", request_id)
            return False
        if superseded:
            return False
        message = self._understanding_message(room, seq, payload, reading)
        if adopt:
            self._adopt(room, reading, text, seq, message)
        self.emit("understanding", {**message, "request_id": request_id}, to=room.id)
        return True

    def _understanding_message(self, room: Room, seq: int, payload: dict[str, Any], reading: Reading) -> dict[str, Any]:
        fields = {k: payload[k] for k in ("backend", "understood", "summary", "confidence", "clarify", "question")}
        fields |= {k: payload.get(k, []) for k in ("choices", "not_understood")}  # readings that name none: []
        fields["reader_confidence"] = payload.get("reader_confidence")   # set when the learned reader's agreement adopted it
        if "instruction_id" in payload:  # a confirmation: which instruction it answers, and how
            fields |= {"confirms": payload["instruction_id"], "choice": payload["choice"]}
        return protocol.understanding(room.id, seq, payload["text"], fields, payload["adopted"],
                                      self._shown_settings(room, self.adapter.understanding_fields(room, reading, payload)))

    def _adopt(self, room: Room, reading: Reading, text: str, seq: int, message: dict[str, Any]) -> None:
        room.reading, room.instruction, room.instruction_seq, room.understanding = reading, text, seq, message
        self.adapter.adopt(room, reading)

    def _start_agent_turn(self, room: Room) -> None:
        """Start the agent's task for the current turn, unless one is running for it already."""
        with room.lock:
            if room.to_act == "agent" and room.agent_turn != room.turn:
                if self.adapter.needs_prior and room.reading is None:
                    return  # the first instruction's task starts it once the prior is adopted
                room.agent_turn = room.turn
                self.start_task(self.agent_move, room, room.turn)

    def agent_move(self, room: Room, turn: int) -> None:
        """The agent's move at `turn`: wait for the agent, decide (think_ms), pause (delay_ms), store, apply, emit."""
        try:
            self._agent_move(room, turn)
        except Exception as e:
            log.exception("game %s: the agent failed at turn %d", room.id, turn)
            self._error(room.id, "internal", f"your partner could not move ({type(e).__name__}); send resume to "
                                             "try again, or start a new game", "move", None)
        finally:
            with room.lock:
                if room.agent_turn == turn:
                    room.agent_turn = None

    def _agent_move(self, room: Room, turn: int) -> None:
        problem = self.adapter.wait_for_agent(room)
        if problem is not None:
            self._error(room.id, "internal", problem, "move", None)
            return
        if room.turn != turn or room.to_act != "agent":
            return
        started = time.perf_counter()
        inputs = self.adapter.agent_turn(room)
        # the room's lambda (a study condition's, else the partner's); the agent reports the one it applied
        decision = inputs.agent.act(inputs.view, inputs.legal, inputs.log_prior, room.lam, asked=inputs.asked)
        think_ms = round((time.perf_counter() - started) * 1000, 3)
        started = time.perf_counter()
        pause_ms = self.delay_ms if room.settings.delay is None else room.settings.delay.draw(self._rng)
        if pause_ms > 0:  # no pause asked: no sleep(0) either (a system call, or a trip round gevent's hub)
            time.sleep(pause_ms / 1000)
        delay_ms = round((time.perf_counter() - started) * 1000, 3)
        with room.lock:
            if room.turn != turn:
                return
            top = self.adapter.top_moves(decision.top)
            extra = {"think_ms": think_ms, "delay_ms": delay_ms, "lambda": decision.lam, **inputs.record,
                     "explanation": decision.explanation, "top": top}
            move = self._apply(room, int(decision.move), "agent", extra, reply_to=room.id)
            if move is not None:
                room.explanations[turn] = {"move": move, "text": decision.explanation, "top": top}

    # --- applying a move ---

    def _apply(self, room: Room, action: int, actor: str, extra: dict[str, Any],
               reply_to: str | None = None) -> dict[str, Any] | None:
        """Store the move (and the game's end), then adopt and emit it (caller holds room.lock); returns the
        move as stored. A person's refused move raises; the agent's is reported to `reply_to`, left pending."""
        state, turn = room.game, room.turn
        new_state, reward, move, public = self.adapter.applied(state, action, room.seat)
        events = [NewEvent(seq=room.next_seq, turn=turn, actor=actor, type="move", move=move,
                           payload={"reward": reward, **public, **extra})]
        outcome = None
        if self.adapter.is_over(new_state):
            outcome, over = self.adapter.outcome(new_state)
            events.append(NewEvent(seq=room.next_seq + 1, turn=self.adapter.turn(new_state), actor="system",
                                   type="game_over", payload=over))
        try:
            self._append(room, events, outcome=outcome)
        except ProtocolError as e:
            if reply_to is None:
                raise
            self._error(reply_to, e.code, f"{e.message} (your partner's move was not saved; send resume to retry)",
                        "move", None)
            return None
        room.game = new_state
        if outcome is not None:
            room.ended_at = time.time()
        if actor == "agent":
            room.agent_turn = None  # this turn's task is done: the next agent turn may start at once
            self.emit("agent_move", protocol.agent_move(
                room.id, turn, move, reward, self.adapter.public_prior(room, extra), extra["explanation"],
                extra["lambda"], extra["think_ms"], extra["delay_ms"],
                self.adapter.agent_move_fields(room, move, public, extra)),
                to=room.id)
        self.emit("state", self.state_message(room), to=room.id)
        if outcome is not None:
            self.emit("game_over", self.game_over_message(room), to=room.id)
        else:
            self._start_agent_turn(room)
        return move

    # --- messages ---

    def started_message(self, room: Room, token: str, request_id: Any = None) -> dict[str, Any]:
        seed = room.seed if self.adapter.public_seed else None
        return protocol.game_started(room.id, self.game, room.partner.id, room.seat, seed, token,
                                     room.participant, {**self._shown_settings(room, self.adapter.started_fields(room)),
                                                        "may_instruct": room.settings.may_instruct}, request_id)

    @staticmethod
    def _shown_settings(room: Room, fields: dict[str, Any]) -> dict[str, Any]:
        """A game's message fields with the lambda the room's settings fixed, where the message names one."""
        if room.settings.lam is not None and "lambda" in fields:
            return {**fields, "lambda": room.settings.lam}
        return fields

    def state_message(self, room: Room) -> dict[str, Any]:
        return protocol.state(room.id, room.turn, room.to_act, room.over, self.adapter.state_fields(room))

    def game_over_message(self, room: Room) -> dict[str, Any]:
        return protocol.game_over(room.id, self.adapter.outcome(room.game)[1])

    def _score(self, room: Room) -> Any:
        return self.adapter.outcome(room.game)[1]["score"]

    # --- helpers ---

    def _check_instruction(self, text: str) -> None:
        if len(text) > self.max_instruction_chars:
            raise ProtocolError("too_long", f"the instruction has {len(text)} characters; the limit is "
                                            f"{self.max_instruction_chars}: shorten it and send it again")
        if not text.strip():
            raise ProtocolError("bad_message", "the instruction is empty; type what your partner should do")

    def _append(self, room: Room, events: list[NewEvent], **extra: Any) -> None:
        """Store events (caller holds room.lock); on failure raise the protocol error and change nothing."""
        try:
            self.store.append(room.id, events, **extra)
        except StorageUnavailable as e:
            raise ProtocolError("storage_unavailable", f"{e}; nothing was applied, try again in a moment") from e
        except StaleGame as e:
            with self._rooms_lock:
                self.rooms.pop(room.id, None)
            log.error("game %s: %s", room.id, e)
            raise ProtocolError("conflict", "this game moved on elsewhere; send resume to reload it") from e
        room.next_seq += len(events)

    def _error(self, to: str, code: str, message: str, event: str, request_id: Any) -> None:
        log.warning("%s error for %s on %s: %s", code, to, event, message)
        self.emit("error", protocol.error(code, message, event, request_id), to=to)

    def _joined(self, game_id: str, sid: str) -> Room:
        room = self.rooms.get(game_id)
        if room is None or sid not in room.sids:
            raise ProtocolError("unknown_game", f"this connection is not in game {game_id}; start a game, or "
                                                f"send resume with its game_id and resume_token")
        return room

    def _room(self, game_id: str, record: GameRecord | None = None) -> Room:
        """The live room, or the game rebuilt from its stored `record` (loaded when not given)."""
        with self._rooms_lock:
            room = self.rooms.get(game_id)
            if room is not None and self.store.last_seq(game_id) == room.next_seq - 1:
                return room
            record = record or self.store.load_game(game_id)
            if record is None:
                raise ProtocolError("unknown_game", f"there is no game {game_id}; start a new game")
            if record.status == "abandoned":
                raise ProtocolError("game_over", "this game was abandoned, so it cannot be resumed; start a new game")
            room = self._rebuild(record)
            self.rooms[game_id] = room
        return room

    def _rebuild(self, record: GameRecord) -> Room:
        """A room from its stored events alone: the deal and moves, the latest adopted instruction, the
        agent's explanations."""
        start = record.events[0]["payload"]
        settings = GameSettings.from_config(record.config)
        room = Room(self.adapter, record.id, with_lambda(self.adapter.partners[record.agent], settings.lam),
                    int(start.get("seat", 0)), record.seed, record.participant_id, record.resume_token_hash,
                    self.adapter.rebuild(record.events), next_seq=record.events[-1]["seq"] + 1)
        room.settings = settings
        if record.ended_at is not None:
            room.ended_at = datetime.fromisoformat(record.ended_at.replace("Z", "+00:00")).timestamp()
        for e in record.events:
            p = e["payload"]
            if e["type"] in ("instruction", "confirmation") and p.get("adopted", True):
                reading = self.adapter.reading_from_event(p)
                self._adopt(room, reading, p["text"], e["seq"], self._understanding_message(room, e["seq"], p, reading))
            elif e["type"] == "move" and e["actor"] == "agent":
                room.explanations[e["turn"]] = {"move": e["move"], "text": p.get("explanation", ""),
                                                "top": p.get("top", [])}
        return room


def _confirmed_text(payload: dict[str, Any], choice: int | None) -> str:
    """The words a confirmed reading is read from: the reading's own (`confirm_text`: what was understood,
    every part of it) for "yes", or the chosen reading's. A refusal says what can be confirmed instead."""
    if choice is None:
        if not payload.get("understood") and not payload.get("confirm_text"):
            raise ProtocolError("bad_message", "nothing in that instruction was understood, so there is nothing to "
                                               "confirm; choose one of its choices, or say it in other words")
        return payload.get("confirm_text") or payload["text"]
    choices = payload.get("choices") or []
    if choice >= len(choices):
        offered = f"choices 0..{len(choices) - 1}" if choices else "no choices"
        raise ProtocolError("bad_message", f"that understanding offered {offered}, so there is no choice {choice}; "
                                           f"send null to confirm its summary, or say it in other words")
    return choices[choice]["text"]


class Games:
    """The services by game name: each message goes to the service of its game."""

    def __init__(self, store: Store, services: list[GameService]):
        self.store = store
        self.services = {s.game: s for s in services}

    @property
    def rooms(self) -> dict[str, Room]:
        """Every live room of every game, by game id."""
        return {gid: room for s in self.services.values() for gid, room in s.rooms.items()}

    def for_new(self, game: str) -> GameService:
        service = self.services.get(game)
        if service is None:
            raise ProtocolError("bad_message", f"{game} cannot be played on this server; start one of "
                                               f"{', '.join(self.services)}")
        return service

    def for_game(self, game_id: str) -> GameService:
        """The service holding live game `game_id` (a game not in memory is only found by `resume`)."""
        for service in self.services.values():
            if game_id in service.rooms:
                return service
        raise ProtocolError("unknown_game", f"this connection is not in game {game_id}; start a game, or "
                                            f"send resume with its game_id and resume_token")

    def resume(self, req: ResumeMsg, sid: str) -> tuple[GameService, Room]:
        """(service, room) for a resume, rebuilding the game from its events when it is not in memory."""
        try:
            service = self.for_game(req.game_id)
        except ProtocolError:
            record = self.store.load_game(req.game_id)
            if record is None or record.game not in self.services:
                raise ProtocolError("unknown_game", f"there is no game {req.game_id}; start a new game") from None
            service = self.services[record.game]
            service._room(req.game_id, record)
        return service, service.resume(req, sid)

    def join(self, game_id: str, sid: str) -> tuple[GameService, Room]:
        """(service, room) for a caller that checked by other means that `sid`'s person may play the game
        (GameService.join); rebuilt from its events when it is not in memory."""
        service = self._service_of(game_id)
        return service, service.join(game_id, sid)

    def abandon(self, game_id: str, reason: str) -> None:
        """Mark a game nobody plays on as abandoned, with its reason (GameService.abandon)."""
        service = self._service_of(game_id)
        service.abandon(service._room(game_id), reason)

    def _service_of(self, game_id: str) -> GameService:
        """The service of game `game_id`, live or stored."""
        try:
            return self.for_game(game_id)
        except ProtocolError:
            record = self.store.load_game(game_id)
            if record is None or record.game not in self.services:
                raise ProtocolError("unknown_game", f"there is no game {game_id}; start a new game") from None
            return self.services[record.game]

    def partner_list(self, game: str) -> list[dict[str, Any]] | None:
        service = self.services.get(game)
        return None if service is None else service.partner_list()

    def leave(self, sid: str) -> None:
        for service in self.services.values():
            service.leave(sid)
