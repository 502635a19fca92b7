"""instructQ for Say-Select: the table layout against the paper's observation keys, the game played by the
trainer against the environment, one batch update against a per-transition dict computation, the Adam
step, the convention check, a short learning run, and the Bob the server loads."""

import threading
from collections import defaultdict

import numpy as np
import pytest

from agents.envs.say_select import (
    ALICE,
    BOB,
    BOB_ACTIONS,
    EVAL_CONFIGURATIONS,
    QUIT,
    SaySelectEnv,
    bob_prior_table,
    uniform_table,
)
from agents.learn import say_select_q as sq
from agents.policies.say_select import SaySelectBob, SaySelectBobs
from agents.priors import PAPER_INSTRUCTION, TablePrior

INTUITIVE = [[1, 2, 3, 4, 5], [0, 2, 3, 4, 5], [1, 0, 3, 4, 5], [1, 2, 0, 4, 5], [1, 2, 3, 0, 5], [1, 2, 3, 4, 0]]
# The paper's two vanilla Q-learning conventions (icml_plot.py); both are optimal but not intuitive.
Q_POLICY1 = [[3, 4, 2, 5, 1], [3, 4, 2, 0, 5], [3, 4, 5, 0, 1], [0, 4, 2, 0, 1], [3, 0, 2, 0, 1], [3, 4, 2, 0, 1]]
Q_POLICY2 = [[1, 4, 5, 2, 3], [4, 4, 0, 2, 3], [1, 4, 0, 5, 3], [1, 4, 0, 2, 5], [1, 5, 0, 2, 3], [1, 4, 0, 2, 3]]


def table_prior(p=0.9):
    return bob_prior_table(TablePrior(p), PAPER_INSTRUCTION)


def random_games(n, seed=0):
    """(ball mask, random action per step) for n games where every step explores."""
    rng = np.random.default_rng(seed)
    games = []
    for _ in range(n):
        balls = EVAL_CONFIGURATIONS[rng.integers(len(EVAL_CONFIGURATIONS))]
        actions = [int(rng.integers(5 if t % 2 == 0 else 6)) for t in range(10)]
        games.append((balls, actions))
    return games


def env_transitions(balls, actions):
    """The paper's per-agent transitions (obs, action, reward, terminal, next_obs), no-op = -1."""
    env = SaySelectEnv()
    env.reset(options={"balls": list(balls)})
    out, done, t = [[], []], False, 0
    while not done:
        obs = [env.observe(ALICE), env.observe(BOB)]
        acting = env.active_player
        _, reward, done, _, _ = env.step(actions[t])
        for player in (ALICE, BOB):
            action = actions[t] if player == acting else -1
            out[player].append((obs[player], action, reward, done, env.observe(player)))
        t += 1
    return out


def play_record(balls, actions, alice_greedy=None, bob_greedy=None):
    alice_greedy = np.zeros(192, dtype=int) if alice_greedy is None else alice_greedy
    bob_greedy = np.zeros(30, dtype=int) if bob_greedy is None else bob_greedy
    return sq.play_episode(alice_greedy, bob_greedy, sq.ball_mask(balls), actions)


def test_trainer_plays_the_environment_rules():
    for balls, actions in random_games(300):
        total, record = play_record(balls, actions)
        transitions = env_transitions(balls, actions)[ALICE]
        n = len(transitions)
        assert record[sq.VALID] == [1] * n + [0] * (10 - n)
        assert record[sq.REWARD][:n] == [r for _, _, r, _, _ in transitions]
        assert total == sum(record[sq.REWARD])


def test_table_layout_is_a_bijection_with_the_paper_keys():
    """Every (agent, observation, action) key of the paper's dicts gets one Q entry and vice versa, and
    every next observation one observation id."""
    entry_of, key_of, obs_id_of = {}, {}, {}
    for balls, actions in random_games(3000, seed=1):
        _, record = play_record(balls, actions)
        for player, transitions in enumerate(env_transitions(balls, actions)):
            entries = record[(sq.ENTRY_ALICE, sq.ENTRY_BOB)[player]]
            next_ids = record[(sq.NEXT_OBS_ALICE, sq.NEXT_OBS_BOB)[player]]
            for t, (obs, action, _, terminal, next_obs) in enumerate(transitions):
                key = (player, obs, action)
                assert entries[t] == entry_of_key(*key)
                assert entry_of.setdefault(key, entries[t]) == entries[t]
                assert key_of.setdefault(entries[t], key) == key
                if terminal:
                    assert next_ids[t] == sq.OBS_TERMINAL
                else:
                    assert obs_id_of.setdefault((player, next_obs), next_ids[t]) == next_ids[t]
    assert max(entry_of.values()) < sq.N_ENTRIES
    # Bob's own-turn entries cover all 30 observations x 6 actions.
    assert sum(1 for player, obs, a in entry_of if player == BOB and obs[1] == BOB) == 180


def test_evaluate_scores_the_intuitive_policy_one():
    alice = np.zeros(192, dtype=int)
    for balls in range(32):
        for sel in range(6):
            reward_balls = [i for i in range(5) if balls >> i & 1]
            alice[balls * 6 + sel] = reward_balls[0] if reward_balls else max(sel - 1, 0)
    intuitive = np.array(INTUITIVE)
    bob = np.where(intuitive == 0, QUIT, intuitive - 1).ravel()
    assert sq.evaluate(alice[None], bob[None]).tolist() == [1.0]
    always_quit = np.full(30, QUIT)
    assert sq.evaluate(alice[None], always_quit[None]).tolist() == [0.0]


def test_training_deals_draw_k_uniformly_then_positions_uniformly():
    cfg = sq.Config(eval_every=30_000)
    draws = sq.draw_epoch([np.random.default_rng(0)], cfg)
    masks = np.array(draws.balls[0])
    k = np.array([bin(m).count("1") for m in masks])
    assert np.allclose(np.bincount(k, minlength=4)[1:] / len(k), 1 / 3, atol=0.015)
    for n in (1, 2, 3):  # within each k, every configuration about equally often
        counts = np.unique(masks[k == n], return_counts=True)[1]
        assert len(counts) == [5, 10, 10][n - 1] and counts.min() > 0.8 * counts.mean()
    explore = np.array(draws.random_action[0]) >= 0
    assert abs(explore.mean() - cfg.eps) < 0.01
    assert np.array(draws.random_action[0])[:, 0::2].max() == 4  # Alice never draws quit
    assert np.array(draws.random_action[0])[:, 1::2].max() == QUIT


def test_convention_check_matches_the_paper():
    assert sq.is_intuitive(np.array(INTUITIVE))
    assert not sq.is_intuitive(np.array(Q_POLICY1))
    assert not sq.is_intuitive(np.array(Q_POLICY2))
    lenient = np.array(INTUITIVE)
    lenient[3, 2] = 3  # selecting the repeated number instead of quitting still passes, as in the paper
    assert sq.is_intuitive(lenient)
    wrong_quit = np.array(INTUITIVE)
    wrong_quit[0, 0] = 0  # quitting before any selection fails
    assert not sq.is_intuitive(wrong_quit)


def test_adam_step_matches_the_paper_formula():
    adam = sq.TabularAdam(4, (0.9, 0.999), 1e-5)
    m = v = 0.0
    for t, g in enumerate([0.5, -0.2, 0.3, 0.1], start=1):
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        expected = (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-5)
        step = adam.step(np.array([2]), np.array([g]))
        assert step[0] == pytest.approx(expected, rel=1e-9)
    assert adam.m[[0, 1, 3]].tolist() == [0, 0, 0]  # untouched entries keep their state


def entry_of_key(player, obs, action):
    """The Q entry of a paper key (player, observation tuple, action), from the layout in say_select_q."""
    first, active, last = obs
    if player == ALICE:
        balls = sq.ball_mask(first)
        if active == ALICE:
            sel = 0 if last == () else last + 1
            return sq.Q_ALICE_ACTS + (balls * 6 + sel) * 5 + action
        return sq.Q_ALICE_WAITS + balls * 5 + last
    if active == BOB:
        sel = last[0] + 1 if len(last) == 2 else 0
        return sq.Q_BOB_ACTS + (sel * 5 + last[-1]) * 6 + action
    return sq.Q_BOB_WAITS + (0 if last == () else 1 + last[0] * 5 + last[1])


def test_batch_update_matches_a_per_transition_dict_computation():
    """One `learn` call equals the paper's update: per-transition VDN TD errors collected per
    (observation, action), averaged, through Adam, applied with lr."""
    cfg = sq.Config()
    rng = np.random.default_rng(5)
    q = rng.uniform(-1, 1, (1, sq.N_ENTRIES))
    log_prior = table_prior()[None]
    term = sq.bob_prior_terms(log_prior, np.array([0.25]))
    alice_greedy, bob_greedy, values = sq.greedy_policy(q, term)
    games = random_games(6, seed=7)
    buffer = sq.ReplayBuffer(1, 10)
    for balls, actions in games:
        buffer.add([play_record(balls, actions)[1]])
    draw = np.array([[0.05, 0.05, 0.2, 0.45, 0.9]])  # picks games 0, 0, 1, 2, 5
    picked = [games[i] for i in (draw[0] * len(games)).astype(int)]

    def q_of(player, obs, action):
        return q[0, entry_of_key(player, obs, action)]

    def greedy_value(player, obs):
        if obs[1] != player:
            return q_of(player, obs, -1)
        if player == ALICE:
            return max(q_of(ALICE, obs, a) for a in range(5))
        last = obs[2]
        prev = last[0] + 1 if len(last) == 2 else 0
        best = max(range(6), key=lambda a: q_of(BOB, obs, a) + 0.25 * log_prior[0, prev, last[-1], a])
        return q_of(BOB, obs, best)

    grads = defaultdict(list)
    for balls, actions in picked:
        alice_steps, bob_steps = env_transitions(balls, actions)
        for a_step, b_step in zip(alice_steps, bob_steps):
            reward, terminal = a_step[2], a_step[3]
            target = reward + (0 if terminal else greedy_value(ALICE, a_step[4]) + greedy_value(BOB, b_step[4]))
            td = target - q_of(ALICE, *a_step[0:2]) - q_of(BOB, *b_step[0:2])
            grads[entry_of_key(ALICE, *a_step[0:2])].append(td)
            grads[entry_of_key(BOB, *b_step[0:2])].append(td)
    expected = q.copy()
    for entry, gs in grads.items():
        g = np.mean(gs)  # the first Adam step: m_hat = g, v_hat = g^2
        expected[0, entry] += cfg.lr * g / (abs(g) + cfg.adam_eps)

    before = q.copy()
    adam = sq.TabularAdam(q.size, cfg.adam_betas, cfg.adam_eps)
    sq.learn(q, adam, buffer.sample(draw), values, cfg)
    assert np.abs(q - expected).max() < 1e-12
    assert (q != before).sum() == len(grads) > 20  # exactly the entries of the sampled steps moved


def test_short_training_reaches_a_high_score_with_the_instructed_prior():
    result = sq.train([1, 2], table_prior(0.9), [0.25, 0.25], sq.Config(episodes=4000))
    assert result.best_score.min() >= 0.85
    assert result.eval_scores.shape == (2, 40)
    assert result.conventions().shape == (2, 6, 5)


def test_runs_in_lockstep_do_not_interact():
    cfg = sq.Config(episodes=300)
    together = sq.train([3, 4], table_prior(), [0.25, 0.0], cfg)
    alone = sq.train([4], table_prior(), [0.0], cfg)
    assert np.array_equal(together.best_q[1], alone.best_q[0])
    assert together.best_score[1] == alone.best_score[0]


def test_prior_with_zero_probability_actions_is_accepted_and_nan_rejected():
    table = np.where(np.arange(6) == QUIT, -np.inf, table_prior())  # quit gets probability 0
    result = sq.train([1], table, [0.25], sq.Config(episodes=200))
    assert (result.conventions() != 0).all()  # Bob never quits: his prior forbids it
    with pytest.raises(ValueError, match="NaN"):
        sq.train([1], np.full((6, 5, 6), np.nan), [0.25], sq.Config(episodes=200))


# --- the Bob the server loads ---


def test_say_select_bob_acts_by_q_plus_lambda_log_prior(tmp_path):
    q = np.zeros((6, 5, 6))
    q[0, 2] = [0, 0, 0.1, 0, 0.3, 0]  # Q alone prefers ball 5
    q[3, 2, QUIT] = 1.0
    bob = SaySelectBob(q, 0.25, table_prior())
    decision = bob.act((None, 3), BOB_ACTIONS, None, 0.25)
    assert decision.move == 2  # 0.1 + 0.25 log 0.9 > 0.3 + 0.25 log 0.02
    assert decision.explanation == "You said 3, and your instruction points to ball 3, so I select ball 3."
    top = decision.top  # every action, best first, its numbers rounded to 6 decimals
    assert [m["action"] for m in top][0] == 2 and sorted(m["action"] for m in top) == list(BOB_ACTIONS)
    assert [m["value"] for m in top] == sorted((m["value"] for m in top), reverse=True)
    assert np.allclose([m["value"] for m in top], [m["q"] + 0.25 * m["log_prior"] for m in top], atol=1e-6)
    assert bob.act((0, 3), BOB_ACTIONS, None, 0.25).move == 2  # 0 also means "no selection yet", as the server sends it
    decision = bob.act((3, 3), BOB_ACTIONS, None, 0.25)
    assert decision.move == QUIT and decision.explanation == "You repeated the ball I just took, so I quit."
    vanilla = SaySelectBob(q, 0.0, table_prior())
    decision = vanilla.act((None, 3), BOB_ACTIONS, None, 0.0)
    assert decision.move == 4 and "in training that meant ball 5" in decision.explanation
    with pytest.raises(ValueError, match="said 1..5"):
        bob.act((None, 6), BOB_ACTIONS, None, 0.25)

    bob.save(str(tmp_path / "bob.npz"))
    loaded = SaySelectBob.load(str(tmp_path / "bob.npz"))
    assert np.array_equal(loaded.q, bob.q) and loaded.lam == 0.25
    assert loaded.act((2, 4), BOB_ACTIONS, None, 0.25) == bob.act((2, 4), BOB_ACTIONS, None, 0.25)


def test_say_select_bob_weighs_the_given_prior_row_and_reports_the_lambda_it_applied():
    q = np.zeros((6, 5, 6))
    q[0, 2] = [0, 0, 0.1, 0, 0.3, 0]
    bob = SaySelectBob(q, 0.25, table_prior())
    quit_row = np.log(np.array([0.02, 0.02, 0.02, 0.02, 0.02, 0.9]))  # another instruction: quit
    decision = bob.act((0, 3), BOB_ACTIONS, quit_row, 0.25)
    assert decision.move == QUIT and decision.lam == 0.25
    assert decision.top[0] == {"action": QUIT, "q": 0.0, "log_prior": round(float(quit_row[QUIT]), 6),
                               "value": round(0.25 * float(quit_row[QUIT]), 6)}
    never_quit = np.array([np.log(0.25)] * 4 + [-np.inf] * 2)  # p = 0: -inf, reported as None
    decision = bob.act((0, 3), BOB_ACTIONS, never_quit, 0.25)
    assert decision.move == 2 and decision.top[-1]["log_prior"] is None and decision.top[-1]["value"] is None
    ignored = bob.act((0, 3), BOB_ACTIONS, never_quit, 0.0)  # lam 0: 0 * -inf counts as 0
    assert ignored.move == 4 and ignored.lam == 0.0 and "in training" in ignored.explanation
    with pytest.raises(ValueError, match="legal actions"):
        bob.act((0, 3), range(5), None, 0.25)


def test_trained_bob_matches_the_trainer_conventions():
    progress = []
    bob = sq.train_bob(table_prior(), 0.25, seed=2, progress=progress.append, episodes=1000)
    result = sq.train([2], table_prior(), [0.25], sq.Config(episodes=1000))
    assert np.array_equal(bob.conventions(), result.conventions()[0])
    assert bob.eval_score == result.best_score[0]
    assert 5 <= len(progress) <= 60 and progress[-1] == 1.0


def test_bob_cache_trains_each_key_once_and_reuses_files(tmp_path):
    calls = []

    def counting_train(table, lam, seed, progress):
        calls.append((lam, seed))
        return sq.train_bob(table, lam, seed, progress, episodes=300)

    cache = SaySelectBobs(counting_train, str(tmp_path), seed=1, tag="episodes=300")
    bobs = []
    threads = [threading.Thread(target=lambda: bobs.append(cache.get(table_prior(), 0.25, None)))
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and all(b is bobs[0] for b in bobs)
    assert len(list(tmp_path.glob("say_select_bob_*.npz"))) == 1

    fresh = SaySelectBobs(counting_train, str(tmp_path), seed=1, tag="episodes=300")
    assert np.array_equal(fresh.cached(table_prior(), 0.25).q, bobs[0].q) and len(calls) == 1  # read from disk
    again = fresh.get(table_prior(), 0.25, None)
    assert len(calls) == 1 and np.array_equal(again.q, bobs[0].q)
    fresh.get(table_prior(0.8), 0.25, None)
    SaySelectBobs(counting_train, str(tmp_path), seed=2, tag="episodes=300").get(table_prior(), 0.25, None)
    assert len(calls) == 3


def test_bob_cache_trains_each_prior_once_and_vanilla_once_for_all():
    calls = []

    def train(table, lam, seed, progress):
        calls.append((lam, seed))
        return {"trained on": table}

    bobs = SaySelectBobs(train, seed=3)
    a, b = np.zeros((6, 5, 6)), np.ones((6, 5, 6))
    assert bobs.get(a, 0.25, print) is bobs.get(a, 0.25, print)
    bobs.get(b, 0.25, print)
    assert bobs.get(a, 0.0, print) is bobs.get(b, 0.0, print)
    assert calls == [(0.25, 3), (0.25, 3), (0.0, 3)]
    assert np.array_equal(bobs.get(b, 0.0, print)["trained on"], uniform_table())  # lam 0 ignores the prior
    assert bobs.cached(b, 0.25) is not None and bobs.cached(b, 0.5) is None
    assert bobs.key(a + 1e-9, 0.25) == bobs.key(a, 0.25) != bobs.key(a, 0.5)  # tables as stored, to 6 decimals
