"""Locks that stay locks of the operating system in a process gevent has patched.

Under gunicorn's gevent worker (server/concurrency.py) `threading.Lock()` makes a gevent lock, which
suspends the waiting greenlet. The locks below are shared between greenlets on the event loop and the
native threads of gevent's pool that read instructions and train Bobs; a lock held across those two kinds
of thread is safest as a plain lock of the operating system (a greenlet that waits on one holds up the
loop, so each is held only for short critical sections, or only by pool threads). Without gevent
`native_lock()` is `threading.Lock()`.
"""

from __future__ import annotations

import sys
import threading


def gevent_patched() -> bool:
    """Whether gevent has patched threading in this process (gunicorn's gevent worker does, before it builds
    the app); tests, scripts and the threaded worker run unpatched."""
    if "gevent" not in sys.modules:
        return False
    from gevent import monkey

    return monkey.is_module_patched("threading")


def native_lock():
    if gevent_patched():
        from gevent import monkey

        return monkey.get_original("_thread", "allocate_lock")()
    return threading.Lock()
