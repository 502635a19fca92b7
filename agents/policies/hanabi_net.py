"""The small torch network behind every trained Hanabi agent, and the paper's prior read off an observation.

- `PolicyNet`: an MLP on HLE's 658-number canonical observation (2 players) with two heads, 20 move
  logits (HLE uids, illegal ones masked to -inf) and a state value. PPO uses both heads; Q-learning
  reads the logit head as Q-values. Kept nanoGPT-small: about 0.25M parameters. Checkpoints always
  hold CPU tensors (`PolicyNet.checkpoint`), so they load anywhere.
- `paper_prior_logits`: the paper's colour / rank prior L as 0/1 logits over the 20 moves, read off
  the last-action section of a batch of observations. The rule is defined once, on the paper's texts,
  by `agents.priors.conventions.hanabi.paper_logits`; this is its vectorised form for training and
  evaluation, and tests/unit/test_conventions.py checks the two equal on all 321 partner moves.
- `prior_log_probs`: log softmax over legal moves of beta * L, the prior instructPPO's KL term pulls
  toward and an agent's own prior at evaluation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

from agents.envs.hanabi.encoding import encoding_size, section_offsets
from agents.envs.hanabi.rules import HINT_UIDS, NUM_MOVES_2P, PLAY_UIDS

OBS_SIZE = encoding_size(2)
_LAST = section_offsets(2)["last_action"]
# The last-action section (2 players): acting player 2, move type 4 (play, discard, colour, rank),
# target 2, colour 5, rank 5, touched slots 5, ...
COLOR_HINT_BIT, RANK_HINT_BIT = _LAST + 2 + 2, _LAST + 2 + 3
TOUCHED = slice(_LAST + 2 + 4 + 2 + 5 + 5, _LAST + 2 + 4 + 2 + 5 + 5 + 5)


@dataclass(frozen=True)
class NetConfig:
    obs_size: int = OBS_SIZE
    hidden: int = 256
    layers: int = 2
    num_moves: int = NUM_MOVES_2P


class PolicyNet(nn.Module):
    """MLP trunk, a move-logit head and a value head."""

    def __init__(self, config: NetConfig = NetConfig()):
        super().__init__()
        self.config = config
        sizes = [config.obs_size] + [config.hidden] * config.layers
        self.trunk = nn.Sequential(*[m for a, b in zip(sizes, sizes[1:]) for m in (nn.Linear(a, b), nn.ReLU())])
        self.logits_head = nn.Linear(config.hidden, config.num_moves)
        self.value_head = nn.Linear(config.hidden, 1)
        self._linears = [m for m in self.trunk if isinstance(m, nn.Linear)]  # the same modules, applied as functions

    def forward(self, obs: torch.Tensor, legal: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(masked logits [B, 20] with -inf on illegal moves, value [B])."""
        h, logits = self._hidden_and_logits(obs, legal)
        return logits, self.value_head(h).squeeze(-1)

    def log_policy(self, obs: torch.Tensor, legal: torch.Tensor) -> torch.Tensor:
        """log pi [B, 20]: log softmax of forward's masked logits, without the value head (every agent move the
        server makes goes through it)."""
        return torch.log_softmax(self._hidden_and_logits(obs, legal)[1], -1)

    def _hidden_and_logits(self, obs: torch.Tensor, legal: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(trunk output, masked move logits): the trunk's layers applied as functions of their parameters,
        not through nn.Module's call machinery, which took half the time of a one-observation pass (63 -> 34 us
        per log_policy here); the same operations, so the numbers are bitwise those of calling the modules."""
        h = obs
        for layer in self._linears:
            h = F.relu(F.linear(h, layer.weight, layer.bias))
        return h, F.linear(h, self.logits_head.weight, self.logits_head.bias).masked_fill(~legal, float("-inf"))

    def checkpoint(self, **extra) -> dict:
        """The network as CPU tensors (whatever device it trains on) with `extra` entries beside it."""
        model = {name: tensor.cpu() for name, tensor in self.state_dict().items()}
        return {"config": asdict(self.config), "model": model, **extra}

    @classmethod
    def from_checkpoint(cls, ckpt: dict) -> "PolicyNet":
        net = cls(NetConfig(**ckpt["config"]))
        net.load_state_dict(ckpt["model"])
        return net


def paper_prior_logits(obs: torch.Tensor, instruction: str) -> torch.Tensor:
    """L [B, 20] for `instruction` ("color" or "rank") from observations [B, 658]: `paper_logits`, vectorised."""
    if instruction not in HINT_UIDS:
        raise ValueError(f"instruction must be one of {tuple(HINT_UIDS)}, got {instruction!r}")
    bit = COLOR_HINT_BIT if instruction == "color" else RANK_HINT_BIT
    was_hinted = obs[:, bit] > 0.5
    logits = torch.zeros(obs.shape[0], NUM_MOVES_2P, dtype=obs.dtype, device=obs.device)
    logits[:, _columns(PLAY_UIDS)] = obs[:, TOUCHED] * was_hinted.unsqueeze(1)
    logits[:, _columns(HINT_UIDS[instruction])] = (~was_hinted).unsqueeze(1).to(obs.dtype)
    return logits


def prior_log_probs(prior_logits: torch.Tensor, legal: torch.Tensor, beta: float) -> torch.Tensor:
    """log softmax over legal moves of beta * L (-inf on illegal moves)."""
    return torch.log_softmax((beta * prior_logits).masked_fill(~legal, float("-inf")), dim=-1)


def _columns(uids: range) -> slice:
    return slice(uids.start, uids.stop)
