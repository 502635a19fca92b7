"""The contract the server relies on: load a Hanabi agent, act on a game, explain the move."""

import copy
import math

import numpy as np
import pytest
import torch

from agents.envs.hanabi.deduction import is_playable
from agents.envs.hanabi.encoding import encode
from agents.envs.hanabi.rules import HanabiGame
from agents.policies import Decision
from agents.policies.hanabi import RuleBotAgent, explain, load_hanabi_agent
from agents.policies.hanabi_net import NetConfig, PolicyNet, paper_prior_logits, prior_log_probs
from tests.unit.test_hanabi_learn import B, DEAL, R, W, deck_starting_with, game_after


@pytest.fixture
def agent_path(tmp_path):
    torch.manual_seed(0)
    net = PolicyNet(NetConfig(hidden=16, layers=1))
    path = tmp_path / "tiny.pt"
    torch.save(net.checkpoint(meta={"name": "tiny", "instruction": "color", "beta": 2.0, "play_lambda": 0.0}), path)
    return str(path)


def act(agent, game, log_prior=None, lam=0.0, asked=False) -> Decision:
    """The agent's decision over all of `game`'s legal moves."""
    return agent.act(game, game.legal_moves(), log_prior, lam, asked=asked)


def paper_log_prior(game, instruction, beta):
    """The paper's prior log softmax(beta * L) for the player to move, over its legal moves."""
    obs, legal = torch.from_numpy(encode(game, game.current_player))[None], torch.from_numpy(game.legal_mask())[None]
    return prior_log_probs(paper_prior_logits(obs, instruction), legal, beta)[0, game.legal_moves()].numpy()


def test_load_and_act_return_a_legal_move_with_ranked_explained_alternatives(agent_path):
    agent = load_hanabi_agent(agent_path)
    game = game_after(10)
    decision = act(agent, game)
    uid = decision.move
    assert game.is_legal(uid) and agent.name == "tiny" and agent.instruction == "color"
    top = decision.top
    assert top[0]["uid"] == uid and len(top) == 3
    assert [m["score"] for m in top] == sorted((m["score"] for m in top), reverse=True)
    assert all(game.is_legal(m["uid"]) for m in top)
    assert isinstance(decision.explanation, str) and decision.explanation.endswith(".")


def test_a_playing_agent_records_no_autograd_history(agent_path):
    """log_policy runs without a no_grad context: the agent's frozen parameters are what keep every pass free of
    autograd history (a pass that recorded it would keep the graph alive and cost more per move)."""
    agent = load_hanabi_agent(agent_path)
    game = game_after(10)
    log_pi = agent.log_policy(encode(game, game.current_player)[None], game.legal_mask()[None])
    assert torch.is_grad_enabled() and not log_pi.requires_grad and log_pi.grad_fn is None
    assert not any(p.requires_grad for p in agent.net.parameters())


def test_the_prior_term_is_lambda_times_the_log_prior(agent_path):
    agent = load_hanabi_agent(agent_path)
    game = game_after(10)  # after a red hint on A and C the colour prior favours playing A or C
    plain = act(agent, game)
    assert all(m["prior_term"] == 0 for m in plain.top) and plain.lam == 0.0
    decision = act(agent, game, paper_log_prior(game, "color", beta=2.0), lam=100.0)
    assert decision.move in (5, 7) and decision.lam == 100.0
    legal = int(game.legal_mask().sum())
    expected = 100.0 * (2.0 - math.log(2 * math.e ** 2 + legal - 2))  # log softmax(beta * L) at a favoured move
    assert decision.top[0]["prior_term"] == pytest.approx(expected, rel=1e-4)


def test_a_given_prior_reweights_the_moves(agent_path):
    agent = load_hanabi_agent(agent_path)
    game = game_after(10)
    logits = torch.zeros(20)
    logits[3] = 50.0  # discard D
    log_prior = torch.log_softmax(logits[game.legal_moves()], -1).numpy()
    assert act(agent, game, log_prior, lam=10.0).move == 3
    assert act(agent, game, None, lam=10.0).lam == 0.0  # no prior given: nothing to re-weight


def test_explanations_say_you_asked_only_when_the_person_asked():
    game = game_after(10)  # player 0 hinted red on player 1's A and C
    assert explain(game, 7, "color", True) == \
        "You hinted red on A and C; you asked me to play colour-hinted cards, so I play C."
    assert explain(game, 7, "color", False) == \
        "You hinted red on A and C; I follow the colour convention (a colour hint means play), so I play C."
    assert explain(game, 7, None, False) == "You hinted red on A and C, so I play C."
    assert explain(game, 7, "rank", True) == "You hinted red on A and C, so I play C."


def test_a_hint_is_explained_by_what_the_convention_asks_of_the_person():
    first = game_after()  # player 1 holds R1 B2 R3 W2 B1
    assert explain(first, 14, "color", True) == \
        "You asked me to play colour-hinted cards, so I hint blue on your B and E: under that convention, play E."
    assert explain(first, 10, "color", False) == ("I follow the colour convention (a colour hint means play), so I "
                                                  "hint red on your A and C: under that convention, play C.")
    assert explain(first, 15, "color", False) == \
        "I hint 1s on your A and E, which is not a play signal: I follow the colour convention (a colour hint means play)."
    assert explain(first, 15, "rank", True) == \
        "You asked me to play rank-hinted cards, so I hint 1s on your A and E: under that convention, play E."
    assert explain(first, 14, None, False) == "I hint blue on your B and E."


def touched(game: HanabiGame, uid: int) -> int | None:
    """The positions hint `uid` touches in `game` (public once it is given), or None when it is not legal."""
    if not game.is_legal(uid):
        return None
    after = copy.deepcopy(game)
    after.step(uid)
    return after.history[-1].reveal_bitmask


def test_a_hint_explanation_does_not_depend_on_the_persons_hidden_cards():
    """Two deals that differ only in the cards of player 1 (the person, to whom player 0 hints): a hint that
    touches the same positions in both is explained in the same words, whether its focus is playable or not."""
    person = [[(R, 0), (B, 1), (R, 2), (W, 1), (B, 0)],   # focus of red: R3 (not playable), of blue: B1 (playable)
              [(R, 2), (B, 0), (R, 0), (W, 1), (B, 3)]]   # focus of red: R1 (playable), of blue: B4 (not playable)
    games = [HanabiGame(deck=deck_starting_with(DEAL[:5] + cards)) for cards in person]
    assert [[is_playable(g, g.deck_cards[g.hands[1][s]]) for s in (2, 4)] for g in games] == [[False, True],
                                                                                               [True, False]]
    compared = [uid for uid in range(10, 20) if touched(games[0], uid) is not None
                and touched(games[0], uid) == touched(games[1], uid)]
    assert compared == [10, 13, 14]  # hint red (A, C), white (D), blue (B, E); the rank hints touch other positions
    for uid in compared:
        for instruction, asked in [("color", True), ("color", False), ("rank", True), ("rank", False), (None, False)]:
            assert explain(games[0], uid, instruction, asked) == explain(games[1], uid, instruction, asked)


def test_rule_bot_partner_has_the_same_interface():
    agent = load_hanabi_agent("rulebot:color")
    assert isinstance(agent, RuleBotAgent)
    game = game_after(10)
    decision = act(agent, game, np.zeros(len(game.legal_moves())), lam=1.0, asked=True)
    assert decision.move == 7 and decision.top[0] == {"uid": 7, "move": "play C", "rule": "follow"}
    assert decision.lam == 0.0  # a rule bot has no scores for a prior to re-weight
    assert "you asked me to play colour-hinted cards" in decision.explanation
    assert "you asked" not in act(agent, game_after(10)).explanation


def test_a_missing_checkpoint_says_where_the_agents_are(tmp_path):
    with pytest.raises(FileNotFoundError, match="agents/checkpoints/hanabi"):
        load_hanabi_agent(str(tmp_path / "nope.pt"))


def test_act_refuses_a_view_dict(agent_path):
    with pytest.raises(TypeError, match="HanabiGame"):
        load_hanabi_agent(agent_path).act(game_after().view(0), game_after().legal_moves(), None, 0.0)


@pytest.mark.parametrize("layers", [1, 2])
def test_the_policy_alone_equals_forward_bit_for_bit_after_training_and_loading(layers):
    """PolicyNet applies its layers as functions of their parameters, not through nn.Module's call machinery,
    and log_policy (every agent move of the server) skips the value head: the logits and the value must be
    exactly those of calling the modules, and log_policy forward's log softmax, also once training has changed
    the weights in place and on a network loaded from a checkpoint."""
    torch.manual_seed(layers)
    net = PolicyNet(NetConfig(hidden=32, layers=layers))
    obs = torch.rand(7, net.config.obs_size)
    legal = torch.rand(7, net.config.num_moves) > 0.4
    legal[:, 0] = True

    def same() -> bool:
        with torch.no_grad():
            hidden = net.trunk(obs)
            logits, value = net(obs, legal)
            return torch.equal(logits, net.logits_head(hidden).masked_fill(~legal, float("-inf"))) and \
                torch.equal(value, net.value_head(hidden).squeeze(-1)) and \
                torch.equal(net.log_policy(obs, legal), torch.log_softmax(net(obs, legal)[0], -1)) and \
                torch.equal(net.log_policy(obs[:1], legal[:1]), torch.log_softmax(net(obs[:1], legal[:1])[0], -1))

    assert same()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.5)
    logits, value = net(obs, legal)
    (logits.masked_fill(~legal, 0).sum() + value.sum()).backward()
    optimizer.step()
    assert same()
    net = PolicyNet.from_checkpoint(copy.deepcopy(net.checkpoint()))
    assert same()
