"""A gymnasium environment for one game of Hanabi, turn-based, over the rules of record.

One env step is one move of the player on turn. The observation is what that player sees:
    {"observation": HLE's canonical vector (658 floats for 2 players), "action_mask": legal uids (int8)}
and info["current_player"] says who that is. Every player shares the reward, the change in score
(so losing the last life pays minus the score so far). The episode terminates when the game ends;
it is never truncated. Illegal moves raise ValueError: choose among the mask.

    env = gymnasium.make("instructplay/Hanabi-v0", num_players=2)
    obs, info = env.reset(seed=0)
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from agents.envs.hanabi.encoding import encode, encoding_size
from agents.envs.hanabi.language import render_view
from agents.envs.hanabi.rules import HanabiGame, num_moves

ENV_ID = "instructplay/Hanabi-v0"


class HanabiEnv(gym.Env):
    """Hanabi for 2-5 players; actions are HLE move uids (for 2 players: 0-4 discard, 5-9 play,
    10-14 hint colour R Y G W B, 15-19 hint rank 1-5).

    reset(seed=..., options={"deck": [(colour, rank), ...]}) deals from the seed, or from an explicit
    deck in draw order. render_mode "ansi" renders the current player's view as text.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 1}

    def __init__(self, num_players: int = 2, render_mode: str | None = None):
        if render_mode not in (None, "ansi"):
            raise ValueError(f"render_mode must be None or 'ansi', got {render_mode!r}")
        self.num_players = num_players
        self.render_mode = render_mode
        self.action_space = spaces.Discrete(num_moves(num_players))
        self.observation_space = spaces.Dict({
            "observation": spaces.Box(0.0, 1.0, shape=(encoding_size(num_players),), dtype=np.float32),
            "action_mask": spaces.MultiBinary(num_moves(num_players)),
        })
        self.game: HanabiGame | None = None

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        deck = (options or {}).get("deck")
        deal_seed = None if deck is not None else int(self.np_random.integers(2**63))
        self.game = HanabiGame(self.num_players, seed=deal_seed, deck=deck)
        return self._observation(), self._info()

    def step(self, action):
        if self.game is None:
            raise RuntimeError("call reset() before step()")
        reward = self.game.step(int(action))
        return self._observation(), float(reward), self.game.is_over(), False, self._info()

    def render(self):
        if self.render_mode == "ansi" and self.game is not None:
            return render_view(self.game, self.game.current_player)
        return None

    def _observation(self) -> dict:
        player = self.game.current_player
        mask = np.zeros(self.action_space.n, dtype=np.int8)
        mask[self.game.legal_moves()] = 1
        return {"observation": encode(self.game, player), "action_mask": mask}

    def _info(self) -> dict:
        return {"current_player": self.game.current_player, "score": self.game.score()}


if ENV_ID not in gym.registry:
    gym.register(ENV_ID, entry_point=HanabiEnv)
