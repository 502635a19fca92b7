"""Every coordination metric of one game, from its stored events alone (plus the game's row): a pure
function, `score_game(row, events)`, that the score report and the dashboard share. docs/SCORING.md
defines each metric; tests/unit/test_scoring.py checks each on hand-built games.

`row` is the game's row as a mapping or an object with the `games` columns (`id` or `game_id`,
`participant_id` or `participant`, `game`, `agent`, `seed`, `config`, `status`, `created_at`, `ended_at`);
`events` are the game's events in `seq` order as the store reads them (`seq`, `turn`, `actor`, `type`,
`move`, `time` (ISO 8601), `payload`). A GameRecord from `Store.load_game` is both: `score_record(record)`.

The result, a `GameScore`: `row` (one flat dict, a line of games.csv) and `conventions` (one dict per
convention of an adopted instruction, the lines of conventions.csv).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping, Sequence

from agents.envs.hanabi.deduction import known_class, possible_cards
from agents.envs.hanabi.language import move_text as hanabi_move_text
from agents.envs.hanabi.rules import COLORS, MAX_SCORE, NUM_RANKS, HanabiGame, MoveType
from agents.envs.say_select import BOB_ACTION_TEXTS, NUM_BALLS, bob_observation_text
from agents.priors.conventions import CONVENTIONS
from agents.priors.conventions.hanabi import observation_text as hanabi_observation_text

KNOWLEDGE_CLASSES = ("color", "rank", "both", "none")
# A Say-Select reading by the table stand-in names the paper's instruction, which is copy-number.
CONVENTION_ALIASES = {"paper-instruction": "copy-number"}
HINT_PLAY = {"color-hint-play", "rank-hint-play", "any-hint-play"}     # a signal hint asks for a play
HINT_KEEP = {"hint-keep", "keep-hinted-by-color", "keep-hinted-by-rank"}  # a signal hint asks to keep
# Say-Select: what Alice should say for Bob's convention to score (docs/SCORING.md, "The person's adherence").
ALICE_RULES = ("copy-number", "select-next", "select-previous", "quit-on-repeat")
TIE = 1e-9  # two prior probabilities closer than this rank equal


KNOWLEDGE_COLUMNS = [f"{who}_{what}" for who in ("person", "agent")
                     for what in ("plays", *(f"known_{cls}" for cls in KNOWLEDGE_CLASSES))]
# games.csv, in order (docs/SCORING.md describes each column)
GAME_COLUMNS = [
    "game_id", "participant", "game", "partner", "study", "study_version", "condition", "group", "block", "round",
    "game_number", "seat", "lambda", "seed", "status", "created_at", "ended_at", "finished",
    "score", "total_reward", "k", "perfect", "bombed", "turns",
    "person_moves", "agent_moves", "median_move_s", "instructions_typed", "clarifications", "instructions_adopted",
    "explain_requests",
    "agent_prior_moves", "agent_top_share", "agent_top_chance", "agent_prior_mass", "agent_prior_uniform",
    "agent_prior_lift",
    "conventions", "main_convention", "person_adherence_n", "person_adherence", "agent_response_n", "agent_response",
    *KNOWLEDGE_COLUMNS,
]
CONVENTION_COLUMNS = ["game_id", "convention", "weight", "person_fit_n", "person_fit", "agent_fit_n", "agent_fit",
                      "signal_n", "signal_share", "response_n", "response_share"]


@dataclass
class GameScore:
    row: dict[str, Any]
    conventions: list[dict[str, Any]] = field(default_factory=list)


# ---------------------------------------------------------------- small readers


def _get(row: Any, *names: str, default: Any = None) -> Any:
    for name in names:
        if isinstance(row, Mapping):
            if name in row:
                return row[name]
        elif hasattr(row, name):
            return getattr(row, name)
    return default


def parse_time(value: Any) -> datetime | None:
    """An event's time: an ISO 8601 string ('...Z' allowed) or a datetime."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def condition_of(config: Mapping[str, Any], agent: str) -> tuple[str | None, str | None, str]:
    """(study id, condition, group): a study game's condition, a `condition` set in the config, or else the
    partner (`partner=<agent>`) as the group."""
    study = config.get("study") or {}
    condition = study.get("condition") or config.get("condition")
    return study.get("id"), condition, condition if condition else f"partner={agent}"


def _ratio(hits: int, n: int) -> float | None:
    return hits / n if n else None


@dataclass
class Tally:
    hits: int = 0
    n: int = 0

    def add(self, hit: bool) -> None:
        self.hits += bool(hit)
        self.n += 1

    @property
    def share(self) -> float | None:
        return _ratio(self.hits, self.n)


@dataclass
class ConventionTally:
    """What one convention's adherence counts over a game (docs/SCORING.md). `person_rule` says which tally
    is the person's adherence ("signal", "fit" or None: the convention asks nothing of the person), and
    `agent_rule` which is the agent's response ("response" or "fit")."""

    weight: float = 0.0
    person_rule: str | None = None
    agent_rule: str = "fit"
    person_fit: Tally = field(default_factory=Tally)    # the person's moves it ranks first, where it speaks
    agent_fit: Tally = field(default_factory=Tally)     # the agent's moves it ranks first, where it speaks
    signal: Tally = field(default_factory=Tally)        # the person's signals: hint kind / Alice's says
    response: Tally = field(default_factory=Tally)      # Hanabi: the signalled cards the agent answered
    signalled: dict[int, None] = field(default_factory=dict)  # Hanabi: agent cards (deck orders) signalled

    def person_adherence(self) -> Tally:
        return {"signal": self.signal, "fit": self.person_fit}.get(self.person_rule, Tally())

    def agent_response(self) -> Tally:
        return self.response if self.agent_rule == "response" else self.agent_fit


def rules_of(game: str, convention: Any) -> tuple[str | None, str]:
    """(person_rule, agent_rule) of a convention: docs/SCORING.md, "Adherence to the convention"."""
    if game == "hanabi":
        if convention.id in HINT_PLAY or convention.id in HINT_KEEP:
            return ("signal" if convention.hint_kind in ("color", "rank") else None), "response"
        return "fit", "fit"
    return ("signal" if convention.id in ALICE_RULES else None), "fit"


def _ranks_first(preferences: Any, index: int) -> bool | None:
    """Whether a convention ranks the move at `index` first (None: it does not speak here: no preference, or
    the same for every move)."""
    if preferences is None:
        return None
    values = [float(v) for v in preferences]
    if not values or max(values) - min(values) <= TIE:
        return None
    return values[index] >= max(values) - TIE


class Conventions:
    """The conventions of the adopted instruction in force, with their tallies over the game."""

    def __init__(self, game: str):
        self.game = game
        self.library = {c.id: c for c in CONVENTIONS[game]}
        self.in_force: list[str] = []
        self.tallies: dict[str, ConventionTally] = {}

    def adopt(self, payload: Mapping[str, Any]) -> None:
        ids = []
        for item in payload.get("understood") or []:
            if not isinstance(item, Mapping) or float(item.get("weight") or 0) <= 0:
                continue
            cid = CONVENTION_ALIASES.get(item.get("convention"), item.get("convention"))
            if cid in self.library and cid not in ids:
                ids.append(cid)
                tally = self.tallies.setdefault(cid, ConventionTally(0.0, *rules_of(self.game, self.library[cid])))
                tally.weight = max(tally.weight, float(item["weight"]))
        self.in_force = ids

    def each(self) -> Iterable[tuple[str, Any, ConventionTally]]:
        for cid in self.in_force:
            yield cid, self.library[cid], self.tallies[cid]

    def fit(self, who: str, observation: str, actions: Sequence[str], chosen: int) -> None:
        for _, convention, tally in self.each():
            first = _ranks_first(convention.prefer(observation, actions), chosen)
            if first is not None:
                (tally.person_fit if who == "human" else tally.agent_fit).add(first)


# ---------------------------------------------------------------- the agent's adherence to its prior


@dataclass
class PriorAdherence:
    moves: int = 0
    top: int = 0
    chance: float = 0.0   # sum over moves of (moves tied first) / (moves the prior covers)
    mass: float = 0.0     # sum of the prior's probability of the chosen move
    uniform: float = 0.0  # sum of 1 / (moves the prior covers)

    def add(self, probs: Sequence[float], chosen: int) -> None:
        total = float(sum(probs))
        if total <= 0 or not 0 <= chosen < len(probs):
            return
        p = [float(x) / total for x in probs]
        best = max(p)
        tied = sum(1 for x in p if x >= best - TIE)
        self.moves += 1
        self.top += p[chosen] >= best - TIE
        self.chance += tied / len(p)
        self.mass += p[chosen]
        self.uniform += 1.0 / len(p)

    def fields(self) -> dict[str, Any]:
        n = self.moves
        return {"agent_prior_moves": n,
                "agent_top_share": _ratio(self.top, n),
                "agent_top_chance": self.chance / n if n else None,
                "agent_prior_mass": self.mass / n if n else None,
                "agent_prior_uniform": self.uniform / n if n else None,
                "agent_prior_lift": self.mass / self.uniform if n else None}


def _say_select_chosen(move: Mapping[str, Any]) -> int:
    return NUM_BALLS if move.get("quit") else int(move["select"]) - 1


def _prior_choice(game: str, prior: Mapping[str, Any], move: Mapping[str, Any]) -> tuple[list[float], int] | None:
    """(the stored prior's probabilities, the chosen move's index among them), or None when it has none."""
    if not prior or not prior.get("probs"):
        return None
    if game == "hanabi":
        uids = list(prior.get("uids") or [])
        if move.get("uid") not in uids:
            return None
        return list(prior["probs"]), uids.index(move["uid"])
    return list(prior["probs"]), _say_select_chosen(move)


# ---------------------------------------------------------------- the whole game


def score_record(record: Any) -> GameScore:
    """`score_game` of a GameRecord (Store.load_game), or of anything with the row's fields and `events`."""
    return score_game(record, _get(record, "events", default=[]))


def score_game(row: Any, events: Sequence[Mapping[str, Any]]) -> GameScore:
    """Every metric of one game (docs/SCORING.md), from its events (in `seq` order) and its row."""
    events = sorted(events, key=lambda e: e["seq"])
    if not events or events[0]["type"] != "game_started":
        raise ValueError("a game's events must start with game_started")
    game = _get(row, "game")
    config = _get(row, "config", default={}) or {}
    agent = _get(row, "agent")
    study, condition, group = condition_of(config, agent)
    start = events[0]["payload"]
    over = next((e["payload"] for e in events if e["type"] == "game_over"), None)
    moves = [e for e in events if e["type"] == "move"]
    out: dict[str, Any] = {
        "game_id": _get(row, "id", "game_id"), "participant": _get(row, "participant_id", "participant"),
        "game": game, "partner": agent, "study": study, "study_version": (config.get("study") or {}).get("version"),
        "condition": condition, "group": group,
        "block": (config.get("study") or {}).get("block"), "round": (config.get("study") or {}).get("round"),
        "seat": config.get("seat", start.get("seat")), "lambda": config.get("lambda", start.get("lambda")),
        "seed": _get(row, "seed", default=start.get("seed")),
        "status": _get(row, "status"), "created_at": _iso(_get(row, "created_at") or events[0].get("time")),
        "ended_at": _iso(_get(row, "ended_at")), "finished": over is not None,
    }
    out.update(_outcome(game, over, moves))
    out.update(_process(events, moves))
    adherence = PriorAdherence()
    for e in moves:
        if e["actor"] == "agent":
            choice = _prior_choice(game, (e.get("payload") or {}).get("prior"), e["move"])
            if choice is not None:
                adherence.add(*choice)
    out.update(adherence.fields())
    conventions = Conventions(game)
    if game == "hanabi":
        knowledge = _replay_hanabi(events, conventions)
    elif game == "say-select":
        knowledge = {}
        _replay_say_select(events, conventions)
    else:
        raise ValueError(f"no scoring for game {game!r}")
    out.update(_adherence_summary(conventions))
    out.update(knowledge)
    return GameScore({column: out.get(column) for column in GAME_COLUMNS}, _convention_rows(out["game_id"], conventions))


def _iso(value: Any) -> str | None:
    """A time as the exports write it: ISO 8601 in UTC ('...Z'); naive datetimes are UTC (SQLite's)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        value = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    return str(value)


def _outcome(game: str, over: Mapping[str, Any] | None, moves: list[Mapping[str, Any]]) -> dict[str, Any]:
    """score, perfect, bombed, turns (docs/SCORING.md, "Outcome"); unfinished games have no score."""
    if over is None:
        return {"score": None, "total_reward": None, "k": None, "perfect": None, "bombed": None, "turns": len(moves)}
    if game == "hanabi":
        score = over["score"]
        return {"score": float(score), "total_reward": score, "k": None, "perfect": score == over.get("max_score", MAX_SCORE),
                "bombed": over.get("lives") == 0, "turns": over.get("turns", len(moves))}
    k, total = over.get("k"), over.get("total_reward")
    score = over.get("score", total / k if k else None)
    return {"score": None if score is None else float(score), "total_reward": total, "k": k,
            "perfect": total == k, "bombed": None, "turns": over.get("turns", len(moves))}


def _process(events: list[Mapping[str, Any]], moves: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Moves, the person's move times and their instructions (docs/SCORING.md, "Process")."""
    times: list[float] = []
    turn_began = parse_time(events[0].get("time"))
    for e in events:
        if e["type"] != "move":
            continue
        t = parse_time(e.get("time"))
        if e["actor"] == "human" and turn_began is not None and t is not None:
            times.append((t - turn_began).total_seconds())
        turn_began = t
    typed = [e["payload"] for e in events if e["type"] == "instruction" and e["actor"] == "human"]
    return {
        "person_moves": sum(e["actor"] == "human" for e in moves),
        "agent_moves": sum(e["actor"] == "agent" for e in moves),
        "median_move_s": statistics.median(times) if times else None,
        "instructions_typed": len(typed),
        "clarifications": sum(bool(p.get("clarify")) for p in typed),
        "instructions_adopted": sum(bool(p.get("adopted")) for p in typed),
        "explain_requests": sum(e["type"] == "explain_request" for e in events),
    }


# ---------------------------------------------------------------- Hanabi


def _replay_hanabi(events: list[Mapping[str, Any]], conventions: Conventions) -> dict[str, Any]:
    """Replay the game through the rules: knowledge of played cards per seat, and the conventions' tallies."""
    start = events[0]["payload"]
    deck = [(COLORS.index(n[0]), int(n[1]) - 1) for n in start["deck"]]
    game = HanabiGame(2, deck=deck)
    seat = int(start.get("seat", 0))
    knowledge = {who: dict.fromkeys(KNOWLEDGE_CLASSES, 0) for who in ("person", "agent")}
    agent_plays: set[int] = set()
    agent_discards: set[int] = set()
    for e in events:
        if e["type"] == "instruction" and e["payload"].get("adopted"):
            conventions.adopt(e["payload"])
            continue
        if e["type"] != "move":
            continue
        uid = int(e["move"]["uid"])
        player = game.current_player
        who = "human" if player == seat else "agent"
        if who != e["actor"]:
            raise ValueError(f"event {e['seq']}: the {e['actor']} moved on the {who}'s turn")
        move = game.move_from_uid(uid)
        if move.type is MoveType.PLAY:
            cls = known_class(possible_cards(game, player, move.card_index))
            knowledge["person" if who == "human" else "agent"][cls] += 1
        legal = game.legal_moves()
        conventions.fit(who, hanabi_observation_text(game, player), [hanabi_move_text(u, full=True) for u in legal],
                        legal.index(uid))
        if who == "human" and move.is_hint:
            _hanabi_signal(game, move, player, conventions)
        if who == "agent" and move.type in (MoveType.PLAY, MoveType.DISCARD):
            order = game.hands[player][move.card_index]
            (agent_plays if move.type is MoveType.PLAY else agent_discards).add(order)
        game.step(uid)
    for cid, tally in conventions.tallies.items():
        for order in tally.signalled:  # cid is a hint convention: its signals ask for a play, or to keep
            tally.response.add(order in agent_plays if cid in HINT_PLAY else order not in agent_discards)
    return _knowledge_fields(knowledge)


def _hanabi_signal(game: HanabiGame, move: Any, player: int, conventions: Conventions) -> None:
    """The person's hint, under each hint convention in force: its kind share, and the agent cards it signals."""
    kind = "color" if move.type is MoveType.REVEAL_COLOR else "rank"
    target = (player + 1) % 2
    touched = [order for order in game.hands[target]
               if (game.deck_cards[order] // NUM_RANKS == move.color if kind == "color"
                   else game.deck_cards[order] % NUM_RANKS == move.rank)]
    for cid, convention, tally in conventions.each():
        if cid not in HINT_PLAY and cid not in HINT_KEEP:
            continue
        wanted = convention.hint_kind
        if wanted in ("color", "rank"):
            tally.signal.add(kind == wanted)
        if wanted in ("any", kind):
            for order in touched:
                tally.signalled.setdefault(order, None)


def _knowledge_fields(counts: dict[str, dict[str, int]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for who, classes in counts.items():
        plays = sum(classes.values())
        out[f"{who}_plays"] = plays
        for cls in KNOWLEDGE_CLASSES:
            out[f"{who}_known_{cls}"] = _ratio(classes[cls], plays)
    return out


# ---------------------------------------------------------------- Say-Select


def _replay_say_select(events: list[Mapping[str, Any]], conventions: Conventions) -> None:
    """Replay Alice's says and Bob's selections: the person's rules for Bob's conventions, and Bob's fit."""
    balls = list(events[0]["payload"]["balls"])
    said: int | None = None
    previous: int | None = None   # Bob's previous selection 1..5 (None before he selects)
    for e in events:
        if e["type"] == "instruction" and e["payload"].get("adopted"):
            conventions.adopt(e["payload"])
            continue
        if e["type"] != "move":
            continue
        move = e["move"]
        if e["actor"] == "human":
            said = int(move["say"])
            _alice_rules(balls, said, previous, conventions)
            continue
        chosen = _say_select_chosen(move)
        conventions.fit("agent", bob_observation_text(previous, said), BOB_ACTION_TEXTS, chosen)
        if chosen != NUM_BALLS:
            balls[chosen] = -1
            previous = chosen + 1


def _alice_rules(balls: list[int], said: int, previous: int | None, conventions: Conventions) -> None:
    """Alice's say under Bob's conventions in force: does it make the convention score (docs/SCORING.md)?"""
    rewards_left = any(b == 1 for b in balls)
    for cid, _, tally in conventions.each():
        if cid == "quit-on-repeat":
            if not rewards_left and previous is not None:
                tally.signal.add(said == previous)
        elif cid in ALICE_RULES and rewards_left:
            ball = {"copy-number": said, "select-next": said % NUM_BALLS + 1,
                    "select-previous": (said - 2) % NUM_BALLS + 1}[cid]
            tally.signal.add(balls[ball - 1] == 1)


# ---------------------------------------------------------------- summaries


def _adherence_summary(conventions: Conventions) -> dict[str, Any]:
    """The game's two convention numbers, pooled over the conventions of the adopted instructions."""
    person, agent = Tally(), Tally()
    for tally in conventions.tallies.values():
        p, a = tally.person_adherence(), tally.agent_response()
        person.hits += p.hits
        person.n += p.n
        agent.hits += a.hits
        agent.n += a.n
    main = max(conventions.tallies.items(), key=lambda kv: kv[1].weight)[0] if conventions.tallies else None
    return {"conventions": ";".join(conventions.tallies) or None, "main_convention": main,
            "person_adherence_n": person.n, "person_adherence": person.share,
            "agent_response_n": agent.n, "agent_response": agent.share}


def _convention_rows(game_id: str, conventions: Conventions) -> list[dict[str, Any]]:
    rows = []
    for cid, t in conventions.tallies.items():
        rows.append({"game_id": game_id, "convention": cid, "weight": t.weight,
                     "person_fit_n": t.person_fit.n, "person_fit": t.person_fit.share,
                     "agent_fit_n": t.agent_fit.n, "agent_fit": t.agent_fit.share,
                     "signal_n": t.signal.n, "signal_share": t.signal.share,
                     "response_n": t.response.n, "response_share": t.response.share})
    return rows
