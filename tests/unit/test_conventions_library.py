"""The conventions people ask for (issue #15): each one's preferences on hand-built positions, the table that
the situational Hanabi conventions read (written and read back), and their silence without it."""

import numpy as np
import pytest

from agents.envs.hanabi.language import move_text, partner_last_move_text
from agents.envs.hanabi.rules import (
    COLOR_HINT_UIDS,
    DISCARD_UIDS,
    PLAY_UIDS,
    RANK_HINT_UIDS,
    HanabiGame,
    standard_deck,
)
from agents.envs.say_select import BOB_ACTION_TEXTS, bob_observation_text
from agents.priors.conventions import CONVENTIONS, convention, mixture
from agents.priors.conventions.hanabi import observation_text, paper_logits, parse_action, parse_situation

R, Y, G, W, B = range(5)


def preferred_balls(convention_id: str, prev, said):
    L = convention("say-select", convention_id).prefer(bob_observation_text(prev, said), BOB_ACTION_TEXTS)
    return None if L is None else [BOB_ACTION_TEXTS[i].strip() for i in np.flatnonzero(L == L.max())]


def test_say_select_parity_and_order():
    assert preferred_balls("even-balls-only", None, 3) == ["2", "4"]
    assert preferred_balls("odd-balls-only", 2, 2) == ["1", "3", "5"]
    assert preferred_balls("select-in-order", None, 4) == ["1"]
    assert preferred_balls("select-in-order", 3, 1) == ["4"]
    assert preferred_balls("select-in-order", 5, 2) == ["0"]  # after ball 5: quit
    assert preferred_balls("select-previous", None, 1) == ["5"]  # before 1 comes 5
    assert preferred_balls("select-next", 2, 5) == ["1"]


def deal(mine, theirs) -> HanabiGame:
    """A game whose player 0 holds `mine` and player 1 `theirs` (A, the oldest, first), the rest in order."""
    dealt = list(mine) + list(theirs)
    rest = list(standard_deck())
    for card in dealt:
        rest.remove(card)
    return HanabiGame(2, deck=dealt + rest)


def prefers(game: HanabiGame, convention_id: str, uids=None) -> list[int] | None:
    """The uids of the legal moves (or `uids`) the convention prefers for the player to move, or None."""
    uids = game.legal_moves() if uids is None else uids
    L = convention("hanabi", convention_id).prefer(observation_text(game, game.current_player),
                                                   [move_text(u, full=True) for u in uids])
    return None if L is None else [u for u, x in zip(uids, L) if x == L.max() and np.ptp(L) > 0] or list(uids)


def test_the_table_is_written_and_read_back():
    game = deal([(R, 0), (Y, 1), (G, 2), (W, 3), (B, 4)], [(R, 4), (Y, 0), (G, 0), (W, 1), (B, 2)])
    game.step(RANK_HINT_UIDS.start + 0)    # player 0 tells player 1 about their 1s (B and C)
    game.step(COLOR_HINT_UIDS.start + R)   # player 1 tells player 0 about red (A)
    text = observation_text(game, 0)
    assert text.startswith(partner_last_move_text(game, 0) + "\n")
    table = parse_situation(text)
    assert table.fireworks == (0, 0, 0, 0, 0) and table.hint_tokens == 6 and table.discards == ()
    assert table.mine[0].told_color and not table.mine[0].told_rank
    assert all(code // 5 == R for code in table.mine[0].possible)
    assert [c.code for c in table.partner] == [R * 5 + 4, Y * 5, G * 5, W * 5 + 1, B * 5 + 2]
    assert [c.told_rank for c in table.partner] == [False, True, True, False, False]
    assert table.chop() == 0 and table.critical(R * 5 + 4) and not table.critical(Y * 5)
    assert parse_situation(partner_last_move_text(game, 0)) is None


def test_save_critical_hints_a_critical_chop_and_keeps_hinted_criticals():
    game = deal([(R, 0), (Y, 1), (G, 2), (W, 3), (B, 2)], [(R, 4), (Y, 0), (G, 0), (W, 1), (B, 1)])
    saves = prefers(game, "save-critical")  # the partner's chop (A) is red 5: hint red or hint 5
    assert set(saves) == {COLOR_HINT_UIDS.start + R, RANK_HINT_UIDS.start + 4}
    assert move_text(RANK_HINT_UIDS.start + 4, full=True) == " hint 'rank 5' to my partner"

    game = deal([(B, 4), (Y, 1), (G, 2), (W, 3), (R, 2)], [(R, 0), (Y, 0), (G, 0), (W, 1), (B, 1)])
    game.step(RANK_HINT_UIDS.start + 0)  # player 0 tells player 1 about their 1s: their chop is now the white 2
    game.step(RANK_HINT_UIDS.start + 4)  # player 1 tells player 0 about the 5 (A)
    kept = prefers(game, "save-critical")
    assert DISCARD_UIDS.start + 0 not in kept and DISCARD_UIDS.start + 1 in kept and PLAY_UIDS.start + 0 in kept
    calm = deal([(R, 0), (Y, 1), (G, 2), (W, 3), (B, 2)], [(R, 0), (Y, 0), (G, 0), (W, 1), (B, 1)])
    assert prefers(calm, "save-critical") is None  # nothing critical in sight: silent


def test_play_ones_first_plays_known_ones():
    game = deal([(R, 2), (Y, 0), (G, 2), (W, 3), (B, 2)], [(R, 0), (Y, 1), (G, 0), (W, 1), (B, 1)])
    game.step(RANK_HINT_UIDS.start + 0)  # player 0 tells player 1 about their 1s (A and C)
    assert prefers(game, "play-ones-first") == [PLAY_UIDS.start + 0, PLAY_UIDS.start + 2]
    fresh = deal([(R, 2), (Y, 0), (G, 2), (W, 3), (B, 2)], [(R, 0), (Y, 1), (G, 0), (W, 1), (B, 1)])
    assert prefers(fresh, "play-ones-first") is None  # no known 1


def test_hint_only_certain_and_play_only_certain():
    game = deal([(R, 2), (Y, 0), (G, 2), (W, 3), (B, 2)], [(R, 0), (Y, 1), (G, 3), (W, 1), (B, 4)])
    allowed = prefers(game, "hint-only-certain")
    assert COLOR_HINT_UIDS.start + R in allowed and RANK_HINT_UIDS.start + 0 in allowed  # both touch red 1
    assert COLOR_HINT_UIDS.start + Y not in allowed and RANK_HINT_UIDS.start + 4 not in allowed
    assert PLAY_UIDS.start + 0 in allowed  # plays and discards are free
    assert prefers(game, "play-only-certain") == [u for u in game.legal_moves() if u not in PLAY_UIDS]
    game.step(RANK_HINT_UIDS.start + 0)  # player 0 tells player 1 about their 1 at A: a sure play
    sure = prefers(game, "play-only-certain")
    assert PLAY_UIDS.start + 0 in sure and PLAY_UIDS.start + 1 not in sure


def test_keep_hinted_by_one_kind_only():
    game = deal([(R, 2), (Y, 0), (G, 2), (W, 3), (B, 2)], [(R, 0), (Y, 1), (G, 3), (W, 1), (B, 4)])
    game.step(COLOR_HINT_UIDS.start + G)  # player 0 tells player 1 about green (C)
    kept = prefers(game, "keep-hinted-by-color")
    assert PLAY_UIDS.start + 2 not in kept and PLAY_UIDS.start + 0 in kept
    assert prefers(game, "keep-hinted-by-rank") is None  # a colour hint: the rank convention is silent


@pytest.mark.parametrize("cid", [c.id for c in CONVENTIONS["hanabi"] if c.situational])
def test_situational_conventions_are_silent_on_the_papers_texts(cid):
    game = deal([(R, 2), (Y, 0), (G, 2), (W, 3), (B, 2)], [(R, 4), (Y, 1), (G, 3), (W, 1), (B, 4)])
    L = convention("hanabi", cid).prefer(partner_last_move_text(game, 0), [move_text(u) for u in game.legal_moves()])
    assert L is None


def test_the_papers_prior_is_the_same_on_full_hint_texts():
    game = deal([(R, 2), (Y, 0), (G, 2), (W, 3), (B, 2)], [(R, 4), (Y, 1), (G, 3), (W, 1), (B, 4)])
    game.step(COLOR_HINT_UIDS.start + G)
    legal = game.legal_moves()
    for hint in ("color", "rank"):
        full = paper_logits(hint, observation_text(game, 1), [move_text(u, full=True) for u in legal])
        short = paper_logits(hint, partner_last_move_text(game, 1), [move_text(u) for u in legal])
        np.testing.assert_array_equal(full, short)
    assert parse_action(" hint 'color green' to my partner").value == "green"
    assert parse_action(" hint rank to my partner").value is None


def test_mixture_of_play_on_colour_and_keep_on_rank():
    both = [(convention("hanabi", "color-hint-play"), 0.5), (convention("hanabi", "keep-hinted-by-rank"), 0.5)]
    game = deal([(R, 2), (Y, 0), (G, 2), (W, 3), (B, 2)], [(R, 0), (Y, 1), (G, 3), (W, 1), (B, 4)])
    game.step(RANK_HINT_UIDS.start + 0)  # a rank hint on player 1's A: keep it, do not play it
    legal = game.legal_moves()
    p = mixture(both, observation_text(game, 1), [move_text(u, full=True) for u in legal], 1.0)
    assert p[legal.index(PLAY_UIDS.start + 0)] < p[legal.index(PLAY_UIDS.start + 1)]
