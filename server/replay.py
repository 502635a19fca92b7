"""Replays of finished games, rebuilt from their stored events alone (nothing kept in memory is read).

`replay(record)` is what `GET /api/games/<id>/replay` answers: the game's facts and one frame per
position, from the deal to the end. A Hanabi frame shows every card face up (server/games/hanabi.py,
`replay_frames`); a Say-Select frame shows the balls, the instructions and, for Bob's moves, his prior and
his reasons. `hanablive(record)` is the Hanabi game as
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
    """Every position of a Say-Select game: the balls and history after each move, the instructions given
    before it (as in Hanabi's frames) and the one Bob follows, and for Bob's moves what he weighed: his
    prior for that move, his lambda, his reason in one sentence and his actions ranked by Q + lambda log p."""
    game = say_select.SaySelectGame.from_balls(events[0]["payload"]["balls"])
    following = None
    frames = [{"turn": 0, "view": game.view(), "score": game.score, "over": game.over, "move": None,
               "instructions": [], "following": following}]
    said: list[dict[str, Any]] = []
    for e in events:
        p = e["payload"]
        if e["type"] == "instruction":
            said.append({"actor": e["actor"], "text": p["text"], "adopted": p.get("adopted", True),
                         "summary": p.get("summary")})
            if p.get("adopted", True):
                following = p["text"]
        elif e["type"] == "move":
            game, reward = game.applied(say_select.move_to_action(e["move"]))
            move = {"actor": e["actor"], "move": e["move"], "reward": reward}
            if e["actor"] == "agent":
                move.update(explanation=p.get("explanation"), prior=p.get("prior"), lam=p.get("lambda"),
                            top=p.get("top", []))
            frames.append({"turn": game.step, "view": game.view(), "score": game.score, "over": game.over,
                           "move": move, "instructions": said, "following": following})
            said = []
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
