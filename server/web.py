"""HTTP routes: the browser client (static/), the JSON API the start page reads, and replays of
finished games (rebuilt from the database: server/replay.py)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request, send_from_directory

from server import replay as replays
from server.db.store import StorageUnavailable
from server.messages import shown

bp = Blueprint("web", __name__)
MAX_LISTED_GAMES = 200


def games():
    return current_app.extensions["instructplay"]


@bp.get("/")
def index():
    return send_from_directory(current_app.static_folder, "index.html")


@bp.get("/api/partners")
def partners():
    game = request.args.get("game", "say-select")
    listing = games().partner_list(game)
    if listing is None:
        return jsonify(error=f"unknown game {shown(game)}; ask for one of {', '.join(games().services)}"), 404
    return jsonify(listing)


@bp.get("/api/games")
def finished_games():
    """The latest finished games, newest first (`?limit=N`, at most 200), to pick a replay from."""
    limit = request.args.get("limit", default=50, type=int)
    return jsonify(games().store.finished_games(max(1, min(limit, MAX_LISTED_GAMES))))


@bp.get("/api/games/<game_id>/replay")
def replay(game_id: str):
    return _answer(game_id, replays.replay)


@bp.get("/api/games/<game_id>/hanablive.json")
def hanablive(game_id: str):
    response = _answer(game_id, replays.hanablive)
    if response.status_code == 200:
        response.headers["Content-Disposition"] = f'attachment; filename="hanabi-{game_id}.json"'
    return response


def _answer(game_id: str, build):
    record = games().store.load_game(game_id)
    if record is None:
        return _error(f"there is no game {game_id}; pick one from GET /api/games", 404)
    try:
        return jsonify(build(record))
    except replays.NotReplayable as e:
        return _error(str(e), 409)


def _error(message: str, status: int):
    response = jsonify(error=message)
    response.status_code = status
    return response


@bp.errorhandler(StorageUnavailable)
def storage_unavailable(e: StorageUnavailable):
    return _error(f"{e}; try again in a moment", 503)
