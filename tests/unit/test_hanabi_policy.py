"""The contract the server relies on: load a Hanabi agent, act on a game, explain the move."""

import math

import pytest
import torch

from agents.hanabi_policy import RuleBotAgent, explain, load_hanabi_agent, move_words
from agents.learn.hanabi_net import NetConfig, PolicyNet
from tests.unit.test_hanabi_learn import game_after


@pytest.fixture
def agent_path(tmp_path):
    torch.manual_seed(0)
    net = PolicyNet(NetConfig(hidden=16, layers=1))
    path = tmp_path / "tiny.pt"
    torch.save(net.checkpoint(meta={"name": "tiny", "instruction": "color", "beta": 2.0, "play_lambda": 0.0}), path)
    return str(path)


def test_load_and_act_return_a_legal_move_with_ranked_explained_alternatives(agent_path):
    agent = load_hanabi_agent(agent_path)
    game = game_after(10)
    uid, info = agent.act(game)
    assert game.is_legal(uid) and agent.name == "tiny" and agent.instruction == "color"
    top = info["top_moves"]
    assert top[0]["uid"] == uid and len(top) == 3
    assert [m["score"] for m in top] == sorted((m["score"] for m in top), reverse=True)
    assert all(game.is_legal(m["uid"]) for m in top)
    assert isinstance(info["explanation"], str) and info["explanation"].endswith(".")


def test_the_prior_term_is_lambda_times_the_log_prior(agent_path):
    agent = load_hanabi_agent(agent_path)
    game = game_after(10)  # after a red hint on A and C the colour prior favours playing A or C
    _, plain = agent.act(game)
    assert all(m["prior_term"] == 0 for m in plain["top_moves"])
    uid, info = agent.act(game, lam=100.0)
    assert uid in (5, 7)
    legal = int(game.legal_mask().sum())
    expected = 100.0 * (2.0 - math.log(2 * math.e ** 2 + legal - 2))  # log softmax(beta * L) at a favoured move
    assert info["prior_term"] == pytest.approx(expected, rel=1e-4)


def test_given_prior_logits_replace_the_paper_prior(agent_path):
    agent = load_hanabi_agent(agent_path)
    logits = torch.zeros(20)
    logits[3] = 50.0  # discard D
    assert agent.act(game_after(10), prior_logits=logits, lam=10.0)[0] == 3


def test_explanations_speak_in_the_terms_of_the_instruction():
    game = game_after(10)  # player 0 hinted red on player 1's A and C
    assert explain(game, 7, "color") == "You hinted red on A and C; you asked me to play colour-hinted cards, so I play C."
    assert explain(game, 7, None) == "You hinted red on A and C, so I play C."
    first = game_after()
    assert explain(first, 14, "color").startswith("You asked me to hint colour, so I show you your blue at B and E")
    assert "play E, it is playable now" in explain(first, 14, "color")
    assert explain(first, 15, "color") == "I show you your 1s at A and E so that you keep those cards."
    assert move_words(12) == "hint green" and move_words(19) == "hint 5" and move_words(6) == "play B"


def test_rule_bot_partner_has_the_same_interface():
    agent = load_hanabi_agent("rulebot:color")
    assert isinstance(agent, RuleBotAgent)
    uid, info = agent.act(game_after(10))
    assert uid == 7 and info["top_moves"][0]["rule"] == "follow"
    assert "you asked me to play colour-hinted cards" in info["explanation"]


def test_a_missing_checkpoint_says_where_the_agents_are(tmp_path):
    with pytest.raises(FileNotFoundError, match="agents/checkpoints/hanabi"):
        load_hanabi_agent(str(tmp_path / "nope.pt"))


def test_act_refuses_a_view_dict(agent_path):
    with pytest.raises(TypeError, match="HanabiGame"):
        load_hanabi_agent(agent_path).act(game_after().view(0))
