"""Hanabi's adapter: the rules bridge, per-seat views, the reader of instructions and the partners.

Two players: the person (seat 0 by default, or 1) and one agent. Seat 0 moves first.
Protocol moves (`MOVE`): `{"type": "play"|"discard", "index": I}` (I: hand position 0..4, 0 the oldest
card), `{"type": "hint_color", "color": "R"|"Y"|"G"|"W"|"B"}`, `{"type": "hint_rank", "rank": 1..5}` (hints go
to the partner), or the HLE move uid `{"uid": U}`. Every move the server sends carries its `uid` too.

What a seat may see is `HanabiGame.view(seat)`: the person's view is built from it alone, so the
person's own cards (and the rest of the deck) never reach their client. Ranks are 1..5 on the wire.

Instructions are read by the conventions backend. An understood one picks the agent that plays from then
on (for the "instructed" partner: colour -> colour agent, rank -> rank agent, else the default) and becomes
the prior p that re-weights its moves: the agent plays argmax over legal moves of log pi + lambda log p.
An unclear one is answered with a question and not adopted. Every agent move is stored with the agent, the
prior (backend, probabilities) and the lambda the agent applied.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agents.envs.hanabi.language import log_text, move_name, partner_last_move_text
from agents.envs.hanabi.language import move_text as paper_move_text
from agents.envs.hanabi.rules import (
    COLOR_HINT_UIDS,
    COLOR_NAMES,
    COLORS,
    DISCARD_UIDS,
    MAX_INFORMATION_TOKENS,
    MAX_LIFE_TOKENS,
    MAX_SCORE,
    NUM_MOVES_2P,
    PLAY_UIDS,
    RANK_HINT_UIDS,
    HanabiGame,
    HistoryItem,
    MoveType,
    all_moves,
    mask_slots,
    uid_from_move,
)
from agents.envs.hanabi.rules import Move as RulesMove
from agents.locks import native_lock
from server.db.store import NewOutcome
from server.games.service import AgentTurn, GameAdapter, Reading, Room
from server.messages import ProtocolError, shown

log = logging.getLogger(__name__)

GAME = "hanabi"
NUM_PLAYERS = 2
MOVE_TYPES = ("play", "discard", "hint_color", "hint_rank")


# ---------------------------------------------------------------- partners and the agents behind them


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
        Partner("instructed", "Partner who follows instructions",
                "Tell it how to play, for example \"when I hint a colour, play that card\": it switches to a "
                "player trained to play that way, and leans its moves toward what you asked.", None, True),
        Partner("color", "Colour-hint partner",
                "Plays the cards you hint by colour: tell it \"red\" about a card and it plays it. What you "
                "write leans its moves, but it keeps this habit.", "color", True),
        Partner("rank", "Number-hint partner",
                "Plays the cards you hint by number: tell it \"these are 2s\" and it plays them. What you write "
                "leans its moves, but it keeps this habit.", "rank", True),
        Partner("vanilla", "Partner who plays its own way",
                "Learned to play without instructions and keeps its own habits: it reads what you write but "
                "ignores it.", "vanilla", False),
    ]
}
DEFAULT_ROLE = "vanilla"
IGNORES_INSTRUCTIONS = ("This partner ignores instructions: it plays as it learned to, whatever you say, "
                        "and nothing is trained for your instruction.")
ROLES = ("color", "rank", "vanilla")
# The agents in plain words, as the play page names the one playing (the checkpoint file is the spec's `detail`).
ROLE_WORDS = {"color": "colour-hint player", "rank": "number-hint player", "vanilla": "own-way player"}
# The rule bot that stands in for an agent whose checkpoint is missing (there is no instruction-free rule bot).
RULEBOT_FOR = {"color": "rulebot:color", "rank": "rulebot:rank", "vanilla": "rulebot:color"}
ROLE_OF_CONVENTION = {"color-hint-play": "color", "rank-hint-play": "rank"}


@dataclass(frozen=True)
class AgentSpec:
    role: str     # "color", "rank" or "vanilla"
    source: str   # a checkpoint path, or "rulebot:color" / "rulebot:rank"
    label: str    # what the page and the event log call it, in plain words
    detail: str = ""  # what it is for a researcher: the checkpoint file, or the rule bot standing in

    @property
    def is_rulebot(self) -> bool:
        return self.source.startswith("rulebot:")


def agent_specs(directory: str) -> dict[str, AgentSpec]:
    """The shipped agents `<directory>/{color,rank,vanilla}.pt`, each replaced by a rule bot (labelled
    as a stand-in) when its checkpoint is missing."""
    specs = {}
    for role in ROLES:
        path = Path(directory) / f"{role}.pt"
        if path.is_file():
            specs[role] = AgentSpec(role, str(path), ROLE_WORDS[role], path.name)
        else:
            bot = RULEBOT_FOR[role]
            kind = {"rulebot:color": "colour", "rulebot:rank": "number"}[bot]
            specs[role] = AgentSpec(role, bot, f"simple {kind}-hint player, standing in for the {ROLE_WORDS[role]}",
                                    f"{bot} (no {path.name} yet)")
            log.info("no Hanabi checkpoint %s: the %s stands in for the %s", path, bot, ROLE_WORDS[role])
    return specs


class Agents:
    """The Hanabi agents by role, each loaded once on first use (torch is imported then, not at start)."""

    def __init__(self, specs: dict[str, AgentSpec]):
        self.specs = specs
        self._agents: dict[str, Any] = {}
        self._lock = native_lock()

    def get(self, role: str) -> Any:
        with self._lock:
            if role not in self._agents:
                from agents.policies.hanabi import load_hanabi_agent

                start = time.perf_counter()
                self._agents[role] = load_hanabi_agent(self.specs[role].source)
                log.info("Hanabi agent %s (%s) loaded in %.1f s", role, self.specs[role].source,
                         time.perf_counter() - start)
            return self._agents[role]


# ---------------------------------------------------------------- reading instructions


def role_for(understood: list[tuple[str, float]]) -> str:
    """The agent whose instruction matches the reading best: the colour (rank) agent when the colour (rank)
    hint convention outweighs the other, the default (vanilla) agent when neither was read."""
    weights = {role: 0.0 for role in ROLES}
    for convention_id, weight in understood:
        role = ROLE_OF_CONVENTION.get(convention_id)
        if role is not None:
            weights[role] += weight
    if weights["color"] == weights["rank"]:
        return "vanilla"
    return "color" if weights["color"] > weights["rank"] else "rank"


@dataclass(frozen=True)
class ConventionsReading:
    """What a Hanabi instruction implies: its text (the prior is computed from it at each position), the
    mixture of conventions read, and the agent it calls for."""

    text: str
    conventions: list[list[Any]]  # [[convention id, weight]], highest weight first
    role: str

    def definition(self, backend: str) -> dict[str, Any]:
        """What the instruction's prior is: a mixture of these conventions (docs/DATABASE.md)."""
        return {"backend": backend, "conventions": self.conventions}


class Reader:
    """Hanabi instructions through the conventions backend (whatever PRIOR_BACKEND says, since the table
    stand-in exists only for Say-Select): what a text means (with the choices it hesitates between and the
    clauses it did not understand), and its prior over the agent's moves,
    p = ConventionsPrior.log_probs("hanabi", text, observation, move texts): for the agent's own prior the
    observation is the partner's last move in the paper's words plus the table the agent sees (the
    conventions people ask for, such as save-critical, need it) and the hints name their value; for the prior
    shown to the person (`public`) it is the paper's text alone, which tells nothing about their cards."""

    def __init__(self, prior: Any = None):
        self._prior = prior
        self._lock = native_lock()
        self._reads_table = functools.lru_cache(maxsize=1024)(self._reads_table_of)

    @property
    def prior(self) -> Any:
        with self._lock:
            if self._prior is None:
                from agents.priors.conventions import ConventionsPrior

                self._prior = ConventionsPrior()
            return self._prior

    def warm(self) -> None:
        """Load the sentence-embedding model now (seconds), not on the first instruction."""
        self.read("play the cards whose colour I hint")

    def read(self, text: str) -> Reading:
        from agents.priors.conventions.report import measured_agreement, reading_fields

        reading = self.prior.understand(GAME, text)
        fields = {"backend": self.prior.name, **reading_fields(reading, _means, measured_agreement())}
        understood = fields["understood"]
        return Reading(fields, ConventionsReading(text, [[c["convention"], c["weight"]] for c in understood],
                                                  role_for(list(reading.understood))))

    def log_probs(self, text: str, game: HanabiGame, seat: int, uids: list[int], public: bool = False,
                  last_move: str | None = None) -> np.ndarray:
        """The instruction's log-prior over the moves `uids` of `seat`, who is to move (`public`: the prior
        the person may see, from the partner's last move alone). `last_move`: partner_last_move_text(game, seat),
        when the caller has it already."""
        if last_move is None:
            last_move = partner_last_move_text(game, seat)
        if public:
            observation, actions = last_move, _move_texts(tuple(uids), False)
        else:
            from agents.priors.conventions.hanabi import observation_text

            # the table only for conventions that read it: the others read the last move's line alone, and
            # without the table (~50 us to write) the same move's text is a cache hit
            observation = observation_text(game, seat) if self.reads_table(text) else last_move
            actions = _move_texts(tuple(uids), True)
        return np.asarray(self.prior.log_probs(GAME, text, observation, actions), dtype=np.float64)

    def reads_table(self, text: str) -> bool:
        """Whether a convention of the instruction's reading reads the table (`situational`), not only the
        partner's last move. Asked at every agent move, answered once per instruction text."""
        return self._reads_table(text)

    def _reads_table_of(self, text: str) -> bool:
        from agents.priors.conventions import convention

        return any(convention(GAME, cid).situational for cid, _ in self.prior.understand(GAME, text).understood)


@functools.lru_cache(maxsize=4096)
def _move_texts(uids: tuple[int, ...], full: bool) -> tuple[str, ...]:
    """The paper's texts of the moves `uids` (the same few lists of legal moves recur move after move)."""
    return tuple(paper_move_text(u, full=full) for u in uids)


def _means(conventions) -> str:
    """What adopting a reading of these conventions does, in the page's words."""
    role = role_for([(c, 1.0) for c in conventions])
    who = {"color": "the colour-instructed agent plays", "rank": "the rank-instructed agent plays",
           "vanilla": "the default agent plays"}[role]
    return f"From then on {who}, its moves weighted toward this reading."


def publicly_possible_moves(game: HanabiGame) -> list[int]:
    """The moves the player to move might have, as anyone can tell without seeing that player's partner's
    hand: plays and discards of the cards held (no discard at full hint tokens), and every hint while a
    token is left. The legal moves are a subset; which hints are legal depends on the partner's cards, so
    it is hidden from that partner."""
    held, tokens = len(game.hands[game.current_player]), game.information_tokens
    return ([u for u in DISCARD_UIDS if u - DISCARD_UIDS.start < held and tokens < MAX_INFORMATION_TOKENS]
            + [u for u in PLAY_UIDS if u - PLAY_UIDS.start < held]
            + ([*COLOR_HINT_UIDS, *RANK_HINT_UIDS] if tokens > 0 else []))


# ---------------------------------------------------------------- moves


def parse_move(move: dict[str, Any], game: HanabiGame) -> int:
    """The person's protocol move -> HLE uid, or a ProtocolError that says what to send instead.
    The caller has checked that it is the person's turn."""
    if "uid" in move and "type" not in move:
        uid = move["uid"]
        if isinstance(uid, bool) or not isinstance(uid, int):
            raise ProtocolError("bad_message", f'"uid" must be an integer move uid 0..19, got {type(uid).__name__}')
        if not 0 <= uid < NUM_MOVES_2P:
            raise ProtocolError("illegal_move", f"there is no move uid {uid}; uids are 0..{NUM_MOVES_2P - 1}")
        return _checked(game, uid)
    kind = move.get("type")
    if kind not in MOVE_TYPES:
        raise ProtocolError("bad_message", f'a Hanabi move needs "type", one of {", ".join(MOVE_TYPES)} '
                                           f'(or a move "uid"), got {shown(move)}')
    if kind in ("play", "discard"):
        index = _int_field(move, "index", "a hand position 0..4, 0 the oldest card")
        held = len(game.hands[game.current_player])
        if not 0 <= index < held:
            raise ProtocolError("illegal_move", f"you hold {held} cards: index must be 0..{held - 1}, got {index}")
        rules_move = RulesMove(MoveType.PLAY if kind == "play" else MoveType.DISCARD, card_index=index)
    elif kind == "hint_color":
        color = move.get("color")
        if not isinstance(color, str) or len(color) != 1 or color.upper() not in COLORS:
            raise ProtocolError("bad_message", f'"color" must be one of {", ".join(COLORS)}, got {shown(color)}')
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
        raise ProtocolError("bad_message", f'"{name}" must be an integer, {what}; got {shown(value)}')
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


def person_view(game: HanabiGame, seat: int, history: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """VIEW: what the person at `seat` may see, built from the rules' `view(seat)` only (plus the public move log;
    `history`: that log, when the caller keeps it, see MoveLog)."""
    v = game.view(seat, moves=False)
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
        "history": move_log(game, seat) if history is None else history,
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


class MoveLog:
    """A room's move log for the person, kept between `state` messages: a move's entry never changes once made,
    so each state adds the new moves' entries instead of writing every entry again (a Hanabi game sends two
    states per move and reply, each with the whole log)."""

    def __init__(self, seat: int):
        self.seat = seat
        self.entries: list[dict[str, Any]] = []

    def of(self, game: HanabiGame) -> list[dict[str, Any]]:
        """The log of `game` (a game whose history starts with the entries kept; a shorter one starts afresh).
        A list once returned is never changed (each call that adds entries makes a new one), so two threads
        writing states of one room at once each get a whole log."""
        entries = self.entries if len(self.entries) <= len(game.history) else []
        if len(entries) < len(game.history):
            entries = entries + [log_entry(turn, game.history[turn], self.seat)
                                 for turn in range(len(entries), len(game.history))]
            self.entries = entries
        return entries


def log_entry(turn: int, item: HistoryItem, seat: int) -> dict[str, Any]:
    entry = {"turn": turn, "actor": "human" if item.player == seat else "agent", "move": protocol_move(item.uid),
             "text": log_text(item, seat)}
    if item.move.is_hint:
        entry["touched"] = mask_slots(item.reveal_bitmask)
    else:
        entry["card"] = {"color": COLORS[item.color], "rank": item.rank + 1}
        entry["scored"] = item.scored
    return entry


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
    new_game = game.copy()
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


# ---------------------------------------------------------------- the adapter


class Hanabi(GameAdapter):
    """Hanabi: the person at one seat, at the other the agent their partner and instruction call for."""

    name = GAME
    partners = PARTNERS
    public_seed = False  # the deck follows from the seed: the person would know their own cards

    def __init__(self, reader: Reader, agents: Agents, config: dict[str, Any]):
        self.reader = reader
        self.agents = agents
        self.deal_key = str(config["DEAL_KEY"]).encode()
        self.instructed_lambda = float(config["HANABI_LAMBDA"])
        self.config = {"prior_backend": "conventions",
                       "agents": {role: spec.source for role, spec in agents.specs.items()}}
        self._logs: weakref.WeakKeyDictionary[Room, MoveLog] = weakref.WeakKeyDictionary()  # gone with their rooms

    def warm(self) -> None:
        for role in self.agents.specs:
            self.agents.get(role)
        self.reader.warm()

    def partner_list(self) -> list[dict[str, Any]]:
        out = []
        for p in PARTNERS.values():
            roles = [p.role] if p.role else list(self.agents.specs)
            out.append({"id": p.id, "name": p.name, "description": p.description, "lambda": self.lam(p),
                        "follows_instructions": p.follows_instructions,
                        "agents": [self.agents.specs[r].label for r in roles]})
        return out

    def lam(self, partner: Partner) -> float:
        return self.instructed_lambda if partner.follows_instructions else 0.0

    @staticmethod
    def role(room: Room) -> str:
        """The agent that plays now: the partner's own, or the one the adopted instruction called for."""
        return room.partner.role or (room.reading.prior.role if room.reading else DEFAULT_ROLE)

    # --- rules bridge ---

    def deal(self, seed: int) -> tuple[HanabiGame, dict[str, Any]]:
        """The deal of `seed`: the deck is shuffled from a keyed hash of the seed (DEAL_KEY), so the same seed
        deals the same cards on this server (matched deals) but the seed alone tells nobody their cards."""
        digest = hmac.new(self.deal_key, f"hanabi-deal:{seed}".encode(), hashlib.sha256).digest()
        game = deal(int.from_bytes(digest[:8], "big"))
        return game, {"deck": deck_names(game)}

    def rebuild(self, events: list[dict[str, Any]]) -> HanabiGame:
        return rebuild(events)

    def turn(self, state: HanabiGame) -> int:
        return len(state.history)

    def to_act(self, state: HanabiGame, seat: int) -> str | None:
        return to_act(state, seat)

    def is_over(self, state: HanabiGame) -> bool:
        return state.is_over()

    def parse_move(self, state: HanabiGame, seat: int, move: dict[str, Any]) -> int:
        return parse_move(move, state)

    def applied(self, state: HanabiGame, action: int, seat: int):
        new_state, reward = applied(state, action)
        entry = log_entry(len(state.history), new_state.history[-1], seat)
        return new_state, reward, entry["move"], {k: entry[k] for k in ("card", "scored", "touched") if k in entry}

    def outcome(self, state: HanabiGame) -> tuple[NewOutcome, dict[str, Any]]:
        over = {"score": state.score(), "max_score": MAX_SCORE, "turns": len(state.history),
                "lives": state.life_tokens, "fireworks": {COLORS[c]: h for c, h in enumerate(state.fireworks)},
                "reason": end_reason(state),
                # the game is over (this is only ever sent then): each seat's last cards, face up
                "hands": [[_card({"color": COLORS[c], "rank": r}) for c, r in state.hand_cards(player)]
                          for player in range(NUM_PLAYERS)]}
        return NewOutcome(score=over["score"], total_reward=over["score"], k=None, turns=over["turns"]), over

    # --- what the person sees ---

    def started_fields(self, room: Room) -> dict[str, Any]:
        spec = self.agents.specs[self.role(room)]
        return {"agent": spec.label, "agent_detail": spec.detail, "lambda": self.lam(room.partner)}

    def state_fields(self, room: Room) -> dict[str, Any]:
        game = room.game
        log = self._logs.get(room)
        if log is None:
            log = self._logs[room] = MoveLog(room.seat)
        return {"view": person_view(game, room.seat, log.of(game)), "legal": legal_moves(game, room.seat),
                "score": game.score()}

    def public_prior(self, room: Room, record: dict[str, Any]) -> Any:
        return record["prior_shown"]

    def public_top(self, room: Room, top: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return []  # the moves the agent weighed name hints it could give, which tells what the person holds

    def agent_move_fields(self, room: Room, move: dict[str, Any], public: dict[str, Any],
                          record: dict[str, Any]) -> dict[str, Any]:
        return {"text": log_text(room.game.history[-1], room.seat), "agent": record["agent"]["label"],
                "agent_detail": self.agents.specs[record["agent"]["role"]].detail}

    # --- instructions ---

    def read(self, text: str) -> Reading:
        return self.reader.read(text)

    def instruction_record(self, room: Room, reading: Reading, adopt: bool):
        role = (room.partner.role or reading.prior.role) if adopt else self.role(room)
        spec = self.agents.specs[role]
        agent = {"role": role, "label": spec.label, "source": spec.source}
        definition = reading.prior.definition(reading.fields["backend"])
        return {"prior": definition, "agent": agent, "calls_for": reading.prior.role}, definition, {"agent": agent}

    def understanding_fields(self, room: Room, reading: Reading, stored: dict[str, Any]) -> dict[str, Any]:
        # A partner follows an instruction by choosing the agent it calls for (the instructed partner, whatever
        # its lambda) or by weighing its prior (lambda > 0: a study may give even the vanilla agent one).
        follows = room.partner.follows_instructions or room.lam > 0
        fields = {"prior": None, "agent": stored["agent"]["label"], "agent_role": stored["agent"]["role"],
                  "agent_detail": self.agents.specs[stored["agent"]["role"]].detail, "lambda": room.lam,
                  "follows_instructions": follows}
        if not follows:  # nothing to ask about: say that it is ignored instead
            fields |= {"clarify": False, "question": None, "choices": [], "partner_note": IGNORES_INSTRUCTIONS}
        return fields

    def reading_from_event(self, payload: dict[str, Any]) -> Reading:
        fields = {k: payload[k] for k in ("backend", "understood", "summary", "confidence", "clarify", "question")}
        return Reading(fields, ConventionsReading(payload["text"], payload["prior"]["conventions"],
                                                  payload["calls_for"]))

    # --- the agent ---

    def agent_turn(self, room: Room) -> AgentTurn:
        with room.lock:
            game, reading, seq, role = room.game, room.reading, room.instruction_seq, self.role(room)
        spec, agent = self.agents.specs[role], self.agents.get(role)
        legal, seat = game.legal_moves(), 1 - room.seat
        prior = shown = None
        if reading is not None:
            last_move = partner_last_move_text(game, seat)
            prior = self._prior(reading.prior.text, seq, game, seat, legal, last_move)
            shown = self._prior(reading.prior.text, seq, game, seat, publicly_possible_moves(game), last_move,
                                public=True)
        return AgentTurn(
            agent=agent, view=game, legal=legal,
            log_prior=None if prior is None else np.asarray(prior["log_probs"], dtype=np.float64),
            # the explanation says "you asked me" only when the adopted instruction called for the agent's convention
            asked=reading is not None and reading.prior.role == agent.convention,
            record={"prior": prior, "prior_shown": shown,
                    "agent": {"role": role, "label": spec.label, "source": spec.source}})

    def _prior(self, text: str, seq: int | None, game: HanabiGame, seat: int, uids: list[int], last_move: str,
               public: bool = False) -> dict[str, Any]:
        """PRIOR: the adopted instruction's prior over the moves `uids` of the agent (at `seat`) now (`public`:
        computed from what the person may know, see Reader.log_probs); `last_move`: the partner's last move's
        text (partner_last_move_text)."""
        logp = self.reader.log_probs(text, game, seat, uids, public=public, last_move=last_move)
        labels, probs, log_probs = _prior_lists(tuple(uids), logp.tobytes())
        return {"backend": self.reader.prior.name, "instruction": text, "instruction_seq": seq,
                "observation": last_move, "uids": uids,
                "labels": labels, "probs": probs, "log_probs": log_probs}


@functools.lru_cache(maxsize=4096)
def _prior_lists(uids: tuple[int, ...], logp: bytes) -> tuple[list[str], list[float], list[float]]:
    """A PRIOR's labels, rounded probabilities and log-probabilities, from the moves and the prior's float64
    bytes: the same prior recurs turn after turn (most conventions read only the partner's last move), and
    writing the lists took more CPU than finding the prior in its cache. The lists are shared between the
    messages and events that carry them, which only read them."""
    values = np.frombuffer(logp, dtype=np.float64)
    return ([move_name(u) for u in uids], [round(p, 4) for p in np.exp(values).tolist()],
            [round(x, 6) for x in values.tolist()])
