"""Say-Select's adapter: the rules bridge, the person's view, the reader of instructions and the partners.

The person plays Alice (seat 0) and says numbers; the agent plays Bob and selects or quits.
Protocol moves: Alice `{"say": N}`, Bob `{"select": N}` or `{"quit": true}`, with N in 1..5.

An instruction becomes a prior table p(Bob's action | his observation), by the configured backend
(PRIOR_BACKEND: `conventions` by default, `table` the labelled stand-in for the paper's GPT-J prior, `lm` a
local causal LM; when the chosen one cannot be loaded the table stand-in is used and every reading says
so). Bob is the instructQ agent trained for that prior (agents/policies/say_select.py: one cache, trained
in the background on demand); he acts by argmax over his actions of Q + lambda log p.
"""

from __future__ import annotations

import copy
import logging
from contextlib import contextmanager
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from agents.envs.say_select import ALICE, BOB, MAX_STEPS, NUM_BALLS, QUIT, SaySelectEnv, bob_prior_table
from agents.priors import PAPER_INSTRUCTION, Prior, TablePrior
from server import protocol
from server.concurrency import off_loop, to_loop
from server.db.store import NewOutcome
from server.games.service import AgentTurn, GameAdapter, Reading, Room
from server.messages import ProtocolError, shown

log = logging.getLogger(__name__)

GAME = "say-select"
ACTION_LABELS = ["1", "2", "3", "4", "5", "quit"]
IGNORES_INSTRUCTIONS = ("This Bob ignores instructions (lambda 0): he plays the convention his own training settled "
                        "on, whatever you say, and nothing is trained for your instruction.")
PREV_LABELS = ["none", "1", "2", "3", "4", "5"]


@dataclass(frozen=True)
class Partner:
    id: str
    name: str
    description: str
    lam: float


PARTNERS = {
    p.id: p
    for p in [
        Partner("instructq", "Bob who follows instructions",
                "Bob plays the way you tell him. Write something like \"pick the ball whose number I say\": he "
                "takes a moment to learn it, then plays that way wherever the game allows.", 0.25),
        Partner("vanilla-q", "Bob who plays his own way",
                "Bob learned the game on his own, without instructions: he has his own code for what your "
                "numbers mean, which you find out as you play. He reads what you write but ignores it.", 0.0),
    ]
}


# ---------------------------------------------------------------- rules bridge


def human_move_to_action(move: dict[str, Any]) -> int:
    """Alice's protocol move -> env action 0..4, or a ProtocolError saying what to send instead."""
    if set(move) != {"say"}:
        raise ProtocolError("illegal_move", f'you play Alice, who only says a number: send {{"say": N}} with N in 1..5, '
                                            f"not {shown(move)}")
    n = move["say"]
    if isinstance(n, bool) or not isinstance(n, int):
        raise ProtocolError("bad_message", f'"say" must be an integer 1..5, got {type(n).__name__}')
    if not 1 <= n <= NUM_BALLS:
        raise ProtocolError("illegal_move", f"there is no ball {n}; say a number from 1 to {NUM_BALLS}")
    return n - 1


def agent_action_to_move(action: int) -> dict[str, Any]:
    return {"quit": True} if action == QUIT else {"select": action + 1}


def move_to_action(move: dict[str, Any]) -> int:
    """Any stored move (Alice's or Bob's) -> env action."""
    if "say" in move:
        return move["say"] - 1
    if move.get("quit"):
        return QUIT
    return move["select"] - 1


class SaySelectGame:
    """One game's rules state. `applied(action)` returns a new game, so the caller can store the
    event first and adopt the new state only once the event is safe."""

    def __init__(self, env: SaySelectEnv, initial: list[int]):
        self.env = env
        self.initial = initial

    @classmethod
    def deal(cls, seed: int) -> "SaySelectGame":
        env = SaySelectEnv()
        env.reset(seed=seed)
        return cls(env, list(env.balls))

    @classmethod
    def from_balls(cls, balls: list[int]) -> "SaySelectGame":
        env = SaySelectEnv()
        env.reset(options={"balls": list(balls)})
        return cls(env, list(env.balls))

    @property
    def step(self) -> int:
        return len(self.env.history)

    @property
    def over(self) -> bool:
        return self.env.remaining_steps == 0

    @property
    def to_act(self) -> str | None:
        if self.over:
            return None
        return "human" if self.env.active_player == ALICE else "agent"

    @property
    def k(self) -> int:
        return self.env.k

    @property
    def total_reward(self) -> int:
        return int(self.env.total_reward)

    @property
    def score(self) -> float:
        return float(self.env.score)

    def legal_moves(self) -> list[dict[str, Any]]:
        """The person's legal moves now (none when it is the agent's turn or the game is over)."""
        if self.to_act != "human":
            return []
        return [{"say": int(i) + 1} for i in np.flatnonzero(self.env.action_mask())]

    def bob_context(self) -> tuple[int, int | None]:
        """(Bob's previous selection 0 = none / 1..5, what Alice just said 1..5 or None before she says)."""
        h = self.env.history
        said = h[-1] + 1 if h and self.env.active_player == BOB else None
        bob_moves = h[1::2]
        prev = bob_moves[-1] + 1 if bob_moves and bob_moves[-1] != QUIT else 0
        return prev, said

    def applied(self, action: int) -> tuple["SaySelectGame", int]:
        """The game after `action` by the player to act, and the reward it earned."""
        env = copy.deepcopy(self.env)
        _, reward, _, _, _ = env.step(action)
        return SaySelectGame(env, self.initial), int(reward)

    def history(self) -> list[dict[str, Any]]:
        out, balls = [], list(self.initial)
        for t, action in enumerate(self.env.history):
            if t % 2 == ALICE:
                out.append({"actor": "human", "move": {"say": action + 1}, "reward": 0})
                continue
            reward = 0 if action == QUIT else balls[action]
            if action != QUIT:
                balls[action] = -1
            out.append({"actor": "agent", "move": agent_action_to_move(action), "reward": reward})
        return out

    def view(self) -> dict[str, Any]:
        """Alice's view: she sees every ball."""
        return {"balls": list(self.env.balls), "initial": list(self.initial), "k": self.k, "step": self.step,
                "max_steps": MAX_STEPS, "history": self.history(), "total_reward": self.total_reward}


def rebuild(events: list[dict[str, Any]]) -> SaySelectGame:
    """The game as its stored events leave it: the deal from `game_started`, then every move in order."""
    start = events[0]
    if start["type"] != "game_started":
        raise ValueError(f"a game's first event must be game_started, got {start['type']}")
    game = SaySelectGame.from_balls(start["payload"]["balls"])
    for e in events[1:]:
        if e["type"] == "move":
            game, _ = game.applied(move_to_action(e["move"]))
    return game


# ---------------------------------------------------------------- priors as the protocol shows them


def prior_row(table: np.ndarray, prev: int, said: int, backend: str) -> dict[str, Any]:
    """PRIOR: Bob's prior in one observation, as probabilities."""
    return {"labels": ACTION_LABELS, "probs": _probs(table[prev, said - 1]), "backend": backend}


def prior_rows(table: np.ndarray, prev: int, backend: str) -> dict[str, Any]:
    """PRIOR_TABLE: Bob's prior for each number Alice could say, given his previous selection `prev`."""
    return {"labels": ACTION_LABELS, "previous": PREV_LABELS[prev],
            "rows": {str(said): _probs(table[prev, said - 1]) for said in range(1, NUM_BALLS + 1)},
            "backend": backend}


def table_json(table: np.ndarray) -> dict[str, Any]:
    """The whole prior table as stored in the database (log-probabilities; -inf as null)."""
    logp = np.where(np.isfinite(table), table, np.nan).round(6)
    return {"index": "[previous selection: none,1..5][said: 1..5][action: 1..5,quit]",
            "labels": ACTION_LABELS, "previous": PREV_LABELS,
            "log_probs": [[[None if np.isnan(v) else float(v) for v in row] for row in block] for block in logp]}


def table_from_json(stored: dict[str, Any]) -> np.ndarray:
    return np.array([[[-np.inf if v is None else v for v in row] for row in block] for block in stored["log_probs"]])


def _probs(logp: np.ndarray) -> list[float]:
    return [round(float(p), 4) for p in np.exp(logp)]


# ---------------------------------------------------------------- reading instructions


@dataclass(frozen=True)
class TablePriorReading:
    """The prior an instruction implies: log-probs (6, 5, 6) [Bob's previous selection 0 = none / 1..5,
    said - 1, action], and the backend that computed it."""

    table: np.ndarray
    backend: str


def load_prior(backend: str, *, table_p: float = 0.9, lm_model: str | None = None) -> tuple[Prior, str | None]:
    """The prior for `backend`, and a note when it fell back to the table stand-in (None otherwise)."""
    try:
        if backend == "conventions":
            from agents.priors.conventions import ConventionsPrior

            return ConventionsPrior(), None
        if backend == "lm":
            if not lm_model:
                raise ValueError("PRIOR_BACKEND=lm needs INSTRUCTPLAY_LM_MODEL (a local causal-LM path)")
            from agents.priors.lm import CausalLMPrior

            return CausalLMPrior(lm_model), None
        if backend != "table":
            raise ValueError(f"unknown PRIOR_BACKEND {backend!r}; use table, conventions or lm")
        return TablePrior(p=table_p), None
    except (ImportError, ValueError, OSError) as e:
        note = f"prior backend {backend!r} is unavailable ({e}); using the table stand-in instead"
        log.warning(note)
        return TablePrior(p=table_p), note


class Reader:
    """Turns instruction text into a `Reading` (its prior: a `TablePriorReading`) with the configured backend."""

    def __init__(self, prior: Prior, fallback_note: str | None = None):
        self.prior = prior
        self.fallback_note = fallback_note

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Reader":
        prior, note = load_prior(str(config["PRIOR_BACKEND"]), table_p=float(config["PRIOR_TABLE_P"]),
                                 lm_model=config.get("LM_MODEL"))
        return cls(prior, note)

    def warm(self) -> None:
        """Load the backend's models now (seconds for the conventions parser), not on the first instruction."""
        self.read(PAPER_INSTRUCTION)

    def read(self, text: str) -> Reading:
        table = bob_prior_table(self.prior, text)
        if isinstance(self.prior, TablePrior):
            fields = self._table_fields()
        else:
            fields = self._backend_fields(text)
        return Reading({"backend": self.prior.name, **fields}, TablePriorReading(table, self.prior.name))

    def _table_fields(self) -> dict[str, Any]:
        summary = (f"table stand-in: every instruction is read as the paper's instruction "
                   f"\"{PAPER_INSTRUCTION}\" (the said number gets p={self.prior.p:g})")
        if self.fallback_note:
            summary = f"{self.fallback_note}. {summary}"
        return {"understood": [{"convention": "paper-instruction", "weight": 1.0, "description": PAPER_INSTRUCTION}],
                "summary": summary, "confidence": None, "clarify": False, "question": None}

    def _backend_fields(self, text: str) -> dict[str, Any]:
        reader = getattr(self.prior, "understand", None)
        if reader is None:  # the causal LM scores actions without naming conventions
            return {"understood": [], "summary": f"the prior of {self.prior.name} for this instruction",
                    "confidence": None, "clarify": False, "question": None}
        from agents.priors.conventions.report import reading_fields

        # the conventions backend's Understanding, with its choices and what it did not understand
        return reading_fields(reader(GAME, text), lambda conventions: (
            "Bob learns to play by this reading (if no Bob has learnt it yet, that takes a few seconds), then "
            "plays by it."))


# ---------------------------------------------------------------- the adapter


class TrainingQueue:
    """New Bobs train `at_once` at a time (training takes a core); the others wait in arrival order and are
    told how many wait before them. A room waits with one training at most: a newer instruction's replaces it."""

    def __init__(self, at_once: int):
        self.at_once = max(1, at_once)
        self._cond = threading.Condition()
        self._running = 0
        self._waiting: list[object] = []

    @contextmanager
    def turn(self, on_wait: Callable[[int], None]):
        """Wait for a free training place (calling on_wait(number waiting before) when that number changes)."""
        ticket, told = object(), None
        with self._cond:
            self._waiting.append(ticket)
            while not (self._waiting[0] is ticket and self._running < self.at_once):
                ahead = self._waiting.index(ticket) + self._running
                if ahead != told:
                    told = ahead
                    on_wait(ahead)
                self._cond.wait(timeout=1.0)
            self._waiting.pop(0)
            self._running += 1
        try:
            yield
        finally:
            with self._cond:
                self._running -= 1
                self._cond.notify_all()


class BobSlot:
    """A room's Bob: the key of the Bob for the adopted prior, the Bob once loaded, and an event set
    when he is ready (or when training failed, so that a waiting agent turn wakes and says so)."""

    def __init__(self):
        self.key: str | None = None
        self.bob: Any = None
        self.ready = threading.Event()


class SaySelect(GameAdapter):
    """Say-Select: the person plays Alice, the agent a trained Bob for the instruction's prior.
    `bobs` is an agents.policies.say_select.SaySelectBobs (key / cached / get)."""

    name = GAME
    partners = PARTNERS
    needs_prior = True
    default_instruction = PAPER_INSTRUCTION

    def __init__(self, reader: Reader, bobs: Any, emit: Any, start_task: Any, config: dict[str, Any]):
        self.reader = reader
        self.bobs = bobs
        self.emit = emit
        self.start_task = start_task
        self.bob_wait_s = float(config["BOB_WAIT_S"])
        self.trainings = TrainingQueue(int(config["TRAININGS_AT_ONCE"]))
        self.config = {"prior_backend": reader.prior.name, "bob_seed": int(config["BOB_SEED"]),
                       "bob_episodes": int(config["BOB_EPISODES"])}

    def warm(self) -> None:
        self.reader.warm()

    def partner_list(self) -> list[dict[str, Any]]:
        return [{"id": p.id, "name": p.name, "description": p.description, "lambda": p.lam,
                 "follows_instructions": p.lam > 0} for p in PARTNERS.values()]

    def lam(self, partner: Partner) -> float:
        return partner.lam

    # --- rules bridge ---

    def deal(self, seed: int) -> tuple[SaySelectGame, dict[str, Any]]:
        game = SaySelectGame.deal(seed)
        return game, {"balls": game.initial, "k": game.k}

    def rebuild(self, events: list[dict[str, Any]]) -> SaySelectGame:
        return rebuild(events)

    def turn(self, state: SaySelectGame) -> int:
        return state.step

    def to_act(self, state: SaySelectGame, seat: int) -> str | None:
        return state.to_act

    def is_over(self, state: SaySelectGame) -> bool:
        return state.over

    def parse_move(self, state: SaySelectGame, seat: int, move: dict[str, Any]) -> int:
        return human_move_to_action(move)

    def applied(self, state: SaySelectGame, action: int, seat: int):
        move = {"say": action + 1} if state.to_act == "human" else agent_action_to_move(action)
        new_state, reward = state.applied(action)
        return new_state, reward, move, {}

    def outcome(self, state: SaySelectGame) -> tuple[NewOutcome, dict[str, Any]]:
        outcome = NewOutcome(score=state.score, total_reward=state.total_reward, k=state.k, turns=state.step)
        return outcome, {"score": outcome.score, "total_reward": outcome.total_reward, "k": outcome.k,
                         "turns": outcome.turns}

    # --- what the person sees ---

    def state_fields(self, room: Room) -> dict[str, Any]:
        game, prior = room.game, room.reading.prior if room.reading else None
        prev, said = game.bob_context()
        return {"view": game.view(), "legal": game.legal_moves(), "score": game.score,
                "prior": prior_row(prior.table, prev, said, prior.backend) if prior and said else None,
                "prior_table": prior_rows(prior.table, prev, prior.backend)
                if prior and game.to_act == "human" else None}

    def top_moves(self, top: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{"move": agent_action_to_move(t["action"]), **{k: v for k, v in t.items() if k != "action"}}
                for t in top]

    # --- instructions ---

    def read(self, text: str) -> Reading:
        return self.reader.read(text)

    def instruction_record(self, room: Room, reading: Reading, adopt: bool):
        stored = table_json(reading.prior.table)
        return {"prior": stored}, stored, {}

    def understanding_fields(self, room: Room, reading: Reading, stored: dict[str, Any]) -> dict[str, Any]:
        prev, _ = room.game.bob_context()
        fields = {"prior": prior_rows(reading.prior.table, prev, reading.prior.backend),
                  "follows_instructions": room.lam > 0}
        if room.lam <= 0:  # nothing to ask about, nothing to train: say so instead
            fields |= {"clarify": False, "question": None, "choices": [], "partner_note": IGNORES_INSTRUCTIONS}
        return fields

    def reading_from_event(self, payload: dict[str, Any]) -> Reading:
        fields = {k: payload[k] for k in ("backend", "understood", "summary", "confidence", "clarify", "question")}
        return Reading(fields, TablePriorReading(table_from_json(payload["prior"]), payload["backend"]))

    def adopt(self, room: Room, reading: Reading) -> None:
        slot, table = room.agent_slot, reading.prior.table
        slot.key = self.bobs.key(table, room.partner.lam)
        slot.bob = self.bobs.cached(table, room.partner.lam)
        if slot.bob is None:
            slot.ready.clear()
        else:
            slot.ready.set()

    def after_instruction(self, room: Room) -> None:
        self.prepare_bob(room)

    # --- the agent ---

    def new_agent_slot(self) -> BobSlot:
        return BobSlot()

    def after_resume(self, room: Room) -> None:
        if room.agent_slot.bob is None:
            room.agent_slot.ready.clear()  # a failed training left it set; the retry sets it again
            self.start_task(self.prepare_bob, room)

    def prepare_bob(self, room: Room) -> None:
        """Load or train the Bob for the room's current prior, reporting progress as agent_status."""
        with room.lock:
            slot, reading = room.agent_slot, room.reading
            key, ready = slot.key, slot.bob is not None
        if reading is None:
            return
        if ready:
            self.emit("agent_status", protocol.agent_status(room.id, "ready", 1.0, "your partner is ready"), to=room.id)
            return
        last = [0.0]

        def progress(fraction: float) -> None:
            now = time.monotonic()
            if now - last[0] >= 0.25:
                last[0] = now
                self.emit("agent_status", protocol.agent_status(
                    room.id, "training", round(float(fraction), 3),
                    f"your partner is learning to follow this instruction ({fraction:.0%})"), to=room.id)

        def queued(position: int) -> None:
            self.emit("agent_status", protocol.agent_status(
                room.id, "queued", 0.0, f"your partner starts learning your instruction as soon as the server is "
                                        f"free ({position} waiting before it); you can keep playing meanwhile"),
                to=room.id)

        try:
            bob = self.bobs.cached(reading.prior.table, room.partner.lam)
            if bob is None:
                with self.trainings.turn(queued):
                    if room.agent_slot.key != key:
                        return  # a newer instruction replaced this prior while it waited
                    bob = off_loop(self.bobs.get, reading.prior.table, room.partner.lam, to_loop(progress))
        except Exception as e:
            log.exception("training Bob %s for game %s failed", key, room.id)
            with room.lock:
                if slot.key == key:
                    slot.ready.set()  # wake a waiting agent turn: it finds no Bob and says so
            self.emit("agent_status", protocol.agent_status(
                room.id, "failed", 0.0, f"your partner could not be trained ({e}); "
                                        f"start a new game or send another instruction"), to=room.id)
            return
        with room.lock:
            if slot.key != key:
                return  # a newer instruction replaced this prior while it trained
            slot.bob = bob
            slot.ready.set()
        self.emit("agent_status", protocol.agent_status(room.id, "ready", 1.0, "your partner is ready"), to=room.id)

    def wait_for_agent(self, room: Room) -> str | None:
        if not room.agent_slot.ready.wait(timeout=self.bob_wait_s):
            log.error("game %s: no Bob after %.0f s; the agent's turn is left pending", room.id, self.bob_wait_s)
            return "your partner is not ready; send resume to try again"
        if room.agent_slot.bob is None:
            return "your partner could not be trained; send another instruction, or resume to try again"
        return None

    def agent_turn(self, room: Room) -> AgentTurn:
        with room.lock:
            bob, key, prior, game = room.agent_slot.bob, room.agent_slot.key, room.reading.prior, room.game
        prev, said = game.bob_context()
        return AgentTurn(agent=bob, view=(prev, said), legal=range(NUM_BALLS + 1),
                         log_prior=prior.table[prev, said - 1],
                         record={"prior": prior_row(prior.table, prev, said, prior.backend), "bob": key})
