"""Behaviour cloning of a rule-based convention bot into a PolicyNet, with DAgger rounds.

The paper's agents started from pretrained OBL policies; ours start from a clone of the rule-based
bot that follows the same instruction (`agents.policies.hanabi_rulebots.ConventionBot`). Round 0
records the bot playing itself; each later round lets the network play (sampling its moves) and asks the bot what
it would have done in the positions the network reached (DAgger), so the clone learns to recover
from its own mistakes. All rounds' samples are kept and the network is refit on them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from agents.envs.hanabi.encoding import encode
from agents.envs.hanabi.rules import HanabiGame
from agents.policies.hanabi_net import PolicyNet
from agents.policies.hanabi_rulebots import ConventionBot


@dataclass
class BCArgs:
    instruction: str = "color"  # the bot to clone: "color" or "rank"
    games_per_round: int = 3000
    rounds: int = 3  # round 0 is the bot's own play, the others are DAgger rounds
    epochs: int = 4  # passes over all samples after each round
    batch_size: int = 512
    lr: float = 1e-3
    seed: int = 0


def collect(bot: ConventionBot, net: PolicyNet | None, num_games: int, seed: int) -> tuple[np.ndarray, ...]:
    """Play `num_games` games in lockstep, moved by `net` (or the bot if None); label every position with the bot's move."""
    rng = np.random.default_rng(seed)
    games = [HanabiGame(seed=seed * 1_000_003 + i) for i in range(num_games)]
    obs, legal, labels = [], [], []
    while games:
        batch_obs = np.stack([encode(g, g.current_player) for g in games])
        batch_legal = np.stack([g.legal_mask() for g in games])
        batch_labels = np.array([bot.act(g) for g in games])
        obs.append(batch_obs), legal.append(batch_legal), labels.append(batch_labels)
        moves = batch_labels if net is None else sample_moves(net, batch_obs, batch_legal, rng)
        for g, uid in zip(games, moves):
            g.step(int(uid))
        games = [g for g in games if not g.is_over()]
    return np.concatenate(obs), np.concatenate(legal), np.concatenate(labels)


@torch.no_grad()
def sample_moves(net: PolicyNet, obs: np.ndarray, legal: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    logits, _ = net(torch.from_numpy(obs), torch.from_numpy(legal))
    probs = torch.softmax(logits, -1).numpy().astype(np.float64)
    probs /= probs.sum(1, keepdims=True)
    return np.array([rng.choice(len(p), p=p) for p in probs])


def fit(net: PolicyNet, data: tuple[np.ndarray, ...], args: BCArgs, optimizer: torch.optim.Optimizer) -> float:
    """`args.epochs` passes of cross-entropy to the bot's moves; returns the last epoch's accuracy."""
    obs, legal, labels = (torch.from_numpy(x) for x in data)
    labels = labels.long()
    n = len(labels)
    accuracy = 0.0
    for _ in range(args.epochs):
        correct = 0
        for idx in torch.randperm(n).split(args.batch_size):
            logits, _ = net(obs[idx], legal[idx])
            loss = F.cross_entropy(logits, labels[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            correct += (logits.argmax(-1) == labels[idx]).sum().item()
        accuracy = correct / n
    return accuracy


def clone(args: BCArgs, net: PolicyNet | None = None, log=print) -> PolicyNet:
    """Run every round and return the cloned network."""
    torch.manual_seed(args.seed)
    bot = ConventionBot(args.instruction)
    net = net or PolicyNet()
    optimizer = torch.optim.Adam(net.parameters(), lr=args.lr)
    data = None
    for round_ in range(args.rounds):
        start = time.time()
        new = collect(bot, None if round_ == 0 else net, args.games_per_round, args.seed * 100 + round_)
        data = new if data is None else tuple(np.concatenate([a, b]) for a, b in zip(data, new))
        accuracy = fit(net, data, args, optimizer)
        log(f"bc round {round_}: {len(new[2])} new samples, {len(data[2])} in all, "
            f"accuracy {accuracy:.3f}, {time.time() - start:.0f}s")
    return net
