"""Outgoing messages: the server -> client half of docs/PROTOCOL.md, one builder per event.

Incoming messages are checked in server/messages.py; everything the server sends is built here, so the
shape of each event is written down once. A builder takes the fields every game shares and `extra`, the
fields a game adds (its view, its prior, the agent's label...), which the game's adapter supplies.
"""

from __future__ import annotations

from typing import Any

Message = dict[str, Any]


def game_started(game_id: str, game: str, partner: str, seat: int, seed: int, resume_token: str,
                 participant: str, extra: Message, request_id: Any = None) -> Message:
    """`game_started`: the new (or resumed) game, and the token that resumes it."""
    return {"game_id": game_id, "game": game, "partner": partner, "seat": seat, "seed": seed,
            "resume_token": resume_token, "participant": participant, **extra, "request_id": request_id}


def state(game_id: str, turn: int, to_act: str | None, over: bool, extra: Message) -> Message:
    """`state`: the position as the person may see it (`extra` holds the game's view, legal moves, score)."""
    return {"game_id": game_id, "turn": turn, "to_act": to_act, **extra, "over": over}


def understanding(game_id: str, instruction_id: int, text: str, reading: Message, adopted: bool,
                  extra: Message) -> Message:
    """`understanding`: what an instruction was read to mean (`reading`: backend, understood, summary,
    confidence, clarify, question), whether the partner now follows it, and the game's prior fields."""
    return {"game_id": game_id, "instruction_id": instruction_id, "text": text, **reading, "adopted": adopted,
            **extra}


def agent_status(game_id: str, status: str, progress: float, message: str) -> Message:
    """`agent_status`: the partner is training / ready / failed, in plain words."""
    return {"game_id": game_id, "status": status, "progress": progress, "message": message}


def agent_move(game_id: str, turn: int, move: Message, reward: float, prior: Any, explanation: str,
               lam: float, think_ms: float, delay_ms: float, extra: Message) -> Message:
    """`agent_move`: the partner's move, the prior it was weighed with, its reason and its timing."""
    return {"game_id": game_id, "turn": turn, "actor": "agent", "move": move, "reward": reward, "prior": prior,
            "lambda": lam, "explanation": explanation, "think_ms": think_ms, "delay_ms": delay_ms, **extra}


def game_over(game_id: str, outcome: Message) -> Message:
    """`game_over`: the final score and how the game ended (fields per game, as stored in its event)."""
    return {"game_id": game_id, **outcome}


def explanation(game_id: str, turn: int, entry: Message, request_id: Any) -> Message:
    """`explanation`: the partner's move at `turn`, its reason and the moves it weighed (`entry`)."""
    return {"game_id": game_id, "turn": turn, **entry, "request_id": request_id}


def error(code: str, message: str, event: str, request_id: Any) -> Message:
    """`error`: what was refused and what to do; nothing was changed."""
    return {"code": code, "message": message, "event": event, "request_id": request_id}
