"""instructQ for 2-player Hanabi (instructrl.md 4.4), and vanilla Q-learning as the same code with lam = 0.

One network (the PolicyNet's move head read as Q-values) acts for both seats; each move is a step of
one sequence seen from the player to move, the reward is the change in team score. Acting and the
target both follow the paper:

    act:     argmax over legal moves of Q(s, a) + lam * beta * L(s, a), epsilon-greedy per game,
             each game's epsilon drawn from the paper's list 0.1 ** (1 + 7 i / 79)
    target:  y = r + gamma * Q_target(s', a*),  a* = argmax_legal Q(s', a) + lam * beta * L(s', a)
    loss:    Huber(Q(s, a), y), double DQN, target network synced every `target_sync` updates

L is the paper's 0/1 prior for the instruction (`agents.policies.hanabi_net.paper_prior_logits`), a pure
function of the observation, so the replay stores observations and recomputes L rather than storing it. lam is
halved after each fifth of the run, as the paper's defaults do (0.15 -> 0.009375); a saved agent acts
by the same rule at test time with the lam reached, as the paper's eval, cross-play and live bot do.
Differences from the paper, for a 2-core CPU: an MLP instead of the recurrent publ-LSTM, one-step
transitions instead of sequences, and (optionally) a start from a clone of a rule-based bot instead
of an OBL agent.

The network, its target, the engine and the replay live on `QArgs.device` ("cpu" or "cuda").
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from agents.learn.hanabi_training import deal, recent_mean
from agents.policies.hanabi_net import PolicyNet, paper_prior_logits


@dataclass
class QArgs:
    instruction: str = "color"  # "color", "rank", or "none" for vanilla Q-learning
    seed: int = 1
    total_steps: int = 2_000_000
    num_envs: int = 128
    buffer_size: int = 200_000
    learning_starts: int = 10_000
    batch_size: int = 128
    data_ratio: float = 2.0  # samples trained on per sample generated (the paper's target_data_ratio)
    lr: float = 6.25e-5
    adam_eps: float = 1.5e-5
    gamma: float = 0.999
    target_sync: int = 2500
    max_grad_norm: float = 5.0
    eps_base: float = 0.1
    eps_alpha: float = 7.0
    lam: float = 0.15  # the paper's pikl_lambda for Q-learning
    beta: float = 1.0
    anneal_halvings: int = 4  # lam halves after each fifth of total_steps, 4 times (the paper: epochs 10-40 of 50)
    device: str = "cpu"  # where the network, the engine and the replay live: "cpu" or "cuda"

    def lam_at(self, step: int) -> float:
        """lam after `step` environment steps: 0.15, 0.075, ... 0.009375 over the fifths of the run (0 for vanilla)."""
        if self.instruction == "none":
            return 0.0
        span = self.total_steps / (self.anneal_halvings + 1)
        return self.lam * 0.5 ** min(int(step // span), self.anneal_halvings)

    def epsilons(self) -> torch.Tensor:
        """One exploration rate per game (on `device`), cycling through the paper's 80 values."""
        i = torch.arange(self.num_envs, device=self.device) % 80
        eps = self.eps_base ** (1 + self.eps_alpha * i / 79)
        return torch.where(eps < 1e-6, torch.zeros_like(eps), eps)


class Replay:
    """A ring buffer of one-step transitions on `device`."""

    def __init__(self, size: int, obs_size: int, num_moves: int, device: str = "cpu"):
        self.size, self.count, self.pos, self.device = size, 0, 0, torch.device(device)
        on = {"device": self.device}
        self.obs = torch.zeros(size, obs_size, **on)
        self.next_obs = torch.zeros(size, obs_size, **on)
        self.next_legal = torch.zeros(size, num_moves, dtype=torch.bool, **on)
        self.action = torch.zeros(size, dtype=torch.long, **on)
        self.reward = torch.zeros(size, **on)
        self.done = torch.zeros(size, **on)

    def add(self, obs, action, reward, done, next_obs, next_legal) -> None:
        n = len(action)
        idx = (self.pos + torch.arange(n, device=self.device)) % self.size
        self.obs[idx], self.action[idx], self.reward[idx], self.done[idx] = obs, action, reward.float(), done.float()
        self.next_obs[idx], self.next_legal[idx] = next_obs, next_legal
        self.pos, self.count = (self.pos + n) % self.size, min(self.count + n, self.size)

    def sample(self, n: int) -> dict:
        idx = torch.randint(self.count, (n,), device=self.device)
        return {"obs": self.obs[idx], "action": self.action[idx], "reward": self.reward[idx], "done": self.done[idx],
                "next_obs": self.next_obs[idx], "next_legal": self.next_legal[idx]}


def greedy(q: torch.Tensor, obs: torch.Tensor, legal: torch.Tensor, instruction: str, lam: float, beta: float):
    """argmax over legal moves of q + lam * beta * L (L = 0 for vanilla)."""
    if lam > 0 and instruction != "none":
        q = q + lam * beta * paper_prior_logits(obs, instruction)
    return q.masked_fill(~legal, float("-inf")).argmax(-1)


def q_loss(args: QArgs, net: PolicyNet, target: PolicyNet, batch: dict, lam: float) -> torch.Tensor:
    """Double-DQN Huber loss with the target's next move chosen by Q + lam * beta * L."""
    legal_all = torch.ones(len(batch["action"]), net.config.num_moves, dtype=torch.bool, device=batch["obs"].device)
    q = net(batch["obs"], legal_all)[0].gather(1, batch["action"].unsqueeze(1)).squeeze(1)
    with torch.no_grad():
        next_q = net(batch["next_obs"], batch["next_legal"])[0]
        best = greedy(next_q, batch["next_obs"], batch["next_legal"], args.instruction, lam, args.beta)
        next_value = target(batch["next_obs"], batch["next_legal"])[0].gather(1, best.unsqueeze(1)).squeeze(1)
        y = batch["reward"] + args.gamma * (1 - batch["done"]) * next_value
    return F.smooth_l1_loss(q, y)


def train(args: QArgs, net: PolicyNet, until_step: int, step: int = 0, on_step=None) -> int:
    """Train `net` in place (moved to `args.device`) until `until_step` environment steps; returns the step
    count reached."""
    env, obs, legal = deal(args.num_envs, args.seed, device=args.device)
    net.to(args.device)
    target = PolicyNet(net.config).to(args.device)
    target.load_state_dict(net.state_dict())
    optimizer = torch.optim.Adam(net.parameters(), lr=args.lr, eps=args.adam_eps)
    replay = Replay(args.buffer_size, net.config.obs_size, net.config.num_moves, args.device)
    eps = args.epsilons()
    updates_per_step = max(1, round(args.data_ratio * args.num_envs / args.batch_size))
    updates, scores = 0, []
    while step < until_step:
        start, lam = time.time(), args.lam_at(step)
        with torch.no_grad():
            action = greedy(net(obs, legal)[0], obs, legal, args.instruction, lam, args.beta)
        explore = torch.rand(args.num_envs, device=args.device) < eps
        action = torch.where(explore, torch.multinomial(legal.float(), 1).squeeze(1), action)
        reward, done, score = env.step(action)
        next_obs, next_legal = env.encode(), env.legal_mask()
        replay.add(obs, action, reward, done, next_obs, next_legal)
        obs, legal, step = next_obs, next_legal, step + args.num_envs
        scores.extend(score[done].tolist())
        if replay.count < args.learning_starts:
            continue
        for _ in range(updates_per_step):
            loss = q_loss(args, net, target, replay.sample(args.batch_size), lam)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), args.max_grad_norm)
            optimizer.step()
            updates += 1
            if updates % args.target_sync == 0:
                target.load_state_dict(net.state_dict())
        if on_step:
            on_step(step, {"loss": loss.item(), "lam": lam, "train_score": recent_mean(scores),
                           "steps_per_s": args.num_envs / (time.time() - start)})
    return step
