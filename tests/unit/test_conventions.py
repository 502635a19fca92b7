"""The convention library: the paper's Hanabi priors exactly (and their vectorised copy used in training),
each convention's preferences, the mixture, and ConventionsPrior on the paper's instructions (the last
ones load the sentence-embedding model)."""

import itertools

import numpy as np
import pytest
import torch

from agents.envs.hanabi.encoding import encode
from agents.envs.hanabi.language import PAPER_INSTRUCTIONS, history_item_text, move_text
from agents.envs.hanabi.rules import HanabiGame, HistoryItem, MoveType, all_moves
from agents.envs.say_select import BOB_ACTION_TEXTS, bob_observation_text
from agents.policies.hanabi_net import paper_prior_logits
from agents.priors.base import log_softmax
from agents.priors.conventions import CONVENTIONS, convention, mixture
from agents.priors.conventions.hanabi import PartnerMove, paper_logits, parse_action, parse_observation

MOVE_TEXTS = [move_text(uid) for uid in range(20)]  # HLE uid order: D A-E, P A-E, 5 colour, 5 rank hints


def partner_moves():
    """All 321 partner moves of the paper's table as (engine history item or None, touched slots)."""
    yield None, ()
    for uid, move in enumerate(all_moves(2)):
        if not move.is_hint:
            yield HistoryItem(player=1, move=move, uid=uid, card_order=10, color=0, rank=0), ()  # a red 1
            continue
        for size in range(1, 6):
            for slots in itertools.combinations(range(5), size):
                mask = sum(1 << s for s in slots)
                yield HistoryItem(player=1, move=move, uid=uid, reveal_bitmask=mask), slots


def expected_paper_logits(hint_type: MoveType, item, touched) -> np.ndarray:
    """instructrl.md 4.3, from the engine's moves: after a hint of `hint_type` touching S, L = 1 exactly
    for Play(i), i in S; after anything else, L = 1 exactly for the hints of `hint_type`."""
    moves = all_moves(2)[:20]
    if item is not None and item.move.type is hint_type:
        return np.array([m.type is MoveType.PLAY and m.card_index in touched for m in moves], dtype=float)
    return np.array([m.type is hint_type for m in moves], dtype=float)


@pytest.mark.parametrize("hint, hint_type", [("color", MoveType.REVEAL_COLOR), ("rank", MoveType.REVEAL_RANK)])
def test_paper_logits_match_the_rule_on_all_321_observations(hint, hint_type):
    items = list(partner_moves())
    assert len(items) == 321
    ones = 0
    for item, touched in items:
        L = paper_logits(hint, history_item_text(item), MOVE_TEXTS)
        np.testing.assert_array_equal(L, expected_paper_logits(hint_type, item, touched))
        ones += int(L.sum())
    assert ones == 1230  # the count in the paper's prior.pkl


@pytest.mark.parametrize("hint", ["color", "rank"])
def test_training_prior_on_encoded_observations_equals_paper_logits(hint):
    """policies.hanabi_net.paper_prior_logits, the vectorised form instructPPO and instructQ use, is paper_logits."""
    items = list(partner_moves())
    observations = np.stack([encode(game_whose_last_move_is(item), 0) for item, _ in items])
    expected = np.stack([paper_logits(hint, history_item_text(item), MOVE_TEXTS) for item, _ in items])
    np.testing.assert_array_equal(paper_prior_logits(torch.from_numpy(observations), hint).numpy(), expected)


def game_whose_last_move_is(item):
    """A game where player 0 is to move and `item` (player 1's move, or None) is the last move made."""
    game = HanabiGame(seed=0)
    if item is not None:
        game.history.append(item)
    return game


@pytest.mark.parametrize("hint", ["color", "rank"])
def test_paper_convention_prior_is_softmax_of_beta_L_over_legal_moves(hint):
    c = convention("hanabi", f"{hint}-hint-play")
    legal = MOVE_TEXTS[:10] + MOVE_TEXTS[15:]  # e.g. the colour hints illegal
    for item, _ in itertools.islice(partner_moves(), 0, 321, 7):
        text = history_item_text(item)
        for beta in (1.0, 2.0):
            p = mixture([(c, 1.0)], text, legal, beta)
            np.testing.assert_allclose(np.log(p), log_softmax(beta * paper_logits(hint, text, legal)), atol=1e-12)


def test_hanabi_observation_parser_reads_every_joining():
    assert parse_observation("My partner did nothing") == PartnerMove("none")
    assert parse_observation("My partner played their card at position D").positions == {3}
    assert parse_observation("My partner discarded their card at position A.").kind == "discard"
    for text in ("My partner told me that the rank of my cards at position A, B and E is 2",
                 "My partner told me that the rank of my cards at positions A, B, and E are 2",
                 "My partner told me that the rank of my cards at position A,B and E is 2"):
        assert parse_observation(text) == PartnerMove("hint", "rank", frozenset({0, 1, 4}), "2")
    with pytest.raises(ValueError, match="not a Hanabi observation"):
        parse_observation("the weather is fine")


def test_hanabi_action_parser():
    assert parse_action(" play my card at position C").position == 2
    assert parse_action(" hint 'color red' to my partner").hint == "color"
    assert parse_action(" hint rank to my partner").hint == "rank"
    assert parse_action(" fly away").kind == "other"


def preferred(game, convention_id, observation, actions):
    L = convention(game, convention_id).prefer(observation, actions)
    return None if L is None else [a for a, x in zip(actions, L) if x > 0]


def test_say_select_conventions():
    said3 = bob_observation_text(None, 3)
    repeat = bob_observation_text(3, 3)
    other = bob_observation_text(2, 5)
    A = BOB_ACTION_TEXTS
    assert preferred("say-select", "copy-number", said3, A) == [" 3"]
    assert preferred("say-select", "quit-on-repeat", repeat, A) == [" 0"]
    assert preferred("say-select", "quit-on-repeat", other, A) is None
    assert preferred("say-select", "select-next", other, A) == [" 1"]       # 5 + 1 wraps to 1
    assert preferred("say-select", "select-previous", bob_observation_text(None, 1), A) == [" 5"]
    assert preferred("say-select", "avoid-said-number", said3, A) == [" 1", " 2", " 4", " 5"]
    assert preferred("say-select", "never-quit", said3, A) == [" 1", " 2", " 3", " 4", " 5"]
    assert preferred("say-select", "quit-immediately", said3, A) == [" 0"]
    assert preferred("say-select", "quit-after-one", said3, A) is None
    assert preferred("say-select", "quit-after-one", other, A) == [" 0"]


def test_hanabi_conventions():
    hint = "My partner told me that the rank of my cards at position B and D is 2"
    play = "My partner played their card at position A"
    A = MOVE_TEXTS
    assert preferred("hanabi", "any-hint-play", hint, A) == [" play my card at position B", " play my card at position D"]
    assert set(preferred("hanabi", "any-hint-play", play, A)) == {" hint color to my partner", " hint rank to my partner"}
    kept = preferred("hanabi", "hint-keep", hint, A)
    assert " play my card at position B" not in kept and " discard my card at position D" not in kept
    assert " play my card at position A" in kept and " hint rank to my partner" in kept
    assert preferred("hanabi", "hint-keep", play, A) is None
    oldest = preferred("hanabi", "discard-oldest", play, A)  # when it discards, the oldest card; any other move
    assert " discard my card at position A" in oldest and " play my card at position C" in oldest
    assert not any(a in oldest for a in A if "discard" in a and a.endswith(("B", "C", "D", "E")))
    assert preferred("hanabi", "play-newest", play, A) == [" play my card at position E"]
    assert preferred("hanabi", "play-newest", play, A[:9]) == [" play my card at position D"]  # a 4-card hand
    assert set(preferred("hanabi", "hint-often", play, A)) == {" hint color to my partner", " hint rank to my partner"}
    assert not any("discard" in a for a in preferred("hanabi", "never-discard", play, A))


def test_every_convention_is_documented_and_answers_its_game():
    observations = {"say-select": bob_observation_text(2, 2),
                    "hanabi": "My partner told me that the color of my card at position A is red"}
    actions = {"say-select": BOB_ACTION_TEXTS, "hanabi": MOVE_TEXTS}
    for game, conventions in CONVENTIONS.items():
        assert len({c.id for c in conventions}) == len(conventions)
        for c in conventions:
            assert c.description and len(c.examples) >= 5
            assert c.negation is None or convention(game, c.negation)
            L = c.prefer(observations[game], actions[game])
            assert L is None or (len(L) == len(actions[game]) and (np.asarray(L) >= 0).all())


def test_mixture_conditional_overrides_and_remainder_is_uniform():
    copy, quit_on_repeat = convention("say-select", "copy-number"), convention("say-select", "quit-on-repeat")
    both = [(copy, 0.5), (quit_on_repeat, 0.5)]
    beta = np.log(45.0)
    on_repeat = mixture(both, bob_observation_text(3, 3), BOB_ACTION_TEXTS, beta)
    assert on_repeat.argmax() == 5 and on_repeat[5] == pytest.approx(0.9)
    elsewhere = mixture(both, bob_observation_text(1, 3), BOB_ACTION_TEXTS, beta)
    assert elsewhere.argmax() == 2 and elsewhere[2] == pytest.approx(0.9)
    half = mixture([(copy, 0.5)], bob_observation_text(None, 3), BOB_ACTION_TEXTS, beta)
    assert half[2] == pytest.approx(0.5 * 0.9 + 0.5 / 6) and half.sum() == pytest.approx(1.0)
    assert np.allclose(mixture([], "My partner selected 3.", BOB_ACTION_TEXTS, beta), 1 / 6)


@pytest.fixture(scope="module")
def prior():
    from agents.priors.conventions import ConventionsPrior
    return ConventionsPrior()


@pytest.mark.parametrize("hint", ["color", "rank"])
def test_conventions_prior_reproduces_the_paper_hanabi_prior(prior, hint):
    for instruction in (PAPER_INSTRUCTIONS[hint], "Instruction: " + PAPER_INSTRUCTIONS[hint]):
        understood = prior.understand("hanabi", instruction)
        assert understood.understood == ((f"{hint}-hint-play", 1.0),) and not understood.clarify
        for item, _ in itertools.islice(partner_moves(), 0, 321, 5):
            text = history_item_text(item)
            expected = log_softmax(paper_logits(hint, text, MOVE_TEXTS))
            np.testing.assert_allclose(prior.log_probs("hanabi", instruction, text, MOVE_TEXTS), expected, atol=1e-12)


def test_conventions_prior_say_select_paper_instruction_matches_the_table_prior(prior):
    from agents.priors.table import PAPER_INSTRUCTION, TablePrior

    for prev, said in [(None, 1), (4, 2), (3, 3)]:
        text = bob_observation_text(prev, said)
        ours = prior.log_probs("say-select", PAPER_INSTRUCTION, text, BOB_ACTION_TEXTS)
        np.testing.assert_allclose(ours, TablePrior(0.9).log_probs("say-select", "", text, BOB_ACTION_TEXTS), atol=1e-12)


def test_conventions_prior_caches_and_hands_out_read_only_arrays(prior):
    args = ("say-select", "never quit", "My partner selected 2.", BOB_ACTION_TEXTS)
    first = prior.log_probs(*args)
    assert prior.log_probs(*args) is first and not first.flags.writeable
    assert np.exp(first).sum() == pytest.approx(1.0)
    assert np.exp(first)[5] < np.exp(first)[0]
    off_topic = prior.log_probs("say-select", "what's the weather", "My partner selected 2.", BOB_ACTION_TEXTS)
    np.testing.assert_allclose(off_topic, np.log(1 / 6))


def test_conventions_that_do_not_read_the_table_give_the_same_prior_without_it():
    """The server writes the table (observation_text) only when a convention of the reading is situational,
    and gives the others the partner's last move alone (server/games/hanabi.Reader.log_probs): for every
    non-situational Hanabi convention, alone and in pairs, the prior must be the same either way."""
    import random

    from agents.envs.hanabi.language import partner_last_move_text
    from agents.priors.conventions.hanabi import CONVENTIONS as HANABI_CONVENTIONS, observation_text

    plain = [c for c in HANABI_CONVENTIONS if not c.situational]
    assert len(plain) >= 8 and any(c.situational for c in HANABI_CONVENTIONS)
    readings = [[(c, 1.0)] for c in plain] + [[(a, 0.6), (b, 0.4)] for a, b in itertools.combinations(plain, 2)]
    rng, compared = random.Random(0), 0
    for seed in range(60):
        game = HanabiGame(2, seed=seed)
        for _ in range(rng.randrange(0, 40)):
            if game.is_over():
                break
            game.step(rng.choice(game.legal_moves()))
        if game.is_over():
            continue
        player, actions = game.current_player, [move_text(u, full=True) for u in game.legal_moves()]
        with_table, without = observation_text(game, player), partner_last_move_text(game, player)
        for weighted in readings:
            assert np.array_equal(mixture(weighted, with_table, actions, 2.0), mixture(weighted, without, actions, 2.0))
            compared += 1
    assert compared > 1000
