"""What the server loads: trained agents that act in a game and say why.

Say-Select: `SaySelectBob` (an instructQ Bob: argmax(Q + lambda * log p) over his actions, with a
one-sentence explanation), `train_say_select_bob` (train one for a prior table, in seconds) and
`SaySelectBobCache` (trained Bobs reused from memory and from .npz files; safe to call from threads).
"""

from __future__ import annotations

import hashlib
import os
import threading
from typing import Callable

import numpy as np

from agents.envs.say_select import NUM_BALLS, QUIT
from agents.learn.say_select_q import Config, bob_acting_q, prior_term, train

Progress = Callable[[float], None]
SAY_SELECT_BOB_FORMAT = 1


class SaySelectBob:
    """An instructQ Bob. q and log_prior are (6, 5, 6): [previous selection (0 = none, 1..5), said - 1,
    action (0..4 select ball 1..5, 5 quit)]."""

    def __init__(self, q: np.ndarray, lam: float, log_prior: np.ndarray, eval_score: float = float("nan")):
        self.q = np.asarray(q, dtype=np.float64).reshape(NUM_BALLS + 1, NUM_BALLS, NUM_BALLS + 1)
        self.log_prior = np.asarray(log_prior, dtype=np.float64).reshape(self.q.shape)
        self.lam = float(lam)
        self.eval_score = float(eval_score)
        self.value = self.q + prior_term(self.log_prior[None], np.array([self.lam])).reshape(self.q.shape)

    def act(self, prev_selection: int | None, said: int) -> tuple[int, dict]:
        """Bob's action (0..4 = select ball 1..5, 5 = quit) after selecting `prev_selection` (1..5; None or 0
        before his first selection) and hearing Alice say `said` (1..5), with the numbers behind it."""
        prev = int(prev_selection or 0)
        if not (0 <= prev <= NUM_BALLS and 1 <= said <= NUM_BALLS):
            raise ValueError(f"prev_selection must be None or 0..{NUM_BALLS} and said 1..{NUM_BALLS}; got {prev}, {said}")
        value = self.value[prev, said - 1]
        action = int(np.argmax(value))
        info = {
            "q": self.q[prev, said - 1].tolist(),
            "log_prior": self.log_prior[prev, said - 1].tolist(),
            "value": value.tolist(),
            "explanation": self.explain(prev, said, action),
        }
        return action, info

    def explain(self, prev: int, said: int, action: int) -> str:
        """One plain sentence on why Bob took `action`."""
        prior_pick = int(np.argmax(self.log_prior[prev, said - 1])) if self.lam > 0 else None
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


def train_say_select_bob(prior_table: np.ndarray, lam: float = 0.25, seed: int = 0, episodes: int = 50_000,
                         progress: Progress | None = None) -> SaySelectBob:
    """Train one instructQ pair (Bob's prior = `prior_table`, see `bob_prior_table`) and return the Bob of
    the best evaluation."""
    result = train([seed], prior_table, [lam], Config(episodes=episodes), progress=progress)
    return SaySelectBob(bob_acting_q(result.best_q[0]), lam, prior_table, result.best_score[0])


class SaySelectBobCache:
    """Trained Bobs by (prior table rounded to 6 decimals, lambda, seed, episodes), in memory and as
    `say_select_bob_<key>.npz` files in `directory`. One training per key at a time, from any thread."""

    def __init__(self, directory: str, episodes: int = 50_000):
        self.directory = directory
        self.episodes = episodes
        self._bobs: dict[str, SaySelectBob] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        os.makedirs(directory, exist_ok=True)

    def key(self, prior_table: np.ndarray, lam: float, seed: int) -> str:
        table = np.round(np.asarray(prior_table, dtype=np.float64), 6) + 0.0  # + 0.0 turns -0.0 into 0.0
        digest = hashlib.sha256(table.tobytes())
        digest.update(f"lam={float(lam)!r} seed={int(seed)} episodes={self.episodes}".encode())
        return digest.hexdigest()[:20]

    def path(self, key: str) -> str:
        return os.path.join(self.directory, f"say_select_bob_{key}.npz")

    def get_or_train(self, prior_table: np.ndarray, lam: float, seed: int,
                     progress: Progress | None = None) -> SaySelectBob:
        key = self.key(prior_table, lam, seed)
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._bobs:
                path = self.path(key)
                if os.path.exists(path):
                    self._bobs[key] = SaySelectBob.load(path)
                else:
                    bob = train_say_select_bob(prior_table, lam, seed, self.episodes, progress)
                    bob.save(path)
                    self._bobs[key] = bob
            return self._bobs[key]
