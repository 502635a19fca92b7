"""Say-Select rules (one test per rule), the 25 evaluation configurations, masks, seeding, views and the
language of Bob's observations."""

import numpy as np
import pytest

from agents.envs.say_select import (
    ALICE,
    BOB,
    BOB_ACTION_TEXTS,
    EVAL_CONFIGURATIONS,
    QUIT,
    SaySelectEnv,
    bob_observation_text,
    bob_prior_table,
    evaluate,
)
from agents.priors import PAPER_INSTRUCTION, TablePrior


def intuitive_alice(obs):
    """Say a remaining reward ball; when none is left, repeat Bob's last selection."""
    balls, _, last = obs
    return balls.index(1) if 1 in balls else last


def intuitive_bob(obs):
    """Select the said ball; quit when Alice says the ball Bob just selected."""
    last_two = obs[2]
    return QUIT if len(last_two) == 2 and last_two[0] == last_two[1] else last_two[-1]


def new_env(balls=(1, -1, 1, -1, -1)):
    env = SaySelectEnv()
    env.reset(options={"balls": list(balls)})
    return env


def test_deal_has_one_to_three_reward_balls_at_varied_positions():
    env = SaySelectEnv()
    ks, positions = set(), set()
    for seed in range(200):
        obs, info = env.reset(seed=seed)
        balls = list(obs["balls"])
        assert len(balls) == 5 and set(balls) <= {1, -1}
        ks.add(balls.count(1))
        positions.update(i for i, v in enumerate(balls) if v == 1)
        assert info["k"] == balls.count(1)
    assert ks == {1, 2, 3}
    assert positions == {0, 1, 2, 3, 4}


def test_alice_acts_first_and_players_alternate():
    env = new_env()
    assert env.active_player == ALICE
    env.step(0)
    assert env.active_player == BOB
    env.step(1)
    assert env.active_player == ALICE


def test_saying_earns_nothing_and_changes_no_ball():
    env = new_env()
    _, reward, done, _, _ = env.step(2)
    assert reward == 0 and not done
    assert env.balls == [1, -1, 1, -1, -1]


def test_selecting_earns_the_ball_value_and_sets_it_to_minus_one():
    env = new_env()
    env.step(0)
    _, reward, _, _, _ = env.step(0)
    assert reward == 1 and env.balls[0] == -1
    env.step(0)
    _, reward, _, _, _ = env.step(0)  # the same ball again
    assert reward == -1
    env.step(1)
    _, reward, _, _, _ = env.step(1)  # a -1 ball
    assert reward == -1


def test_quit_earns_zero_and_ends_the_game_at_once():
    env = new_env()
    env.step(0)
    _, reward, done, _, info = env.step(QUIT)
    assert reward == 0 and done
    assert info["action_mask"].sum() == 0
    with pytest.raises(RuntimeError, match="game is over"):
        env.step(0)


def test_game_lasts_ten_steps_and_does_not_end_when_reward_balls_run_out():
    env = new_env((1, -1, -1, -1, -1))
    rewards, done, steps = [], False, 0
    while not done:
        _, reward, done, _, _ = env.step(0)  # Alice says 1, Bob selects ball 1, five times
        rewards.append(reward)
        steps += 1
    assert steps == 10
    assert rewards[1::2] == [1, -1, -1, -1, -1]
    assert env.total_reward == -3 and env.score == pytest.approx(-3.0)


def test_reward_is_shared_and_score_is_total_over_k():
    env = new_env((1, 1, -1, -1, -1))
    for action in (0, 0, 1, 1, 1, QUIT):
        env.step(action)
    assert env.total_reward == 2 and env.k == 2 and env.score == 1.0


def test_legal_action_masks():
    env = new_env()
    _, info = env.reset(options={"balls": [1, -1, -1, -1, -1]})
    assert info["action_mask"].tolist() == [1, 1, 1, 1, 1, 0]  # Alice cannot quit
    _, _, _, _, info = env.step(4)
    assert info["action_mask"].tolist() == [1, 1, 1, 1, 1, 1]  # Bob can
    with pytest.raises(ValueError, match="illegal action"):
        new_env().step(QUIT)
    with pytest.raises(ValueError, match="illegal action"):
        new_env().step(7)


def test_seeding_reproduces_deals():
    env = SaySelectEnv()
    first = [env.reset(seed=s)[0]["balls"].tolist() for s in range(20)]
    again = [env.reset(seed=s)[0]["balls"].tolist() for s in range(20)]
    assert first == again
    assert len({tuple(b) for b in first}) > 5


def test_reset_with_a_given_configuration_checks_it():
    with pytest.raises(ValueError, match="each \\+1 or -1"):
        SaySelectEnv().reset(options={"balls": [1, 0, -1, -1, -1]})
    with pytest.raises(ValueError, match="1..3 reward balls"):
        SaySelectEnv().reset(options={"balls": [1, 1, 1, 1, -1]})


def test_views_are_keyed_as_in_the_paper_code():
    env = new_env()
    assert env.observe(ALICE) == ((1, -1, 1, -1, -1), 0, ())
    assert env.observe(BOB) == ((), 0, ())
    env.step(2)
    assert env.observe(BOB) == ((), 1, (2,))
    env.step(2)
    assert env.observe(ALICE) == ((1, -1, -1, -1, -1), 0, 2)
    env.step(0)
    assert env.observe(BOB) == ((), 1, (2, 0))


def test_observation_is_in_the_declared_space():
    env = SaySelectEnv()
    obs, _ = env.reset(seed=3)
    assert env.observation_space.contains(obs)
    obs, *_ = env.step(1)
    assert env.observation_space.contains(obs)
    assert obs["last_actions"].tolist() == [-1, 1]


def test_text_rendering():
    env = SaySelectEnv(render_mode="ansi")
    env.reset(options={"balls": [1, -1, 1, -1, -1]})
    env.step(2)
    env.step(2)
    text = env.render()
    assert "1:+1  2:-1  3:-1" in text
    assert "Alice says 3, Bob selects 3" in text
    assert "step 3/10, Alice to act" in text


def test_the_25_evaluation_configurations():
    assert len(EVAL_CONFIGURATIONS) == len(set(EVAL_CONFIGURATIONS)) == 25
    counts = [c.count(1) for c in EVAL_CONFIGURATIONS]
    assert [counts.count(k) for k in (1, 2, 3)] == [5, 10, 10]
    assert EVAL_CONFIGURATIONS[0] == (1, -1, -1, -1, -1)


def test_intuitive_policy_scores_one_and_always_quitting_scores_zero():
    assert evaluate(intuitive_alice, intuitive_bob) == 1.0
    assert evaluate(intuitive_alice, lambda obs: QUIT) == 0.0
    assert evaluate(lambda obs: 0, lambda obs: obs[2][-1]) < 0


def test_bob_observation_text():
    assert bob_observation_text(None, 3) == "My partner selected 3."
    assert bob_observation_text(2, 5) == "I selected 2 before. My partner selected 5."
    assert BOB_ACTION_TEXTS[5] == " 0"


def test_bob_prior_table_asks_the_prior_for_every_observation():
    class Recorder(TablePrior):
        def __init__(self):
            super().__init__(0.9)
            self.calls = []

        def log_probs(self, game, instruction, observation, actions):
            self.calls.append((game, instruction, observation, tuple(actions)))
            return super().log_probs(game, instruction, observation, actions)

    prior = Recorder()
    table = bob_prior_table(prior, PAPER_INSTRUCTION)
    assert table.shape == (6, 5, 6)
    assert len(prior.calls) == 30
    assert ("say-select", PAPER_INSTRUCTION, "I selected 4 before. My partner selected 2.",
            tuple(BOB_ACTION_TEXTS)) in prior.calls
    probs = np.exp(table)
    assert np.allclose(probs.sum(-1), 1.0)
    assert probs[0, 2, 2] == pytest.approx(0.9) and probs[4, 1, 1] == pytest.approx(0.9)
    assert probs[4, 1, QUIT] == pytest.approx(0.02)
