"""A gymnasium vector environment over the batched Hanabi engine (`batched.BatchedHanabi`).

`num_envs` games step together; each step is one move of the player on turn in every game. The
observation is what that player sees, as in the single-game env (`gym_env.HanabiEnv`):

    {"observation": (num_envs, 658) float32 HLE canonical encoding,
     "action_mask": (num_envs, 20) int8 legal move uids}

as torch tensors on the engine's device (the point of this env is to keep the batch there; call
`.cpu().numpy()` for numpy). info["current_player"] says whose turn it is. Every player shares the
reward, the change in score. Episodes terminate when the game ends and are never truncated.

Autoreset is gymnasium's SAME_STEP mode: a finished game is dealt again inside `step`, so the
observation returned for it is the first of its next game; info["final_score"] (with the mask
info["_final_score"]) holds the score it ended with. Final observations are only needed to
bootstrap truncated episodes, which Hanabi has none of, so they are computed only when
`final_observation=True` (info["final_obs"], info["_final_obs"]).

    env = HanabiVectorEnv(num_envs=4096, device="cpu", seed=0)
    obs, info = env.reset()
    obs, reward, terminated, truncated, info = env.step(actions)   # actions: (num_envs,) uids
"""

import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from agents.envs.hanabi.batched import BatchedHanabi


class HanabiVectorEnv(VectorEnv):
    """`num_envs` Hanabi games of `num_players` players on `device`; actions are HLE move uids.

    reset(seed=..., options={"decks": (num_envs, 50) cards colour * 5 + rank - 1 in draw order})
    deals from the seed or from explicit decks.
    """

    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(self, num_envs, num_players=2, device="cpu", seed=None, final_observation=False):
        self.engine = BatchedHanabi(num_envs, num_players, device=device, seed=seed)
        self.num_envs = num_envs
        self.final_observation = final_observation
        self.single_action_space = spaces.Discrete(self.engine.num_moves)
        self.single_observation_space = spaces.Dict({
            "observation": spaces.Box(0.0, 1.0, shape=(self.engine.encoding_size,), dtype=np.float32),
            "action_mask": spaces.MultiBinary(self.engine.num_moves),
        })
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.observation_space = batch_space(self.single_observation_space, num_envs)

    def reset(self, *, seed=None, options=None):
        self.engine.reset(seed=seed, decks=(options or {}).get("decks"))
        return self._observation(), self._info()

    def step(self, actions):
        reward, terminated, score = self.engine.step(actions, autoreset=False)
        info = {"final_score": score, "_final_score": terminated}
        if self.final_observation:
            info["final_obs"], info["_final_obs"] = self._observation(), terminated
        self.engine.reset_games(terminated)
        truncated = torch.zeros_like(terminated)
        return self._observation(), reward.float(), terminated, truncated, {**self._info(), **info}

    def _observation(self):
        return {"observation": self.engine.encode(), "action_mask": self.engine.legal_mask().to(torch.int8)}

    def _info(self):
        return {"current_player": self.engine.cur.clone(), "score": self.engine.score.clone()}
