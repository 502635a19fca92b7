"""Say-Select: the two-player toy game of InstructRL (Hu & Sadigh, ICML 2023), with the paper's exact rules.

Rules (as the paper's code, `say-select/ball_env.py`, plays them):

- There are 5 balls. At reset, k of them are worth +1 (k uniform in 1..3, at uniform positions without
  replacement); the other balls are worth -1. The best possible total is k.
- Two players alternate, Alice first: Alice says, Bob selects. Together they take at most 10 steps
  (5 rounds).
- Alice sees the balls' current values and the last action. She says a number 1..5 (actions 0..4).
  Saying changes nothing and earns nothing.
- Bob sees only the last two actions (his previous selection, if any, and what Alice just said). He
  selects ball 1..5 (actions 0..4) or quits (action 5).
  - Selecting earns the ball's current value (+1 or -1) and then sets that ball to -1, so a ball
    selected twice is worth -1 the second time.
  - Quitting earns 0 and ends the game at once.
- The reward is shared by both players.
- The game ends when Bob quits or after 10 steps. It does NOT end when the +1 balls run out: Bob must
  quit or pay -1 for every further selection.
- Score = total reward / k. Evaluation plays each of the 25 configurations with 1, 2 or 3 reward balls
  once, greedily, and averages the score (`EVAL_CONFIGURATIONS`, `evaluate`).

The environment is turn-based: `step(action)` applies the action of the player whose turn it is
(`observation["active_player"]`). `info["action_mask"]` marks the legal actions of that player.
`observe(player)` gives each player's own view as the paper's code keys it (its tabular Q tables are
dictionaries keyed by these tuples).

This module also holds the language the priors use for Bob (`BOB_ACTION_TEXTS`, `bob_observation_text`)
and `bob_prior_table`, which asks a prior for Bob's action probabilities in all 30 of his observations
(`uniform_table`: the table of a prior with no preference).
"""

from __future__ import annotations

import itertools
from typing import Callable, Sequence

import gymnasium as gym
import numpy as np
from gymnasium import spaces

NUM_BALLS = 5
MAX_REWARD_BALLS = 3
MAX_STEPS = 2 * NUM_BALLS
ALICE, BOB = 0, 1
QUIT = NUM_BALLS  # Bob's action index for quitting
BOB_ACTIONS = range(NUM_BALLS + 1)  # Bob's actions: 0..4 select ball 1..5, 5 quit
NONE = -1  # "no action yet" in `last_actions`

ALICE_ACTION_TEXTS = [" 1", " 2", " 3", " 4", " 5"]
BOB_ACTION_TEXTS = [" 1", " 2", " 3", " 4", " 5", " 0"]  # index 5 = quit, spelled " 0" as in the paper

# Every configuration with 1, 2 or 3 reward balls, in the paper's order (by k, then itertools.combinations).
EVAL_CONFIGURATIONS: list[tuple[int, ...]] = [
    tuple(1 if i in chosen else -1 for i in range(NUM_BALLS))
    for k in range(1, MAX_REWARD_BALLS + 1)
    for chosen in itertools.combinations(range(NUM_BALLS), k)
]


class SaySelectEnv(gym.Env):
    """The Say-Select game. See the module docstring for the rules."""

    metadata = {"render_modes": ["ansi"]}

    def __init__(self, render_mode: str | None = None):
        if render_mode not in (None, "ansi"):
            raise ValueError(f"render_mode must be None or 'ansi', got {render_mode!r}")
        self.render_mode = render_mode
        # Alice's actions are 0..4 (say 1..5); Bob's are 0..4 (select 1..5) and 5 (quit).
        self.action_space = spaces.Discrete(NUM_BALLS + 1)
        self.observation_space = spaces.Dict(
            {
                "balls": spaces.Box(-1, 1, shape=(NUM_BALLS,), dtype=np.int8),  # Alice's view only
                "active_player": spaces.Discrete(2),
                "last_actions": spaces.Box(NONE, QUIT, shape=(2,), dtype=np.int64),  # oldest first
            }
        )
        self.balls: list[int] = []
        self.history: list[int] = []
        self.k = 0
        self.total_reward = 0
        self.remaining_steps = 0
        self.active_player = ALICE

    # --- gymnasium API ---

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Deal a new game. `options={"balls": [+1/-1 x5]}` deals that configuration instead of a random one."""
        super().reset(seed=seed)
        balls = (options or {}).get("balls")
        self.balls = self._check_balls(balls) if balls is not None else self._deal()
        self.k = self.balls.count(1)
        self.history = []
        self.total_reward = 0
        self.remaining_steps = MAX_STEPS
        self.active_player = ALICE
        return self._observation(), self._info()

    def step(self, action: int):
        action = int(action)
        if self.remaining_steps == 0:
            raise RuntimeError("the game is over; call reset() to start a new one")
        if not (0 <= action <= QUIT and self.action_mask()[action]):
            who = "Alice says 0..4" if self.active_player == ALICE else "Bob selects 0..4 or quits with 5"
            raise ValueError(f"illegal action {action} for player {self.active_player}: {who}")
        self.history.append(action)
        self.remaining_steps -= 1
        reward = 0
        if self.active_player == BOB:
            reward = self._select(action)
        self.total_reward += reward
        self.active_player = 1 - self.active_player
        return self._observation(), reward, self.remaining_steps == 0, False, self._info()

    def render(self):
        if self.render_mode == "ansi":
            return self.to_text()
        return None

    # --- the rules ---

    def _deal(self) -> list[int]:
        k = int(self.np_random.integers(1, MAX_REWARD_BALLS + 1))
        chosen = self.np_random.choice(NUM_BALLS, size=k, replace=False)
        return [1 if i in chosen else -1 for i in range(NUM_BALLS)]

    @staticmethod
    def _check_balls(balls: Sequence[int]) -> list[int]:
        balls = [int(b) for b in balls]
        if len(balls) != NUM_BALLS or any(b not in (1, -1) for b in balls):
            raise ValueError(f"balls must be {NUM_BALLS} values, each +1 or -1; got {balls}")
        if not 1 <= balls.count(1) <= MAX_REWARD_BALLS:
            raise ValueError(f"balls must hold 1..{MAX_REWARD_BALLS} reward balls (+1); got {balls}")
        return balls

    def _select(self, action: int) -> int:
        if action == QUIT:
            self.remaining_steps = 0
            return 0
        reward = self.balls[action]
        self.balls[action] = -1
        return reward

    def action_mask(self) -> np.ndarray:
        """Legal actions of the player to act: Alice 0..4, Bob 0..5 (5 = quit); all zeros once the game is over."""
        mask = np.zeros(NUM_BALLS + 1, dtype=np.int8)
        if self.remaining_steps > 0:
            mask[: NUM_BALLS + (self.active_player == BOB)] = 1
        return mask

    # --- views ---

    def observe(self, player: int) -> tuple:
        """A player's view keyed as in the paper's code.

        Alice: (tuple of ball values, active player, last action or ()).
        Bob:   ((), active player, tuple of the last two actions).
        """
        if player == ALICE:
            return tuple(self.balls), self.active_player, self.history[-1] if self.history else ()
        return (), self.active_player, tuple(self.history[-2:])

    def _observation(self) -> dict:
        last = ([NONE, NONE] + self.history)[-2:]
        return {
            "balls": np.array(self.balls, dtype=np.int8),
            "active_player": self.active_player,
            "last_actions": np.array(last, dtype=np.int64),
        }

    def _info(self) -> dict:
        return {"action_mask": self.action_mask(), "k": self.k, "score": self.score}

    @property
    def score(self) -> float:
        return self.total_reward / self.k if self.k else 0.0

    def to_text(self) -> str:
        balls = "  ".join(f"{i + 1}:{v:+d}" for i, v in enumerate(self.balls))
        moves = [
            f"Alice says {a + 1}" if t % 2 == ALICE else ("Bob quits" if a == QUIT else f"Bob selects {a + 1}")
            for t, a in enumerate(self.history)
        ]
        if self.remaining_steps == 0:
            status = f"game over, score {self.total_reward}/{self.k}"
        else:
            status = f"step {len(self.history) + 1}/{MAX_STEPS}, {('Alice', 'Bob')[self.active_player]} to act"
        return f"balls: {balls}\n{status}\nhistory: {', '.join(moves) or '(none)'}"


Policy = Callable[[tuple], int]


def play(alice: Policy, bob: Policy, balls: Sequence[int]) -> float:
    """Play one game on the configuration `balls`; each policy maps its `observe()` view to an action."""
    env = SaySelectEnv()
    env.reset(options={"balls": list(balls)})
    done = False
    while not done:
        player = env.active_player
        action = (alice, bob)[player](env.observe(player))
        _, _, done, _, _ = env.step(action)
    return env.score


def evaluate(alice: Policy, bob: Policy) -> float:
    """The paper's evaluation: the mean score over the 25 configurations, each played once."""
    return float(np.mean([play(alice, bob, balls) for balls in EVAL_CONFIGURATIONS]))


# --- the language of Bob's observations and actions, for priors ---


def bob_observation_text(prev_selection: int | None, said: int) -> str:
    """What Bob saw, in words (numbers 1..5); the paper's prompt puts this after the instruction."""
    if prev_selection is None:
        return f"My partner selected {said}."
    return f"I selected {prev_selection} before. My partner selected {said}."


def bob_prior_table(prior, instruction: str) -> np.ndarray:
    """Log-probabilities of Bob's 6 actions in every observation.

    Shape (6, 5, 6), indexed [previous selection (0 = none, 1..5), said - 1, action (5 = quit)].
    """
    table = np.empty((NUM_BALLS + 1, NUM_BALLS, NUM_BALLS + 1))
    for prev in range(NUM_BALLS + 1):
        for said in range(1, NUM_BALLS + 1):
            text = bob_observation_text(prev or None, said)
            table[prev, said - 1] = prior.log_probs("say-select", instruction, text, BOB_ACTION_TEXTS)
    return table


def uniform_table() -> np.ndarray:
    """The table (as `bob_prior_table`) of a prior with no preference: log(1/6) everywhere."""
    return np.full((NUM_BALLS + 1, NUM_BALLS, NUM_BALLS + 1), -np.log(NUM_BALLS + 1))
