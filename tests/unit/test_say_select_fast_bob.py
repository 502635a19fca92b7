"""The server's Say-Select trainer (`train_bob_fast`, issue 16): the best-response evaluation against a brute
force, the check that a Bob follows his instruction wherever the game allows, the evaluation of many games at
once against `play_episode`, the early stop, and the Bob it keeps."""

import itertools

import numpy as np

from agents.envs.say_select import bob_prior_table, uniform_table
from agents.learn import say_select_q as sq
from agents.priors import PAPER_INSTRUCTION, TablePrior

INTUITIVE = np.array([[1, 2, 3, 4, 5], [0, 2, 3, 4, 5], [1, 0, 3, 4, 5], [1, 2, 0, 4, 5], [1, 2, 3, 0, 5],
                      [1, 2, 3, 4, 0]])


def greedy_of(matrix: np.ndarray) -> np.ndarray:
    """The paper's 6x5 matrix (ball 1..5, 0 = quit) as Bob's greedy actions (30,)."""
    return np.where(matrix == 0, sq.QUIT, matrix - 1).ravel()


def brute_best_response(bob: np.ndarray) -> float:
    """Every sequence of numbers Alice could say, on every evaluation configuration."""
    scores = []
    for mask, k in zip(sq.EVAL_MASKS, sq.EVAL_K):
        best = -10
        for said in itertools.product(range(5), repeat=5):
            balls, sel, total = int(mask), 0, 0
            for n in said:
                action = bob[sel * 5 + n]
                if action == sq.QUIT:
                    break
                total += 1 if balls >> action & 1 else -1
                balls &= ~(1 << action)
                sel = action + 1
            best = max(best, total)
        scores.append(best / k)
    return float(np.mean(scores))


def test_best_response_matches_a_brute_force():
    rng = np.random.default_rng(0)
    bobs = np.stack([greedy_of(INTUITIVE)] + [rng.integers(0, 6, 30) for _ in range(2)])
    assert np.allclose(sq.best_response(bobs), [brute_best_response(b) for b in bobs])
    assert sq.best_response(greedy_of(INTUITIVE)[None])[0] == 1.0


def test_a_needless_quit_makes_a_bob_unfaithful_and_the_needed_ones_do_not():
    table = bob_prior_table(TablePrior(0.9), PAPER_INSTRUCTION)
    assert sq.needless_departures(greedy_of(INTUITIVE), table) == 0  # the quits on a repeat are needed
    odd = INTUITIVE.copy()
    odd[5, 1] = 0  # quit when Alice says 2 after Bob took ball 5: no game needs that
    assert sq.needless_departures(greedy_of(odd), table) > 0
    assert not sq.faithful(greedy_of(odd), table, 0.25)
    assert sq.faithful(greedy_of(odd), uniform_table(), 0.0)  # lambda 0: no instruction to follow


def test_many_games_at_once_score_as_play_episode_scores_them():
    rng = np.random.default_rng(1)
    alice, bob = rng.integers(0, 5, (3, 192)), rng.integers(0, 6, (3, 30))
    one_by_one = [np.mean([sq.play_episode(a, b, m, [-1] * 10)[0] / k for m, k in zip(sq.EVAL_MASKS, sq.EVAL_K)])
                  for a, b in zip(alice, bob)]
    assert np.array_equal(sq.evaluate(alice, bob), one_by_one)


def test_training_stops_at_the_first_perfect_evaluation_of_a_faithful_bob():
    table = bob_prior_table(TablePrior(0.9), PAPER_INSTRUCTION)
    progress = []
    result = sq.train(sq.fast_seeds(1), table, [0.25] * 4, sq.FAST, progress=progress.append)
    epochs = result.eval_scores.shape[1]
    assert epochs < sq.FAST.episodes // sq.FAST.eval_every and result.eval_scores[:, -1].max() == sq.PERFECT
    assert result.eval_scores[:, :-1].max() < sq.PERFECT or epochs > 1
    assert progress[-1] == 1.0


def test_the_fast_bob_is_perfect_faithful_and_intuitive():
    table = bob_prior_table(TablePrior(0.9), PAPER_INSTRUCTION)
    bob = sq.train_bob_fast(table, 0.25, seed=9)
    assert bob.eval_score == sq.PERFECT and sq.is_intuitive(bob.conventions())
    assert np.array_equal(sq.train_bob_fast(table, 0.25, seed=9).q, bob.q)  # a seed trains the same Bob
    assert len(set(sq.fast_seeds(3)) | set(sq.fast_seeds(4))) == 2 * sq.FAST_CANDIDATES


def test_a_vanilla_fast_bob_learns_some_convention_of_his_own():
    bob = sq.train_bob_fast(uniform_table(), 0.0, seed=2)
    assert bob.eval_score == sq.PERFECT and bob.lam == 0.0
