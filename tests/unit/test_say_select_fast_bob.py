"""The server's Say-Select trainer (`train_bob_fast`, issue 16): the check that a Bob follows his instruction
wherever the game allows, the evaluation of many games at once against `play_episode`, the early stop, and
the Bob it keeps."""

import numpy as np

from agents.envs.say_select import bob_prior_table, uniform_table
from agents.learn import say_select_q as sq
from agents.priors import PAPER_INSTRUCTION, TablePrior

INTUITIVE = np.array([[1, 2, 3, 4, 5], [0, 2, 3, 4, 5], [1, 0, 3, 4, 5], [1, 2, 0, 4, 5], [1, 2, 3, 0, 5],
                      [1, 2, 3, 4, 0]])
PAPER_PRIOR = bob_prior_table(TablePrior(0.9), PAPER_INSTRUCTION)


def greedy_of(matrix: np.ndarray) -> np.ndarray:
    """The paper's 6x5 matrix (ball 1..5, 0 = quit) as Bob's greedy actions (30,)."""
    return np.where(matrix == 0, sq.QUIT, matrix - 1).ravel()


def test_a_faithful_bob_departs_from_his_instruction_only_to_quit_instead_of_retaking_his_ball():
    assert sq.faithful(greedy_of(INTUITIVE), PAPER_PRIOR, 0.25)  # quits on a repeated number
    never_quits = np.array([[1, 2, 3, 4, 5]] * 6)
    assert sq.faithful(greedy_of(never_quits), PAPER_PRIOR, 0.25)  # follows it everywhere (and plays badly)
    for prev, said, action in [(5, 2, 0), (4, 5, 0), (2, 2, 3), (0, 3, 4)]:
        odd = INTUITIVE.copy()
        odd[prev, said - 1] = action  # quits where the ball said is not the one he took, or picks another ball
        assert not sq.faithful(greedy_of(odd), PAPER_PRIOR, 0.25), (prev, said, action)
    assert sq.faithful(greedy_of(odd), uniform_table(), 0.0)  # lambda 0: no instruction to follow


def test_many_games_at_once_score_as_play_episode_scores_them():
    rng = np.random.default_rng(1)
    alice, bob = rng.integers(0, 5, (3, 192)), rng.integers(0, 6, (3, 30))
    one_by_one = [np.mean([sq.play_episode(a, b, m, [-1] * 10)[0] / k for m, k in zip(sq.EVAL_MASKS, sq.EVAL_K)])
                  for a, b in zip(alice, bob)]
    assert np.array_equal(sq.evaluate(alice, bob), one_by_one)
    assert sq.evaluate(np.zeros((1, 192), dtype=int), greedy_of(INTUITIVE)[None])[0] < sq.PERFECT


def test_training_stops_at_the_first_perfect_evaluation_of_a_faithful_bob():
    progress = []
    result = sq.train(sq.fast_seeds(1), PAPER_PRIOR, [0.25] * 4, sq.FAST, progress=progress.append)
    epochs = result.eval_scores.shape[1]
    assert epochs < sq.FAST.episodes // sq.FAST.eval_every and progress[-1] == 1.0
    (stopper,) = np.flatnonzero(result.stopped)
    assert result.eval_scores[stopper, -1] == sq.PERFECT and result.best_score[stopper] == sq.PERFECT
    assert sq.is_intuitive(result.conventions()[stopper])
    unstopped = sq.train([1], PAPER_PRIOR, [0.25], sq.Config(episodes=300))
    assert unstopped.eval_scores.shape == (1, 3) and not unstopped.stopped.any()


def test_the_fast_bob_is_perfect_and_intuitive_and_the_same_for_a_seed():
    bob = sq.train_bob_fast(PAPER_PRIOR, 0.25, seed=9)
    assert bob.eval_score == sq.PERFECT and sq.is_intuitive(bob.conventions())
    assert np.array_equal(sq.train_bob_fast(PAPER_PRIOR, 0.25, seed=9).q, bob.q)
    assert len(set(sq.fast_seeds(3)) | set(sq.fast_seeds(4))) == 2 * sq.FAST_CANDIDATES


def test_a_vanilla_fast_bob_learns_some_convention_of_his_own():
    bob = sq.train_bob_fast(uniform_table(), 0.0, seed=2)
    assert bob.eval_score == sq.PERFECT and bob.lam == 0.0
