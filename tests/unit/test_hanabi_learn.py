"""The learning pieces for Hanabi: the prior's probabilities, the KL and PPO terms, seeding, the rule bots,
the metrics."""

import copy
import dataclasses
import math

import numpy as np
import pytest
import torch

from agents.envs.hanabi.deduction import known_class, possible_cards
from agents.envs.hanabi.encoding import encode
from agents.envs.hanabi.rules import HanabiGame, standard_deck
from agents.learn.hanabi_eval import Report, play_knowledge, self_play
from agents.learn.hanabi_ppo import PPOArgs, advantages, load, masked_entropy, masked_kl, new_state, save, train
from agents.policies.hanabi_net import PolicyNet, paper_prior_logits, prior_log_probs
from agents.policies.hanabi_rulebots import ConventionBot

R, Y, G, W, B = range(5)


def deck_starting_with(cards):
    """A legal 50-card deck whose first cards are `cards` ((colour, rank), rank 0 = a 1)."""
    rest = standard_deck()
    for card in cards:
        rest.remove(card)
    return list(cards) + rest


# player 0 holds Y1 Y2 G1 G2 W1, player 1 holds R1 B2 R3 W2 B1
DEAL = [(Y, 0), (Y, 1), (G, 0), (G, 1), (W, 0), (R, 0), (B, 1), (R, 2), (W, 1), (B, 0)]


def game_after(*uids):
    game = HanabiGame(deck=deck_starting_with(DEAL))
    for uid in uids:
        game.step(uid)
    return game


# ---------------------------------------------------------------- the paper's prior L
# (that it is the paper's rule: tests/unit/test_conventions.py, on every partner move)


def test_prior_rejects_an_unknown_instruction():
    with pytest.raises(ValueError, match="instruction"):
        paper_prior_logits(torch.zeros(1, 658), "suit")


def test_prior_log_probs_put_e_to_the_beta_more_mass_on_allowed_moves():
    legal = torch.tensor([[True, True, True, False]])
    logp = prior_log_probs(torch.tensor([[1.0, 0.0, 0.0, 1.0]]), legal, beta=2.0)
    assert math.isclose(logp[0, 0].exp() / logp[0, 1].exp(), math.e ** 2, rel_tol=1e-5)
    assert logp[0, 3] == float("-inf")
    assert math.isclose(logp[0, :3].exp().sum().item(), 1.0, rel_tol=1e-6)


# ---------------------------------------------------------------- KL, entropy, advantages


def test_masked_kl_matches_the_formula_and_has_finite_gradients():
    legal = torch.tensor([[True, False, True, True]])
    logits = torch.tensor([[0.5, 0.0, -1.0, 2.0]], requires_grad=True)
    log_pi = torch.log_softmax(logits.masked_fill(~legal, float("-inf")), -1)
    log_q = prior_log_probs(torch.tensor([[1.0, 1.0, 0.0, 0.0]]), legal, beta=1.0)
    kl = masked_kl(log_pi, log_q, legal)
    p, q = log_pi.exp()[0, [0, 2, 3]], log_q.exp()[0, [0, 2, 3]]
    assert math.isclose(kl.item(), (p * (p / q).log()).sum().item(), rel_tol=1e-5)
    kl.sum().backward()
    assert torch.isfinite(logits.grad).all()
    assert masked_kl(log_q, log_q, legal).abs().item() < 1e-6


def test_masked_entropy_of_a_uniform_policy_is_log_of_the_legal_count():
    legal = torch.tensor([[True, True, False, True]])
    log_pi = torch.log_softmax(torch.zeros(1, 4).masked_fill(~legal, float("-inf")), -1)
    assert math.isclose(masked_entropy(log_pi, legal).item(), math.log(3), rel_tol=1e-6)


def test_advantages_do_not_bootstrap_across_the_end_of_a_game():
    args = PPOArgs(num_envs=1, num_steps=2, gamma=0.5, gae_lambda=0.0)
    buf = {"reward": torch.tensor([[1.0], [0.0]]), "done": torch.tensor([[1.0], [0.0]]),
           "value": torch.tensor([[0.25], [2.0]])}
    adv, ret = advantages(args, buf, next_value=torch.tensor([4.0]))
    assert adv[0, 0].item() == pytest.approx(1.0 - 0.25)  # game over: no 0.5 * V(next deal)
    assert adv[1, 0].item() == pytest.approx(0.5 * 4.0 - 2.0)
    assert ret[1, 0].item() == pytest.approx(2.0)


def test_ppo_training_is_reproducible_from_its_seed():
    args = PPOArgs(num_envs=8, num_steps=4, value_warmup_updates=0)
    net = PolicyNet()
    first, second = (train(args, new_state(args, copy.deepcopy(net)), 64).net.state_dict() for _ in range(2))
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert not torch.equal(first["logits_head.weight"], net.state_dict()["logits_head.weight"])


def test_lambda_anneals_linearly_to_its_floor_and_vanilla_is_zero():
    args = PPOArgs(total_steps=1000, lam=0.05, lam_min=0.01, anneal_steps=4, anneal_frac=0.4)
    assert [round(args.lam_at(s), 3) for s in (0, 99, 100, 250, 400, 999)] == [0.05, 0.05, 0.04, 0.03, 0.01, 0.01]
    assert PPOArgs(instruction="none").lam_at(0) == 0.0


# ---------------------------------------------------------------- rule bots and deduction


def test_colour_bot_plays_the_newest_card_a_colour_hint_touched():
    game = game_after(10)  # red touches player 1's slots 0 and 2
    assert ConventionBot("color").decide(game) == (7, "follow")


def test_colour_bot_hints_a_colour_whose_newest_card_is_playable():
    # player 1's reds: R1 (slot 0) and R3 (slot 2) -> red's focus is R3, not playable; blue's newest is B1
    uid, rule = ConventionBot("color").decide(game_after())
    assert (uid, rule) == (14, "hint")


def test_rank_bot_plays_the_newest_card_a_rank_hint_touched():
    assert ConventionBot("rank").decide(game_after(15)) == (9, "follow")


def test_deduction_uses_hints_and_card_counts():
    game = game_after(10, 15)  # player 0 is told: slots 0 and 4 are 1s; player 1 has R1 (visible to player 0)
    assert known_class(possible_cards(game, 0, 0)) == "rank"
    assert play_knowledge(game, 5) == "rank"
    assert known_class([R * 5 + 0]) == "both"
    assert known_class([R * 5 + 0, R * 5 + 2]) == "color"
    assert known_class([R * 5 + 0, Y * 5 + 2]) == "none"
    assert play_knowledge(game, 0) is None  # a discard is not a play


@pytest.mark.parametrize("instruction, own_class", [("color", "color"), ("rank", "rank")])
def test_convention_bots_score_well_and_play_the_cards_their_convention_names(instruction, own_class):
    report = self_play(BotAgent(instruction), num_games=30, seed=5)
    assert report.mean > 17 and report.bomb_rate < 0.1
    fractions = report.knowledge_fractions()
    assert fractions[own_class] > 0.5 and max(fractions, key=fractions.get) == own_class


class BotAgent:
    def __init__(self, instruction):
        self.bot, self.name = ConventionBot(instruction), instruction

    def act_many(self, games):
        return [self.bot.act(g) for g in games]


# ---------------------------------------------------------------- metrics


def test_report_statistics():
    report = Report(scores=[25, 0, 20, 15], bombs=1)
    assert report.mean == 15
    assert report.sem == pytest.approx(np.std([25, 0, 20, 15], ddof=1) / 2)
    assert report.perfect_rate == 0.25 and report.bomb_rate == 0.25
    report.action_counts[12, 5] = 3
    report.action_counts[12, 6] = 1
    assert report.conditional_matrix()[12, 5] == 0.75 and report.conditional_matrix()[0].sum() == 0


def test_self_play_counts_every_move_pair_and_every_play():
    report = self_play(BotAgent("color"), num_games=3, seed=11)
    assert report.games == 3
    assert sum(report.knowledge.values()) == report.action_counts[:, 5:10].sum() + _first_move_plays(3, 11)


def _first_move_plays(num_games, seed):
    bot = ConventionBot("color")
    return sum(5 <= bot.act(HanabiGame(seed=seed + i)) < 10 for i in range(num_games))


def test_policy_net_masks_illegal_moves():
    net = PolicyNet()
    legal = torch.zeros(2, 20, dtype=torch.bool)
    legal[:, 3] = True
    logits, value = net(torch.zeros(2, 658), legal)
    assert logits.argmax(-1).tolist() == [3, 3] and value.shape == (2,)


# ---------------------------------------------------------------- instructQ


def test_q_acting_and_target_choose_by_q_plus_lambda_beta_prior():
    from agents.learn.hanabi_q import greedy

    game = game_after(10)  # red hint on A and C: the colour prior favours plays 5 and 7
    obs = torch.from_numpy(encode(game, 1))[None]
    legal = torch.from_numpy(game.legal_mask())[None]
    q = torch.zeros(1, 20)
    q[0, 3] = 0.5  # Q prefers discarding D
    assert greedy(q, obs, legal, "color", lam=0.0, beta=1.0).item() == 3
    assert greedy(q, obs, legal, "color", lam=1.0, beta=1.0).item() in (5, 7)
    assert greedy(q, obs, legal, "none", lam=1.0, beta=1.0).item() == 3


def test_q_loss_bootstraps_only_from_unfinished_games():
    from agents.learn.hanabi_q import QArgs, q_loss

    net = PolicyNet()
    for p in net.parameters():
        torch.nn.init.zeros_(p)
    legal = torch.ones(2, 20, dtype=torch.bool)
    batch = {"obs": torch.zeros(2, 658), "action": torch.tensor([0, 1]), "reward": torch.tensor([1.0, 1.0]),
             "done": torch.tensor([1.0, 0.0]), "next_obs": torch.zeros(2, 658), "next_legal": legal}
    with torch.no_grad():
        net.logits_head.bias.fill_(2.0)
    loss = q_loss(QArgs(gamma=0.5), net, net, batch, lam=0.0)
    # Q = 2 everywhere: targets 1 (done) and 1 + 0.5 * 2 = 2; Huber of errors 1 and 0 -> (0.5 + 0) / 2
    assert loss.item() == pytest.approx(0.25)


def test_q_epsilons_follow_the_paper():
    from agents.learn.hanabi_q import QArgs

    eps = QArgs(num_envs=80).epsilons()
    assert eps[0].item() == pytest.approx(0.1, rel=1e-6) and eps[1].item() == pytest.approx(0.1 ** (1 + 7 / 79), rel=1e-5)
    assert eps[79].item() == 0.0  # 0.1 ** 8 is below 1e-6, which the paper rounds to 0
    lams = [QArgs(lam=0.15, total_steps=100).lam_at(s) for s in (0, 19, 20, 45, 79, 80, 100, 500)]
    assert lams == pytest.approx([0.15, 0.15, 0.075, 0.0375, 0.01875, 0.009375, 0.009375, 0.009375])
    assert QArgs(instruction="none").lam_at(0) == 0.0


def test_q_training_runs_and_counts_steps():
    from agents.learn.hanabi_q import QArgs, train

    args = QArgs(num_envs=8, learning_starts=16, batch_size=8, buffer_size=64, total_steps=64)
    seen = []
    assert train(args, PolicyNet(), 64, on_step=lambda step, stats: seen.append(stats["loss"])) == 64
    assert seen and all(math.isfinite(x) for x in seen)


# ---------------------------------------------------------------- devices and checkpoints

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def tensors_in(value):
    """Every tensor in a checkpoint (nested dicts and lists)."""
    if isinstance(value, torch.Tensor):
        return [value]
    items = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else []
    return [t for v in items for t in tensors_in(v)]


def adam_moments(optimizer):
    return [v for state in optimizer.state.values() for k, v in state.items() if k != "step"]


def test_ppo_checkpoint_on_cpu_resumes_with_its_optimizer(tmp_path):
    args = PPOArgs(num_envs=8, num_steps=4, value_warmup_updates=0, device="cpu")
    state = train(args, new_state(args, PolicyNet()), 2 * args.batch_size)
    path = str(tmp_path / "ppo.pt")
    save(path, args, state, meta={})
    assert all(t.device.type == "cpu" for t in tensors_in(torch.load(path, weights_only=True)))
    resumed = load(path, args)
    assert (resumed.step, resumed.updates) == (2 * args.batch_size, 2)
    assert len(adam_moments(resumed.optimizer)) == len(adam_moments(state.optimizer)) > 0
    assert all(torch.equal(a, b) for a, b in zip(adam_moments(resumed.optimizer), adam_moments(state.optimizer)))
    assert train(args, resumed, 3 * args.batch_size).updates == 3


@needs_cuda
def test_ppo_trains_on_cuda_and_its_checkpoint_resumes_on_cpu_and_cuda(tmp_path):
    from agents.policies.hanabi import load_hanabi_agent

    args = PPOArgs(num_envs=8, num_steps=4, value_warmup_updates=0, device="cuda")
    state, devices = new_state(args, PolicyNet()), []
    train(args, state, 2 * args.batch_size,
          on_update=lambda s, stats: devices.append({p.device.type for p in s.net.parameters()}))
    assert devices == [{"cuda"}, {"cuda"}]
    path = str(tmp_path / "ppo.pt")
    save(path, args, state, meta={"name": "gpu", "instruction": "color"})
    assert all(t.device.type == "cpu" for t in tensors_in(torch.load(path, weights_only=True)))
    game = HanabiGame(seed=0)
    assert 0 <= load_hanabi_agent(path).act(game, game.legal_moves(), None, 0.0).move < 20
    for device in ("cpu", "cuda"):
        on = dataclasses.replace(args, device=device)
        resumed = load(path, on)
        assert resumed.updates == 2 and {p.device.type for p in resumed.net.parameters()} == {device}
        assert adam_moments(resumed.optimizer) and all(m.device.type == device for m in adam_moments(resumed.optimizer))
        assert torch.equal(resumed.net.logits_head.weight.cpu(), state.net.logits_head.weight.cpu())
        assert train(on, resumed, 3 * args.batch_size).updates == 3


@needs_cuda
def test_q_trains_on_cuda_and_its_checkpoint_resumes_on_cpu(tmp_path):
    from agents.learn.hanabi_q import QArgs
    from agents.learn.hanabi_q import train as train_q
    from agents.policies.hanabi import load_hanabi_agent

    # one step of 8 games fills the replay to learning_starts, then 2 updates (data_ratio 2 * 8 / 8)
    args = QArgs(num_envs=8, learning_starts=8, batch_size=8, buffer_size=64, device="cuda")
    net, devices = PolicyNet(), []

    def on_step(step, stats):
        devices.append({p.device.type for p in net.parameters()})

    assert train_q(args, net, 8, on_step=on_step) == 8
    assert devices == [{"cuda"}]
    path = str(tmp_path / "q.pt")
    torch.save(net.checkpoint(step=8, meta={"name": "gpu-q", "instruction": "color"}), path)
    ckpt = torch.load(path, weights_only=True)
    assert all(t.device.type == "cpu" for t in tensors_in(ckpt))
    game = HanabiGame(seed=0)
    assert 0 <= load_hanabi_agent(path).act(game, game.legal_moves(), None, 0.0).move < 20
    resumed = PolicyNet.from_checkpoint(torch.load(path, map_location="cpu", weights_only=True))
    assert train_q(dataclasses.replace(args, device="cpu"), resumed, 16, step=ckpt["step"]) == 16
    assert {p.device.type for p in resumed.parameters()} == {"cpu"}
