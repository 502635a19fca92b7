"""Who plays what: balanced between-subjects assignment, Latin-square block orders, matched deals, and the
pages a participant goes through.

- Condition: each arrival goes to a condition with the fewest living participants (active or completed;
  abandoned ones free their place) among those below their target; ties are broken at random.
- Slot: within a condition a participant takes the lowest free slot 0, 1, 2... (an abandoned participant's
  slot is taken again by the next arrival to that condition).
- Order: the slot picks a row of a Latin square over the blocks (a Williams design: each block comes first,
  and follows each other block, equally often), so orders are used equally within every condition.
- Deals: the slot picks the seeds. The participant in slot n plays, as their j-th game of a game type,
  seed `seeds[(n * G + j) % len(seeds)]`, G being the games of that type each participant plays. The list
  is the same for every condition, so slot n sees the same deals in every condition (matched deals), and
  one participant's G seeds are distinct (the study check makes sure the list is long enough).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from server.studies.spec import Study


def williams_square(n: int) -> list[list[int]]:
    """Rows of a Latin square over 0..n-1 balanced for first-order carry-over (Williams, 1949): n rows
    when n is even, 2n when n is odd (each row and its mirror)."""
    if n < 1:
        return []
    first, low, high = [0], 1, n - 1
    while len(first) < n:
        first.append(low)
        low += 1
        if len(first) < n:
            first.append(high)
            high -= 1
    rows = [[(x + r) % n for x in first] for r in range(n)]
    if n % 2 == 1 and n > 1:
        rows += [list(reversed(row)) for row in rows]
    return rows


def choose_condition(counts: dict[str, int], targets: dict[str, int], rng: random.Random) -> str | None:
    """A condition with the fewest living participants among those below their target (ties at random);
    None when every condition is full."""
    open_ = [c for c in targets if counts.get(c, 0) < targets[c]]
    if not open_:
        return None
    fewest = min(counts.get(c, 0) for c in open_)
    return rng.choice(sorted(c for c in open_ if counts.get(c, 0) == fewest))


def free_slot(taken: set[int]) -> int:
    slot = 0
    while slot in taken:
        slot += 1
    return slot


def block_order(study: Study, slot: int) -> list[str]:
    ids = [b.id for b in study.blocks]
    if study.order == "as-listed":
        return ids
    rows = williams_square(len(ids))
    return [ids[i] for i in rows[slot % len(rows)]]


@dataclass(frozen=True)
class Plan:
    """A participant's place as fixed at assignment: block order, deals and pages."""

    order: list[str]
    seeds: list[dict[str, Any]]      # [{"block", "round", "game", "seed"}] in the order played
    pages: list[dict[str, Any]]


def plan(study: Study, condition_id: str, slot: int) -> Plan:
    """The pages of the participant in `slot` of `condition_id`: per block (in their order) each game, the
    game's tutorial before the first game of it, a questionnaire after each game; then the final
    questionnaire and the completion page."""
    condition = study.condition(condition_id)
    seeds = deals(study, condition_id, slot)
    order = block_order(study, slot)
    pages: list[dict[str, Any]] = []
    seen: set[str] = set()
    played: list[dict[str, Any]] = []
    for block_id in order:
        game = condition.games[block_id].game
        for rnd in range(study.block(block_id).games):
            if game not in seen and game in study.tutorials:
                pages.append({"kind": "tutorial", "game": game})
            seen.add(game)
            seed = seeds[(block_id, rnd)]
            pages.append({"kind": "game", "block": block_id, "round": rnd, "game": game, "seed": seed})
            played.append({"block": block_id, "round": rnd, "game": game, "seed": seed})
            if "after_game" in study.questionnaires:
                pages.append({"kind": "questionnaire", "name": "after_game", "block": block_id, "round": rnd,
                              "game": game})
    if "end" in study.questionnaires:
        pages.append({"kind": "questionnaire", "name": "end"})
    pages.append({"kind": "done"})
    return Plan(order, played, pages)


def deals(study: Study, condition_id: str, slot: int) -> dict[tuple[str, int], int]:
    """(block id, round) -> seed for the participant in `slot`; counted over the blocks as listed (not as
    played), so the deal of a block does not depend on the participant's order."""
    condition = study.condition(condition_id)
    per_game: dict[str, int] = {}
    for block in study.blocks:
        game = condition.games[block.id].game
        per_game[game] = per_game.get(game, 0) + block.games
    seen: dict[str, int] = {}
    out = {}
    for block in study.blocks:
        game = condition.games[block.id].game
        for rnd in range(block.games):
            j = seen.get(game, 0)
            seen[game] = j + 1
            out[(block.id, rnd)] = study.seeds[(slot * per_game[game] + j) % len(study.seeds)]
    return out
