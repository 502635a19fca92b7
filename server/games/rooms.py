"""Game rooms: one room per live game, the services that run the protocol's flow, and `Games`, which
hands each message to the service of its game.

For every change a service (1) checks it against the rules, (2) stores it as an event, and only then
(3) adopts the new state and (4) emits it. If the store refuses, nothing is applied. The agent's move
and the instruction -> prior -> agent pipeline run as background tasks, never in a socket handler.
A room that is not in memory (after a restart, or on another process) is rebuilt from its events.

`GameService` holds what every game shares (rooms, starting a game, resume, explanations, storing events,
errors); `RoomService` is Say-Select's service; Hanabi's is server/games/hanabi_rooms.py.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
import uuid
from typing import Any, Callable

import numpy as np

from agents.priors import PAPER_INSTRUCTION
from server.db.store import GameRecord, NewEvent, NewInstruction, NewOutcome, StaleGame, Store, StorageUnavailable
from server.games import say_select
from server.games.say_select import PARTNERS, Partner, SaySelectGame, agent_action_to_move
from server.messages import ExplainMsg, InstructionMsg, MoveMsg, ProtocolError, ResumeMsg, StartGame
from server.partners import BobProvider, Interpreter, Understanding, prior_row, prior_rows, table_from_json, table_json

log = logging.getLogger(__name__)

Emit = Callable[..., None]  # emit(event, data, to=room_or_sid)
StartTask = Callable[..., Any]  # start_task(fn, *args)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Room:
    """A live Say-Select game: its rules state, its partner's prior and Bob, and who may act in it."""

    def __init__(self, record_id: str, partner: Partner, seed: int, participant: str, resume_token_hash: str,
                 game: SaySelectGame, next_seq: int):
        self.id = record_id
        self.partner = partner
        self.seed = seed
        self.participant = participant
        self.resume_token_hash = resume_token_hash
        self.game = game
        self.next_seq = next_seq
        self.lock = threading.RLock()
        self.sids: set[str] = set()
        self.table: np.ndarray | None = None
        self.backend = ""
        self.understanding: dict[str, Any] | None = None
        self.bob: Any = None
        self.bob_key: str | None = None
        self.bob_ready = threading.Event()
        self.agent_busy = False
        self.explanations: dict[int, dict[str, Any]] = {}

    @property
    def over(self) -> bool:
        return self.game.over


class GameService:
    """What every game's service shares. A room has `id`, `resume_token_hash`, `lock`, `sids`, `next_seq`,
    `explanations` (turn -> {"move", "text", "top"}) and `over`; a subclass sets `game`, `partners` and
    `game_config`, and provides `_lambda(partner)`, `_deal(seed)`, `_new_room(...)`, `_rebuild(record)`,
    `partner_list()` and the flow of its game."""

    game = ""
    partners: dict[str, Any]      # the partners people can choose, by id
    game_config: dict[str, Any]   # stored with every new game (its config and game_started)

    def __init__(self, store: Store, emit: Emit, start_task: StartTask, config: dict[str, Any]):
        self.store = store
        self.emit = emit
        self.start_task = start_task
        self.delay_ms = int(config["AGENT_DELAY_MS"])
        self.max_instruction_chars = int(config["MAX_INSTRUCTION_CHARS"])
        self.rooms: dict[str, Any] = {}
        self._rooms_lock = threading.Lock()

    def partner_list(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    def _lambda(self, partner: Any) -> float:
        """The lambda `partner` plays with."""
        raise NotImplementedError

    def _deal(self, seed: int) -> tuple[Any, dict[str, Any]]:
        """A new game dealt from `seed`, and the fields that record the deal in game_started."""
        raise NotImplementedError

    def _new_room(self, game_id: str, partner: Any, seat: int, seed: int, participant: str, resume_token_hash: str,
                  game: Any) -> Any:
        """The room of a game just created (its next event is seq 1)."""
        raise NotImplementedError

    def _rebuild(self, record: GameRecord) -> Any:
        raise NotImplementedError

    def start_game(self, req: StartGame, sid: str) -> tuple[Any, str]:
        """Create and store a new game; the caller joins `sid` to the room and sends game_started + state."""
        partner = self.partners.get(req.partner)
        if partner is None:
            raise ProtocolError("unknown_partner", f"no partner {req.partner!r} for {self.game}; choose one of "
                                                   f"{', '.join(self.partners)} (GET /api/partners?game={self.game})")
        if req.instruction is not None:
            self._check_instruction(req.instruction)
        seed = req.seed if req.seed is not None else secrets.randbelow(2**31)
        game, deal = self._deal(seed)
        game_id, token = uuid.uuid4().hex, secrets.token_urlsafe(24)
        participant = req.participant or f"anon-{uuid.uuid4().hex[:12]}"
        config = {"lambda": self._lambda(partner), "seat": req.seat, **self.game_config}
        first = NewEvent(seq=0, turn=0, actor="system", type="game_started", payload={
            "game": self.game, "partner": partner.id, "seed": seed, "participant": participant, **deal, **config})
        self.store.create_game(game_id=game_id, participant_id=participant, game=self.game, agent=partner.id,
                               seed=seed, config=config, resume_token_hash=token_hash(token), first_event=first)
        room = self._new_room(game_id, partner, req.seat, seed, participant, token_hash(token), game)
        room.sids.add(sid)
        with self._rooms_lock:
            self.rooms[game_id] = room
        log.info("%s game %s started: partner %s, seat %d, seed %d, participant %s", self.game, game_id, partner.id,
                 req.seat, seed, participant)
        return room, token

    def resume(self, req: ResumeMsg, sid: str) -> Any:
        """Check the token and let `sid` act in the game again (rebuilding it from its events if needed)."""
        room = self._room(req.game_id)
        if not hmac.compare_digest(room.resume_token_hash, token_hash(req.token)):
            raise ProtocolError("bad_token", "this resume token does not belong to that game; use the "
                                             "resume_token from its game_started, or start a new game")
        with room.lock:
            room.sids.add(sid)
        log.info("game %s resumed by %s", room.id, sid)
        return room

    def leave(self, sid: str) -> None:
        """Forget a closed connection; a finished game nobody watches leaves memory (it stays stored)."""
        with self._rooms_lock:
            for room in list(self.rooms.values()):
                room.sids.discard(sid)
                if not room.sids and room.over:
                    del self.rooms[room.id]

    def explain(self, req: ExplainMsg, sid: str) -> dict[str, Any]:
        room = self._joined(req.game_id, sid)
        with room.lock:
            if not room.explanations:
                raise ProtocolError("bad_message", "your partner has not moved yet; ask again after its first move")
            turn = max(room.explanations) if req.turn is None else req.turn
            if turn not in room.explanations:
                raise ProtocolError("bad_message", f"your partner did not move at turn {turn}; its moves were at "
                                                   f"turns {sorted(room.explanations)}")
            return {"game_id": room.id, "turn": turn, **room.explanations[turn]}

    def _check_instruction(self, text: str) -> None:
        if len(text) > self.max_instruction_chars:
            raise ProtocolError("too_long", f"the instruction has {len(text)} characters; the limit is "
                                            f"{self.max_instruction_chars}: shorten it and send it again")
        if not text.strip():
            raise ProtocolError("bad_message", "the instruction is empty; type what your partner should do")

    def _append(self, room: Any, events: list[NewEvent], **extra: Any) -> None:
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
        self.emit("error", {"code": code, "message": message, "event": event, "request_id": request_id}, to=to)

    def _joined(self, game_id: str, sid: str) -> Any:
        room = self.rooms.get(game_id)
        if room is None or sid not in room.sids:
            raise ProtocolError("unknown_game", f"this connection is not in game {game_id}; start a game, or "
                                                f"send resume with its game_id and resume_token")
        return room

    def _room(self, game_id: str, record: GameRecord | None = None) -> Any:
        """The live room, or the game rebuilt from its stored `record` (loaded when not given)."""
        with self._rooms_lock:
            room = self.rooms.get(game_id)
            if room is not None:
                return room
            record = record or self.store.load_game(game_id)
            if record is None:
                raise ProtocolError("unknown_game", f"there is no game {game_id}; start a new game")
            room = self._rebuild(record)
            self.rooms[game_id] = room
        return room


class Games:
    """The services by game name: each message goes to the service of its game."""

    def __init__(self, store: Store, services: list[GameService]):
        self.store = store
        self.services = {s.game: s for s in services}

    @property
    def rooms(self) -> dict[str, Any]:
        """Every live room of every game, by game id."""
        return {gid: room for s in self.services.values() for gid, room in s.rooms.items()}

    def for_new(self, game: str) -> GameService:
        service = self.services.get(game)
        if service is None:
            raise ProtocolError("bad_message", f"{game} cannot be played on this server; start one of "
                                               f"{', '.join(self.services)}")
        return service

    def for_game(self, game_id: str) -> GameService:
        """The service holding live game `game_id` (a game not in memory is only found by `for_resume`)."""
        for service in self.services.values():
            if game_id in service.rooms:
                return service
        raise ProtocolError("unknown_game", f"this connection is not in game {game_id}; start a game, or "
                                            f"send resume with its game_id and resume_token")

    def resume(self, req: ResumeMsg, sid: str) -> tuple[GameService, Any]:
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

    def partner_list(self, game: str) -> list[dict[str, Any]] | None:
        service = self.services.get(game)
        return None if service is None else service.partner_list()

    def leave(self, sid: str) -> None:
        for service in self.services.values():
            service.leave(sid)


class RoomService(GameService):
    """Say-Select: the person plays Alice, the agent a trained Bob for the instruction's prior."""

    game = say_select.GAME
    partners = PARTNERS

    def __init__(self, store: Store, interpreter: Interpreter, bobs: BobProvider, emit: Emit, start_task: StartTask,
                 config: dict[str, Any]):
        super().__init__(store, emit, start_task, config)
        self.interpreter = interpreter
        self.bobs = bobs
        self.bob_wait_s = float(config["BOB_WAIT_S"])
        self.game_config = {"prior_backend": interpreter.prior.name, "bob_seed": bobs.seed,
                            "bob_episodes": int(config["BOB_EPISODES"]), "agent_delay_ms": self.delay_ms}

    def partner_list(self) -> list[dict[str, Any]]:
        return say_select.partner_list()

    def _lambda(self, partner: Partner) -> float:
        return partner.lam

    # --- starting and resuming ---

    def _deal(self, seed: int) -> tuple[SaySelectGame, dict[str, Any]]:
        game = SaySelectGame.deal(seed)
        return game, {"balls": game.initial, "k": game.k}

    def _new_room(self, game_id: str, partner: Partner, seat: int, seed: int, participant: str,
                  resume_token_hash: str, game: SaySelectGame) -> Room:
        return Room(game_id, partner, seed, participant, resume_token_hash, game, next_seq=1)

    def begin(self, room: Room, instruction: str | None, sid: str, request_id: Any) -> None:
        """After game_started: read the first instruction (the paper's, when the person gave none)."""
        actor, text = ("human", instruction) if instruction else ("system", PAPER_INSTRUCTION)
        self.start_task(self.instruct, room, text, actor, sid, request_id)

    def after_resume(self, room: Room) -> None:
        """Restart whatever a lost connection, a restart or a failed write left pending: the partner's
        prior and Bob, and the agent's turn."""
        if room.table is None:
            self.start_task(self.instruct, room, PAPER_INSTRUCTION, "system", room.id, None)
        elif room.bob is None:
            room.bob_ready.clear()  # a failed training left it set; the retry sets it again
            self.start_task(self.prepare_bob, room)
        with room.lock:
            if room.game.to_act == "agent" and not room.agent_busy:
                room.agent_busy = True
                self.start_task(self.agent_turn, room, room.game.step)

    # --- the person's messages ---

    def move(self, req: MoveMsg, sid: str) -> None:
        room = self._joined(req.game_id, sid)
        with room.lock:
            game = room.game
            if game.over:
                raise ProtocolError("game_over", f"this game is over (score {game.score:g}); start a new game")
            if game.to_act != "human":
                raise ProtocolError("not_your_turn", "it is your partner's turn; wait for its agent_move, then move")
            action = say_select.human_move_to_action(req.move)
            new_game, reward = game.applied(action)
            event = NewEvent(seq=room.next_seq, turn=game.step, actor="human", type="move",
                             move={"say": action + 1}, payload={"reward": reward})
            self._append(room, [event])
            room.game = new_game
            self.emit("state", self.state_message(room), to=room.id)
            room.agent_busy = True
            self.start_task(self.agent_turn, room, new_game.step)

    def instruction(self, req: InstructionMsg, sid: str, request_id: Any) -> None:
        room = self._joined(req.game_id, sid)
        self._check_instruction(req.text)
        self.start_task(self.instruct, room, req.text, "human", sid, request_id)

    # --- background tasks ---

    def instruct(self, room: Room, text: str, actor: str, reply_to: str, request_id: Any) -> None:
        """Read an instruction, store it, send the understanding, then make sure its Bob is ready.
        Errors go to `reply_to` (the sender's sid, or the room)."""
        try:
            understanding = self.interpreter.understand(text)
        except Exception:
            log.exception("could not interpret an instruction for game %s: %r", room.id, text[:200])
            self._error(reply_to, "internal", "the server could not read this instruction; try rephrasing it",
                        "instruction", request_id)
            return
        with room.lock:
            seq = room.next_seq
            # An unclear instruction is stored and answered, but the partner keeps its current prior.
            adopt = not understanding.clarify or room.table is None
            message = {**self._understanding_message(room, seq, text, understanding), "adopted": adopt}
            stored_prior = table_json(understanding.table)
            event = NewEvent(seq=seq, turn=room.game.step, actor=actor, type="instruction", payload={
                "text": text, "backend": understanding.backend, "understood": message["understood"],
                "summary": understanding.summary, "confidence": understanding.confidence,
                "clarify": understanding.clarify, "question": understanding.question, "prior": stored_prior,
                "adopted": adopt})
            record = NewInstruction(event_seq=seq, text=text, backend=understanding.backend, prior=stored_prior,
                                    understood={k: message[k] for k in ("understood", "summary", "confidence",
                                                                         "clarify", "question", "adopted")})
            try:
                self._append(room, [event], instruction=record)
            except ProtocolError as e:
                self._error(reply_to, e.code, e.message, "instruction", request_id)
                return
            if adopt:
                self._adopt_prior(room, understanding.table, understanding.backend, message)
            message["request_id"] = request_id
            self.emit("understanding", message, to=room.id)
        self.prepare_bob(room)

    def prepare_bob(self, room: Room) -> None:
        """Load or train the Bob for the room's current prior, reporting progress as agent_status."""
        with room.lock:
            table, key = room.table, room.bob_key
        if table is None or room.bob is not None:
            return
        last = [0.0]

        def progress(fraction: float) -> None:
            now = time.monotonic()
            if now - last[0] >= 0.25:
                last[0] = now
                self.emit("agent_status", {"game_id": room.id, "status": "training",
                                           "progress": round(float(fraction), 3),
                                           "message": f"your partner is learning to follow this instruction "
                                                      f"({fraction:.0%})"}, to=room.id)

        try:
            bob = self.bobs.get(table, room.partner.lam, progress)
        except Exception as e:
            log.exception("training Bob %s for game %s failed", key, room.id)
            with room.lock:
                if room.bob_key == key:
                    room.bob_ready.set()  # wake a waiting agent turn: it finds no Bob and says so
            self.emit("agent_status", {"game_id": room.id, "status": "failed", "progress": 0.0,
                                       "message": f"your partner could not be trained ({e}); "
                                                  f"start a new game or send another instruction"}, to=room.id)
            return
        with room.lock:
            if room.bob_key != key:
                return  # a newer instruction replaced this prior while it trained
            room.bob = bob
            room.bob_ready.set()
        self.emit("agent_status", {"game_id": room.id, "status": "ready", "progress": 1.0,
                                   "message": "your partner is ready"}, to=room.id)

    def agent_turn(self, room: Room, step: int) -> None:
        """Bob's move at `step`: wait for his Bob, decide (think_ms), pause (delay_ms), store, apply, emit."""
        try:
            self._agent_turn(room, step)
        finally:
            with room.lock:
                room.agent_busy = False

    def _agent_turn(self, room: Room, step: int) -> None:
        if not room.bob_ready.wait(timeout=self.bob_wait_s):
            log.error("game %s: no Bob after %.0f s; the agent's turn is left pending", room.id, self.bob_wait_s)
            self._error(room.id, "internal", "your partner is not ready; send resume to try again", "move", None)
            return
        with room.lock:
            bob, table, backend, game = room.bob, room.table, room.backend, room.game
        if game.step != step or game.to_act != "agent":
            return
        if bob is None:
            self._error(room.id, "internal", "your partner could not be trained; send another instruction, "
                                             "or resume to try again", "move", None)
            return
        prev, said = game.bob_context()
        started = time.perf_counter()
        action, info = bob.act(prev, said)
        think_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        time.sleep(self.delay_ms / 1000)
        delay_ms = (time.perf_counter() - started) * 1000
        with room.lock:
            if room.game.step != step:
                return
            self._apply_agent_move(room, int(action), info, prior_row(table, prev, said, backend),
                                   round(think_ms, 3), round(delay_ms, 3))

    def _apply_agent_move(self, room: Room, action: int, info: dict[str, Any], prior: dict[str, Any],
                          think_ms: float, delay_ms: float) -> None:
        game = room.game
        new_game, reward = game.applied(action)
        move = agent_action_to_move(action)
        explanation = {"move": move, "text": str(info.get("explanation", "")), "top": _top_moves(info)}
        events = [NewEvent(seq=room.next_seq, turn=game.step, actor="agent", type="move", move=move, payload={
            "reward": reward, "think_ms": think_ms, "delay_ms": delay_ms, "prior": prior, "bob": room.bob_key,
            "explanation": explanation["text"], "top": explanation["top"]})]
        outcome = None
        if new_game.over:
            outcome = NewOutcome(score=new_game.score, total_reward=new_game.total_reward, k=new_game.k,
                                 turns=new_game.step)
            events.append(NewEvent(seq=room.next_seq + 1, turn=new_game.step, actor="system", type="game_over",
                                   payload={"score": outcome.score, "total_reward": outcome.total_reward,
                                            "k": outcome.k, "turns": outcome.turns}))
        try:
            self._append(room, events, outcome=outcome)
        except ProtocolError as e:
            self._error(room.id, e.code, f"{e.message} (your partner's move was not saved; send resume to retry)",
                        "move", None)
            return
        room.game = new_game
        room.explanations[game.step] = explanation
        self.emit("agent_move", {"game_id": room.id, "turn": game.step, "actor": "agent", "move": move,
                                 "reward": reward, "prior": prior, "explanation": explanation["text"],
                                 "think_ms": think_ms, "delay_ms": delay_ms}, to=room.id)
        self.emit("state", self.state_message(room), to=room.id)
        if outcome is not None:
            self.emit("game_over", self.game_over_message(room), to=room.id)

    # --- messages ---

    def started_message(self, room: Room, token: str) -> dict[str, Any]:
        return {"game_id": room.id, "game": say_select.GAME, "partner": room.partner.id, "seat": 0,
                "seed": room.seed, "resume_token": token, "participant": room.participant}

    def state_message(self, room: Room) -> dict[str, Any]:
        game = room.game
        prev, said = game.bob_context()
        ready = room.table is not None
        return {"game_id": room.id, "turn": game.step, "to_act": game.to_act, "view": game.view(),
                "legal": game.legal_moves(), "score": game.score, "over": game.over,
                "prior": prior_row(room.table, prev, said, room.backend) if ready and said else None,
                "prior_table": prior_rows(room.table, prev, room.backend)
                if ready and game.to_act == "human" else None}

    def game_over_message(self, room: Room) -> dict[str, Any]:
        g = room.game
        return {"game_id": room.id, "score": g.score, "total_reward": g.total_reward, "k": g.k, "turns": g.step}

    def _understanding_message(self, room: Room, seq: int, text: str, u: Understanding) -> dict[str, Any]:
        prev, _ = room.game.bob_context()
        return {"game_id": room.id, "instruction_id": seq, "text": text, "backend": u.backend,
                "understood": u.understood, "summary": u.summary, "confidence": u.confidence,
                "clarify": u.clarify, "question": u.question, "prior": prior_rows(u.table, prev, u.backend)}

    # --- helpers ---

    def _adopt_prior(self, room: Room, table: np.ndarray, backend: str, message: dict[str, Any] | None) -> None:
        room.table, room.backend, room.understanding = table, backend, message
        room.bob_key = self.bobs.key(table, room.partner.lam)
        room.bob = self.bobs.cached(table, room.partner.lam)
        if room.bob is None:
            room.bob_ready.clear()
        else:
            room.bob_ready.set()

    def _rebuild(self, record: GameRecord) -> Room:
        """A room from its stored events alone: the deal and moves, the latest instruction's prior."""
        room = Room(record.id, PARTNERS[record.agent], record.seed, record.participant_id, record.resume_token_hash,
                    say_select.rebuild(record.events), next_seq=record.events[-1]["seq"] + 1)
        prev, _ = room.game.bob_context()
        for e in record.events:
            p = e["payload"]
            if e["type"] == "instruction" and p.get("adopted", True):
                table = table_from_json(p["prior"])
                message = {"game_id": room.id, "instruction_id": e["seq"], "text": p["text"], "backend": p["backend"],
                           "understood": p["understood"], "summary": p["summary"], "confidence": p["confidence"],
                           "clarify": p["clarify"], "question": p["question"], "adopted": True,
                           "prior": prior_rows(table, prev, p["backend"])}
                self._adopt_prior(room, table, p["backend"], message)
            elif e["type"] == "move" and e["actor"] == "agent":
                room.explanations[e["turn"]] = {"move": e["move"], "text": p.get("explanation", ""),
                                                "top": p.get("top", [])}
        return room


def _top_moves(info: dict[str, Any]) -> list[dict[str, Any]]:
    """Bob's actions ranked by value = Q + lambda log p, each with its parts."""
    q, log_prior, value = (np.asarray(info[k], dtype=np.float64) for k in ("q", "log_prior", "value"))
    order = np.argsort(-value)
    return [{"move": agent_action_to_move(int(a)), "q": _num(q[a]), "log_prior": _num(log_prior[a]),
             "value": _num(value[a])} for a in order]


def _num(x: float) -> float | None:
    return round(float(x), 6) if np.isfinite(x) else None
