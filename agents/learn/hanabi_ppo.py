"""instructPPO for 2-player Hanabi (instructrl.md 4.5), and vanilla PPO as the same code with lam = 0.

One network acts for both seats (self-play); each move is a step of one sequence seen from the player
to move, the reward is the change in team score. The loss per sample is

    clipped PPO surrogate + vf_coef * value Huber loss + lam * KL(pi || p_prior)

with p_prior = softmax over legal moves of beta * L, L the paper's 0/1 prior logits for the
instruction (`agents.policies.hanabi_net.paper_prior_logits`); `masked_kl` and `masked_entropy` are the
loss terms. As in the paper, the entropy bonus is used only without a prior, and lam is annealed
linearly from `lam` to `lam_min` in `anneal_steps` equal steps over `anneal_frac` of training.
Differences from the paper, for a 2-core CPU: an MLP instead of the 2-layer LSTM, GAE (gae_lambda)
instead of 1-step TD, a start from a clone of a rule-based bot instead of an OBL agent, and a few
value-only updates first because the clone's value head is untrained.

Games are stepped by the batched engine (`agents.envs.hanabi.batched.BatchedHanabi`) on `PPOArgs.device`,
where the network, the rollout buffers and the prior live too; checkpoints hold CPU tensors and resume
on either device.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F

from agents.envs.hanabi.batched import BatchedHanabi
from agents.learn.hanabi_training import cpu_tensors, deal, recent_mean
from agents.policies.hanabi_net import PolicyNet, paper_prior_logits, prior_log_probs


@dataclass
class PPOArgs:
    instruction: str = "color"  # "color", "rank", or "none" for vanilla PPO (lam is then 0)
    seed: int = 1
    total_steps: int = 2_000_000  # environment steps (moves) over all runs of this agent
    num_envs: int = 256
    num_steps: int = 32  # moves per game per rollout
    lr: float = 3e-5
    adam_eps: float = 1.5e-5
    gamma: float = 0.999
    gae_lambda: float = 0.95
    clip: float = 0.05
    update_epochs: int = 2
    num_minibatches: int = 4
    vf_coef: float = 0.5
    ent_coef: float = 0.01  # used only when lam == 0, as in the paper
    max_grad_norm: float = 5.0
    lam: float = 0.05  # the paper's pikl_lambda for PPO
    lam_min: float = 0.01
    anneal_steps: int = 5
    anneal_frac: float = 0.5
    beta: float = 2.0  # the paper's pikl_beta for PPO
    value_warmup_updates: int = 20
    device: str = "cpu"  # where the network, the engine and the buffers live: "cpu" or "cuda"

    @property
    def batch_size(self) -> int:
        return self.num_envs * self.num_steps

    def lam_at(self, step: int) -> float:
        """The annealed KL weight after `step` environment steps (0 for vanilla)."""
        if self.instruction == "none":
            return 0.0
        span = self.anneal_frac * self.total_steps / self.anneal_steps
        done = min(int(step // span), self.anneal_steps) if span > 0 else self.anneal_steps
        return self.lam - (self.lam - self.lam_min) * done / self.anneal_steps


@dataclass
class TrainState:
    """Everything a run needs to resume: the network, the optimizer, the step count and the log."""

    net: PolicyNet
    optimizer: torch.optim.Optimizer
    step: int = 0
    updates: int = 0
    wall: float = 0.0
    log: list[dict] = field(default_factory=list)


def new_state(args: PPOArgs, net: PolicyNet) -> TrainState:
    """A fresh run of `net`, moved to `args.device`, with its Adam optimizer."""
    net = net.to(args.device)
    return TrainState(net, torch.optim.Adam(net.parameters(), lr=args.lr, eps=args.adam_eps))


def rollout(args: PPOArgs, net: PolicyNet, env: BatchedHanabi, obs: torch.Tensor, legal: torch.Tensor,
            scores: list[float]) -> tuple[dict, torch.Tensor, torch.Tensor]:
    """`num_steps` moves in every game; returns the batch (on the engine's device) and the next observation
    and legal mask."""
    T, B, on = args.num_steps, args.num_envs, {"device": obs.device}
    buf = {"obs": torch.zeros(T, B, obs.shape[1], **on),
           "legal": torch.zeros(T, B, legal.shape[1], dtype=torch.bool, **on),
           "action": torch.zeros(T, B, dtype=torch.long, **on), "logp": torch.zeros(T, B, **on),
           "value": torch.zeros(T, B, **on), "reward": torch.zeros(T, B, **on), "done": torch.zeros(T, B, **on)}
    for t in range(T):
        with torch.no_grad():
            logits, value = net(obs, legal)
        dist = torch.distributions.Categorical(logits=logits)
        action = dist.sample()
        buf["obs"][t], buf["legal"][t], buf["action"][t] = obs, legal, action
        buf["logp"][t], buf["value"][t] = dist.log_prob(action), value
        reward, done, score = env.step(action)
        buf["reward"][t], buf["done"][t] = reward.float(), done.float()
        scores.extend(score[done].tolist())
        obs, legal = env.encode(), env.legal_mask()
    return buf, obs, legal


def advantages(args: PPOArgs, buf: dict, next_value: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """GAE over the move sequence of each game slot; a finished game does not bootstrap from the next deal."""
    adv = torch.zeros_like(buf["reward"])
    last = torch.zeros_like(next_value)
    for t in reversed(range(args.num_steps)):
        following = next_value if t == args.num_steps - 1 else buf["value"][t + 1]
        alive = 1.0 - buf["done"][t]
        delta = buf["reward"][t] + args.gamma * following * alive - buf["value"][t]
        last = delta + args.gamma * args.gae_lambda * alive * last
        adv[t] = last
    return adv, adv + buf["value"]


def masked_kl(log_pi: torch.Tensor, log_prior: torch.Tensor, legal: torch.Tensor) -> torch.Tensor:
    """KL(pi || prior) per row over legal moves (illegal entries, -inf in both, are left out, gradients too)."""
    log_pi, log_prior = log_pi.masked_fill(~legal, 0.0), log_prior.masked_fill(~legal, 0.0)
    return (log_pi.exp() * (log_pi - log_prior) * legal).sum(-1)


def masked_entropy(log_pi: torch.Tensor, legal: torch.Tensor) -> torch.Tensor:
    """Entropy of pi per row over legal moves."""
    log_pi = log_pi.masked_fill(~legal, 0.0)
    return -(log_pi.exp() * log_pi * legal).sum(-1)


def ppo_loss(args: PPOArgs, net: PolicyNet, mb: dict, lam: float, policy: bool = True) -> tuple[torch.Tensor, dict]:
    """The instructPPO loss on a minibatch, and its parts for the log."""
    logits, value = net(mb["obs"], mb["legal"])
    log_pi = torch.log_softmax(logits, -1)
    new_logp = log_pi.gather(1, mb["action"].unsqueeze(1)).squeeze(1)
    ratio = (new_logp - mb["logp"]).exp()
    surrogate = -torch.min(ratio * mb["adv"], ratio.clamp(1 - args.clip, 1 + args.clip) * mb["adv"]).mean()
    value_loss = F.smooth_l1_loss(value, mb["ret"])
    entropy = masked_entropy(log_pi, mb["legal"]).mean()
    kl_prior = masked_kl(log_pi, mb["log_prior"], mb["legal"]).mean()
    loss = args.vf_coef * value_loss
    if policy:
        loss = loss + surrogate + (lam * kl_prior if lam > 0 else -args.ent_coef * entropy)
    return loss, {"surrogate": surrogate.item(), "value_loss": value_loss.item(),
                  "entropy": entropy.item(), "kl_prior": kl_prior.item()}


def update(args: PPOArgs, state: TrainState, buf: dict, next_value: torch.Tensor) -> dict:
    adv, ret = advantages(args, buf, next_value)
    flat = {k: v.flatten(0, 1) for k, v in buf.items()}
    flat["adv"], flat["ret"] = adv.flatten(), ret.flatten()
    # vanilla (lam 0) does not train on the prior; its log shows the KL to the colour prior
    prior = paper_prior_logits(flat["obs"], args.instruction if args.instruction != "none" else "color")
    flat["log_prior"] = prior_log_probs(prior, flat["legal"], args.beta)
    lam = args.lam_at(state.step)
    policy = state.updates >= args.value_warmup_updates
    parts = {}
    for _ in range(args.update_epochs):
        for idx in torch.randperm(args.batch_size, device=flat["obs"].device).chunk(args.num_minibatches):
            loss, parts = ppo_loss(args, state.net, {k: v[idx] for k, v in flat.items()}, lam, policy)
            state.optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(state.net.parameters(), args.max_grad_norm)
            state.optimizer.step()
    state.updates += 1
    return {**parts, "lam": lam}


def train(args: PPOArgs, state: TrainState, until_step: int, on_update=None) -> TrainState:
    """Train until `until_step` environment steps; `on_update(state, stats)` is called after each update."""
    env, obs, legal = deal(args.num_envs, seed=args.seed * 7919 + state.updates,  # a resumed run deals new games
                           device=args.device)
    scores: list[float] = []
    while state.step < until_step:
        start = time.time()
        buf, obs, legal = rollout(args, state.net, env, obs, legal, scores)
        with torch.no_grad():
            next_value = state.net(obs, legal)[1]
        stats = update(args, state, buf, next_value)
        state.step += args.batch_size
        state.wall += time.time() - start
        stats["train_score"] = recent_mean(scores)
        stats["steps_per_s"] = args.batch_size / (time.time() - start)
        if on_update:
            on_update(state, stats)
    return state


def save(path: str, args: PPOArgs, state: TrainState, meta: dict) -> None:
    """The run as a checkpoint of CPU tensors (network and optimizer), loadable without a GPU."""
    torch.save(state.net.checkpoint(optimizer=cpu_tensors(state.optimizer.state_dict()), step=state.step,
                                    updates=state.updates, wall=state.wall, log=state.log, args=asdict(args),
                                    meta=meta), path)


def load(path: str, args: PPOArgs) -> TrainState:
    """Resume the run saved at `path` on `args.device`, whichever device it was saved from."""
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    state = new_state(args, PolicyNet.from_checkpoint(ckpt))
    if "optimizer" in ckpt:  # Adam's moments follow the parameters to args.device (its step counts stay on CPU)
        state.optimizer.load_state_dict(ckpt["optimizer"])
    state.step, state.updates = ckpt.get("step", 0), ckpt.get("updates", 0)
    state.wall, state.log = ckpt.get("wall", 0.0), ckpt.get("log", [])
    return state
