"""The Say-Select Bob the server plays with: `SaySelectBob`, an instructQ Bob acting by argmax(Q + lam * log p)
with a one-sentence explanation, and `SaySelectBobs`, the one cache of trained Bobs (in memory and as .npz
files, one training per key at a time, from any thread). Training itself is agents/learn/say_select_q.py
(`train_bob`), handed to the cache by whoever builds it."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from typing import Any, Callable, Sequence

import numpy as np

from agents.envs.say_select import BOB_ACTIONS, NUM_BALLS, QUIT, uniform_table
from agents.locks import native_lock
from agents.policies.base import Decision, prior_term

log = logging.getLogger(__name__)

Progress = Callable[[float], None]
SAY_SELECT_BOB_FORMAT = 1


class SaySelectBob:
    """An instructQ Bob. q and log_prior are (6, 5, 6): [previous selection (0 = none, 1..5), said - 1,
    action (0..4 select ball 1..5, 5 quit)]; log_prior is the table he was trained with, lam his lambda."""

    def __init__(self, q: np.ndarray, lam: float, log_prior: np.ndarray, eval_score: float = float("nan")):
        self.q = np.asarray(q, dtype=np.float64).reshape(NUM_BALLS + 1, NUM_BALLS, NUM_BALLS + 1)
        self.log_prior = np.asarray(log_prior, dtype=np.float64).reshape(self.q.shape)
        self.lam = float(lam)
        self.eval_score = float(eval_score)
        self.value = self.q + prior_term(self.log_prior, self.lam)

    def act(self, view: tuple[int | None, int], legal: Sequence[int], log_prior: np.ndarray | None, lam: float,
            *, asked: bool = False) -> Decision:
        """Bob's action after selecting `prev` (1..5; 0 or None before his first selection) and hearing Alice
        say `said` (1..5), view = (prev, said): argmax over his 6 actions (`legal`, always all of them) of
        Q + lam * log_prior. log_prior: the instruction's row for this view, or None for the row of the table
        he was trained with; pass his own `lam` to act as trained (lam 0: the prior is ignored). `asked` is
        not used: Bob's explanations do not depend on it."""
        prev, said = int(view[0] or 0), view[1]
        if not (0 <= prev <= NUM_BALLS and 1 <= said <= NUM_BALLS):
            raise ValueError(f"prev_selection must be None or 0..{NUM_BALLS} and said 1..{NUM_BALLS}; got {prev}, {said}")
        if list(legal) != list(BOB_ACTIONS):
            raise ValueError(f"Bob's legal actions are always {list(BOB_ACTIONS)}; got {list(legal)}")
        row = self.log_prior[prev, said - 1] if log_prior is None else np.asarray(log_prior, dtype=np.float64)
        applied = float(lam) if lam > 0 else 0.0
        q = self.q[prev, said - 1]
        value = q + prior_term(row, applied)
        action = int(np.argmax(value))
        top = [{"action": int(a), "q": _num(q[a]), "log_prior": _num(row[a]), "value": _num(value[a])}
               for a in np.argsort(-value)]
        prior_pick = int(np.argmax(row)) if applied > 0 else None
        return Decision(action, self.explain(prev, said, action, prior_pick), top, applied)

    @staticmethod
    def explain(prev: int, said: int, action: int, prior_pick: int | None) -> str:
        """One plain sentence on why Bob took `action`; prior_pick: the prior's favourite action when he used it."""
        if action == QUIT:
            if prev == said:
                return "You repeated the ball I just took, so I quit."
            return f"You said {said}, but I learned that quitting is safest here, so I quit."
        ball = action + 1
        if ball == said and prior_pick == action:
            return f"You said {said}, and your instruction points to ball {said}, so I select ball {said}."
        if ball == said:
            return f"You said {said}, and in training that meant ball {said}, so I select ball {said}."
        return f"You said {said}, but in training that meant ball {ball}, so I select ball {ball}."

    def conventions(self) -> np.ndarray:
        """The paper's 6x5 matrix of greedy actions: rows = previous selection (n/a, 1..5), columns = said
        1..5, entries = ball 1..5 or 0 for quit."""
        actions = self.value.argmax(-1)
        return np.where(actions == QUIT, 0, actions + 1)

    def save(self, path: str) -> None:
        tmp = f"{path}.tmp.npz"
        np.savez(tmp, format=SAY_SELECT_BOB_FORMAT, q=self.q, lam=self.lam, log_prior=self.log_prior,
                 eval_score=self.eval_score)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str) -> "SaySelectBob":
        with np.load(path, allow_pickle=False) as data:
            if int(data["format"]) != SAY_SELECT_BOB_FORMAT:
                raise ValueError(f"{path} holds a Say-Select Bob of format {int(data['format'])}; "
                                 f"this code reads format {SAY_SELECT_BOB_FORMAT}: delete the file to retrain it")
            return cls(data["q"], float(data["lam"]), data["log_prior"], float(data["eval_score"]))


def _num(x: float) -> float | None:
    return round(float(x), 6) if np.isfinite(x) else None


def _training_table(table: np.ndarray, lam: float) -> np.ndarray:
    """The table a Bob for (table, lam) trains on: a Bob with lam 0 ignores the prior, so he is trained on the
    uniform table and one Bob serves every instruction."""
    return uniform_table() if lam == 0 else table


class SaySelectBobs:
    """Trained Bobs by (prior table rounded to 6 decimals, lambda, seed, tag): in memory, and as
    say_select_bob_<key>.npz in `directory` when one is given; one training per key at a time, from any thread.

    train(prior_table, lam, seed, progress) makes a Bob (with a directory: a SaySelectBob, saved with .save),
    e.g. functools.partial(agents.learn.say_select_q.train_bob, episodes=N) with tag f"episodes={N}"."""

    def __init__(self, train: Callable[[np.ndarray, float, int, Progress], Any], directory: str | None = None,
                 seed: int = 0, tag: str = ""):
        self.train, self.directory, self.seed, self.tag = train, directory, seed, tag
        self._bobs: dict[str, Any] = {}
        self._training: dict[str, threading.Lock] = {}
        self._guard = native_lock()
        if directory is not None:
            os.makedirs(directory, exist_ok=True)

    def key(self, table: np.ndarray, lam: float) -> str:
        """The Bob's name: a digest of the table he trains on (the uniform table for lam 0, see `_training_table`)
        rounded as the server stores tables, to 6 decimals (so a game rebuilt from its events finds the same Bob),
        lam, seed and tag."""
        rounded = np.round(np.asarray(_training_table(table, lam), dtype=np.float64), 6) + 0.0  # -0.0 -> 0.0
        digest = hashlib.sha256(rounded.tobytes())
        digest.update(f"lam={float(lam)!r} seed={int(self.seed)}{' ' + self.tag if self.tag else ''}".encode())
        return digest.hexdigest()[:20]

    def cached(self, table: np.ndarray, lam: float) -> Any | None:
        """The Bob for (table, lam) if it is in memory or on disk (then loaded), without training; else None."""
        return self._cached(self.key(table, lam))

    def get(self, table: np.ndarray, lam: float, progress: Progress) -> Any:
        """The Bob for (table, lam), loaded or trained (blocking: call it from a background task)."""
        key = self.key(table, lam)
        with self._guard:
            lock = self._training.setdefault(key, native_lock())
        with lock:
            bob = self._cached(key)
            if bob is None:
                start = time.perf_counter()
                bob = self.train(_training_table(table, lam), lam, self.seed, progress)
                if self.directory is not None:
                    bob.save(self._path(key))
                with self._guard:
                    self._bobs[key] = bob
                log.info("Say-Select Bob %s trained in %.1f s", key, time.perf_counter() - start)
            return bob

    def _cached(self, key: str) -> Any | None:
        with self._guard:
            bob = self._bobs.get(key)
        if bob is not None or self.directory is None or not os.path.exists(self._path(key)):
            return bob
        bob = SaySelectBob.load(self._path(key))  # saved whole (os.replace), so never read half-written
        with self._guard:
            return self._bobs.setdefault(key, bob)

    def _path(self, key: str) -> str:
        return os.path.join(self.directory, f"say_select_bob_{key}.npz")
