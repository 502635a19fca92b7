"""What a Socket.IO test client received, waited on by name and content, in any order of arrival.

python-socketio's threaded client runs every event handler in a thread of its own (engineio's client
triggers "message" with run_async=True), so two events the server sent in order can reach the handlers
in the other order when the machine is busy: an `agent_move` can land before the `state` the server sent
first. A browser's client handles them in order; a test must not depend on the handler order. So nothing
is dropped here: `wait` takes the first received event that matches and leaves every other one for a
later `wait`.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable


class Inbox:
    def __init__(self) -> None:
        self.seen: list[tuple[str, Any]] = []     # every event, as received
        self._pending: list[tuple[str, Any]] = []  # not yet taken by a wait
        self._changed = threading.Condition()

    def put(self, event: str, data: Any = None) -> None:
        with self._changed:
            self.seen.append((event, data))
            self._pending.append((event, data))
            self._changed.notify_all()

    def wait(self, name: str, where: Callable[[Any], bool] = lambda m: True, timeout: float = 15.0,
             raise_on: str | None = None) -> Any:
        """The first pending `name` event for which `where` holds, taken out; an AssertionError after
        `timeout` s, or at once when an event named `raise_on` (e.g. "error") is pending."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for i, (event, data) in enumerate(self._pending):
                    if raise_on is not None and event == raise_on:
                        del self._pending[i]
                        raise AssertionError(f"{raise_on}: {data}")
                    if event == name and where(data):
                        del self._pending[i]
                        return data
                left = deadline - time.monotonic()
                if left <= 0:
                    recent = [(e, {k: d[k] for k in ("game_id", "turn", "to_act", "code") if k in d}
                               if isinstance(d, dict) else d) for e, d in self.seen[-6:]]
                    raise AssertionError(f"stall: no {name} within {timeout} s; the last events: {recent}")
                self._changed.wait(left)
