"""The Flask application factory: config, database (migrated on start), the games' services, routes, sockets."""

from __future__ import annotations

import functools
import logging
import time
from typing import Any

from flask import Flask

from server import sockets, wire  # noqa: F401  (sockets registers the socket handlers on `socketio`)
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
    app.register_blueprint(study_routes.bp)
    research_routes.init_app(app)  # the researcher's login, the access rules of every game-data route, /research
    # async_handlers=False: each connection's messages are handled in order on the thread that reads them
    # (no new thread per message); anything slow (reading an instruction, the agent's turn) is a background task.
    socketio.init_app(app, async_mode=async_mode(), async_handlers=False, json=wire,
                      serializer=wire.Packet,
                      message_queue=app.config["MESSAGE_QUEUE"],
                      channel=app.config["MESSAGE_QUEUE_CHANNEL"],
                      max_http_buffer_size=int(app.config["MAX_MESSAGE_BYTES"]))
    log.info("instructplay app ready: database %s", engine.url.render_as_string(hide_password=True))
    return app


def warm_up(app: Flask) -> None:
    """Load now what a first game would otherwise wait for (`instructplay serve` calls this before it takes
    connections; test apps skip it): every game's models (the sentence-embedding model that reads
    instructions, the Hanabi agents), and the Say-Select Bob of each partner for the start instruction."""
    for service in app.extensions["instructplay"].services.values():
        start = time.perf_counter()
        service.warm()
        adapter = service.adapter
        if isinstance(adapter, say_select.SaySelect):
            table = adapter.read(adapter.default_instruction).prior.table
            for partner in adapter.partners.values():
                adapter.bobs.get(table, partner.lam, None)
        log.info("%s ready in %.1f s", service.game, time.perf_counter() - start)


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
