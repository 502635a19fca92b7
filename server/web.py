"""HTTP routes: the browser client (static/) and the JSON API the start page reads."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request, send_from_directory

from server.games import say_select

bp = Blueprint("web", __name__)

PARTNERS_BY_GAME = {"say-select": say_select.partner_list, "hanabi": list}


@bp.get("/")
def index():
    return send_from_directory(current_app.static_folder, "index.html")


@bp.get("/api/partners")
def partners():
    game = request.args.get("game", "say-select")
    listing = PARTNERS_BY_GAME.get(game)
    if listing is None:
        return jsonify(error=f"unknown game {game!r}; ask for one of {', '.join(PARTNERS_BY_GAME)}"), 404
    return jsonify(listing())
