"""Limits on what one connection may ask of the server, in the spirit of hanab.live's: a message rate per
connection, a rate of new games per connection, and a bound on how much a connection's bad input can
write to the log. Each is a token bucket per key (a connection's sid), forgotten when it disconnects.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    stamp: float
    refused_in_a_row: int = 0    # refusals since the last token taken
    refused_since_logged: int = 0  # refusals since the count was last read


class TokenBuckets:
    """`rate` tokens per second up to `burst`, per key. `take(key)` is True when a token was there."""

    def __init__(self, rate: float, burst: float, clock=time.monotonic):
        self.rate, self.burst, self.clock = float(rate), float(burst), clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> bool:
        now = self.clock()
        with self._lock:
            b = self._buckets.get(key)
            if b is None:
                b = self._buckets[key] = _Bucket(self.burst, now)
            b.tokens = min(self.burst, b.tokens + (now - b.stamp) * self.rate)
            b.stamp = now
            if b.tokens >= 1:
                b.tokens -= 1
                b.refused_in_a_row = 0
                return True
            b.refused_in_a_row += 1
            b.refused_since_logged += 1
            return False

    def refused_in_a_row(self, key: str) -> int:
        """How many takes were refused for `key` since its last token."""
        with self._lock:
            b = self._buckets.get(key)
            return 0 if b is None else b.refused_in_a_row

    def refused_since_logged(self, key: str) -> int:
        """How many takes were refused for `key` since this was last asked (the count starts again at 0)."""
        with self._lock:
            b = self._buckets.get(key)
            if b is None:
                return 0
            count, b.refused_since_logged = b.refused_since_logged, 0
            return count

    def forget(self, key: str) -> None:
        with self._lock:
            self._buckets.pop(key, None)


class ConnectionLimits:
    """The limits of every connection: messages per second, new games per minute, and warnings logged."""

    def __init__(self, config: dict):
        self.messages = TokenBuckets(float(config["MESSAGE_RATE"]), float(config["MESSAGE_BURST"]))
        self.games = TokenBuckets(float(config["GAMES_PER_MINUTE"]) / 60, float(config["GAMES_BURST"]))
        self.warnings = TokenBuckets(float(config["WARNINGS_PER_MINUTE"]) / 60, float(config["WARNINGS_PER_MINUTE"]))

    def forget(self, sid: str) -> None:
        for buckets in (self.messages, self.games, self.warnings):
            buckets.forget(sid)
