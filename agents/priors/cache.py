"""The persistent prior cache: computed priors are looked up, never computed twice.

Priors are pure functions of their inputs (backend, model, template, instruction, observation text,
action texts), so each result is stored under a key made of those strings:

- `PriorCache`: an in-memory dict in front of an optional SQLite file (stdlib sqlite3). A hit in memory
  is one dict lookup (well under a microsecond); a miss falls through to the file and is kept in
  memory afterwards. Writes go to both. One lock guards the connection, so threads may share a cache;
  SQLite's WAL mode lets several processes share the file. Cached arrays are read-only, so a caller
  cannot change what the next caller gets.
- `CachedPrior(prior, cache)`: any Prior, with its `log_probs` answered from the cache when it can.

The default file is `$INSTRUCTPLAY_PRIOR_CACHE`, else `~/.cache/instructplay/priors.sqlite3`.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from agents.locks import native_lock
from agents.priors.base import Prior

Key = tuple[str, ...]


def default_cache_path() -> Path:
    env = os.environ.get("INSTRUCTPLAY_PRIOR_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "instructplay" / "priors.sqlite3"


def _encode(value: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(value), allow_pickle=False)
    return buffer.getvalue()


def _decode(blob: bytes) -> np.ndarray:
    return _frozen(np.load(io.BytesIO(blob), allow_pickle=False))


def _frozen(value: np.ndarray) -> np.ndarray:
    value = np.array(value)  # a private copy, so the caller's array can change without touching the cache
    value.flags.writeable = False
    return value


class PriorCache:
    """Arrays stored under tuples of strings: in memory, and in a SQLite file when `path` is given."""

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path is not None else None
        self._memory: dict[Key, np.ndarray] = {}
        self._lock = native_lock()
        self._db = self._connect(self.path) if self.path is not None else None

    @classmethod
    def default(cls) -> "PriorCache":
        """The cache in the default file (see default_cache_path)."""
        return cls(default_cache_path())

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(path, check_same_thread=False, timeout=30.0)
        except (OSError, sqlite3.Error) as e:
            raise RuntimeError(f"cannot open the prior cache at {path}: {e}; set INSTRUCTPLAY_PRIOR_CACHE "
                               f"to a writable file path") from e
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE IF NOT EXISTS priors (key TEXT PRIMARY KEY, value BLOB NOT NULL)")
        db.commit()
        return db

    def get(self, key: Key) -> np.ndarray | None:
        """The array stored under `key` (read-only), or None."""
        value = self._memory.get(key)
        if value is not None or self._db is None:
            return value
        with self._lock:
            row = self._db.execute("SELECT value FROM priors WHERE key = ?", (json.dumps(key),)).fetchone()
        if row is None:
            return None
        value = _decode(row[0])
        self._memory[key] = value
        return value

    def put(self, key: Key, value: np.ndarray) -> np.ndarray:
        """Store `value` under `key`; return the stored read-only copy."""
        return self.put_many([(key, value)])[0]

    def put_many(self, items: Iterable[tuple[Key, np.ndarray]]) -> list[np.ndarray]:
        """Store many arrays in one transaction; return the stored read-only copies."""
        frozen = [(tuple(key), _frozen(value)) for key, value in items]
        with self._lock:
            if self._db is not None:
                with self._db:
                    self._db.executemany("INSERT OR REPLACE INTO priors (key, value) VALUES (?, ?)",
                                         [(json.dumps(key), _encode(value)) for key, value in frozen])
            self._memory.update(frozen)
        return [value for _, value in frozen]

    def __len__(self) -> int:
        if self._db is None:
            return len(self._memory)
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM priors").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


class CachedPrior(Prior):
    """A Prior whose answers are stored in a PriorCache under (prior name, game, instruction, observation, actions)."""

    def __init__(self, prior: Prior, cache: PriorCache):
        self.prior = prior
        self.cache = cache
        self.name = prior.name

    def log_probs(self, game: str, instruction: str, observation: str, actions: Sequence[str]) -> np.ndarray:
        key = (self.name, game, instruction, observation, *actions)
        value = self.cache.get(key)
        if value is None:
            value = self.cache.put(key, self.prior.log_probs(game, instruction, observation, actions))
        return value
