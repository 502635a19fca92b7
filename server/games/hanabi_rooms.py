"""Hanabi rooms: one person and one agent at a table, run as docs/PROTOCOL.md says.

The flow is the same as Say-Select's (server/games/rooms.py): check, store the event, adopt, emit; the
agent's turn and the reading of an instruction run as background tasks. What is Hanabi's own:
- each message carries the person's view only (server/games/hanabi.py builds it from the rules' view);
- an instruction is read by the conventions backend; an understood one picks the agent that plays from
  then on (for the "instructed" partner: colour -> colour agent, rank -> rank agent, else the default)
  and becomes the prior p that re-weights its moves: argmax over legal moves of log pi + lambda log p;
  an unclear one is answered with a question and not adopted;
- every agent move is stored with the agent, the prior (backend, probabilities) and the lambda that acted.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import numpy as np

from agents.envs.hanabi.language import move_name, partner_last_move_text
from server.db.store import GameRecord, NewEvent, NewInstruction, NewOutcome, Store
from server.games import hanabi
from server.games.hanabi import DEFAULT_ROLE, PARTNERS, Partner
from server.games.rooms import Emit, GameService, StartTask
from server.messages import InstructionMsg, MoveMsg, ProtocolError
from server.partners import HanabiAgents, HanabiReader, HanabiUnderstanding

log = logging.getLogger(__name__)


class HanabiRoom:
    """A live Hanabi game: the rules state, the person's seat, and the instruction the agent follows."""

    def __init__(self, record_id: str, partner: Partner, seat: int, seed: int, participant: str,
                 resume_token_hash: str, game: Any, next_seq: int):
        self.id = record_id
        self.partner = partner
        self.seat = seat
        self.seed = seed
        self.participant = participant
        self.resume_token_hash = resume_token_hash
        self.game = game
        self.next_seq = next_seq
        self.lock = threading.RLock()
        self.sids: set[str] = set()
        self.explanations: dict[int, dict[str, Any]] = {}
        self.agent_busy = False
        self.instruction: str | None = None      # the adopted instruction's text (its prior re-weights moves)
        self.instruction_seq: int | None = None
        self.called_role = DEFAULT_ROLE           # the agent the adopted instruction calls for
        self.understanding: dict[str, Any] | None = None

    @property
    def over(self) -> bool:
        return self.game.is_over()

    @property
    def agent_seat(self) -> int:
        return 1 - self.seat

    @property
    def role(self) -> str:
        """The agent that plays now: the partner's own, or the one the instruction called for."""
        return self.partner.role or self.called_role

    @property
    def turn(self) -> int:
        return len(self.game.history)


class HanabiService(GameService):
    """Hanabi: the person at one seat, at the other the agent their partner and instruction call for."""

    game = hanabi.GAME
    partners = PARTNERS

    def __init__(self, store: Store, reader: HanabiReader, agents: HanabiAgents, emit: Emit, start_task: StartTask,
                 config: dict[str, Any]):
        super().__init__(store, emit, start_task, config)
        self.reader = reader
        self.agents = agents
        self.lam = float(config["HANABI_LAMBDA"])
        self.game_config = {"prior_backend": "conventions", "agent_delay_ms": self.delay_ms,
                            "agents": {role: spec.source for role, spec in agents.specs.items()}}
        self._warmed = threading.Event()

    def partner_list(self) -> list[dict[str, Any]]:
        out = []
        for p in PARTNERS.values():
            roles = [p.role] if p.role else list(self.agents.specs)
            out.append({"id": p.id, "name": p.name, "description": p.description, "lambda": self._lambda(p),
                        "agents": [self.agents.specs[r].label for r in roles]})
        return out

    def _lambda(self, partner: Partner) -> float:
        return self.lam if partner.follows_instructions else 0.0

    # --- starting and resuming ---

    def _deal(self, seed: int) -> tuple[Any, dict[str, Any]]:
        game = hanabi.deal(seed)
        return game, {"deck": hanabi.deck_names(game)}

    def _new_room(self, game_id: str, partner: Partner, seat: int, seed: int, participant: str,
                  resume_token_hash: str, game: Any) -> HanabiRoom:
        return HanabiRoom(game_id, partner, seat, seed, participant, resume_token_hash, game, next_seq=1)

    def begin(self, room: HanabiRoom, instruction: str | None, sid: str, request_id: Any) -> None:
        """After game_started: load what the game needs, read the first instruction, start the agent if it leads."""
        if not self._warmed.is_set():
            self._warmed.set()
            self.start_task(self._warm, room.role)
        if instruction:
            self.start_task(self.instruct, room, instruction, "human", sid, request_id)
        else:
            self._start_agent_turn(room)

    def _warm(self, role: str) -> None:
        try:
            self.agents.get(role)
            self.reader.warm()
        except Exception:
            log.exception("could not load the Hanabi agent %s or the conventions reader", role)

    def after_resume(self, room: HanabiRoom) -> None:
        """Restart the agent's turn if a lost connection, a restart or a failed write left it pending."""
        self._start_agent_turn(room)

    def _start_agent_turn(self, room: HanabiRoom) -> None:
        with room.lock:
            if hanabi.to_act(room.game, room.seat) == "agent" and not room.agent_busy:
                room.agent_busy = True
                self.start_task(self.agent_turn, room, room.turn)

    # --- the person's messages ---

    def move(self, req: MoveMsg, sid: str) -> None:
        room = self._joined(req.game_id, sid)
        with room.lock:
            game = room.game
            if game.is_over():
                raise ProtocolError("game_over", f"this game is over (score {game.score()}); start a new game")
            if hanabi.to_act(game, room.seat) != "human":
                raise ProtocolError("not_your_turn", "it is your partner's turn; wait for its agent_move, then move")
            uid = hanabi.parse_move(req.move, game)
            self._apply(room, uid, "human", {})

    def instruction(self, req: InstructionMsg, sid: str, request_id: Any) -> None:
        room = self._joined(req.game_id, sid)
        self._check_instruction(req.text)
        if room.over:
            raise ProtocolError("game_over", "this game is over, so your partner has nothing left to do; "
                                             "start a new game and tell it then")
        self.start_task(self.instruct, room, req.text, "human", sid, request_id)

    # --- background tasks ---

    def instruct(self, room: HanabiRoom, text: str, actor: str, reply_to: str, request_id: Any) -> None:
        """Read an instruction, store it, adopt it unless it is unclear, and answer with an understanding."""
        try:
            reading = self.reader.understand(text)
        except Exception:
            log.exception("could not interpret an instruction for game %s: %r", room.id, text[:200])
            self._error(reply_to, "internal", "the server could not read this instruction; try rephrasing it",
                        "instruction", request_id)
        else:
            with room.lock:
                self._store_instruction(room, text, actor, reading, reply_to, request_id)
        self._start_agent_turn(room)

    def _store_instruction(self, room: HanabiRoom, text: str, actor: str, reading: HanabiUnderstanding,
                           reply_to: str, request_id: Any) -> None:
        seq, adopt = room.next_seq, not reading.clarify
        role = (room.partner.role or reading.role) if adopt else room.role
        spec = self.agents.specs[role]
        fields = {"text": text, "backend": reading.backend, "understood": reading.understood,
                  "summary": reading.summary, "confidence": reading.confidence, "clarify": reading.clarify,
                  "question": reading.question, "adopted": adopt}
        agent = {"role": role, "label": spec.label, "source": spec.source}
        event = NewEvent(seq=seq, turn=room.turn, actor=actor, type="instruction",
                         payload={**fields, "prior": reading.prior_definition(), "agent": agent,
                                  "calls_for": reading.role})
        record = NewInstruction(event_seq=seq, text=text, backend=reading.backend, prior=reading.prior_definition(),
                                understood={k: fields[k] for k in ("understood", "summary", "confidence", "clarify",
                                                                    "question", "adopted")} | {"agent": agent})
        try:
            self._append(room, [event], instruction=record)
        except ProtocolError as e:
            self._error(reply_to, e.code, e.message, "instruction", request_id)
            return
        message = self._understanding_message(room, seq, fields, agent)
        if adopt:
            room.instruction, room.instruction_seq, room.called_role = text, seq, reading.role
            room.understanding = message
        self.emit("understanding", {**message, "request_id": request_id}, to=room.id)

    def agent_turn(self, room: HanabiRoom, turn: int) -> None:
        """The agent's move at `turn`: decide (think_ms), pause (delay_ms), store, apply, emit."""
        try:
            self._agent_turn(room, turn)
        except Exception as e:
            log.exception("game %s: the agent failed at turn %d", room.id, turn)
            self._error(room.id, "internal", f"your partner could not move ({type(e).__name__}); send resume to "
                                             "try again, or start a new game", "move", None)
        finally:
            with room.lock:
                room.agent_busy = False

    def _agent_turn(self, room: HanabiRoom, turn: int) -> None:
        with room.lock:
            game, role, text, text_seq = room.game, room.role, room.instruction, room.instruction_seq
            called = room.called_role
        if room.turn != turn or hanabi.to_act(game, room.seat) != "agent":
            return
        spec, agent = self.agents.specs[role], self.agents.get(role)
        started = time.perf_counter()
        prior = self._prior(text, text_seq, game, room.agent_seat)
        lam = 0.0 if spec.is_rulebot or prior is None else self._lambda(room.partner)
        # the explanation says "you asked me" only when the adopted instruction called for the agent's convention
        asked = text is not None and called == agent.instruction
        uid, info = agent.act(game, prior_logits=_prior_logits(prior, agent) if lam else None, lam=lam, asked=asked)
        think_ms = round((time.perf_counter() - started) * 1000, 3)
        started = time.perf_counter()
        time.sleep(self.delay_ms / 1000)
        delay_ms = round((time.perf_counter() - started) * 1000, 3)
        with room.lock:
            if room.turn != turn:
                return
            explanation = {"move": hanabi.protocol_move(uid), "text": str(info.get("explanation", "")),
                           "top": info.get("top_moves", [])}
            extra = {"think_ms": think_ms, "delay_ms": delay_ms, "lambda": lam, "prior": prior,
                     "agent": {"role": role, "label": spec.label, "source": spec.source},
                     "explanation": explanation["text"], "top": explanation["top"]}
            if self._apply(room, uid, "agent", extra, reply_to=room.id):
                room.explanations[turn] = explanation

    def _prior(self, text: str | None, seq: int | None, game: Any, seat: int) -> dict[str, Any] | None:
        """PRIOR: the adopted instruction's prior over the agent's legal moves now (None without one)."""
        if text is None:
            return None
        legal, logp = self.reader.log_probs(text, game, seat)
        return {"backend": self.reader.prior.name, "instruction": text, "instruction_seq": seq,
                "observation": partner_last_move_text(game, seat), "uids": legal,
                "labels": [move_name(u) for u in legal], "probs": [round(float(p), 4) for p in np.exp(logp)],
                "log_probs": [round(float(x), 6) for x in logp]}

    # --- applying a move ---

    def _apply(self, room: HanabiRoom, uid: int, actor: str, extra: dict[str, Any], reply_to: str | None = None) -> bool:
        """Store the move (and the game's end), then adopt and emit it (caller holds room.lock).
        A person's refused move raises; the agent's is reported to `reply_to` and left pending."""
        game, turn = room.game, room.turn
        new_game, reward = hanabi.applied(game, uid)
        entry = hanabi.log_entry(turn, new_game.history[-1], room.seat)
        public = {k: entry[k] for k in ("card", "scored", "touched") if k in entry}
        events = [NewEvent(seq=room.next_seq, turn=turn, actor=actor, type="move", move=entry["move"],
                           payload={"reward": reward, **public, **extra})]
        outcome = None
        if new_game.is_over():
            over = self._over_fields(new_game)
            outcome = NewOutcome(score=over["score"], total_reward=over["score"], k=None, turns=over["turns"])
            events.append(NewEvent(seq=room.next_seq + 1, turn=turn + 1, actor="system", type="game_over", payload=over))
        try:
            self._append(room, events, outcome=outcome)
        except ProtocolError as e:
            if reply_to is None:
                raise
            self._error(reply_to, e.code, f"{e.message} (your partner's move was not saved; send resume to retry)",
                        "move", None)
            return False
        room.game = new_game
        if actor == "agent":
            self.emit("agent_move", {"game_id": room.id, "turn": turn, "actor": "agent", "move": entry["move"],
                                     "text": entry["text"], "reward": reward, "prior": extra["prior"],
                                     "lambda": extra["lambda"], "agent": extra["agent"]["label"],
                                     "explanation": extra["explanation"], "think_ms": extra["think_ms"],
                                     "delay_ms": extra["delay_ms"]}, to=room.id)
        self.emit("state", self.state_message(room), to=room.id)
        if outcome is not None:
            self.emit("game_over", self.game_over_message(room), to=room.id)
        else:
            self._start_agent_turn(room)
        return True

    # --- messages ---

    def started_message(self, room: HanabiRoom, token: str) -> dict[str, Any]:
        spec = self.agents.specs[room.role]
        return {"game_id": room.id, "game": self.game, "partner": room.partner.id, "seat": room.seat,
                "seed": room.seed, "resume_token": token, "participant": room.participant,
                "agent": spec.label, "lambda": self._lambda(room.partner)}

    def state_message(self, room: HanabiRoom) -> dict[str, Any]:
        game = room.game
        return {"game_id": room.id, "turn": room.turn, "to_act": hanabi.to_act(game, room.seat),
                "view": hanabi.person_view(game, room.seat), "legal": hanabi.legal_moves(game, room.seat),
                "score": game.score(), "over": game.is_over()}

    def game_over_message(self, room: HanabiRoom) -> dict[str, Any]:
        return {"game_id": room.id, **self._over_fields(room.game)}

    @staticmethod
    def _over_fields(game: Any) -> dict[str, Any]:
        return {"score": game.score(), "max_score": hanabi.MAX_SCORE, "turns": len(game.history),
                "lives": game.life_tokens, "fireworks": {hanabi.COLORS[c]: h for c, h in enumerate(game.fireworks)},
                "reason": hanabi.end_reason(game)}

    def _understanding_message(self, room: HanabiRoom, seq: int, fields: dict[str, Any],
                               agent: dict[str, Any]) -> dict[str, Any]:
        return {"game_id": room.id, "instruction_id": seq, **fields, "prior": None, "agent": agent["label"],
                "agent_role": agent["role"], "lambda": self._lambda(room.partner)}

    # --- rebuilding ---

    def _rebuild(self, record: GameRecord) -> HanabiRoom:
        """A room from its stored events alone: the deck and moves, the latest adopted instruction."""
        start = record.events[0]["payload"]
        room = HanabiRoom(record.id, PARTNERS[record.agent], int(start["seat"]), record.seed, record.participant_id,
                          record.resume_token_hash, hanabi.rebuild(record.events),
                          next_seq=record.events[-1]["seq"] + 1)
        for e in record.events:
            p = e["payload"]
            if e["type"] == "instruction" and p["adopted"]:
                fields = {k: p[k] for k in ("text", "backend", "understood", "summary", "confidence", "clarify",
                                            "question", "adopted")}
                room.instruction, room.instruction_seq = p["text"], e["seq"]
                room.called_role = p["calls_for"]
                room.understanding = self._understanding_message(room, e["seq"], fields, p["agent"])
            elif e["type"] == "move" and e["actor"] == "agent":
                room.explanations[e["turn"]] = {"move": e["move"], "text": p.get("explanation", ""),
                                                "top": p.get("top", [])}
        return room


def _prior_logits(prior: dict[str, Any], agent: Any) -> np.ndarray:
    """Logits L over all 20 moves such that the agent's lam * log_softmax(beta * L) is lam * log p exactly."""
    logits = np.zeros(len(hanabi.all_moves(hanabi.NUM_PLAYERS)), dtype=np.float32)
    logits[prior["uids"]] = np.asarray(prior["log_probs"], dtype=np.float32) / float(getattr(agent, "beta", 1.0))
    return logits
