"""Socket.IO event handlers: the client -> server half of docs/PROTOCOL.md.

Each handler parses its payload (server/messages.py), hands it to the service of its game
(server/games/service.py `Games`: each game's GameService) and sends the direct replies. Anything refused becomes an `error` event that
says what was wrong and what to do, is logged with the offending payload, and changes nothing.
"""

from __future__ import annotations

import functools
import json
import logging
from typing import Any, Callable

from flask import current_app, request

from server import messages, protocol
from server.db.store import StorageUnavailable
from server.extensions import socketio
from server.games.service import Games, GameService
from server.limits import ConnectionLimits
from server.messages import ProtocolError
from server.studies.service import StudyService

log = logging.getLogger(__name__)
CLIENT_EVENTS = ("start_game", "instruction", "confirm", "move", "resume", "explain")


def games() -> Games:
    return current_app.extensions["instructplay"]


def studies() -> StudyService:
    return current_app.extensions["instructplay_studies"]


def limits() -> ConnectionLimits:
    return current_app.extensions["instructplay_limits"]


EVENT_HANDLERS: dict[str, Callable[..., None]] = {}  # event -> on_event(sid, *args), registered by route_events


def handler(event: str, parse: Callable[[Any], Any]):
    """Register `fn(games, message, sid, request_id)` for `event`, turning every failure into an `error`.
    A connection over its message rate gets one `rate_limited` error, then its messages are dropped until
    its rate is back under the limit."""

    def register(fn):
        @functools.wraps(fn)
        def on_event(sid: str, *args):
            payload = args[0] if len(args) == 1 else list(args)
            rid = messages.request_id(payload)
            if not limits().messages.take(sid):
                if limits().messages.refused_in_a_row(sid) == 1:
                    reject(sid, event, "rate_limited", "too many messages at once; slow down (a few per second at "
                                                       "most) and send this one again", payload, rid)
                return
            try:
                check_size(payload)
                fn(games(), parse(payload), sid, rid)
            except ProtocolError as e:
                reject(sid, event, e.code, e.message, payload, rid)
            except StorageUnavailable as e:
                reject(sid, event, "storage_unavailable", f"{e}; try again in a moment", payload, rid)
            except Exception:
                log.exception("%s from %s failed; payload %.300r", event, sid, payload)
                reject(sid, event, "internal", "the server failed on this message and applied nothing; try again, "
                                               "or start a new game if it keeps failing", payload, rid)

        EVENT_HANDLERS[event] = on_event
        return on_event

    return register


def route_events() -> None:
    """Hand the client events straight to python-socketio's server (call after socketio.init_app), each run
    in the context of the app that took the connection (as Flask-SocketIO picks it: from the connection's
    environ; tests run several apps on one server). Flask-SocketIO's own dispatch also builds a Flask request
    context (a Request, URL matching, the session) for every message: a few per cent of the server's CPU per
    move, for handlers that need only the connection's sid, which python-socketio passes them."""

    def in_app(on_event: Callable[..., None]) -> Callable[..., None]:
        def run(sid: str, *args) -> None:
            environ = socketio.server.get_environ(sid)
            if environ is None:
                return  # the connection closed while its message waited: nobody to answer
            with environ["flask.app"].app_context():
                on_event(sid, *args)

        return run

    for event, on_event in EVENT_HANDLERS.items():
        socketio.server.on(event, in_app(on_event), namespace="/")


def send(sid: str, event: str, data: Any) -> None:
    socketio.emit(event, data, to=sid)


def connected(sid: str) -> bool:
    """Whether the connection `sid` is still open (it may have closed while its message was handled)."""
    return socketio.server.manager.is_connected(sid, "/")


def check_size(payload: Any) -> None:
    """Refuse a message over MAX_MESSAGE_BYTES as encoded in UTF-8 (Socket.IO's own bound counts characters)."""
    size = len(json.dumps(payload, ensure_ascii=False, default=str).encode("utf-8", "surrogatepass"))
    limit = int(current_app.config["MAX_MESSAGE_BYTES"])
    if size > limit:
        raise ProtocolError("too_long", f"the message is {size} bytes; the limit is {limit}: send less")


def reject(sid: str, event: str, code: str, message: str, payload: Any, rid: Any) -> None:
    """Answer a refused message with an `error`, and log it (at most WARNINGS_PER_MINUTE lines per connection;
    the next line logged says how many were left out)."""
    warnings = limits().warnings
    if warnings.take(sid):
        left_out = warnings.refused_since_logged(sid)
        log.warning("rejected %s from %s: %s: %s; payload %.300r%s", event, sid, code, message, payload,
                    f" ({left_out} more rejections of this connection not logged)" if left_out else "")
    send(sid, "error", protocol.error(code, message, event, rid))


@handler("start_game", messages.parse_start_game)
def start_game(all_games: Games, msg: messages.StartGame, sid: str, rid: Any) -> None:
    if not limits().games.take(sid):
        raise ProtocolError("too_many_games", "this connection started too many games in a short time; finish "
                                              "or resume one of them, or wait a minute")
    if msg.study is not None:  # a study's game: started from the participant's place, or joined when open
        svc, room, token = studies().open_game(msg.study, msg.game, sid)
        if token is None:
            send_game(sid, svc, room, None, rid)
            return
    else:
        svc = all_games.for_new(msg.game)
        room, token = svc.start_game(msg, sid)
        if not connected(sid):
            svc.abandon(room, "the player left before the game started")  # nobody holds its resume token
            return
    socketio.server.enter_room(sid, room.id, namespace="/")
    send(sid, "game_started", svc.started_message(room, token, rid))
    send(sid, "state", svc.state_message(room))
    svc.begin(room, msg.instruction, sid, rid)


@handler("instruction", messages.parse_instruction)
def instruction(all_games: Games, msg: messages.InstructionMsg, sid: str, rid: Any) -> None:
    all_games.for_game(msg.game_id).instruction(msg, sid, rid)


@handler("confirm", messages.parse_confirm)
def confirm(all_games: Games, msg: messages.ConfirmMsg, sid: str, rid: Any) -> None:
    all_games.for_game(msg.game_id).confirm(msg, sid, rid)


@handler("move", messages.parse_move)
def move(all_games: Games, msg: messages.MoveMsg, sid: str, rid: Any) -> None:
    all_games.for_game(msg.game_id).move(msg, sid)


@handler("resume", messages.parse_resume)
def resume(all_games: Games, msg: messages.ResumeMsg, sid: str, rid: Any) -> None:
    svc, room = all_games.resume(msg, sid)
    send_game(sid, svc, room, msg.token, rid)


def send_game(sid: str, svc: GameService, room, token: str | None, rid: Any) -> None:
    """Everything about a game to a connection that (re)joined it: game_started, the latest understanding,
    state, game_over when it is over; then restart what was left pending."""
    socketio.server.enter_room(sid, room.id, namespace="/")
    with room.lock:
        send(sid, "game_started", svc.started_message(room, token, rid))
        if room.understanding is not None:
            send(sid, "understanding", room.understanding)
        send(sid, "state", svc.state_message(room))
        if room.over:
            send(sid, "game_over", svc.game_over_message(room))
    svc.after_resume(room)


@handler("explain", messages.parse_explain)
def explain(all_games: Games, msg: messages.ExplainMsg, sid: str, rid: Any) -> None:
    svc: GameService = all_games.for_game(msg.game_id)
    send(sid, "explanation", svc.explain(msg, sid, rid))


@socketio.on("disconnect")
def disconnect(*_reason) -> None:
    games().leave(request.sid)
    limits().forget(request.sid)


@socketio.on("*")
def unknown_event(event: str, *args) -> None:
    reject(request.sid, event, "bad_message",
           f"there is no event {messages.shown(event)}; send one of {', '.join(CLIENT_EVENTS)}",
           args, messages.request_id(args[0] if args else None))
