"""HTTP routes: the browser client (static/), the JSON API the start page reads, and replays of
finished games (rebuilt from the database: server/replay.py). Every route here that reads a game answers only
to the researcher's session or to the person who played it (server/research/access.py: 401 / 404 otherwise)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request, send_from_directory

from server import replay as replays
from server.db.store import StorageUnavailable
from server.messages import shown
from server.research import access

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
    """The latest finished games, newest first (`?limit=N`, at most 200), to pick a replay from: every one for the
    researcher, the ones whose keys the request presents for anyone else."""
    limit = request.args.get("limit", default=50, type=int)
    return _private(jsonify(access.finished_games(max(1, min(limit, MAX_LISTED_GAMES)))))


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
    record = access.readable_game(game_id)  # 401 / 404 unless the researcher or the game's player asks
    try:
        return _private(jsonify(build(record)))
    except replays.NotReplayable as e:
        return _error(str(e), 409)


def _private(response):
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _error(message: str, status: int):
    response = jsonify(error=message)
    response.status_code = status
    return response


@bp.errorhandler(StorageUnavailable)
def storage_unavailable(e: StorageUnavailable):
    return _error(f"{e}; try again in a moment", 503)
