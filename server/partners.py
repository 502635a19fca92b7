"""The agent side of a room: what an instruction is understood to mean (the prior), and the agent that acts.

Say-Select: the prior table of an instruction, and the trained Bob for that prior (cached on disk,
trained in the background on demand). Hanabi (the end of this file): the conventions reading of an
instruction, which of the shipped agents it calls for, and its prior over the agent's legal moves.

The prior backend is chosen by config PRIOR_BACKEND: `conventions` (the default:
agents.priors.conventions.ConventionsPrior), `table` (a labelled stand-in for the paper's GPT-J prior) or `lm` (the paper's
causal-LM scorer on the model at LM_MODEL). When the chosen backend cannot be loaded, the server falls
back to the table prior and says so in every `understanding` it sends.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from agents.envs.say_select import NUM_BALLS, bob_prior_table
from agents.priors import PAPER_INSTRUCTION, Prior, TablePrior
from server.games.say_select import ACTION_LABELS

log = logging.getLogger(__name__)

Progress = Callable[[float], None]
PREV_LABELS = ["none", "1", "2", "3", "4", "5"]


@dataclass(frozen=True)
class Understanding:
    backend: str
    understood: list[dict[str, Any]]
    summary: str
    confidence: float | None
    clarify: bool
    question: str | None
    table: np.ndarray  # log-probs, (6, 5, 6): [Bob's previous selection 0 = none / 1..5, said - 1, action]


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


class Interpreter:
    """Turns instruction text into an `Understanding` with the configured prior backend."""

    def __init__(self, prior: Prior, fallback_note: str | None = None):
        self.prior = prior
        self.fallback_note = fallback_note

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Interpreter":
        prior, note = load_prior(str(config["PRIOR_BACKEND"]), table_p=float(config["PRIOR_TABLE_P"]),
                                 lm_model=config.get("LM_MODEL"))
        return cls(prior, note)

    def warm(self) -> None:
        """Load the backend's models now (seconds for the conventions parser), not on the first instruction."""
        self.understand(PAPER_INSTRUCTION)

    def understand(self, text: str) -> Understanding:
        table = bob_prior_table(self.prior, text)
        if isinstance(self.prior, TablePrior):
            return self._table_understanding(table)
        return self._backend_understanding(text, table)

    def _table_understanding(self, table: np.ndarray) -> Understanding:
        summary = (f"table stand-in: every instruction is read as the paper's instruction "
                   f"\"{PAPER_INSTRUCTION}\" (the said number gets p={self.prior.p:g})")
        if self.fallback_note:
            summary = f"{self.fallback_note}. {summary}"
        return Understanding(
            backend=self.prior.name,
            understood=[{"convention": "paper-instruction", "weight": 1.0, "description": PAPER_INSTRUCTION}],
            summary=summary, confidence=None, clarify=False, question=None, table=table)

    def _backend_understanding(self, text: str, table: np.ndarray) -> Understanding:
        reader = getattr(self.prior, "understand", None)
        if reader is None:  # the causal LM scores actions without naming conventions
            return Understanding(self.prior.name, [], f"the prior of {self.prior.name} for this instruction",
                                 None, False, None, table)
        reading = reader("say-select", text)  # the conventions backend's Understanding
        from agents.priors.conventions import convention

        understood = [{"convention": cid, "weight": round(float(w), 4),
                       "description": convention("say-select", cid).description} for cid, w in reading.understood]
        return Understanding(self.prior.name, understood, reading.summary, round(float(reading.confidence), 4),
                             bool(reading.clarify), reading.question, table)


def uniform_table() -> np.ndarray:
    return np.full((NUM_BALLS + 1, NUM_BALLS, NUM_BALLS + 1), -np.log(NUM_BALLS + 1))


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


BobFactory = Callable[[np.ndarray, float, int, Progress], Any]


def cache_factory(cache_dir: str, episodes: int) -> BobFactory:
    """Bobs from agents.policies.SaySelectBobCache in `cache_dir`, trained for `episodes` when missing.
    The agents module is imported on first use, so the server starts (and reports) without it."""
    caches: list[Any] = []

    def make(table: np.ndarray, lam: float, seed: int, progress: Progress):
        if not caches:
            from agents.policies import SaySelectBobCache

            caches.append(SaySelectBobCache(cache_dir, episodes=episodes))
        return caches[0].get_or_train(table, lam, seed, progress=progress)

    return make


class BobProvider:
    """Trained Bobs by (prior table, lambda, seed), kept in memory once loaded; one training per key at a time."""

    def __init__(self, factory: BobFactory, seed: int = 0):
        self.factory = factory
        self.seed = seed
        self._bobs: dict[str, Any] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    @staticmethod
    def key(table: np.ndarray, lam: float) -> str:
        if lam == 0:  # vanilla Q-learning ignores the prior: one Bob serves every instruction
            table = uniform_table()
        # rounded as stored (table_json), so a game rebuilt from its events finds the same Bob
        digest = hashlib.sha256(np.round(np.asarray(table, dtype=np.float64), 6).tobytes())
        return f"{digest.hexdigest()[:16]}-lam{lam:g}"

    def cached(self, table: np.ndarray, lam: float) -> Any | None:
        return self._bobs.get(self.key(table, lam))

    def get(self, table: np.ndarray, lam: float, progress: Progress) -> Any:
        """The Bob for this prior, loading or training it (blocking; call from a background task)."""
        key = self.key(table, lam)
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._bobs:
                start = time.perf_counter()
                train_table = uniform_table() if lam == 0 else table
                self._bobs[key] = self.factory(train_table, lam, self.seed, progress)
                log.info("Bob %s ready in %.1f s", key, time.perf_counter() - start)
            return self._bobs[key]


# ---------------------------------------------------------------- Hanabi

HANABI_ROLES = ("color", "rank", "vanilla")
HANABI_ROLE_WORDS = {"color": "colour-instructed agent", "rank": "rank-instructed agent", "vanilla": "vanilla agent"}
# The rule bot that stands in for an agent whose checkpoint is missing (there is no instruction-free rule bot).
HANABI_RULEBOT_FOR = {"color": "rulebot:color", "rank": "rulebot:rank", "vanilla": "rulebot:color"}
HANABI_ROLE_OF_CONVENTION = {"color-hint-play": "color", "rank-hint-play": "rank"}


@dataclass(frozen=True)
class HanabiAgentSpec:
    role: str     # "color", "rank" or "vanilla"
    source: str   # a checkpoint path, or "rulebot:color" / "rulebot:rank"
    label: str    # what the page and the event log call it

    @property
    def is_rulebot(self) -> bool:
        return self.source.startswith("rulebot:")


def hanabi_agent_specs(directory: str) -> dict[str, HanabiAgentSpec]:
    """The shipped agents `<directory>/{color,rank,vanilla}.pt`, each replaced by a rule bot (labelled
    as a stand-in) when its checkpoint is missing."""
    specs = {}
    for role in HANABI_ROLES:
        path = Path(directory) / f"{role}.pt"
        if path.is_file():
            specs[role] = HanabiAgentSpec(role, str(path), f"{HANABI_ROLE_WORDS[role]} ({path.name})")
        else:
            bot = HANABI_RULEBOT_FOR[role]
            kind = {"rulebot:color": "colour", "rulebot:rank": "rank"}[bot]
            specs[role] = HanabiAgentSpec(role, bot, f"rule bot ({kind} hints mean play), standing in for the "
                                                     f"{HANABI_ROLE_WORDS[role]} (no {path.name} yet)")
            log.info("no Hanabi checkpoint %s: the %s stands in for the %s", path, bot, HANABI_ROLE_WORDS[role])
    return specs


class HanabiAgents:
    """The Hanabi agents by role, each loaded once on first use (torch is imported then, not at start)."""

    def __init__(self, specs: dict[str, HanabiAgentSpec]):
        self.specs = specs
        self._agents: dict[str, Any] = {}
        self._lock = threading.Lock()

    def get(self, role: str) -> Any:
        with self._lock:
            if role not in self._agents:
                from agents.hanabi_policy import load_hanabi_agent

                start = time.perf_counter()
                self._agents[role] = load_hanabi_agent(self.specs[role].source)
                log.info("Hanabi agent %s (%s) loaded in %.1f s", role, self.specs[role].source,
                         time.perf_counter() - start)
            return self._agents[role]


@dataclass(frozen=True)
class HanabiUnderstanding:
    backend: str
    understood: list[dict[str, Any]]  # [{"convention", "weight", "description"}], highest weight first
    summary: str
    confidence: float
    clarify: bool
    question: str | None
    role: str  # the agent this reading calls for

    def prior_definition(self) -> dict[str, Any]:
        """What the instruction's prior is: a mixture of these conventions (docs/DATABASE.md)."""
        return {"backend": self.backend, "conventions": [[c["convention"], c["weight"]] for c in self.understood]}


def hanabi_role(understood: list[tuple[str, float]]) -> str:
    """The agent whose instruction matches the reading best: the colour (rank) agent when the colour (rank)
    hint convention outweighs the other, the default (vanilla) agent when neither was read."""
    weights = {role: 0.0 for role in HANABI_ROLES}
    for convention_id, weight in understood:
        role = HANABI_ROLE_OF_CONVENTION.get(convention_id)
        if role is not None:
            weights[role] += weight
    if weights["color"] == weights["rank"]:
        return "vanilla"
    return "color" if weights["color"] > weights["rank"] else "rank"


class HanabiReader:
    """Hanabi instructions through the conventions backend (whatever PRIOR_BACKEND says, since the table
    stand-in exists only for Say-Select): what a text means, and its prior over the agent's legal moves,
    p = ConventionsPrior.log_probs("hanabi", text, partner's last move in the paper's words, move texts)."""

    def __init__(self, prior: Prior | None = None):
        self._prior = prior
        self._lock = threading.Lock()

    @property
    def prior(self) -> Prior:
        with self._lock:
            if self._prior is None:
                from agents.priors.conventions import ConventionsPrior

                self._prior = ConventionsPrior()
            return self._prior

    def warm(self) -> None:
        """Load the sentence-embedding model now (seconds), not on the first instruction."""
        self.understand("play the cards whose colour I hint")

    def understand(self, text: str) -> HanabiUnderstanding:
        from agents.priors.conventions import convention

        reading = self.prior.understand("hanabi", text)
        understood = [{"convention": cid, "weight": round(float(w), 4),
                       "description": convention("hanabi", cid).description} for cid, w in reading.understood]
        return HanabiUnderstanding(self.prior.name, understood, reading.summary, round(float(reading.confidence), 4),
                                   bool(reading.clarify), reading.question, hanabi_role(list(reading.understood)))

    def log_probs(self, text: str, game: Any, seat: int) -> tuple[list[int], np.ndarray]:
        """(the legal uids of `seat`, who is to move, and the instruction's log-prior over them)."""
        from agents.envs.hanabi.language import move_text, partner_last_move_text

        legal = game.legal_moves()
        logp = self.prior.log_probs("hanabi", text, partner_last_move_text(game, seat), [move_text(u) for u in legal])
        return legal, np.asarray(logp, dtype=np.float64)
