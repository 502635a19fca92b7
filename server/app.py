"""The Flask application factory: config, database (migrated on start), the games' services, routes, sockets."""

from __future__ import annotations

import functools
import gc
import logging
import time
from typing import Any

from flask import Flask

from server import sockets, wire  # noqa: F401  (sockets defines the socket handlers; create_app routes them)
from server.concurrency import async_mode
from server.config import REPO_ROOT, deal_key, load_config
from server.db import migrate
from server.db.store import Store, StudyStore, make_engine
from server.extensions import socketio
from server.games import hanabi, say_select
from server.games.service import Games, GameService
from server.limits import ConnectionLimits
from server.research import routes as research_routes
from server.studies import routes as study_routes
from server.studies.service import StudyService
from server.web import bp

__all__ = ["create_app", "socketio", "warm_up"]
log = logging.getLogger(__name__)
# The garbage collector's thresholds once a server has warmed up (Python's default: 700, 10, 10): a full
# collection walks every live game, connection and greenlet (some 150,000 objects with 500 open games, a
# 60-110 ms pause for every game); these make one about 50 times rarer (14x fewer young collections, and
# twice as many of each kind before an older one is collected). Nearly all of a move's garbage is freed by reference
# counting (see _route_socket_events), so the collector has little to find in between.
GC_THRESHOLDS = (10_000, 20, 20)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """The app for `config` (overrides on top of the INSTRUCTPLAY_* environment). `BOB_FACTORY` may
    inject a callable (prior_table, lam, seed, progress) -> Bob, e.g. a pre-built Bob in tests (kept in
    memory only); by default Bobs are trained by instructQ and cached in BOB_CACHE_DIR."""
    app = Flask(__name__, static_folder=str(REPO_ROOT / "static"), static_url_path="/static")
    app.config.update(load_config())
    app.config.update(config or {})
    app.config["DEAL_KEY"] = app.config.get("DEAL_KEY") or deal_key()

    engine = make_engine(app.config["DATABASE_URL"], pool_size=int(app.config["DB_POOL_SIZE"]),
                         max_overflow=int(app.config["DB_MAX_OVERFLOW"]),
                         pool_timeout=float(app.config["DB_POOL_TIMEOUT_S"]))
    migrate.upgrade(engine)
    store = Store(engine)
    reader = say_select.Reader.from_config(app.config)
    services = [
        say_select.SaySelect(reader, say_select_bobs(app.config), socketio.emit, socketio.start_background_task,
                             app.config),
        hanabi.Hanabi(hanabi.Reader(), hanabi.Agents(hanabi.agent_specs(app.config["HANABI_AGENT_DIR"])), app.config),
    ]
    games = [GameService(adapter, store, socketio.emit, socketio.start_background_task, app.config)
             for adapter in services]
    app.extensions["instructplay"] = Games(store, games)
    app.extensions["instructplay_studies"] = StudyService(StudyStore(engine), app.extensions["instructplay"], app.config)
    app.extensions["instructplay_limits"] = ConnectionLimits(app.config)
    app.register_blueprint(bp)
    _route_socket_events(app)
    app.register_blueprint(study_routes.bp)
    research_routes.init_app(app)  # the researcher's login, the access rules of every game-data route, /research
    # async_handlers=False: each connection's messages are handled in order on the thread that reads them
    # (no new thread per message); anything slow (reading an instruction, the agent's turn) is a background task.
    socketio.init_app(app, async_mode=async_mode(), async_handlers=False, json=wire,
                      serializer=wire.Packet,
                      message_queue=app.config["MESSAGE_QUEUE"],
                      channel=app.config["MESSAGE_QUEUE_CHANNEL"],
                      max_http_buffer_size=int(app.config["MAX_MESSAGE_BYTES"]))
    sockets.route_events()  # the client events, handled without Flask-SocketIO's per-message request context
    log.info("instructplay app ready: database %s", engine.url.render_as_string(hide_password=True))
    return app


def _route_socket_events(app: Flask) -> None:
    """A URL rule for the Socket.IO path, which Flask never serves (engine.io's middleware answers it first).

    Flask-SocketIO runs every socket event inside a Flask request context built from the connection's
    handshake request, and building one matches its URL against the app's rules. Without a rule for
    /socket.io/ that match failed on every message: a NotFound exception whose traceback held the handler's
    frames in a reference cycle, so every move left its message, packet and request context to the garbage
    collector instead of freeing them at once (about 9 of every 10 objects a gen-0 collection examined were
    such garbage, and the full collections it brought on paused every game for 60-250 ms at 500 games). The
    client events now skip that context (sockets.route_events); `disconnect` and unknown events still use it."""

    def socket_io_only():
        return {"error": "this path is served by the Socket.IO transport only"}, 400

    # long-polling connections' requests, and websocket ones (werkzeug matches an upgrade only to websocket rules)
    app.add_url_rule("/socket.io/", "socket_io", socket_io_only, methods=["GET", "POST"], strict_slashes=False)
    app.add_url_rule("/socket.io/", "socket_io_websocket", socket_io_only, websocket=True, strict_slashes=False)


def warm_up(app: Flask) -> None:
    """Load now what a first game would otherwise wait for (`instructplay serve` calls this before it takes
    connections; test apps skip it): every game's models (the sentence-embedding model that reads
    instructions, the Hanabi agents), and the Say-Select Bob of each partner for the start instruction.
    Then everything loaded so far is taken out of the garbage collector's sight (`gc.freeze`).

    Why: Python's collector walked every object loaded at start (torch, transformers, SQLAlchemy, the
    agents: about 490,000) in each full collection while every game waited. Those live as long as the
    process, so the collector has nothing to find there. With 500 human-paced games (benchmarks/serving.py,
    30 s runs on this 2-core machine) the p99 from a move to the agent's reply was 800-900 ms, nearly all of
    it 10-16 full collections of 100-460 ms; with the freeze, the thresholds below and the garbage cycle of
    every socket event removed (_route_socket_events) it was 33-47 ms."""
    for service in app.extensions["instructplay"].services.values():
        start = time.perf_counter()
        service.warm()
        adapter = service.adapter
        if isinstance(adapter, say_select.SaySelect):
            table = adapter.read(adapter.default_instruction).prior.table
            for partner in adapter.partners.values():
                adapter.bobs.get(table, partner.lam, None)
        log.info("%s ready in %.1f s", service.game, time.perf_counter() - start)
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    if _log_slow_collections not in gc.callbacks:
        gc.callbacks.append(_log_slow_collections)


SLOW_COLLECTION_MS = 50
_collection_started: list[float] = []


def _log_slow_collections(phase: str, info: dict[str, Any]) -> None:
    """Log a garbage collection that held the server up for SLOW_COLLECTION_MS or more (every game waits
    for it): what to look at first when replies come late now and then (benchmarks/serving.py counts them)."""
    if phase == "start":
        _collection_started[:] = [time.perf_counter()]
    elif _collection_started:
        ms = (time.perf_counter() - _collection_started[0]) * 1000
        if ms >= SLOW_COLLECTION_MS:
            log.warning("slow garbage collection: generation %d took %.0f ms (%d objects collected)",
                        info["generation"], ms, info["collected"])


def say_select_bobs(config: dict[str, Any]):
    """The one cache of Say-Select Bobs: trained by instructQ (`train_bob_fast`: at most BOB_EPISODES episodes,
    about a second) and kept in BOB_CACHE_DIR, or made by an injected BOB_FACTORY (kept in memory only)."""
    from agents.policies.say_select import SaySelectBobs

    seed, factory = int(config["BOB_SEED"]), config.get("BOB_FACTORY")
    if factory is not None:
        return SaySelectBobs(factory, seed=seed, tag="injected")
    from agents.learn.say_select_q import train_bob_fast

    episodes = int(config["BOB_EPISODES"])
    return SaySelectBobs(functools.partial(train_bob_fast, episodes=episodes), directory=config["BOB_CACHE_DIR"],
                         seed=seed, tag=f"fast episodes={episodes}")
