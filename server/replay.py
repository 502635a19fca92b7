"""Replays of finished games, rebuilt from their stored events alone (nothing kept in memory is read).

`replay(record)` is what `GET /api/games/<id>/replay` answers: the game's facts and one frame per
position, from the deal to the end. A Hanabi frame shows every card face up (server/games/hanabi.py,
`replay_frames`); a Say-Select frame shows the balls. `hanablive(record)` is the Hanabi game as
hanab.live game JSON (agents/envs/hanabi/hanablive.py), which hanab.live and `from_hanablive` replay.
Only finished games are replayed: an unfinished one would show the person's hidden cards.
"""

from __future__ import annotations

from typing import Any

from agents.envs.hanabi.hanablive import to_hanablive
from server.db.store import GameRecord
from server.games import hanabi, say_select


class NotReplayable(Exception):
    """The game cannot be replayed (yet); the message says why and what to do."""


def check_finished(record: GameRecord) -> None:
    if record.status != "over":
        raise NotReplayable(f"game {record.id} is still being played; its replay opens when it is over")


def replay(record: GameRecord) -> dict[str, Any]:
    check_finished(record)
    start = record.events[0]["payload"]
    frames = hanabi.replay_frames(record.events, int(start["seat"])) if record.game == hanabi.GAME \
        else say_select_frames(record.events)
    over = next((e["payload"] for e in record.events if e["type"] == "game_over"), None)
    return {"game_id": record.id, "game": record.game, "partner": record.agent, "seat": start.get("seat", 0),
            "seed": record.seed, "created_at": record.created_at, "ended_at": record.ended_at,
            "outcome": over, "frames": frames}


def say_select_frames(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every position of a Say-Select game: the balls and history after each move."""
    game = say_select.SaySelectGame.from_balls(events[0]["payload"]["balls"])
    frames = [{"turn": 0, "view": game.view(), "score": game.score, "over": game.over, "move": None}]
    for e in events:
        if e["type"] == "move":
            game, reward = game.applied(say_select.move_to_action(e["move"]))
            frames.append({"turn": game.step, "view": game.view(), "score": game.score, "over": game.over,
                           "move": {"actor": e["actor"], "move": e["move"], "reward": reward,
                                    "explanation": e["payload"].get("explanation")}})
    return frames


def hanablive(record: GameRecord) -> dict[str, Any]:
    """The finished Hanabi game as hanab.live JSON; players are named by who sat where. hanab.live's
    optional `id` (an integer there) and `seed` (its own deal names) are left out."""
    if record.game != hanabi.GAME:
        raise NotReplayable(f"game {record.id} is {record.game}; only Hanabi games download as hanab.live JSON")
    check_finished(record)
    seat = int(record.events[0]["payload"]["seat"])
    players = ["Human", f"Agent-{record.agent}"] if seat == 0 else [f"Agent-{record.agent}", "Human"]
    return to_hanablive(hanabi.rebuild(record.events), players)
