"""Assignment: balance over 1000 simulated arrivals (every condition within one of the others at every point,
Latin-square orders used equally), abandoned places refilled first, matched deals across conditions, no
deal twice for one participant, and the pages planned for a participant."""

from __future__ import annotations

import random
from collections import Counter
from itertools import permutations

import yaml

from server.studies import assignment, spec

ARRIVALS = 1000


def study_with(conditions: int, blocks: int, games_per_block: int = 1, seeds: int = 40) -> spec.Study:
    games = ["say-select", "hanabi"]
    return spec.parse(yaml.safe_dump({
        "id": "balance", "title": "t", "consent": {"version": "1", "text": "ok"},
        "tutorials": {"say-select": "s", "hanabi": "h"},
        "blocks": [{"id": f"b{i}", "games": games_per_block,
                    "settings": {"game": games[i % 2], "partner": "instructq" if i % 2 == 0 else "instructed"}}
                   for i in range(blocks)],
        "conditions": [{"id": f"c{i}"} for i in range(conditions)],
        "seeds": list(range(100, 100 + seeds)), "target_per_condition": 100_000, "completion": {"code": "X"},
        "questionnaires": {"after_game": {"items": [{"id": "q", "type": "text", "text": "?"}]},
                           "end": {"items": [{"id": "e", "type": "text", "text": "?"}]}},
    }))


def arrive(study: spec.Study, living: list[tuple[str, int]], rng: random.Random) -> tuple[str, int]:
    counts = Counter(c for c, _ in living)
    condition = assignment.choose_condition(counts, {c.id: c.target for c in study.conditions}, rng)
    slot = assignment.free_slot({s for c, s in living if c == condition})
    living.append((condition, slot))
    return condition, slot


def test_williams_squares_are_latin_and_balance_first_order_carry_over():
    for n in range(1, 7):
        rows = assignment.williams_square(n)
        assert len(rows) == (n if n % 2 == 0 or n == 1 else 2 * n)
        for row in rows:
            assert sorted(row) == list(range(n))
        for position in range(n):  # each block equally often at each position
            assert len(set(Counter(row[position] for row in rows).values())) == 1
        pairs = Counter((row[i], row[i + 1]) for row in rows for i in range(n - 1))
        assert len(set(pairs.values())) <= 1 and len(pairs) == n * (n - 1)  # each ordered pair equally often


def test_1000_arrivals_stay_balanced_at_every_point_and_use_every_order_equally():
    for n_conditions, n_blocks in [(2, 2), (3, 3), (4, 2)]:
        study = study_with(n_conditions, n_blocks)
        rng = random.Random(n_conditions * 10 + n_blocks)
        living: list[tuple[str, int]] = []
        orders: dict[str, Counter] = {c.id: Counter() for c in study.conditions}
        rows = [tuple(assignment.block_order(study, r)) for r in range(len(assignment.williams_square(n_blocks)))]
        for _ in range(ARRIVALS):
            condition, slot = arrive(study, living, rng)
            orders[condition][tuple(assignment.block_order(study, slot))] += 1
            counts = Counter(c for c, _ in living)
            sizes = [counts.get(c.id, 0) for c in study.conditions]
            assert max(sizes) - min(sizes) <= 1, sizes
            for used in orders.values():  # within a condition, orders used equally (within one)
                assert max(used[r] for r in rows) - min(used[r] for r in rows) <= 1
        assert len(set(rows)) == len(rows)
        total = sum(orders.values(), Counter())
        assert max(total.values()) - min(total.values()) <= n_conditions


def test_ties_are_broken_at_random():
    study = study_with(3, 1)
    first = Counter(arrive(study, [], random.Random(seed))[0] for seed in range(300))
    assert set(first) == {"c0", "c1", "c2"} and min(first.values()) > 60


def test_abandoned_places_are_refilled_first_with_the_same_slot():
    study = study_with(2, 2)
    rng = random.Random(1)
    living: list[tuple[str, int]] = []
    for _ in range(10):
        arrive(study, living, rng)
    living.remove(("c1", 2))  # abandoned: does not count toward balance, and frees its slot
    assert arrive(study, living, rng) == ("c1", 2)
    counts = Counter(c for c, _ in living)
    assert counts["c0"] == counts["c1"] == 5


def test_full_conditions_take_nobody():
    assert assignment.choose_condition({"a": 2, "b": 1}, {"a": 2, "b": 1}, random.Random(0)) is None
    assert assignment.choose_condition({"a": 2, "b": 0}, {"a": 2, "b": 1}, random.Random(0)) == "b"


def test_matched_deals_across_conditions_and_never_a_deal_twice():
    study = study_with(3, 3, games_per_block=2, seeds=30)
    for slot in range(40):
        plans = [assignment.plan(study, c.id, slot) for c in study.conditions]
        by_block = [{(d["block"], d["round"]): d["seed"] for d in p.seeds} for p in plans]
        assert by_block[0] == by_block[1] == by_block[2]  # the same deals in every condition
        for p in plans:
            for game in ("say-select", "hanabi"):
                seeds = [d["seed"] for d in p.seeds if d["game"] == game]
                assert len(seeds) == len(set(seeds))  # no deal twice
    # slots cover the list in turn: the first participants of a condition see different deals
    seen = [d["seed"] for slot in range(5) for d in assignment.plan(study, "c0", slot).seeds if d["game"] == "hanabi"]
    assert len(set(seen)) == len(seen) == 10


def test_a_deal_depends_on_the_block_not_on_the_order_it_is_played_in():
    study = study_with(2, 3)
    for slot in range(6):
        plan = assignment.plan(study, "c0", slot)
        assert {d["block"]: d["seed"] for d in plan.seeds} == {
            b: s for (b, _), s in assignment.deals(study, "c0", slot).items()}


def test_pages_tutorial_before_the_first_game_of_each_kind_then_questionnaires():
    study = study_with(2, 3)
    plan = assignment.plan(study, "c1", 1)
    kinds = [(p["kind"], p.get("game")) for p in plan.pages]
    first, second, third = (study.condition("c1").games[b].game for b in plan.order)
    assert kinds[:3] == [("tutorial", first), ("game", first), ("questionnaire", first)]
    assert kinds[-2:] == [("questionnaire", None), ("done", None)]
    assert sum(k == "tutorial" for k, _ in kinds) == 2 and sum(k == "game" for k, _ in kinds) == 3
    assert sorted(plan.order) == ["b0", "b1", "b2"] and plan.order in [list(p) for p in permutations(plan.order)]
