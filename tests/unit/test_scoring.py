"""Every coordination metric (docs/SCORING.md) on hand-built games whose answers are worked out by hand.

The games are played through the real rules (agents/envs/hanabi/rules.py, the Say-Select env) and stored as
the server stores them (server/games/*.py: the move's protocol form, its reward, what it touched), with
server times chosen here, so each expected number below is derived in the comments beside it.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest

from agents.envs.hanabi.rules import COLORS, HanabiGame, standard_deck
from server.games.hanabi import applied as hanabi_applied
from server.games.hanabi import deck_from_names, log_entry
from server.games.say_select import SaySelectGame, agent_action_to_move
from server.research import stats
from server.research.scoring import score_game

T0 = datetime(2026, 11, 23, 10, 0, 0, tzinfo=timezone.utc)


def at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


class Recorder:
    """Builds a game's event list as the server stores it."""

    def __init__(self):
        self.events: list[dict] = []

    def add(self, turn: int, actor: str, type_: str, t: float, move=None, **payload) -> None:
        self.events.append({"seq": len(self.events), "turn": turn, "actor": actor, "type": type_, "move": move,
                            "time": at(t), "payload": payload})

    def instruction(self, turn: int, actor: str, t: float, conventions: list[tuple[str, float]], *,
                    adopted: bool = True, clarify: bool = False, text: str = "an instruction") -> None:
        self.add(turn, actor, "instruction", t, text=text, backend="conventions",
                 understood=[{"convention": c, "weight": w, "description": ""} for c, w in conventions],
                 summary="", confidence=0.9, clarify=clarify, question="which?" if clarify else None, adopted=adopted,
                 prior={"backend": "conventions", "conventions": [[c, w] for c, w in conventions]})


def full_deck(first: list[str]) -> list[str]:
    """`first` in draw order, then the rest of the 50 cards in the standard order."""
    rest = [f"{COLORS[c]}{r + 1}" for c, r in standard_deck()]
    for name in first:
        rest.remove(name)
    return first + rest


class HanabiScript(Recorder):
    def __init__(self, deck: list[str], seat: int = 0, participant: str = "p1"):
        super().__init__()
        self.seat = seat
        self.game = HanabiGame(2, deck=deck_from_names(deck))
        self.add(0, "system", "game_started", 0, game="hanabi", partner="instructed", seat=seat, seed=7,
                 participant=participant, deck=deck, **{"lambda": 1.0}, prior_backend="conventions",
                 agent_delay_ms=0, agents={"color": "/srv/secret/checkpoints/color.pt", "rank": "rulebot:rank",
                                           "vanilla": "/srv/secret/checkpoints/vanilla.pt"})

    def move(self, uid: int, t: float, prior: dict | None = None) -> None:
        turn = len(self.game.history)
        actor = "human" if self.game.current_player == self.seat else "agent"
        self.game, reward = hanabi_applied(self.game, uid)
        entry = log_entry(turn, self.game.history[-1], self.seat)
        public = {k: entry[k] for k in ("card", "scored", "touched") if k in entry}
        extra = {}
        if actor == "agent":
            extra = {"agent": {"role": "color", "label": "colour agent (color.pt)",
                               "source": "/srv/secret/checkpoints/color.pt"},
                     "lambda": 1.0, "prior": prior, "prior_shown": prior, "think_ms": 1.0, "delay_ms": 0.0,
                     "explanation": "because", "top": []}
        self.add(turn, actor, "move", t, move=entry["move"], reward=reward, **public, **extra)
        if self.game.is_over():
            g = self.game
            self.add(len(g.history), "system", "game_over", t, score=g.score(), max_score=25, turns=len(g.history),
                     lives=g.life_tokens, fireworks={COLORS[c]: h for c, h in enumerate(g.fireworks)}, reason="x")


def hanabi_prior(uids: list[int], probs: list[float]) -> dict:
    return {"backend": "conventions", "instruction": "x", "instruction_seq": 1, "observation": "",
            "uids": uids, "labels": [str(u) for u in uids], "probs": probs,
            "log_probs": [math.log(p) for p in probs]}


HINT_RED, HINT_1, PLAY_A, PLAY_B, DISCARD_A = 10, 15, 5, 6, 0


def hanabi_game() -> tuple[dict, list[dict]]:
    """The person (seat 0) holds Y3 G4 W4 B4 R3, the agent R1 Y2 R2 B1 G5; then W2, Y4, G3, W3, ... are drawn.

    t0 person hints red (touches the agent's R1 and R2)   t1 agent plays A = R1 (scores)
    t2 person hints 1s (touches B1)                        t3 agent plays B = R2 (scores)
       the person types an unclear instruction (clarify), and asks "why?"
    t4 person plays A = Y3 (misplay)                       t5 agent discards A = Y2
    t6 person plays A = G4 (misplay)                       t7 agent plays A = B1 (scores)
    t8 person plays A = W4: third misplay, score 0.
    """
    s = HanabiScript(full_deck(["Y3", "G4", "W4", "B4", "R3", "R1", "Y2", "R2", "B1", "G5", "W2", "Y4", "G3", "W3"]))
    s.instruction(0, "human", 1, [("color-hint-play", 1.0)], text="colour hints mean play")
    s.move(HINT_RED, 10)
    s.move(PLAY_A, 12, hanabi_prior([PLAY_A, 7, HINT_RED], [0.5, 0.3, 0.2]))
    s.move(HINT_1, 15)
    s.move(PLAY_B, 17, hanabi_prior([PLAY_A, PLAY_B, 10, 11], [0.25, 0.25, 0.25, 0.25]))
    s.instruction(4, "human", 20, [], adopted=False, clarify=True, text="do the thing")
    s.add(4, "human", "explain_request", 21, about_turn=3)
    s.move(PLAY_A, 27)
    s.move(DISCARD_A, 30, None)
    s.move(PLAY_A, 31)
    s.move(PLAY_A, 40, hanabi_prior([DISCARD_A, PLAY_A], [0.9, 0.1]))
    s.move(PLAY_A, 44)
    row = {"id": "h1", "participant_id": "p1", "game": "hanabi", "agent": "instructed", "seed": 7,
           "config": {"lambda": 1.0, "seat": 0}, "status": "over", "created_at": at(0), "ended_at": at(44)}
    return row, s.events


def test_hanabi_outcome_process_and_knowledge():
    row, events = hanabi_game()
    r = score_game(row, events).row
    # three misplays: the game is lost with 3 points on the table (R1 R2 B1), which scores 0
    assert (r["score"], r["perfect"], r["bombed"], r["turns"], r["finished"]) == (0.0, False, True, 9, True)
    assert (r["person_moves"], r["agent_moves"]) == (5, 4)
    # the person's moves came 10, 3, 10, 1 and 4 s after the agent's move (the first: after game_started)
    assert r["median_move_s"] == 4.0
    assert (r["instructions_typed"], r["clarifications"], r["instructions_adopted"], r["explain_requests"]) == (2, 1, 1, 1)
    # the agent's plays: R1 and R2 known red only (hinted red), B1 known a 1 only (hinted 1s): 2 colour, 1 rank
    assert r["agent_plays"] == 3
    assert r["agent_known_color"] == pytest.approx(2 / 3) and r["agent_known_rank"] == pytest.approx(1 / 3)
    assert r["agent_known_both"] == 0 and r["agent_known_none"] == 0
    # the person was never hinted: three plays of cards they knew nothing of
    assert (r["person_plays"], r["person_known_none"], r["person_known_color"]) == (3, 1.0, 0.0)
    assert (r["group"], r["condition"], r["study"]) == ("partner=instructed", None, None)


def test_hanabi_agent_adherence_to_the_prior():
    row, events = hanabi_game()
    r = score_game(row, events).row
    # priors at t1 (chose the 0.5 of 0.5/0.3/0.2: first), t3 (a four-way tie: first), t7 (chose 0.1 of 0.9/0.1);
    # t5 had no prior and does not count
    assert r["agent_prior_moves"] == 3
    assert r["agent_top_share"] == pytest.approx(2 / 3)
    assert r["agent_top_chance"] == pytest.approx((1 / 3 + 1 + 1 / 2) / 3)
    assert r["agent_prior_mass"] == pytest.approx((0.5 + 0.25 + 0.1) / 3)
    assert r["agent_prior_uniform"] == pytest.approx((1 / 3 + 1 / 4 + 1 / 2) / 3)
    assert r["agent_prior_lift"] == pytest.approx(0.85 / (13 / 12))


def test_hanabi_adherence_to_colour_hints_mean_play():
    row, events = hanabi_game()
    score = score_game(row, events)
    r, [c] = score.row, score.conventions
    assert c["convention"] == "color-hint-play" and c["weight"] == 1.0
    # the person's hints: red (colour) and 1s (rank): half were colour hints
    assert (c["signal_n"], c["signal_share"]) == (2, 0.5)
    # the red hint touched R1 and R2; the agent played both
    assert (c["response_n"], c["response_share"]) == (2, 1.0)
    # the convention from the person's seat: after the agent's moves it asks for a colour hint, and the person
    # gave one at t0 only (t2 a rank hint, t4 t6 t8 plays)
    assert (c["person_fit_n"], c["person_fit"]) == (5, 0.2)
    # from the agent's seat: t1 (after the red hint: play A or C) played A; t3 t5 t7 (after a rank hint or a
    # play: a colour hint) played, discarded, played
    assert (c["agent_fit_n"], c["agent_fit"]) == (4, 0.25)
    assert (r["person_adherence_n"], r["person_adherence"]) == (2, 0.5)
    assert (r["agent_response_n"], r["agent_response"]) == (2, 1.0)
    assert r["main_convention"] == "color-hint-play"


def test_keep_conventions_count_the_signalled_cards_not_discarded():
    # the same game read as "rank hints mean keep": the 1s hint signalled B1, which the agent played (kept)
    row, events = hanabi_game()
    events[1]["payload"]["understood"] = [{"convention": "keep-hinted-by-rank", "weight": 1.0}]
    [c] = score_game(row, events).conventions
    assert (c["signal_n"], c["signal_share"]) == (2, 0.5)     # one of the two hints was a rank hint
    assert (c["response_n"], c["response_share"]) == (1, 1.0)


def test_an_action_convention_is_scored_by_its_fit_from_both_seats():
    # "when you discard, discard your oldest card": it speaks only where a discard is legal (below 8 hint
    # tokens), and there it ranks every move but discarding a newer card first (it does not ask for a
    # discard). The person never discarded and the agent's one discard (t5) was of its oldest card, so
    # every move where it spoke fits it; at t0 (8 tokens) no discard is legal, so it is silent
    row, events = hanabi_game()
    events[1]["payload"]["understood"] = [{"convention": "discard-oldest", "weight": 1.0}]
    score = score_game(row, events)
    [c] = score.conventions
    assert (c["person_fit_n"], c["person_fit"]) == (4, 1.0)
    assert (c["agent_fit_n"], c["agent_fit"]) == (4, 1.0)
    assert score.row["person_adherence"] == 1.0 and score.row["agent_response"] == 1.0


def test_a_game_without_an_adopted_instruction_has_no_adherence():
    row, events = hanabi_game()
    events[1]["payload"]["adopted"] = False
    r = score_game(row, events).row
    assert (r["person_adherence"], r["agent_response"], r["conventions"]) == (None, None, None)
    assert r["instructions_adopted"] == 0


def test_an_unfinished_game_has_no_score_but_its_process():
    row, events = hanabi_game()
    events = events[:6]                                   # the start, the instruction and four moves
    row = {**row, "status": "abandoned"}
    r = score_game(row, events).row
    assert (r["finished"], r["score"], r["perfect"], r["bombed"], r["turns"]) == (False, None, None, None, 4)


# ---------------------------------------------------------------- Say-Select


class SaySelectScript(Recorder):
    def __init__(self, balls: list[int], participant: str = "p1", config: dict | None = None):
        super().__init__()
        self.game = SaySelectGame.from_balls(balls)
        self.add(0, "system", "game_started", 0, game="say-select", partner="instructq", seed=3,
                 participant=participant, balls=balls, k=balls.count(1), **{"lambda": 0.25}, seat=0,
                 **(config or {}))

    def say(self, n: int, t: float) -> None:
        turn = self.game.step
        self.game, reward = self.game.applied(n - 1)
        self.add(turn, "human", "move", t, move={"say": n}, reward=reward)

    def bob(self, action: int, t: float, probs: list[float]) -> None:
        turn = self.game.step
        self.game, reward = self.game.applied(action)
        self.add(turn, "agent", "move", t, move=agent_action_to_move(action), reward=reward,
                 prior={"labels": ["1", "2", "3", "4", "5", "quit"], "probs": probs, "backend": "conventions"},
                 bob="abc", **{"lambda": 0.25}, explanation="", top=[], think_ms=1.0, delay_ms=0.0)
        if self.game.over:
            g = self.game
            self.add(g.step, "system", "game_over", t, score=g.score, total_reward=g.total_reward, k=g.k, turns=g.step)


def say_select_game(participant: str = "p1", game_id: str = "s1", config: dict | None = None):
    """Balls +1 -1 +1 -1 -1 (k = 2). "Copy my number and quit when I repeat" (0.6 / 0.4), by the system.
    Alice says 1, Bob selects 1 (+1); Alice says 3, Bob selects 3 (+1); Alice says 3 again, Bob quits: 2 / 2."""
    s = SaySelectScript([1, -1, 1, -1, -1], participant)
    s.instruction(0, "system", 0.5, [("copy-number", 0.6), ("quit-on-repeat", 0.4)])
    s.say(1, 5)
    s.bob(0, 7, [0.9, 0.02, 0.02, 0.02, 0.02, 0.02])
    s.instruction(2, "human", 8, [], adopted=False, clarify=True, text="hmm")
    s.say(3, 9)
    s.bob(2, 11, [0.02, 0.02, 0.9, 0.02, 0.02, 0.02])
    s.say(3, 20)
    s.bob(5, 22, [0.1, 0.1, 0.4, 0.1, 0.1, 0.2])
    row = {"id": game_id, "participant_id": participant, "game": "say-select", "agent": "instructq", "seed": 3,
           "config": config or {"lambda": 0.25, "seat": 0}, "status": "over", "created_at": at(0), "ended_at": at(22)}
    return row, s.events


def test_say_select_every_metric():
    row, events = say_select_game()
    score = score_game(row, events)
    r = score.row
    assert (r["score"], r["total_reward"], r["k"], r["perfect"], r["bombed"], r["turns"]) == (1.0, 2, 2, True, None, 6)
    assert r["median_move_s"] == 5.0                                   # 5, 2 and 9 s
    assert (r["instructions_typed"], r["clarifications"], r["instructions_adopted"]) == (1, 1, 0)
    # Bob's priors: first at t1 and t3 (0.9), not at t5 (quit had 0.2 of 0.4 best); 6 actions each
    assert r["agent_prior_moves"] == 3 and r["agent_top_share"] == pytest.approx(2 / 3)
    assert r["agent_top_chance"] == pytest.approx(1 / 6)
    assert r["agent_prior_mass"] == pytest.approx(2 / 3) and r["agent_prior_uniform"] == pytest.approx(1 / 6)
    assert r["agent_prior_lift"] == pytest.approx(4.0)
    conventions = {c["convention"]: c for c in score.conventions}
    copy, repeat = conventions["copy-number"], conventions["quit-on-repeat"]
    # Alice named a +1 ball both times one was left (1, then 3); her third say came after they ran out
    assert (copy["signal_n"], copy["signal_share"]) == (2, 1.0)
    # Bob copied at t1 and t3, and quit at t5 where copy-number asked for 3
    assert (copy["agent_fit_n"], copy["agent_fit"]) == (3, pytest.approx(2 / 3))
    # with no +1 ball left Alice repeated Bob's last selection (3), and Bob quit on it
    assert (repeat["signal_n"], repeat["signal_share"]) == (1, 1.0)
    assert (repeat["agent_fit_n"], repeat["agent_fit"]) == (1, 1.0)
    assert (r["person_adherence_n"], r["person_adherence"]) == (3, 1.0)
    assert (r["agent_response_n"], r["agent_response"]) == (4, 0.75)
    assert r["main_convention"] == "copy-number" and r["person_plays"] is None


def test_say_select_shifted_conventions_and_the_paper_alias():
    row, events = say_select_game()
    events[1]["payload"]["understood"] = [{"convention": "select-next", "weight": 1.0}]
    [c] = score_game(row, events).conventions
    # select-next: Alice should say the ball before a +1 one: 1 -> ball 2 (-1), 3 -> ball 4 (-1): 0 of 2
    assert (c["signal_n"], c["signal_share"]) == (2, 0.0)
    assert (c["agent_fit_n"], c["agent_fit"]) == (3, 0.0)             # Bob wanted 2, 4, 4: selected 1, 3, quit
    events[1]["payload"]["understood"] = [{"convention": "paper-instruction", "weight": 1.0}]
    [c] = score_game(row, events).conventions
    assert c["convention"] == "copy-number" and c["signal_share"] == 1.0


def test_a_study_game_is_grouped_by_its_condition():
    row, events = say_select_game(config={"study": {"id": "st", "version": 2, "condition": "typed", "block": "b",
                                                    "round": 0}})
    r = score_game(row, events).row
    assert (r["study"], r["study_version"], r["condition"], r["group"], r["block"]) == ("st", 2, "typed", "typed", "b")


# ---------------------------------------------------------------- statistics


def test_t_quantiles_match_the_tables():
    assert stats.t_quantile(0.975, 1) == pytest.approx(12.7062, abs=1e-4)
    assert stats.t_quantile(0.975, 10) == pytest.approx(2.2281, abs=1e-4)
    assert stats.t_quantile(0.975, 1000) == pytest.approx(1.9623, abs=1e-4)
    assert stats.t_quantile(0.025, 4) == pytest.approx(-2.7764, abs=1e-4)


def test_mean_ci():
    e = stats.mean_ci([1, 2, 3, None])
    half = 4.3027 * 1 / math.sqrt(3)                                   # t(0.975, 2) * sd / sqrt(n)
    assert (e.value, e.n) == (2.0, 3)
    assert e.low == pytest.approx(2 - half, abs=1e-3) and e.high == pytest.approx(2 + half, abs=1e-3)
    assert stats.mean_ci([5]).low is None and stats.mean_ci([]).value is None


def test_bootstrap_and_permutation_are_seeded():
    a, b = [3, 4, 5, 6, 7], [1, 2, 3, 2, 1]
    d1 = stats.bootstrap_diff(a, b, seed=1, key="x", resamples=2000)
    d2 = stats.bootstrap_diff(a, b, seed=1, key="x", resamples=2000)
    assert d1 == d2 and d1.diff == pytest.approx(3.2)
    assert 0 < d1.low < 3.2 < d1.high
    # an exact permutation test of 5 against 5 has 252 splits; 4 are as extreme as this one (the two 3s
    # make the top five, and the bottom five, twice each): p ~ 0.016
    assert d1.p_permutation == pytest.approx(4 / 252, abs=0.01)
    assert stats.bootstrap_diff(a, b, seed=2, key="x", resamples=2000) != d1


def test_within_participant_slope():
    # two people, each exactly 0.5 better per game (different levels): the within slope is 0.5, its
    # bootstrap interval has zero width
    s = stats.within_slope({"a": ([1, 2, 3], [1, 1.5, 2]), "b": ([1, 2], [10, 10.5]), "c": ([1], [4])},
                           seed=0, key="k", resamples=200)
    assert s.slope == pytest.approx(0.5) and s.low == pytest.approx(0.5) and s.high == pytest.approx(0.5)
    assert (s.units, s.points) == (2, 5)
    one = stats.ols_slope([1, 2, 3, 4], [1, 3, 2, 4])
    assert one.slope == pytest.approx(0.8) and one.low < 0.8 < one.high


# ---------------------------------------------------------------- storing hand-built games (integration tests)


def store_game(store, row: dict, events: list[dict]) -> None:
    """Store a hand-built game through the store, as the server does: the game with its first event, then
    each event with the instruction or outcome it carries (the server stamps the times)."""
    from server.db.store import NewEvent, NewInstruction, NewOutcome

    def new(e: dict) -> NewEvent:
        return NewEvent(seq=e["seq"], turn=e["turn"], actor=e["actor"], type=e["type"], move=e["move"],
                        payload=e["payload"])

    store.create_game(game_id=row["id"], participant_id=row["participant_id"], game=row["game"], agent=row["agent"],
                      seed=row["seed"], config=row["config"], resume_token_hash="0" * 64, first_event=new(events[0]))
    for e in events[1:]:
        p = e["payload"]
        instruction = outcome = None
        if e["type"] == "instruction":
            instruction = NewInstruction(event_seq=e["seq"], text=p["text"], backend=p["backend"], prior=p["prior"],
                                         understood={k: p[k] for k in ("understood", "summary", "confidence", "clarify",
                                                                       "question", "adopted")})
        if e["type"] == "game_over":
            outcome = NewOutcome(score=p["score"], total_reward=p.get("total_reward", p["score"]), k=p.get("k"),
                                 turns=p["turns"])
        store.append(row["id"], [new(e)], instruction=instruction, outcome=outcome)


def say_select_scripted(game_id: str, participant: str, steps: list[tuple[int, int]], config: dict,
                        balls: tuple[int, ...] = (1, 1, -1, -1, -1)) -> tuple[dict, list[dict]]:
    """A Say-Select game of (say 1..5, Bob's action 0..5) steps under the paper's instruction."""
    s = SaySelectScript(list(balls), participant, {k: v for k, v in config.items() if k in ("study", "settings")})
    s.instruction(0, "system", 0.5, [("copy-number", 1.0)])
    t = 1.0
    for say, action in steps:
        s.say(say, t)
        s.bob(action, t + 1, [0.5 if i == action else 0.1 for i in range(6)])
        t += 2
    row = {"id": game_id, "participant_id": participant, "game": "say-select", "agent": "instructq", "seed": 3,
           "config": config, "status": "over" if s.game.over else "active", "created_at": at(0), "ended_at": at(t)}
    return row, s.events


PERFECT = [(1, 0), (2, 1), (3, 5)]       # +1, +1, quit: 2 / 2
HALF = [(1, 0), (2, 5)]                  # +1, quit: 1 / 2
ZERO = [(3, 2), (1, 0), (1, 5)]          # -1, +1, quit: 0 / 2


def test_scripted_say_select_scores():
    for steps, expected in ((PERFECT, 1.0), (HALF, 0.5), (ZERO, 0.0)):
        row, events = say_select_scripted("g", "p", steps, {})
        assert score_game(row, events).row["score"] == expected
