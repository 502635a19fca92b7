"""The small torch network behind every trained Hanabi agent, the paper's prior read off an observation,
and the few set-up pieces instructPPO (`hanabi_ppo.py`) and instructQ (`hanabi_q.py`) share.

- `PolicyNet`: an MLP on HLE's 658-number canonical observation (2 players) with two heads, 20 move
  logits (HLE uids, illegal ones masked to -inf) and a state value. PPO uses both heads; Q-learning
  reads the logit head as Q-values. Kept nanoGPT-small: about 0.25M parameters.
- `paper_prior_logits`: the paper's colour / rank prior L as 0/1 logits over the 20 moves, read off
  the last-action section of a batch of observations. The rule is defined once, on the paper's texts,
  by `agents.priors.conventions.hanabi.paper_logits`; this is its vectorised form for training, and
  tests/unit/test_conventions.py checks the two equal on all 321 partner moves.
- `prior_log_probs`: log softmax over legal moves of beta * L, the target of instructPPO's KL term.
- `deal`, `recent_mean`: seeded games on the batched engine, and the running training score.
- `training_device`: the device a run trains on (the network, the engine, the buffers), checked usable.
  Checkpoints always hold CPU tensors (`PolicyNet.checkpoint`, `cpu_tensors`), so they load anywhere.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from agents.envs.hanabi.batched import BatchedHanabi
from agents.envs.hanabi.encoding import encoding_size, section_offsets

NUM_MOVES = 20
OBS_SIZE = encoding_size(2)
_LAST = section_offsets(2)["last_action"]
# The last-action section (2 players): acting player 2, move type 4 (play, discard, colour, rank),
# target 2, colour 5, rank 5, touched slots 5, ...
COLOR_HINT_BIT, RANK_HINT_BIT = _LAST + 2 + 2, _LAST + 2 + 3
TOUCHED = slice(_LAST + 2 + 4 + 2 + 5 + 5, _LAST + 2 + 4 + 2 + 5 + 5 + 5)
PLAY_UIDS = slice(5, 10)
HINT_UIDS = {"color": slice(10, 15), "rank": slice(15, 20)}
INSTRUCTIONS = ("color", "rank")


@dataclass(frozen=True)
class NetConfig:
    obs_size: int = OBS_SIZE
    hidden: int = 256
    layers: int = 2
    num_moves: int = NUM_MOVES


class PolicyNet(nn.Module):
    """MLP trunk, a move-logit head and a value head."""

    def __init__(self, config: NetConfig = NetConfig()):
        super().__init__()
        self.config = config
        sizes = [config.obs_size] + [config.hidden] * config.layers
        self.trunk = nn.Sequential(*[m for a, b in zip(sizes, sizes[1:]) for m in (nn.Linear(a, b), nn.ReLU())])
        self.logits_head = nn.Linear(config.hidden, config.num_moves)
        self.value_head = nn.Linear(config.hidden, 1)

    def forward(self, obs: torch.Tensor, legal: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(masked logits [B, 20] with -inf on illegal moves, value [B])."""
        h = self.trunk(obs)
        logits = self.logits_head(h).masked_fill(~legal, float("-inf"))
        return logits, self.value_head(h).squeeze(-1)

    def checkpoint(self, **extra) -> dict:
        """The network as CPU tensors (whatever device it trains on) with `extra` entries beside it."""
        return {"config": asdict(self.config), "model": cpu_tensors(self.state_dict()), **extra}

    @classmethod
    def from_checkpoint(cls, ckpt: dict) -> "PolicyNet":
        net = cls(NetConfig(**ckpt["config"]))
        net.load_state_dict(ckpt["model"])
        return net


def paper_prior_logits(obs: torch.Tensor, instruction: str) -> torch.Tensor:
    """L [B, 20] for `instruction` ("color" or "rank") from observations [B, 658]: `paper_logits`, vectorised."""
    if instruction not in INSTRUCTIONS:
        raise ValueError(f"instruction must be one of {INSTRUCTIONS}, got {instruction!r}")
    bit = COLOR_HINT_BIT if instruction == "color" else RANK_HINT_BIT
    was_hinted = obs[:, bit] > 0.5
    logits = torch.zeros(obs.shape[0], NUM_MOVES, dtype=obs.dtype, device=obs.device)
    logits[:, PLAY_UIDS] = obs[:, TOUCHED] * was_hinted.unsqueeze(1)
    logits[:, HINT_UIDS[instruction]] = (~was_hinted).unsqueeze(1).to(obs.dtype)
    return logits


def prior_log_probs(prior_logits: torch.Tensor, legal: torch.Tensor, beta: float) -> torch.Tensor:
    """log softmax over legal moves of beta * L (-inf on illegal moves)."""
    return torch.log_softmax((beta * prior_logits).masked_fill(~legal, float("-inf")), dim=-1)


def masked_kl(log_pi: torch.Tensor, log_prior: torch.Tensor, legal: torch.Tensor) -> torch.Tensor:
    """KL(pi || prior) per row over legal moves (illegal entries, -inf in both, are left out, gradients too)."""
    log_pi, log_prior = log_pi.masked_fill(~legal, 0.0), log_prior.masked_fill(~legal, 0.0)
    return (log_pi.exp() * (log_pi - log_prior) * legal).sum(-1)


def masked_entropy(log_pi: torch.Tensor, legal: torch.Tensor) -> torch.Tensor:
    """Entropy of pi per row over legal moves."""
    log_pi = log_pi.masked_fill(~legal, 0.0)
    return -(log_pi.exp() * log_pi * legal).sum(-1)


def cpu_tensors(value):
    """`value` (a tensor, or dicts and lists of them, e.g. an optimizer's state dict) with every tensor on the CPU."""
    if isinstance(value, torch.Tensor):
        return value.cpu()
    if isinstance(value, dict):
        return {k: cpu_tensors(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(cpu_tensors(v) for v in value)
    return value


def training_device(name: str) -> torch.device:
    """The torch device called `name` ("cpu", "cuda", "cuda:1"); a ValueError if it is not one this machine has."""
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"unknown device {name!r}: use cpu or cuda (cuda:N for the N-th GPU)") from None
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"unsupported device {name!r}: use cpu or cuda (cuda:N for the N-th GPU)")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} asked for, but CUDA is not available here "
                         "(torch.cuda.is_available() is False); use --device cpu")
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise ValueError(f"device {name!r} asked for, but this machine has {torch.cuda.device_count()} GPU(s)")
    return device


def deal(num_envs: int, seed: int, device: str = "cpu") -> tuple[BatchedHanabi, torch.Tensor, torch.Tensor]:
    """Seed torch and deal `num_envs` games on `device`: the engine, its observations [B, 658] and legal
    masks [B, 20]."""
    torch.manual_seed(seed)
    env = BatchedHanabi(num_envs, device=device, seed=seed)
    return env, env.encode(), env.legal_mask()


def recent_mean(scores: list[float], window: int = 500) -> float:
    """Mean score of the last `window` finished games (0 before the first)."""
    recent = scores[-window:]
    return sum(recent) / max(len(recent), 1)
