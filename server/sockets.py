"""Socket.IO event handlers: the client -> server half of docs/PROTOCOL.md.

Each handler parses its payload (server/messages.py), hands it to the service of its game
(server/games/service.py `Games`: each game's GameService) and sends the direct replies. Anything refused becomes an `error` event that
says what was wrong and what to do, is logged with the offending payload, and changes nothing.
"""

from __future__ import annotations

import functools
import logging
from typing import Any, Callable

from flask import current_app, request
from flask_socketio import emit, join_room

from server import messages, protocol
from server.db.store import StorageUnavailable
from server.extensions import socketio
from server.games.service import Games, GameService
from server.messages import ProtocolError

log = logging.getLogger(__name__)
CLIENT_EVENTS = ("start_game", "instruction", "move", "resume", "explain")


def games() -> Games:
    return current_app.extensions["instructplay"]


def handler(event: str, parse: Callable[[Any], Any]):
    """Register `fn(games, message, sid, request_id)` for `event`, turning every failure into an `error`."""

    def register(fn):
        @socketio.on(event)
        @functools.wraps(fn)
        def on_event(*args):
            payload = args[0] if len(args) == 1 else list(args)
            rid = messages.request_id(payload)
            try:
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


def reject(event: str, code: str, message: str, payload: Any, rid: Any) -> None:
    log.warning("rejected %s from %s: %s: %s; payload %.300r", event, request.sid, code, message, payload)
    emit("error", protocol.error(code, message, event, rid))


@handler("start_game", messages.parse_start_game)
def start_game(all_games: Games, msg: messages.StartGame, sid: str, rid: Any) -> None:
    svc = all_games.for_new(msg.game)
    room, token = svc.start_game(msg, sid)
    join_room(room.id)
    emit("game_started", svc.started_message(room, token, rid))
    emit("state", svc.state_message(room))
    svc.begin(room, msg.instruction, sid, rid)


@handler("instruction", messages.parse_instruction)
def instruction(all_games: Games, msg: messages.InstructionMsg, sid: str, rid: Any) -> None:
    all_games.for_game(msg.game_id).instruction(msg, sid, rid)


@handler("move", messages.parse_move)
def move(all_games: Games, msg: messages.MoveMsg, sid: str, rid: Any) -> None:
    all_games.for_game(msg.game_id).move(msg, sid)


@handler("resume", messages.parse_resume)
def resume(all_games: Games, msg: messages.ResumeMsg, sid: str, rid: Any) -> None:
    svc, room = all_games.resume(msg, sid)
    join_room(room.id)
    with room.lock:
        emit("game_started", svc.started_message(room, msg.token, rid))
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


@socketio.on("*")
def unknown_event(event: str, *args) -> None:
    reject(event, "bad_message", f"there is no event {event!r}; send one of {', '.join(CLIENT_EVENTS)}",
           args, messages.request_id(args[0] if args else None))
