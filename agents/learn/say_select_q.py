"""instructQ and vanilla Q-learning (lambda = 0) for Say-Select, as the paper's code runs them.

The algorithm of `say-select/q_agent.py` + `train.py` in hengyuan-hu/instruct-rl (instructrl.md section 3):

- Each agent has a tabular Q over its own observations (`SaySelectEnv.observe`). Both agents are queried
  at every step; the one whose turn it is not takes a no-op, which has its own Q entry.
- VDN: Q_tot = Q_Alice(o_A, a_A) + Q_Bob(o_B, a_B) (one of the two is a no-op entry).
- Acting: epsilon-greedy (epsilon 0.15, uniform over the acting agent's actions) on Q + lambda * log p.
  Only Bob has a prior (lambda 0.25); Alice is plain Q-learning (lambda 0), as in the paper.
- TD target per step: y = r + gamma * (Q_A(o_A', a_A*) + Q_B(o_B', a_B*)), y = r at the last step, where
  a_i* = argmax(Q_i + lambda_i * log p_i) but the value is Q_i(a_i*) without the prior term; gamma = 1.
  The error y - Q_tot is the gradient of both agents' entries for that step.
- After every episode: 64 episodes are sampled with replacement from the last 1000; each (observation,
  action) entry's gradients are averaged over the batch, passed through a tabular Adam (betas 0.9/0.999,
  eps 1e-5, a step count per entry) and applied as Q += lr * adam_step with lr 0.02. Learning starts once
  more than 64 episodes are stored.
- 50,000 episodes; every 100 episodes a greedy evaluation on the 25 configurations; the Q tables with
  the best evaluation so far are kept (ties go to the later one). The convention check runs on that Bob.
  `train_bob` trains one pair and returns that Bob as the server plays it (agents.policies.say_select).

The server's Bob (`train_bob_fast`, config FAST) is the same algorithm on a schedule that is ready in about
a second: epsilon 0.3, the last 500 episodes, an evaluation every 10, and an early end at the first perfect
evaluation of a Bob who follows his instruction wherever the game allows (`faithful`: he departs from what
his prior prefers only to quit where that would select the ball he has just taken), with 4 seeds trained as
one batched run. benchmarks/say_select_bob.py times it against `train_bob` in the same run.

How this file makes it fast (the paper's code takes minutes per seed; this takes seconds):

- Dense tables. Every observation the paper's dicts can hold gets an id (layout below), every
  (observation, action) entry a position in one flat Q vector per run.
- Runs in lockstep. Several independent runs (each with its own seed, prior and lambda) advance
  together as the first array dimension; they never interact.
- Games are played with plain Python integers (a ball configuration is a 5-bit mask); the batch update
  is vectorised over all runs and sampled steps: the per-entry average by `np.bincount`, Adam only on
  the entries that were touched; a step after a game ended points at one spare entry past the last, so no
  mask is needed. The evaluation plays the 25 configurations of every run side by side.

Deliberate deviations from the paper's code (none changes the algorithm):

- Q tables are pre-allocated with U(-0.01, 0.01) for every entry instead of drawing each entry when it is
  first visited: the same distribution.
- Randomness comes from one `np.random.Generator(seed)` per run, drawn in another order than the paper's
  `random` / `np.random` calls, so seed N here does not replay the paper's seed N.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from math import comb
from typing import Callable, Sequence

import numpy as np

from agents.envs.say_select import EVAL_CONFIGURATIONS, MAX_REWARD_BALLS, MAX_STEPS, NUM_BALLS, QUIT
from agents.policies.base import prior_term
from agents.policies.say_select import SaySelectBob


@dataclass(frozen=True)
class Config:
    episodes: int = 50_000
    eps: float = 0.15  # epsilon-greedy exploration
    lr: float = 0.02
    gamma: float = 1.0
    adam_betas: tuple[float, float] = (0.9, 0.999)
    adam_eps: float = 1e-5
    batch_size: int = 64  # episodes per update, sampled with replacement
    replay_size: int = 1000  # episodes kept (FIFO)
    eval_every: int = 100  # episodes between greedy evaluations (the paper's epoch)
    init_scale: float = 0.01  # Q starts at U(-init_scale, init_scale)
    stop_at: float | None = None  # end training once a faithful run's evaluation reaches this (see `faithful`)


PERFECT = 1.0  # the best evaluation there is: every +1 ball taken, no -1 ball, on all 25 configurations

# The server's Bob (`train_bob_fast`): the same algorithm with twice the exploration, a replay memory of the
# last 500 episodes instead of 1000, evaluated 10 times as often, and stopped at the first perfect evaluation
# (which no later one can beat) of a Bob who follows his instruction wherever the game allows (`faithful`);
# 4 seeds train as one batched run and the first of them to get there is kept. About a second where
# `train_bob` takes 8 to 10 (benchmarks/say_select_bob.py, which also shows that the paper's 10 seeds all
# stay intuitive).
# An instruction no Bob can follow and play perfectly ("never quit") trains for all 10,000 episodes (4 s).
FAST = Config(episodes=10_000, eps=0.3, replay_size=500, eval_every=10, stop_at=PERFECT)
FAST_CANDIDATES = 4


# --- Table layout -------------------------------------------------------------------------------------
# Balls are a bit mask: bit i set = ball i+1 is still worth +1 (32 states). "sel" = Bob's last selection,
# 0 = none yet, 1..5; "said" = Alice's last number as an action index 0..4.
N_BALL_STATES = 2**NUM_BALLS
N_SEL = NUM_BALLS + 1
N_ALICE_ACTIONS, N_BOB_ACTIONS = NUM_BALLS, NUM_BALLS + 1

# Observation ids, one flat space for both agents (the keys of the paper's Q dicts):
OBS_ALICE_ACTS = 0  # Alice to act, (balls, sel):            + balls * 6 + sel
OBS_ALICE_WAITS = OBS_ALICE_ACTS + N_BALL_STATES * N_SEL  # Bob to act, Alice sees (balls, said): + balls * 5 + said
OBS_BOB_ACTS = OBS_ALICE_WAITS + N_BALL_STATES * NUM_BALLS  # Bob to act, (sel, said):       + sel * 5 + said
OBS_BOB_WAITS = OBS_BOB_ACTS + N_SEL * NUM_BALLS  # Alice to act, Bob sees the last two actions: + 0 at the
#                                                   start, else + 1 + said * 5 + Bob's selection (0..4)
OBS_TERMINAL = OBS_BOB_WAITS + 1 + NUM_BALLS * NUM_BALLS  # after the last step; its value is 0
N_OBS = OBS_TERMINAL + 1

# Q entries (observation, action) in one flat vector; a waiting agent's observation has one no-op entry.
Q_ALICE_ACTS = 0  # + (obs - OBS_ALICE_ACTS) * 5 + action
Q_ALICE_WAITS = Q_ALICE_ACTS + (OBS_ALICE_WAITS - OBS_ALICE_ACTS) * N_ALICE_ACTIONS  # + obs - OBS_ALICE_WAITS
Q_BOB_ACTS = Q_ALICE_WAITS + (OBS_BOB_ACTS - OBS_ALICE_WAITS)  # + (obs - OBS_BOB_ACTS) * 6 + action
Q_BOB_WAITS = Q_BOB_ACTS + (OBS_BOB_WAITS - OBS_BOB_ACTS) * N_BOB_ACTIONS  # + obs - OBS_BOB_WAITS
N_ENTRIES = Q_BOB_WAITS + (OBS_TERMINAL - OBS_BOB_WAITS)


def alice_acting_q(q: np.ndarray) -> np.ndarray:
    """View of Alice's own-turn entries: [..., balls * 6 + sel, action]."""
    return q[..., Q_ALICE_ACTS:Q_ALICE_WAITS].reshape(*q.shape[:-1], N_BALL_STATES * N_SEL, N_ALICE_ACTIONS)


def bob_acting_q(q: np.ndarray) -> np.ndarray:
    """View of Bob's own-turn entries: [..., sel * 5 + said, action]."""
    return q[..., Q_BOB_ACTS:Q_BOB_WAITS].reshape(*q.shape[:-1], N_SEL * NUM_BALLS, N_BOB_ACTIONS)


def ball_mask(balls: Sequence[int]) -> int:
    return sum(1 << i for i, v in enumerate(balls) if v == 1)


EVAL_MASKS = np.array([ball_mask(b) for b in EVAL_CONFIGURATIONS])
EVAL_K = np.array([b.count(1) for b in EVAL_CONFIGURATIONS])
# Training deals: k uniform in 1..3, then one of the C(5, k) position sets uniformly.
N_CHOICES_BY_K = np.array([comb(NUM_BALLS, k) for k in range(1, MAX_REWARD_BALLS + 1)])


def _masks_by_k() -> np.ndarray:
    """[k - 1, i] = the i-th configuration with k reward balls (zero-padded)."""
    table = np.zeros((MAX_REWARD_BALLS, N_CHOICES_BY_K.max()), dtype=np.int64)
    for k in range(1, MAX_REWARD_BALLS + 1):
        masks = [m for m, n in zip(EVAL_MASKS, EVAL_K) if n == k]
        table[k - 1, : len(masks)] = masks
    return table


MASKS_BY_K = _masks_by_k()


# --- Policies and values ------------------------------------------------------------------------------


def bob_prior_terms(bob_log_prior: np.ndarray, lams: np.ndarray) -> np.ndarray:
    """lambda * log p for R Bobs, (R, 30, 6), from (R, 6, 5, 6) tables (see `bob_prior_table`) and (R,)
    lambdas, by `prior_term`: an action with probability 0 gets -inf (never greedy) when lambda > 0; lambda 0
    ignores the prior."""
    return prior_term(bob_log_prior.reshape(len(lams), N_SEL * NUM_BALLS, N_BOB_ACTIONS), lams[:, None, None])


def greedy_policy(q: np.ndarray, bob_prior_term: np.ndarray):
    """Greedy actions and the value of every observation, for R runs.

    q: (R, N_ENTRIES); bob_prior_term: (R, 30, 6), Bob's lambda * log p per observation.
    Returns alice_greedy (R, 192), bob_greedy (R, 30) and values (R, N_OBS), where the value of an
    acting agent's observation is Q at argmax(Q + lambda log p) (Alice: lambda 0), of a waiting one its
    no-op Q, of the terminal observation 0.
    """
    runs = len(q)
    alice_q, bob_q = alice_acting_q(q), bob_acting_q(q)
    alice_greedy = alice_q.argmax(-1)
    bob_greedy = (bob_q + bob_prior_term).argmax(-1)
    values = np.zeros((runs, N_OBS))
    values[:, OBS_ALICE_ACTS:OBS_ALICE_WAITS] = _at(alice_q, alice_greedy)
    values[:, OBS_ALICE_WAITS:OBS_BOB_ACTS] = q[:, Q_ALICE_WAITS:Q_BOB_ACTS]
    values[:, OBS_BOB_ACTS:OBS_BOB_WAITS] = _at(bob_q, bob_greedy)
    values[:, OBS_BOB_WAITS:OBS_TERMINAL] = q[:, Q_BOB_WAITS:]
    return alice_greedy, bob_greedy, values


def _at(table: np.ndarray, actions: np.ndarray) -> np.ndarray:
    """table[..., actions] per row: (R, O, A) at (R, O) -> (R, O)."""
    rows = np.arange(actions.size) * table.shape[-1]
    return table.reshape(-1)[rows + actions.ravel()].reshape(actions.shape)


def bob_conventions(bob_greedy: np.ndarray) -> np.ndarray:
    """Bob's greedy actions as the paper's 6x5 matrix per run: rows = his previous selection (n/a, 1..5),
    columns = Alice's number 1..5, entries = the ball he selects 1..5, or 0 for quit."""
    actions = bob_greedy.reshape(-1, N_SEL, NUM_BALLS)
    return np.where(actions == QUIT, 0, actions + 1)


def is_intuitive(matrix: np.ndarray) -> bool:
    """The paper's `show_agent_conventions` check of one 6x5 matrix: Bob selects the number Alice said,
    and quits only when she says the number he just selected (selecting it then also passes)."""
    prev = np.arange(N_SEL)[:, None]
    said = np.arange(1, NUM_BALLS + 1)[None, :]
    return bool(np.all((matrix == said) | ((matrix == 0) & (prev == said))))


# --- Playing ------------------------------------------------------------------------------------------

# An episode's record: one row per field, one column per step; steps after the game ended are zeros
# (valid = 0) with terminal next observations.
FIELDS = ("entry_alice", "entry_bob", "next_obs_alice", "next_obs_bob", "reward", "valid")
ENTRY_ALICE, ENTRY_BOB, NEXT_OBS_ALICE, NEXT_OBS_BOB, REWARD, VALID = range(len(FIELDS))


def play_episode(alice_greedy: np.ndarray, bob_greedy: np.ndarray, balls: int, random_action: Sequence[int]):
    """Play one game; return (total reward, record of shape (len(FIELDS), MAX_STEPS) as nested lists).

    alice_greedy (192,), bob_greedy (30,): greedy actions by observation; balls: the deal as a bit mask;
    random_action[t]: the uniform random action step t takes when it explores, -1 when it is greedy.
    """
    record = [[0] * MAX_STEPS for _ in FIELDS]
    record[NEXT_OBS_ALICE] = [OBS_TERMINAL] * MAX_STEPS
    record[NEXT_OBS_BOB] = [OBS_TERMINAL] * MAX_STEPS
    observations = []  # (Alice's, Bob's) observation id at each step
    sel, bob_sees, total = 0, 0, 0
    for t in range(0, MAX_STEPS, 2):
        # Alice says a number (0..4); Bob waits.
        alice_obs = balls * N_SEL + sel
        said = random_action[t] if random_action[t] >= 0 else int(alice_greedy[alice_obs])
        observations.append((OBS_ALICE_ACTS + alice_obs, OBS_BOB_WAITS + bob_sees))
        record[ENTRY_ALICE][t] = Q_ALICE_ACTS + alice_obs * N_ALICE_ACTIONS + said
        record[ENTRY_BOB][t] = Q_BOB_WAITS + bob_sees

        # Bob selects a ball (0..4) or quits (5); Alice waits.
        bob_obs = sel * NUM_BALLS + said
        selected = random_action[t + 1] if random_action[t + 1] >= 0 else int(bob_greedy[bob_obs])
        alice_sees = balls * NUM_BALLS + said
        observations.append((OBS_ALICE_WAITS + alice_sees, OBS_BOB_ACTS + bob_obs))
        record[ENTRY_ALICE][t + 1] = Q_ALICE_WAITS + alice_sees
        record[ENTRY_BOB][t + 1] = Q_BOB_ACTS + bob_obs * N_BOB_ACTIONS + selected
        if selected == QUIT:  # earns 0 and ends the game
            break
        reward = 1 if balls >> selected & 1 else -1  # the ball's value; then it is worth -1
        balls &= ~(1 << selected)
        record[REWARD][t + 1] = reward
        total += reward
        sel, bob_sees = selected + 1, 1 + said * NUM_BALLS + selected

    for t, (alice_obs, bob_obs) in enumerate(observations):
        record[VALID][t] = 1
        if t > 0:
            record[NEXT_OBS_ALICE][t - 1], record[NEXT_OBS_BOB][t - 1] = alice_obs, bob_obs
    return total, record


def evaluate(alice_greedy: np.ndarray, bob_greedy: np.ndarray) -> np.ndarray:
    """The paper's evaluation for R runs: greedy play on the 25 configurations, mean of total reward / k
    (the 25 games of every run played side by side, as `play_episode` plays one)."""
    rows = np.arange(len(alice_greedy))[:, None]
    balls = np.tile(EVAL_MASKS, (len(rows), 1))
    sel = np.zeros_like(balls)
    total = np.zeros_like(balls)
    playing = np.ones(balls.shape, dtype=bool)
    for _ in range(MAX_STEPS // 2):
        said = alice_greedy[rows, balls * N_SEL + sel]
        selected = bob_greedy[rows, sel * NUM_BALLS + said]
        playing &= selected != QUIT
        total += np.where(playing, 2 * (balls >> selected & 1) - 1, 0)
        balls = np.where(playing, balls & ~(1 << selected), balls)
        sel = np.where(playing, selected + 1, sel)
    return (total / EVAL_K).mean(1)


def faithful(bob_greedy: np.ndarray, bob_log_prior: np.ndarray, lam: float) -> bool:
    """Whether a Bob (greedy actions (30,), prior (6, 5, 6)) follows his instruction wherever the game allows:
    where he does not take the move his prior prefers, he quits, and only because that move would select the
    ball he has just taken (worth -1 for sure; quitting is how a game ends well). The intuitive Bob quits on a
    repeated number and nowhere else. A Bob with lambda 0 has no instruction to follow."""
    if lam == 0:
        return True
    log_p = bob_log_prior.reshape(N_SEL * NUM_BALLS, N_BOB_ACTIONS)
    departs = log_p[np.arange(len(log_p)), bob_greedy] < log_p.max(-1)
    last_ball = np.repeat(np.arange(N_SEL), NUM_BALLS) - 1  # the ball he selected last (-1: none yet)
    retakes = log_p.argmax(-1) == last_ball
    return bool(np.all(~departs | ((bob_greedy == QUIT) & retakes)))


# --- Learning -----------------------------------------------------------------------------------------


class TabularAdam:
    """Adam on table entries, as `say-select/optim.py`: moments and a step count per entry. The bias
    corrections 1 - beta^t use running products beta^t per entry (the same numbers as the power)."""

    def __init__(self, size: int, betas: tuple[float, float], eps: float):
        self.beta1, self.beta2 = betas
        self.eps = eps
        self.m = np.zeros(size)
        self.v = np.zeros(size)
        self.beta1_t = np.ones(size)  # beta1 ** t, t = this entry's updates so far
        self.beta2_t = np.ones(size)

    def step(self, entries: np.ndarray, grad: np.ndarray) -> np.ndarray:
        """Update the moments of `entries` with `grad`; return the bias-corrected Adam direction."""
        m = self.m[entries] * self.beta1 + (1 - self.beta1) * grad
        v = self.v[entries] * self.beta2 + (1 - self.beta2) * grad * grad
        beta1_t = self.beta1_t[entries] * self.beta1
        beta2_t = self.beta2_t[entries] * self.beta2
        self.m[entries], self.v[entries], self.beta1_t[entries], self.beta2_t[entries] = m, v, beta1_t, beta2_t
        return (m / (1 - beta1_t)) / (np.sqrt(v / (1 - beta2_t)) + self.eps)


class ReplayBuffer:
    """The last `capacity` episode records of R runs, FIFO. Entries and observations are stored offset by
    run, so that they index the runs' flattened Q (R * N_ENTRIES) and value (R * N_OBS) arrays directly. A
    step after the game ended gets the entry R * N_ENTRIES, one past the last, where its error is dropped
    (so the record's `valid` row is not stored)."""

    def __init__(self, runs: int, capacity: int):
        self.capacity = capacity
        self.size = 0
        self.next = 0
        self.data = np.zeros((runs * capacity, VALID, MAX_STEPS), dtype=np.int64)
        self.rows = np.arange(runs) * capacity
        self.sink = runs * N_ENTRIES
        per_field = np.zeros(VALID, dtype=np.int64)
        per_field[[ENTRY_ALICE, ENTRY_BOB]] = N_ENTRIES
        per_field[[NEXT_OBS_ALICE, NEXT_OBS_BOB]] = N_OBS
        self.offsets = np.arange(runs)[:, None, None] * per_field[None, :, None]
        self.is_entry = (np.arange(VALID) <= ENTRY_BOB)[:, None]

    def add(self, records: list) -> None:
        """Store one episode record per run (see `play_episode`)."""
        records = np.array(records)
        ended = self.is_entry & (records[:, VALID : VALID + 1] == 0)
        self.data[self.rows + self.next] = np.where(ended, self.sink, records[:, :VALID] + self.offsets)
        self.next = (self.next + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, draw: np.ndarray) -> np.ndarray:
        """Records picked uniformly with replacement, (R, batch, fields but `valid`, steps); draw (R, batch)
        in U[0, 1)."""
        return self.data[self.rows[:, None] + (draw * self.size).astype(np.int64)]


def learn(q: np.ndarray, adam: TabularAdam, batch: np.ndarray, values: np.ndarray, cfg: Config) -> None:
    """One VDN TD update of R runs' Q tables (in place) from a sampled batch (see ReplayBuffer.sample)."""
    q_flat = q.reshape(-1)
    entries = batch[:, :, ENTRY_ALICE : ENTRY_BOB + 1]
    q_both = np.take(q_flat, entries, mode="clip")  # a step after the end reads the last entry; its error is dropped
    next_values = values.reshape(-1)[batch[:, :, NEXT_OBS_ALICE : NEXT_OBS_BOB + 1]]
    target = batch[:, :, REWARD] + cfg.gamma * (next_values[:, :, 0] + next_values[:, :, 1])
    td = target - (q_both[:, :, 0] + q_both[:, :, 1])
    # Both agents' entries of a step get that step's error; each entry's errors are averaged over the batch.
    entries = entries.ravel()
    sums = np.bincount(entries, weights=np.repeat(td, 2, axis=1).ravel(), minlength=q.size + 1)
    counts = np.bincount(entries, minlength=q.size + 1)
    touched = np.flatnonzero(counts[:-1])
    q_flat[touched] += cfg.lr * adam.step(touched, sums[touched] / counts[touched])


@dataclass
class Draws:
    """The random numbers of one epoch (cfg.eval_every episodes) for R runs, each from its own generator."""

    balls: list  # [R][E] ball masks of the deals
    random_action: list  # [R][E][10] the uniform random action of an exploring step, else -1
    batch: np.ndarray  # (R, E, batch_size) U[0, 1) numbers that pick the episodes of each update


N_ACTIONS_AT = np.tile([N_ALICE_ACTIONS, N_BOB_ACTIONS], MAX_STEPS // 2)


def draw_epoch(rngs: Sequence[np.random.Generator], cfg: Config) -> Draws:
    n = cfg.eval_every
    balls, random_action, batch = [], [], []
    for rng in rngs:
        k = rng.integers(1, MAX_REWARD_BALLS + 1, size=n)
        which = (rng.random(n) * N_CHOICES_BY_K[k - 1]).astype(np.int64)
        balls.append(MASKS_BY_K[k - 1, which].tolist())
        explore = rng.random((n, MAX_STEPS)) < cfg.eps
        action = (rng.random((n, MAX_STEPS)) * N_ACTIONS_AT).astype(np.int64)
        random_action.append(np.where(explore, action, -1).tolist())
        batch.append(rng.random((n, cfg.batch_size)))
    return Draws(balls, random_action, np.stack(batch))


@dataclass
class Result:
    """The best Q tables (by evaluation) of R runs and their scores."""

    seeds: np.ndarray
    lams: np.ndarray
    bob_log_prior: np.ndarray  # (R, 6, 5, 6)
    best_q: np.ndarray  # (R, N_ENTRIES)
    best_score: np.ndarray  # (R,)
    eval_scores: np.ndarray  # (R, epochs)
    stopped: np.ndarray  # (R,) the runs that ended the training early (Config.stop_at), if any

    def conventions(self) -> np.ndarray:
        """(R, 6, 5) matrices of the best Bobs' greedy actions (see `bob_conventions`)."""
        _, bob_greedy, _ = greedy_policy(self.best_q, bob_prior_terms(self.bob_log_prior, self.lams))
        return bob_conventions(bob_greedy)

    def intuitive(self) -> np.ndarray:
        return np.array([is_intuitive(m) for m in self.conventions()])


def stopped_early(cfg: Config, score: np.ndarray, bob_greedy: np.ndarray, bob_log_prior: np.ndarray,
                  lams: np.ndarray) -> np.ndarray:
    """(R,) the runs whose evaluation ends the training (Config.stop_at): a faithful Bob's, at stop_at."""
    if cfg.stop_at is None:
        return np.zeros(len(score), dtype=bool)
    return np.array([score[r] >= cfg.stop_at and faithful(bob_greedy[r], bob_log_prior[r], lams[r])
                     for r in range(len(score))])


def train(
    seeds: Sequence[int],
    bob_log_prior: np.ndarray,
    lams: Sequence[float],
    cfg: Config = Config(),
    progress: Callable[[float], None] | None = None,
) -> Result:
    """Train R independent Alice/Bob pairs in lockstep.

    seeds: (R,); bob_log_prior: (6, 5, 6) shared or (R, 6, 5, 6), see `bob_prior_table`; lams: (R,) Bob's
    lambda (0 = vanilla Q-learning). progress(fraction of cfg.episodes) is called about 50 times, and with
    1.0 at the end. With cfg.stop_at, training ends after the first evaluation where a faithful run reaches it
    (`stopped_early`).
    """
    runs = len(seeds)
    lams = np.asarray(lams, dtype=float)
    bob_log_prior = np.broadcast_to(np.asarray(bob_log_prior, dtype=float), (runs, N_SEL, NUM_BALLS, N_BOB_ACTIONS))
    if lams.shape != (runs,):
        raise ValueError(f"need one lambda per seed: {len(lams)} lambdas for {runs} seeds")
    if np.isnan(bob_log_prior).any() or not np.isfinite(bob_log_prior).any(-1).all():
        raise ValueError("the prior table has NaN entries, or an observation where every action has probability 0")
    bob_prior_term = bob_prior_terms(bob_log_prior, lams)
    rngs = [np.random.default_rng(seed) for seed in seeds]
    q = np.stack([rng.uniform(-cfg.init_scale, cfg.init_scale, N_ENTRIES) for rng in rngs])
    adam = TabularAdam(q.size, cfg.adam_betas, cfg.adam_eps)
    buffer = ReplayBuffer(runs, cfg.replay_size)
    learn_after = min(cfg.batch_size, 0.1 * cfg.replay_size)

    epochs = cfg.episodes // cfg.eval_every
    best_q, best_score = q.copy(), np.full(runs, -np.inf)
    eval_scores = np.zeros((runs, epochs))
    stopped = np.zeros(runs, dtype=bool)
    for epoch in range(epochs):
        draws = draw_epoch(rngs, cfg)
        for i in range(cfg.eval_every):
            alice_greedy, bob_greedy, values = greedy_policy(q, bob_prior_term)
            records = [
                play_episode(alice_greedy[r], bob_greedy[r], draws.balls[r][i], draws.random_action[r][i])[1]
                for r in range(runs)
            ]
            buffer.add(records)
            if buffer.size > learn_after:
                learn(q, adam, buffer.sample(draws.batch[:, i]), values, cfg)
        alice_greedy, bob_greedy, _ = greedy_policy(q, bob_prior_term)
        score = evaluate(alice_greedy, bob_greedy)
        eval_scores[:, epoch] = score
        better = score >= best_score
        best_q[better], best_score[better] = q[better], score[better]
        stopped = stopped_early(cfg, score, bob_greedy, bob_log_prior, lams)
        if stopped.any():
            eval_scores = eval_scores[:, : epoch + 1]
            break
        if progress is not None and ((epoch + 1) % max(1, epochs // 50) == 0 or epoch + 1 == epochs):
            progress((epoch + 1) / epochs)
    if progress is not None and eval_scores.shape[1] < epochs:
        progress(1.0)
    return Result(np.asarray(seeds), lams, np.array(bob_log_prior), best_q, best_score, eval_scores, stopped)


def train_bob(prior_table: np.ndarray, lam: float = 0.25, seed: int = 0,
              progress: Callable[[float], None] | None = None, episodes: int = 50_000) -> SaySelectBob:
    """Train one instructQ pair (Bob's prior = `prior_table`, see `bob_prior_table`) and return the Bob of
    the best evaluation: the trainer of `agents.policies.say_select.SaySelectBobs`."""
    result = train([seed], prior_table, [lam], Config(episodes=episodes), progress=progress)
    return SaySelectBob(bob_acting_q(result.best_q[0]), lam, prior_table, result.best_score[0])


def fast_seeds(seed: int, candidates: int = FAST_CANDIDATES) -> list[int]:
    """The seeds of the runs `train_bob_fast` trains for `seed`: independent streams, none of them `seed`'s own."""
    return [int(np.random.SeedSequence([seed, i]).generate_state(1)[0]) for i in range(candidates)]


def train_bob_fast(prior_table: np.ndarray, lam: float = 0.25, seed: int = 0,
                   progress: Callable[[float], None] | None = None, episodes: int = FAST.episodes,
                   candidates: int = FAST_CANDIDATES) -> SaySelectBob:
    """The server's trainer (`SaySelectBobs`): `candidates` instructQ pairs for `seed` trained as one batched
    run with the FAST schedule, ending at the first perfect evaluation of a faithful Bob (or after `episodes`),
    who is kept (else the Bob of the best evaluation)."""
    result = train(fast_seeds(seed, candidates), prior_table, [lam] * candidates, replace(FAST, episodes=episodes),
                   progress=progress)
    best = int(np.argmax(result.stopped)) if result.stopped.any() else int(np.argmax(result.best_score))
    return SaySelectBob(bob_acting_q(result.best_q[best]), lam, prior_table, result.best_score[best])
