"""A straightforward pure-Python instructQ for Say-Select, with the structure of the paper's own code.

This is the speed reference for `benchmarks/say_select_train.py`: written here to mirror how the paper's
`say-select/q_agent.py` and `train.py` do the work (not copied from them):

- Q tables are dicts keyed by the observation tuples of `SaySelectEnv.observe`, filled lazily;
- both agents decide at every step (the waiting one takes the no-op -1);
- after every episode, 64 episodes are sampled and each step's TD error is computed in Python loops,
  collected in per-(observation, action) lists, averaged, passed through a dict-based Adam and applied;
- every 100 episodes, a greedy evaluation on the 25 configurations and a deep copy of the best tables.

The prior is Bob's table from `bob_prior_table` (the paper caches GPT-J's answers the same way).
"""

from __future__ import annotations

import copy
import random
from collections import defaultdict

import numpy as np

from agents.envs.say_select import ALICE, BOB, EVAL_CONFIGURATIONS, NUM_BALLS, SaySelectEnv
from agents.learn.say_select_q import Config

NO_OP = -1


class DictAdam:
    def __init__(self, betas, eps):
        self.beta1, self.beta2 = betas
        self.eps = eps
        self.m = defaultdict(float)
        self.v = defaultdict(float)
        self.t = defaultdict(int)

    def step(self, key, grad):
        self.m[key] = self.beta1 * self.m[key] + (1 - self.beta1) * grad
        self.v[key] = self.beta2 * self.v[key] + (1 - self.beta2) * grad * grad
        self.t[key] += 1
        m_hat = self.m[key] / (1 - self.beta1 ** self.t[key])
        v_hat = self.v[key] / (1 - self.beta2 ** self.t[key])
        return m_hat / (np.sqrt(v_hat) + self.eps)


class Agent:
    def __init__(self, player, num_actions, lam, log_prior):
        self.player = player
        self.num_actions = num_actions
        self.lam = lam
        self.log_prior = log_prior  # (6, 5, 6) for Bob, None for Alice
        self.q = {}
        self.episodes = []
        self.current = []

    def get_q(self, obs):
        if obs not in self.q:
            if obs[1] == self.player:
                self.q[obs] = {a: np.random.uniform(-0.01, 0.01) for a in range(self.num_actions)}
            else:
                self.q[obs] = {NO_OP: np.random.uniform(-0.01, 0.01)}
        return self.q[obs]

    def prior(self, obs, action):
        if self.log_prior is None:
            return 0.0
        last = obs[2]
        prev = last[0] + 1 if len(last) == 2 else 0
        return self.log_prior[prev, last[-1], action]

    def greedy(self, obs):
        q = self.get_q(obs)
        if obs[1] != self.player:
            return NO_OP, q[NO_OP]
        best, best_value = None, -np.inf
        for action, value in q.items():
            combined = value + self.lam * self.prior(obs, action)
            if combined > best_value:
                best, best_value = action, combined
        return best, q[best]

    def act(self, obs, eps):
        if np.random.uniform(0, 1) < eps:
            return random.choice(list(self.get_q(obs).keys()))
        return self.greedy(obs)[0]


def run_episode(env, agents, eps, balls=None, train=True):
    env.reset(options={"balls": balls} if balls is not None else None)
    for agent in agents:
        agent.current = []
    done = False
    while not done:
        observations = [env.observe(agent.player) for agent in agents]
        actions = [agent.act(obs, eps) for agent, obs in zip(agents, observations)]
        _, reward, done, _, _ = env.step(actions[env.active_player])
        if train:
            for agent, obs, action in zip(agents, observations, actions):
                agent.current.append((obs, action, reward, done, env.observe(agent.player)))
    return env.score


def learn(agents, adam, cfg):
    alice, bob = agents
    if len(alice.episodes) <= min(cfg.batch_size, 0.1 * cfg.replay_size):
        return
    grads = [defaultdict(list), defaultdict(list)]
    for _ in range(cfg.batch_size):
        index = np.random.randint(0, len(alice.episodes))
        episodes = [agent.episodes[index] for agent in agents]
        for t in range(len(episodes[0])):
            q_tot, target = 0.0, episodes[0][t][2]
            for agent, episode in zip(agents, episodes):
                obs, action, _, done, next_obs = episode[t]
                q_tot += agent.get_q(obs)[action]
                if not done:
                    target += cfg.gamma * agent.greedy(next_obs)[1]
            for i, episode in enumerate(episodes):
                obs, action = episode[t][:2]
                grads[i][(obs, action)].append(target - q_tot)
    for agent, agent_grads in zip(agents, grads):
        for (obs, action), gs in agent_grads.items():
            agent.q[obs][action] += cfg.lr * adam.step((obs, action), np.mean(gs))


def evaluate(env, agents):
    return float(np.mean([run_episode(env, agents, 0.0, list(balls), train=False) for balls in EVAL_CONFIGURATIONS]))


def train(seed, bob_log_prior, lam, cfg: Config = Config()):
    """Train one pair; returns the best evaluation score and Bob's best Q dict."""
    random.seed(seed)
    np.random.seed(seed + 1)
    env = SaySelectEnv()
    env.reset(seed=seed)
    agents = [Agent(ALICE, NUM_BALLS, 0.0, None), Agent(BOB, NUM_BALLS + 1, lam, bob_log_prior)]
    adam = DictAdam(cfg.adam_betas, cfg.adam_eps)
    best_score, best_bob = -np.inf, None
    for episode in range(cfg.episodes):
        run_episode(env, agents, cfg.eps)
        for agent in agents:
            agent.episodes.append(agent.current)
            if len(agent.episodes) > cfg.replay_size:
                agent.episodes.pop(0)
        learn(agents, adam, cfg)
        if (episode + 1) % cfg.eval_every == 0:
            score = evaluate(env, agents)
            if score >= best_score:
                best_score, best_bob = score, copy.deepcopy(agents[1].q)
    return best_score, best_bob
