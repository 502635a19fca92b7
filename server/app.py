"""The Flask application factory: config, database (migrated on start), the games' services, routes, sockets."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask

from server import sockets  # noqa: F401  (registers the socket handlers on `socketio`)
from server.config import REPO_ROOT, load_config
from server.db import migrate
from server.db.store import Store, make_engine
from server.extensions import socketio
from server.games.hanabi_rooms import HanabiService
from server.games.rooms import Games, RoomService
from server.partners import BobProvider, HanabiAgents, HanabiReader, Interpreter, cache_factory, hanabi_agent_specs
from server.web import bp

__all__ = ["create_app", "socketio"]
MAX_MESSAGE_BYTES = 64 * 1024
log = logging.getLogger(__name__)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """The app for `config` (overrides on top of the INSTRUCTPLAY_* environment). `BOB_FACTORY` may
    inject a callable (prior_table, lam, seed, progress) -> Bob, e.g. a pre-built Bob in tests."""
    app = Flask(__name__, static_folder=str(REPO_ROOT / "static"), static_url_path="/static")
    app.config.update(load_config())
    app.config.update(config or {})

    engine = make_engine(app.config["DATABASE_URL"])
    migrate.upgrade(engine)
    store = Store(engine)
    factory = app.config.get("BOB_FACTORY") or cache_factory(app.config["BOB_CACHE_DIR"], app.config["BOB_EPISODES"])
    interpreter = Interpreter.from_config(app.config)
    say_select = RoomService(
        store=store,
        interpreter=interpreter,
        bobs=BobProvider(factory, seed=int(app.config["BOB_SEED"])),
        emit=socketio.emit,
        start_task=socketio.start_background_task,
        config=app.config,
    )
    hanabi = HanabiService(
        store=store,
        reader=HanabiReader(),
        agents=HanabiAgents(hanabi_agent_specs(app.config["HANABI_AGENT_DIR"])),
        emit=socketio.emit,
        start_task=socketio.start_background_task,
        config=app.config,
    )
    app.extensions["instructplay"] = Games(store, [say_select, hanabi])
    app.register_blueprint(bp)
    socketio.init_app(app, async_mode="threading", message_queue=app.config["MESSAGE_QUEUE"],
                      channel=app.config["MESSAGE_QUEUE_CHANNEL"], max_http_buffer_size=MAX_MESSAGE_BYTES)
    if app.config["PRIOR_BACKEND"] != "table":
        socketio.start_background_task(interpreter.warm)
    log.info("instructplay app ready: database %s", engine.url.render_as_string(hide_password=True))
    return app
