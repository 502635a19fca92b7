"""The paper's Hanabi texts, the move names people read, and the readable view."""

from __future__ import annotations

import hashlib

import pytest

from agents.envs.hanabi.language import (
    PAPER_INSTRUCTIONS,
    PAPER_PROMPT,
    all_action_texts,
    all_partner_move_texts,
    move_name,
    move_text,
    partner_last_move_text,
    render_view,
)
from agents.envs.hanabi.rules import COLOR_NAMES, HanabiGame, Move, MoveType, standard_deck

# sha256 of the texts joined by newlines, in order, as stored in hengyuan-hu/instruct-rl@bc3827e
# pyhanabi/openai/meta_prompt5_color/hist2lang.pkl (values) and move2lang.pkl (distinct values).
PAPER_HISTORY_TEXTS_SHA256 = "ed17a44e521c3dbfa1dec44fb73bd17adbab849d83d542daa3a5ad3a57966128"
PAPER_ACTION_TEXTS_SHA256 = "af7e70af7b590063021e3136cd6f9569bc18cd4d14c95af98119ec08acf4418a"


def sha256_lines(texts: list[str]) -> str:
    return hashlib.sha256("\n".join(texts).encode()).hexdigest()


def game_with_partner_hand(*cards: tuple[int, int]) -> HanabiGame:
    """2 players; player 1 holds `cards` (colour, rank 0-4); player 0 holds the first five others."""
    rest = list(standard_deck())
    for card in cards:
        rest.remove(card)
    return HanabiGame(2, deck=rest[:5] + list(cards) + rest[5:])


def test_321_partner_move_texts_exactly_as_the_paper():
    texts = all_partner_move_texts()
    assert len(texts) == len(set(texts)) == 321
    assert texts[:3] == ["My partner did nothing", "My partner discarded their card at position A",
                         "My partner discarded their card at position B"]
    assert "My partner told me that the color of my cards at position A and E is red" in texts
    assert "My partner told me that the rank of my cards at position A, B and E is 2" in texts
    assert sha256_lines(texts) == PAPER_HISTORY_TEXTS_SHA256


def test_12_action_texts_exactly_as_the_paper():
    texts = all_action_texts()
    assert len(texts) == 12 and texts[:2] == [" play my card at position A", " discard my card at position A"]
    assert sha256_lines(texts) == PAPER_ACTION_TEXTS_SHA256
    assert {move_text(uid) for uid in range(20)} == set(texts)


@pytest.mark.parametrize("uid,text,full", [
    (0, " discard my card at position A", " discard my card at position A"),
    (9, " play my card at position E", " play my card at position E"),
    (10, " hint color to my partner", " hint 'color red' to my partner"),
    (19, " hint rank to my partner", " hint 'rank 5' to my partner"),
])
def test_move_texts(uid, text, full):
    assert move_text(uid) == text and move_text(uid, full=True) == full


def test_move_names_for_people():
    names = [move_name(uid) for uid in range(20)]
    assert names[:10] == [f"discard {p}" for p in "ABCDE"] + [f"play {p}" for p in "ABCDE"]
    assert names[10:] == [f"hint {c}" for c in COLOR_NAMES] + ["hint 1s", "hint 2s", "hint 3s", "hint 4s", "hint 5s"]


def test_partner_last_move_before_anything_is_nothing():
    assert partner_last_move_text(HanabiGame(2, seed=0), 0) == "My partner did nothing"


def test_partner_colour_hint_names_every_touched_position():
    game = game_with_partner_hand((0, 0), (1, 1), (0, 2), (2, 3), (0, 4))
    game.step(game.uid_from_move(Move(MoveType.REVEAL_COLOR, target_offset=1, color=0)))
    assert partner_last_move_text(game, 1) == \
        "My partner told me that the color of my cards at position A, C and E is red"
    assert partner_last_move_text(game, 0) == "My partner did nothing"


def test_partner_rank_hint_of_one_card_and_then_a_play():
    game = game_with_partner_hand((0, 0), (1, 1), (0, 2), (2, 3), (0, 4))
    game.step(game.uid_from_move(Move(MoveType.REVEAL_RANK, target_offset=1, rank=1)))
    assert partner_last_move_text(game, 1) == "My partner told me that the rank of my card at position B is 2"
    game.step(game.uid_from_move(Move(MoveType.PLAY, card_index=3)))
    assert partner_last_move_text(game, 0) == "My partner played their card at position D"
    assert partner_last_move_text(game, 1) == "My partner told me that the rank of my card at position B is 2"


def test_paper_texts_are_for_two_players():
    with pytest.raises(ValueError, match="2-player"):
        partner_last_move_text(HanabiGame(3, seed=0), 0)


def test_paper_prompt_fills_as_in_the_paper():
    prompt = PAPER_PROMPT.format(instruction=PAPER_INSTRUCTIONS["color"],
                                 prev_action="My partner told me that the color of my cards at position A and E is red",
                                 curr_action=move_text(5))
    assert prompt.endswith("Previously: My partner told me that the color of my cards at position A and E is red."
                           "\n\nQuestion: Should I play my card at position A?\n\nAnswer:")


def test_rendered_view_hides_own_cards_and_shows_the_partners():
    game = HanabiGame(2, seed=3)
    game.step(game.legal_moves()[-1])
    text = render_view(game, 1)
    for color, rank in game.hand_cards(0):
        assert f"{COLOR_NAMES[color]} {rank + 1};" in text
    own = game.hand_cards(1)
    own_lines = text.split("Your hand")[1].split("Player 0's hand")[0]
    assert all(f"{COLOR_NAMES[c]} {r + 1};" not in own_lines for c, r in own)
    assert "it is your turn" in text and "Moves since your last turn" in text
