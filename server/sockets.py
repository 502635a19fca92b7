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
from flask_socketio import emit, join_room

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


def handler(event: str, parse: Callable[[Any], Any]):
    """Register `fn(games, message, sid, request_id)` for `event`, turning every failure into an `error`.
    A connection over its message rate gets one `rate_limited` error, then its messages are dropped until
    its rate is back under the limit."""

    def register(fn):
        @socketio.on(event)
        @functools.wraps(fn)
        def on_event(*args):
            payload = args[0] if len(args) == 1 else list(args)
            rid = messages.request_id(payload)
            if not limits().messages.take(request.sid):
                if limits().messages.refused_in_a_row(request.sid) == 1:
                    reject(event, "rate_limited", "too many messages at once; slow down (a few per second at most) "
                                                  "and send this one again", payload, rid)
                return
            try:
                check_size(payload)
                fn(games(), parse(payload), request.sid, rid)
            except ProtocolError as e:
                reject(event, e.code, e.message, payload, rid)
            except StorageUnavailable as e:
                reject(event, "storage_unavailable", f"{e}; try again in a moment", payload, rid)
            except Exception:
                log.exception("%s from %s failed; payload %.300r", event, request.sid, payload)
                reject(event, "internal", "the server failed on this message and applied nothing; try again, "
                                          "or start a new game if it keeps failing", payload, rid)

        return on_event

    return register


def connected(sid: str) -> bool:
    """Whether the connection `sid` is still open (it may have closed while its message was handled)."""
    return socketio.server.manager.is_connected(sid, "/")


def check_size(payload: Any) -> None:
    """Refuse a message over MAX_MESSAGE_BYTES as encoded in UTF-8 (Socket.IO's own bound counts characters)."""
    size = len(json.dumps(payload, ensure_ascii=False, default=str).encode("utf-8", "surrogatepass"))
    limit = int(current_app.config["MAX_MESSAGE_BYTES"])
    if size > limit:
        raise ProtocolError("too_long", f"the message is {size} bytes; the limit is {limit}: send less")


def reject(event: str, code: str, message: str, payload: Any, rid: Any) -> None:
    """Answer a refused message with an `error`, and log it (at most WARNINGS_PER_MINUTE lines per connection;
    the next line logged says how many were left out)."""
    warnings = limits().warnings
    if warnings.take(request.sid):
        left_out = warnings.refused_since_logged(request.sid)
        log.warning("rejected %s from %s: %s: %s; payload %.300r%s", event, request.sid, code, message, payload,
                    f" ({left_out} more rejections of this connection not logged)" if left_out else "")
    emit("error", protocol.error(code, message, event, rid))


@handler("start_game", messages.parse_start_game)
def start_game(all_games: Games, msg: messages.StartGame, sid: str, rid: Any) -> None:
    if not limits().games.take(sid):
        raise ProtocolError("too_many_games", "this connection started too many games in a short time; finish "
                                              "or resume one of them, or wait a minute")
    if msg.study is not None:  # a study's game: started from the participant's place, or joined when open
        svc, room, token = studies().open_game(msg.study, msg.game, sid)
        if token is None:
            send_game(svc, room, None, rid)
            return
    else:
        svc = all_games.for_new(msg.game)
        room, token = svc.start_game(msg, sid)
        if not connected(sid):
            svc.abandon(room, "the player left before the game started")  # nobody holds its resume token
            return
    join_room(room.id)
    emit("game_started", svc.started_message(room, token, rid))
    emit("state", svc.state_message(room))
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
    send_game(svc, room, msg.token, rid)


def send_game(svc: GameService, room, token: str | None, rid: Any) -> None:
    """Everything about a game to a connection that (re)joined it: game_started, the latest understanding,
    state, game_over when it is over; then restart what was left pending."""
    join_room(room.id)
    with room.lock:
        emit("game_started", svc.started_message(room, token, rid))
        if room.understanding is not None:
            emit("understanding", room.understanding)
        emit("state", svc.state_message(room))
        if room.over:
            emit("game_over", svc.game_over_message(room))
    svc.after_resume(room)


@handler("explain", messages.parse_explain)
def explain(all_games: Games, msg: messages.ExplainMsg, sid: str, rid: Any) -> None:
    svc: GameService = all_games.for_game(msg.game_id)
    emit("explanation", svc.explain(msg, sid, rid))


@socketio.on("disconnect")
def disconnect(*_reason) -> None:
    games().leave(request.sid)
    limits().forget(request.sid)


@socketio.on("*")
def unknown_event(event: str, *args) -> None:
    reject(event, "bad_message", f"there is no event {messages.shown(event)}; send one of {', '.join(CLIENT_EVENTS)}",
           args, messages.request_id(args[0] if args else None))
