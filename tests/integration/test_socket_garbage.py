"""A socket message leaves no garbage cycles behind (issue #14's p99).

Flask-SocketIO handles each event inside a Flask request context built from the connection's handshake
request. When no URL rule matched /socket.io/, every event raised and kept a routing exception whose
traceback held the handler's frames (and through them the message, its packet and the context) in a
reference cycle: nothing of a move was freed by reference counting, and at 500 games the collections that
followed paused every game for 60-250 ms (server/app.py `_route_socket_events`)."""

from __future__ import annotations

import gc

from werkzeug.test import EnvironBuilder

from tests.integration.test_socket_play import app, connect, say, start  # noqa: F401  (app: the fixture)


def test_a_socket_events_request_context_matches_a_rule(app):
    """The handshake requests of both transports (a websocket upgrade, long-polling) match a URL rule, so no
    routing exception is made for the events handled in their context."""
    handshakes = [
        EnvironBuilder(path="/socket.io/", query_string="EIO=4&transport=websocket",
                       headers={"Upgrade": "websocket", "Connection": "Upgrade"}).get_environ(),
        EnvironBuilder(path="/socket.io/", query_string="EIO=4&transport=polling").get_environ(),
        EnvironBuilder(path="/socket.io", query_string="EIO=4&transport=polling").get_environ(),
    ]
    for environ in handshakes:
        with app.request_context(environ) as ctx:
            assert ctx.request.routing_exception is None, environ["QUERY_STRING"]


def test_moves_leave_no_frames_or_request_contexts_to_the_garbage_collector(app):
    inbox = connect(app)
    started, _ = start(inbox)
    gid = started["game_id"]
    inbox.wait("agent_status", lambda m: m["status"] == "ready")
    say(inbox, gid, 1)  # warm: first-use caches are not garbage
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for n in (2, 3, 4, 5):
            say(inbox, gid, n)
        gc.collect()
        kinds = {type(o).__name__ for o in gc.garbage}
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert not kinds & {"frame", "traceback", "RequestContext", "Packet"}, kinds


def test_a_slow_garbage_collection_is_logged(monkeypatch, caplog):
    """The server logs a collection that held every game up (benchmarks/serving.py counts these lines)."""
    from server import app as app_module

    clock = iter([100.0, 100.2, 200.0, 200.01])
    monkeypatch.setattr(app_module.time, "perf_counter", lambda: next(clock))
    with caplog.at_level("WARNING", logger="server.app"):
        app_module._log_slow_collections("start", {"generation": 2, "collected": 0, "uncollectable": 0})
        app_module._log_slow_collections("stop", {"generation": 2, "collected": 7, "uncollectable": 0})
        app_module._log_slow_collections("start", {"generation": 0, "collected": 0, "uncollectable": 0})
        app_module._log_slow_collections("stop", {"generation": 0, "collected": 3, "uncollectable": 0})
    slow = [r.getMessage() for r in caplog.records if "slow garbage collection" in r.getMessage()]
    assert slow == ["slow garbage collection: generation 2 took 200 ms (7 objects collected)"]
