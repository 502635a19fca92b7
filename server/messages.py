"""Validation of client messages: each handler's payload becomes a typed request, or a `ProtocolError`
whose code and message say what was wrong and what to do (docs/PROTOCOL.md, "Errors").

Only shapes and types are checked here; whether a move is legal right now is the game's business.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

GAME_NAMES = ("say-select", "hanabi")
MAX_LABEL_CHARS = 64
MAX_SEED = 2**31 - 1


class ProtocolError(Exception):
    """A message the server refuses; `code` is one of the protocol's error codes."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class StudyRef:
    """A study's game slot: the participant's study token; the server finds the game at their place."""

    study: str
    token: str


@dataclass(frozen=True)
class StartGame:
    game: str
    partner: str
    seat: int
    seed: int | None
    participant: str | None
    instruction: str | None
    study: StudyRef | None = None  # a study's game: everything but `game` comes from the participant's place


@dataclass(frozen=True)
class InstructionMsg:
    game_id: str
    text: str


@dataclass(frozen=True)
class MoveMsg:
    game_id: str
    move: dict[str, Any]


@dataclass(frozen=True)
class ResumeMsg:
    game_id: str
    token: str


@dataclass(frozen=True)
class ExplainMsg:
    game_id: str
    turn: int | None


@dataclass(frozen=True)
class ConfirmMsg:
    """"Yes, that is what I meant" (choice None), or the reading `choice` of an instruction's `choices`."""

    game_id: str
    instruction_id: int
    choice: int | None


def shown(value: Any, limit: int = 40) -> str:
    """`value` as an error message may quote it: its repr, cut to `limit` characters."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def request_id(payload: Any) -> str | int | None:
    """The client's `request_id`, echoed in replies, when it is a string or an int."""
    if isinstance(payload, dict):
        rid = payload.get("request_id")
        if isinstance(rid, str) and len(rid) <= MAX_LABEL_CHARS or isinstance(rid, int) and not isinstance(rid, bool):
            return rid
    return None


def parse_start_game(payload: Any) -> StartGame:
    p = _object(payload, '{"game": "say-select", "partner": "instructq", "seat": 0}')
    game = _string(p, "game", required=True)
    if game not in GAME_NAMES:
        raise ProtocolError("bad_message", f"unknown game {shown(game)}; send one of {', '.join(GAME_NAMES)}")
    if p.get("study") is not None:
        return StartGame(game, "", 0, None, None, None, _study_ref(p["study"]))
    partner = _string(p, "partner", required=True, max_chars=MAX_LABEL_CHARS)
    seat = _integer(p, "seat", default=0)
    if game == "say-select" and seat != 0:
        raise ProtocolError("bad_message", f"seat {seat} cannot be taken: in Say-Select the person always plays "
                                           f"seat 0 (Alice); send \"seat\": 0")
    if seat not in (0, 1):
        raise ProtocolError("bad_message", f"seat {seat} does not exist: Hanabi here has two seats, 0 (moves first) and 1")
    seed = _integer(p, "seed", default=None)
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise ProtocolError("bad_message", f"seed must be in 0..{MAX_SEED}, got {seed}")
    participant = _string(p, "participant", default=None, max_chars=MAX_LABEL_CHARS)
    instruction = _string(p, "instruction", default=None)
    return StartGame(game, partner, seat, seed, participant or None, instruction)


def _study_ref(value: Any) -> StudyRef:
    ref = _object(value, '{"id": "<study id>", "token": "<the participant\'s study token>"}')
    return StudyRef(_string(ref, "id", required=True, max_chars=MAX_LABEL_CHARS),
                    _string(ref, "token", required=True, max_chars=256))


def parse_instruction(payload: Any) -> InstructionMsg:
    p = _object(payload, '{"game_id": "...", "text": "select the number I say"}')
    return InstructionMsg(_game_id(p), _string(p, "text", required=True))


def parse_move(payload: Any) -> MoveMsg:
    p = _object(payload, '{"game_id": "...", "move": {"say": 3}}')
    game_id = _game_id(p)
    move = p.get("move")
    if not isinstance(move, dict):
        raise ProtocolError("bad_message", 'field "move" must be an object, e.g. {"say": 3}')
    return MoveMsg(game_id, move)


def parse_resume(payload: Any) -> ResumeMsg:
    p = _object(payload, '{"game_id": "...", "token": "<resume_token from game_started>"}')
    return ResumeMsg(_game_id(p), _string(p, "token", required=True, max_chars=256))


def parse_explain(payload: Any) -> ExplainMsg:
    p = _object(payload, '{"game_id": "...", "turn": 1}')
    turn = _integer(p, "turn", default=None)
    if turn is not None and turn < 0:
        raise ProtocolError("bad_message", f"turn must be 0 or more, got {turn}")
    return ExplainMsg(_game_id(p), turn)


def parse_confirm(payload: Any) -> ConfirmMsg:
    p = _object(payload, '{"game_id": "...", "instruction_id": 3, "choice": null}')
    instruction_id = _integer(p, "instruction_id", default=None)
    if instruction_id is None or instruction_id < 0:
        raise ProtocolError("bad_message", 'field "instruction_id" must be the instruction_id of the understanding '
                                           "you answer (an integer 0 or more)")
    choice = _integer(p, "choice", default=None)
    if choice is not None and choice < 0:
        raise ProtocolError("bad_message", f'"choice" must be null (yes, that is what I meant) or the index of one of '
                                           f"the understanding's choices (0 or more), got {choice}")
    return ConfirmMsg(_game_id(p), instruction_id, choice)


def _object(payload: Any, example: str) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise ProtocolError("bad_message", f"the message must be a JSON object like {example}; got {type(payload).__name__}")
    return payload


_MISSING = object()


def _string(p: dict, name: str, *, required: bool = False, default: Any = _MISSING,
            max_chars: int | None = None) -> Any:
    value = p.get(name, _MISSING)
    if value is _MISSING or value is None:
        if required:
            raise ProtocolError("bad_message", f'field "{name}" is missing; send it as a string')
        return default
    if not isinstance(value, str):
        raise ProtocolError("bad_message", f'field "{name}" must be a string, got {type(value).__name__}')
    if max_chars is not None and len(value) > max_chars:
        raise ProtocolError("bad_message", f'field "{name}" is too long ({len(value)} characters; at most {max_chars})')
    if not storable(value):
        raise ProtocolError("bad_message", f'field "{name}" holds a character that cannot be stored (a NUL or a lone '
                                           f"surrogate); remove it and send the message again")
    return value


def storable(text: str) -> bool:
    """Whether every database can store `text`: valid Unicode (no lone surrogates) and no NUL character."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def _integer(p: dict, name: str, *, default: Any) -> Any:
    value = p.get(name, _MISSING)
    if value is _MISSING or value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProtocolError("bad_message", f'field "{name}" must be an integer, got {type(value).__name__}')
    return value


def _game_id(p: dict) -> str:
    return _string(p, "game_id", required=True, max_chars=MAX_LABEL_CHARS)
