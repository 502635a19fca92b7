"""Hanabi on the server: the protocol's moves and per-seat views over the rules of record
(agents/envs/hanabi/rules.py), the partners people can choose, the move log in words, rebuilding a game
from its events, and the replay frames researchers step through.

Two players: the person (seat 0 by default, or 1) and one agent. Seat 0 moves first.
Protocol moves (`MOVE`): `{"type": "play"|"discard", "index": I}` (I: hand position 0..4, 0 the oldest
card), `{"type": "hint_color", "color": "R"|"Y"|"G"|"W"|"B"}`, `{"type": "hint_rank", "rank": 1..5}` (hints go
to the partner), or the HLE move uid `{"uid": U}`. Every move the server sends carries its `uid` too.

What a seat may see is `HanabiGame.view(seat)`: the person's view is built from it alone, so the
person's own cards (and the rest of the deck) never reach their client. Ranks are 1..5 on the wire.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from agents.envs.hanabi.language import move_name
from agents.envs.hanabi.rules import (
    COLOR_NAMES,
    COLORS,
    MAX_INFORMATION_TOKENS,
    MAX_LIFE_TOKENS,
    MAX_SCORE,
    HanabiGame,
    HistoryItem,
    MoveType,
    all_moves,
    uid_from_move,
)
from agents.envs.hanabi.rules import Move as RulesMove
from server.messages import ProtocolError

GAME = "hanabi"
NUM_PLAYERS = 2
POSITIONS = "ABCDE"
MOVE_TYPES = ("play", "discard", "hint_color", "hint_rank")


@dataclass(frozen=True)
class Partner:
    """A partner people can choose. `role` fixes the agent (None: the agent follows the instruction)."""

    id: str
    name: str
    description: str
    role: str | None
    follows_instructions: bool


PARTNERS = {
    p.id: p
    for p in [
        Partner("instructed", "Instructed partner",
                "Reads your instructions: a colour-hint convention brings in the colour-instructed agent, a "
                "rank-hint convention the rank-instructed one, anything else the default agent; its moves are "
                "then re-weighted by what you asked (argmax log pi + lambda log prior).", None, True),
        Partner("color", "Colour agent",
                "Trained with the paper's colour instruction: a colour hint means play. Your instructions "
                "re-weight its moves but do not replace it.", "color", True),
        Partner("rank", "Rank agent",
                "Trained with the paper's rank instruction: a rank hint means play. Your instructions "
                "re-weight its moves but do not replace it.", "rank", True),
        Partner("vanilla", "Vanilla agent",
                "Trained without an instruction (lambda 0): it reads your instructions but ignores them.",
                "vanilla", False),
    ]
}
DEFAULT_ROLE = "vanilla"


# ---------------------------------------------------------------- moves


def parse_move(move: dict[str, Any], game: HanabiGame) -> int:
    """The person's protocol move -> HLE uid, or a ProtocolError that says what to send instead.
    The caller has checked that it is the person's turn."""
    if "uid" in move and "type" not in move:
        uid = move["uid"]
        if isinstance(uid, bool) or not isinstance(uid, int):
            raise ProtocolError("bad_message", f'"uid" must be an integer move uid 0..19, got {type(uid).__name__}')
        if not 0 <= uid < len(all_moves(NUM_PLAYERS)):
            raise ProtocolError("illegal_move", f"there is no move uid {uid}; uids are 0..{len(all_moves(NUM_PLAYERS)) - 1}")
        return _checked(game, uid)
    kind = move.get("type")
    if kind not in MOVE_TYPES:
        raise ProtocolError("bad_message", f'a Hanabi move needs "type", one of {", ".join(MOVE_TYPES)} '
                                           f'(or a move "uid"), got {move}')
    if kind in ("play", "discard"):
        index = _int_field(move, "index", "a hand position 0..4, 0 the oldest card")
        held = len(game.hands[game.current_player])
        if not 0 <= index < held:
            raise ProtocolError("illegal_move", f"you hold {held} cards: index must be 0..{held - 1}, got {index}")
        rules_move = RulesMove(MoveType.PLAY if kind == "play" else MoveType.DISCARD, card_index=index)
    elif kind == "hint_color":
        color = move.get("color")
        if not isinstance(color, str) or color.upper() not in COLORS:
            raise ProtocolError("bad_message", f'"color" must be one of {", ".join(COLORS)}, got {color!r}')
        rules_move = RulesMove(MoveType.REVEAL_COLOR, target_offset=1, color=COLORS.index(color.upper()))
    else:
        rank = _int_field(move, "rank", "a rank 1..5")
        if not 1 <= rank <= 5:
            raise ProtocolError("bad_message", f'"rank" must be 1..5, got {rank}')
        rules_move = RulesMove(MoveType.REVEAL_RANK, target_offset=1, rank=rank - 1)
    return _checked(game, uid_from_move(rules_move, NUM_PLAYERS))


def _int_field(move: dict[str, Any], name: str, what: str) -> int:
    value = move.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProtocolError("bad_message", f'"{name}" must be an integer, {what}; got {value!r}')
    return value


def _checked(game: HanabiGame, uid: int) -> int:
    """`uid` if the rules allow it now; otherwise an illegal_move saying why, in the game's terms."""
    if game.is_legal(uid):
        return uid
    move = game.move_from_uid(uid)
    if move.type is MoveType.DISCARD and game.information_tokens == MAX_INFORMATION_TOKENS:
        reason = f"all {MAX_INFORMATION_TOKENS} hint tokens are in hand, so you cannot discard: play a card or give a hint"
    elif move.is_hint and game.information_tokens == 0:
        reason = "there are no hint tokens left: play or discard a card (a discard wins a token back)"
    elif move.type is MoveType.REVEAL_COLOR:
        reason = f"your partner holds no {COLOR_NAMES[move.color]} card: a hint must touch at least one card"
    elif move.type is MoveType.REVEAL_RANK:
        reason = f"your partner holds no {move.rank + 1}: a hint must touch at least one card"
    else:
        reason = f"you hold {len(game.hands[game.current_player])} cards"
    raise ProtocolError("illegal_move", f"{move_name(uid)} is not allowed now: {reason}")


def protocol_move(uid: int) -> dict[str, Any]:
    """The protocol's form of a move uid (2 players), with the uid."""
    move = all_moves(NUM_PLAYERS)[uid]
    if move.type is MoveType.PLAY:
        return {"type": "play", "index": move.card_index, "uid": uid}
    if move.type is MoveType.DISCARD:
        return {"type": "discard", "index": move.card_index, "uid": uid}
    if move.type is MoveType.REVEAL_COLOR:
        return {"type": "hint_color", "color": COLORS[move.color], "uid": uid}
    return {"type": "hint_rank", "rank": move.rank + 1, "uid": uid}


# ---------------------------------------------------------------- a seat's view


def to_act(game: HanabiGame, seat: int) -> str | None:
    if game.is_over():
        return None
    return "human" if game.current_player == seat else "agent"


def legal_moves(game: HanabiGame, seat: int) -> list[dict[str, Any]]:
    """The person's legal moves now (none while the agent is to move or once the game is over)."""
    if to_act(game, seat) != "human":
        return []
    return [protocol_move(uid) for uid in game.legal_moves()]


def person_view(game: HanabiGame, seat: int) -> dict[str, Any]:
    """VIEW: what the person at `seat` may see, built from the rules' `view(seat)` only (plus the public move log)."""
    v = game.view(seat)
    own_knowledge, partner_knowledge = v["card_knowledge"]
    _, partner_cards = v["observed_hands"]
    return {
        "seat": seat,
        "turn": len(game.history),
        "own_hand": [_knowledge(k) for k in own_knowledge],
        "partner_hand": [{**_card(c), **_knowledge(k)} for c, k in zip(partner_cards, partner_knowledge)],
        "fireworks": dict(v["fireworks"]),
        "hints": v["information_tokens"],
        "max_hints": MAX_INFORMATION_TOKENS,
        "lives": v["life_tokens"],
        "max_lives": MAX_LIFE_TOKENS,
        "deck": v["deck_size"],
        "discards": [_card(c) for c in v["discard_pile"]],
        "score": v["score"],
        "max_score": MAX_SCORE,
        "turns_left": game.turns_to_play if v["deck_size"] == 0 and not v["is_over"] else None,
        "history": move_log(game, seat),
    }


def _card(card: dict[str, Any]) -> dict[str, Any]:
    return {"color": card["color"], "rank": card["rank"] + 1}


def _knowledge(k: dict[str, Any]) -> dict[str, Any]:
    """What the card's holder knows from hints: the hinted colour/rank (or null) and what is still possible."""
    return {"hinted_color": k["color"], "hinted_rank": None if k["rank"] is None else k["rank"] + 1,
            "colors": list(k["plausible_colors"]), "ranks": [r + 1 for r in k["plausible_ranks"]]}


def move_log(game: HanabiGame, seat: int) -> list[dict[str, Any]]:
    """Every move so far, for `seat` (all of it public: a played or discarded card is shown once it left the hand)."""
    return [log_entry(turn, item, seat) for turn, item in enumerate(game.history)]


def log_entry(turn: int, item: HistoryItem, seat: int) -> dict[str, Any]:
    entry = {"turn": turn, "actor": "human" if item.player == seat else "agent", "move": protocol_move(item.uid),
             "text": move_text(item, seat)}
    if item.move.is_hint:
        entry["touched"] = [i for i in range(len(POSITIONS)) if item.reveal_bitmask >> i & 1]
    else:
        entry["card"] = {"color": COLORS[item.color], "rank": item.rank + 1}
        entry["scored"] = item.scored
    return entry


def move_text(item: HistoryItem, seat: int) -> str:
    """A move in words, from `seat`'s side of the table, in hanab.live's style."""
    you = item.player == seat
    who = "You" if you else "Your partner"
    move = item.move
    if move.is_hint:
        touched = [POSITIONS[i] for i in range(len(POSITIONS)) if item.reveal_bitmask >> i & 1]
        whose = "your partner's" if you else "your"
        value = COLOR_NAMES[move.color] if move.type is MoveType.REVEAL_COLOR else f"{move.rank + 1}s"
        return f"{who} hinted {value} on {whose} {_join(touched)}"
    card = f"{COLOR_NAMES[item.color]} {item.rank + 1}"
    slot = POSITIONS[move.card_index]
    if move.type is MoveType.DISCARD:
        return f"{who} discarded {card} from {slot}"
    if item.scored:
        return f"{who} played {card} from {slot}"
    return f"{who} misplayed {card} from {slot} and lost a life"


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def deal(seed: int) -> HanabiGame:
    """A new game whose deck is shuffled from `seed` (the same seed, the same deal)."""
    return HanabiGame(NUM_PLAYERS, seed=seed)


def end_reason(game: HanabiGame) -> str | None:
    if not game.is_over():
        return None
    if game.life_tokens <= 0:
        return "three misplays: the fireworks failed"
    if sum(game.fireworks) == MAX_SCORE:
        return "all five fireworks are complete"
    return "the deck ran out and everyone had a last turn"


def applied(game: HanabiGame, uid: int) -> tuple[HanabiGame, int]:
    """The game after `uid` by the player to move, and its reward; `game` is left as it was, so the
    caller can store the move first and adopt the new state only once it is safe."""
    new_game = copy.deepcopy(game)
    reward = new_game.step(uid)
    return new_game, reward


# ---------------------------------------------------------------- events


def deck_names(game: HanabiGame) -> list[str]:
    """The deck in draw order as 'R1'..'B5' (stored in game_started; never sent to a player)."""
    return [f"{COLORS[c]}{r + 1}" for c, r in game.deck_order]


def deck_from_names(names: list[str]) -> list[tuple[int, int]]:
    return [(COLORS.index(n[0]), int(n[1]) - 1) for n in names]


def rebuild(events: list[dict[str, Any]]) -> HanabiGame:
    """The game as its stored events leave it: the deck from `game_started`, then every move in order."""
    start = events[0]
    if start["type"] != "game_started":
        raise ValueError(f"a game's first event must be game_started, got {start['type']}")
    uids = [e["move"]["uid"] for e in events if e["type"] == "move"]
    return HanabiGame.from_moves(NUM_PLAYERS, deck_from_names(start["payload"]["deck"]), uids)


def replay_frames(events: list[dict[str, Any]], seat: int) -> list[dict[str, Any]]:
    """Every position of a game, from the deal on, as the replay page shows it: both hands face up with
    what each holder knew from hints, the move that led there, and the instructions typed before it."""
    game = HanabiGame(NUM_PLAYERS, deck=deck_from_names(events[0]["payload"]["deck"]))
    frames = [table_frame(game, seat, None)]
    said: list[dict[str, Any]] = []
    for e in events:
        if e["type"] == "instruction":
            said.append({"actor": e["actor"], "text": e["payload"]["text"], "adopted": e["payload"]["adopted"]})
        elif e["type"] == "move":
            game.step(e["move"]["uid"])
            frames.append({**table_frame(game, seat, e), "instructions": said})
            said = []
    frames[0]["instructions"] = []
    return frames


def table_frame(game: HanabiGame, seat: int, event: dict[str, Any] | None) -> dict[str, Any]:
    """The whole table (every card face up) after `event`'s move, or at the deal when `event` is None."""
    hands = {}
    for player, name in ((seat, "human"), (1 - seat, "agent")):
        hands[name] = [{**_card({"color": COLORS[c], "rank": r}), **_knowledge(k.to_dict())}
                       for (c, r), k in zip(game.hand_cards(player), game.knowledge[player])]
    frame = {
        "turn": len(game.history),
        "hands": hands,
        "fireworks": {COLORS[c]: h for c, h in enumerate(game.fireworks)},
        "hints": game.information_tokens, "lives": game.life_tokens, "deck": game.deck_size,
        "discards": [{"color": COLORS[code // 5], "rank": code % 5 + 1} for code in game.discard_pile],
        "score": game.score(), "over": game.is_over(), "to_act": to_act(game, seat),
        "move": None,
    }
    if event is not None:
        entry = log_entry(len(game.history) - 1, game.history[-1], seat)
        frame["move"] = entry
        if event["actor"] == "agent":
            payload = event["payload"]
            frame["move"].update(agent=payload.get("agent"), explanation=payload.get("explanation"),
                                 prior=payload.get("prior"), lam=payload.get("lambda"))
    return frame
