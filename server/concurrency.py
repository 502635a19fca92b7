"""How the server runs work besides answering messages, under either of `instructplay serve`'s workers.

- `gthread` (`serve --worker gthread`): gunicorn's threaded worker; Flask-SocketIO's `threading` mode (also
  what tests run in). Every open websocket holds OS threads (gunicorn's, simple-websocket's reader,
  engine.io's writer), and background tasks are threads. Simple and robust: CPU-heavy work just runs in its
  thread.
- `gevent` (the default of `serve`): gunicorn's gevent worker; Flask-SocketIO's `gevent` mode. One OS thread
  runs every connection as a greenlet, with no thread switches per message: with 500 open human-paced games
  it took 4.4 ms of CPU per move and reply against 10.2 ms for gthread, in one run of benchmarks/serving.py
  (--worker gthread,gevent). But a greenlet that computes for long stops every other game, so the few CPU-heavy steps
  (reading an instruction with the sentence-embedding model, training a Say-Select Bob) go through
  `off_loop`, which runs them in gevent's pool of native threads while the loop serves everyone else, and
  callbacks from those threads (a Bob's training progress) come back to the loop through `to_loop`.

Under `threading` both are plain calls, so the game code is the same for both workers.

Locks shared between the loop and those native threads (the embedder's, the prior cache's, the Bob
trainer's) are locks of the operating system (agents/locks.py), not gevent's patched ones.

The stall that kept gevent opt-in for a while (tests/integration/test_deployment.py, 20 games at once
with the other core busy: an agent_move or an understanding that "never came", under either worker) was
the test's client, not the server: python-socketio's threaded client runs each event handler in a thread
of its own, so under load two events sent in order could reach the handlers out of order, and the test
dropped the one it was not yet waiting for. tests/integration/socket_inbox.py keeps every event until a
wait takes it; the deployment tests then pass under load with both workers.
"""

from __future__ import annotations

from typing import Any, Callable

from agents.locks import gevent_patched


def async_mode() -> str:
    """Flask-SocketIO's mode for the app being built: `gevent` when this process runs under gevent (gunicorn's
    gevent worker patches threading before it builds the app), else `threading` (the gthread worker, tests,
    scripts). Decided by what the process is, not by a setting, so an app built outside the gevent worker
    never gets greenlets that nothing runs."""
    return "gevent" if gevent_patched() else "threading"


def off_loop(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """fn(*args, **kwargs), run off the event loop under gevent (the calling greenlet waits, every other
    game goes on); a plain call otherwise."""
    if not gevent_patched():
        return fn(*args, **kwargs)
    import gevent

    return gevent.get_hub().threadpool.apply(fn, args, kwargs)


def to_loop(fn: Callable[..., None]) -> Callable[..., None]:
    """A callback that work run by `off_loop` may call from its native thread: under gevent it runs `fn` on
    the event loop (where sockets may be written); otherwise it is `fn` itself."""
    if not gevent_patched():
        return fn
    import gevent

    loop = gevent.get_hub().loop

    def call(*args: Any) -> None:
        loop.run_callback_threadsafe(fn, *args)

    return call
