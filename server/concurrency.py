"""How the server runs work besides answering messages, under either of `instructplay serve`'s workers.

- `gthread` (the default of `serve`): gunicorn's threaded worker; Flask-SocketIO's `threading` mode (also
  what tests run in). Every open
  websocket holds OS threads (gunicorn's, simple-websocket's reader, engine.io's writer), and background
  tasks are threads. Simple and robust: CPU-heavy work just runs in its thread.
- `gevent` (`serve --worker gevent`): gunicorn's gevent worker; Flask-SocketIO's `gevent` mode. One OS thread runs every connection
  as a greenlet, with no thread switches per message: with 500 open human-paced games it took 3.9 ms of CPU
  per move and reply against 9.1 ms for gthread, in the same benchmark session (benchmarks/serving.py
  --worker). But a greenlet that computes for long stops every other game, so the few CPU-heavy steps
  (reading an instruction with the sentence-embedding model, training a Say-Select Bob) go through
  `off_loop`, which runs them in gevent's pool of native threads while the loop serves everyone else, and
  callbacks from those threads (a Bob's training progress) come back to the loop through `to_loop`.

Under `threading` both are plain calls, so the game code is the same for both workers.

Why gevent is not the default: in tests/integration/test_deployment.py's 20 games at once, with the
machine's other core busy, a game under gevent workers once waited for an instruction's understanding that
never came (1 run in 3). The same test also stalls under the threaded workers, on this code and on the code
before it (2 runs in 4 there: an agent_move seen before the state it follows), so the cause may be shared
(the deployment's Redis path) rather than gevent's; but the reading code does take `threading` locks (the
embedder's, the prior cache's) that gevent has patched, from the loop and from native threads at once,
which is worth ruling out (gevent.monkey.get_original gives real locks) before gevent becomes the default.
"""

from __future__ import annotations

import sys
from typing import Any, Callable

def async_mode() -> str:
    """Flask-SocketIO's mode for the app being built: `gevent` when this process runs under gevent (gunicorn's
    gevent worker patches threading before it builds the app), else `threading` (the gthread worker, tests,
    scripts). Decided by what the process is, not by a setting, so an app built outside the gevent worker
    never gets greenlets that nothing runs."""
    return "gevent" if _gevent_loop() else "threading"


def _gevent_loop() -> bool:
    """Whether this process runs under gevent (gunicorn's gevent worker patches threading before the app
    is built); tests and the threaded worker do not."""
    if "gevent" not in sys.modules:
        return False
    from gevent import monkey

    return monkey.is_module_patched("threading")


def off_loop(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """fn(*args, **kwargs), run off the event loop under gevent (the calling greenlet waits, every other
    game goes on); a plain call otherwise."""
    if not _gevent_loop():
        return fn(*args, **kwargs)
    import gevent

    return gevent.get_hub().threadpool.apply(fn, args, kwargs)


def to_loop(fn: Callable[..., None]) -> Callable[..., None]:
    """A callback that work run by `off_loop` may call from its native thread: under gevent it runs `fn` on
    the event loop (where sockets may be written); otherwise it is `fn` itself."""
    if not _gevent_loop():
        return fn
    import gevent

    loop = gevent.get_hub().loop

    def call(*args: Any) -> None:
        loop.run_callback_threadsafe(fn, *args)

    return call
