"""The set-up instructPPO (`hanabi_ppo.py`) and instructQ (`hanabi_q.py`) share: the device a run trains on,
seeded deals on the batched engine, the running training score, and CPU copies of training state.

- `training_device`: the device a run trains on (the network, the engine, the buffers), checked usable.
- `deal`, `recent_mean`: seeded games on the batched engine, and the running training score.
- `cpu_tensors`: training state (e.g. an optimizer's state dict) as CPU tensors, so checkpoints load anywhere.
"""

from __future__ import annotations

import torch

from agents.envs.hanabi.batched import BatchedHanabi


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
