"""The batched engine against the rules of record, step by step, and its automatic reset.

Every batch row plays a game of the rules of record (`rules.HanabiGame`) on the same deck with the
same moves; at every step the legal masks, every seat's encoding (`encoding.encode`), rewards,
scores and game ends must agree. When a game ends the engine deals that row again, and the test
starts a rules game on the engine's new deck, so autoreset is checked by the same comparison.
"""

import numpy as np
import pytest
import torch

from agents.envs.hanabi import encoding, rules
from agents.envs.hanabi.batched import BatchedHanabi, deck_of_all_cards, encoding_size, num_moves
from agents.envs.hanabi.vector_env import HanabiVectorEnv


def _rules_game(engine, row):
    deck = engine.deck[row].tolist()
    return rules.HanabiGame(engine.num_players, deck=[(card // 5, card % 5) for card in deck])


def _choose(game, rng, style):
    """A legal move: uniform ('random'), rarely a play ('long': full-length games), or playing a card
    that is really playable ('cheat': reaches 25 points and returns tokens for 5s)."""
    legal = game.legal_moves()
    h = game.hand_size
    plays = [uid for uid in legal if h <= uid < 2 * h]
    others = [uid for uid in legal if uid not in plays]
    if style == "cheat":
        hand = game.hand_cards(game.current_player)
        playable = [i for i, (c, r) in enumerate(hand) if game.fireworks[c] == r]
        dead = [i for i, (c, r) in enumerate(hand) if game.fireworks[c] > r and i in legal]
        hints = [uid for uid in legal if uid >= 2 * h]
        if playable:
            return h + playable[0]
        if hints and rng.random() < 0.8:
            return int(rng.choice(hints))
        return dead[0] if dead else int(rng.choice(legal))
    if style == "long" and others and rng.random() > 0.03:
        return int(rng.choice(others))
    return int(rng.choice(legal))


def _check_rows(engine, games, step):
    masks = engine.legal_mask().numpy()
    obs = engine.encode_all().numpy()
    for row, game in enumerate(games):
        np.testing.assert_array_equal(masks[row], game.legal_mask(), err_msg=f"mask, row {row} step {step}")
        for seat in range(engine.num_players):
            np.testing.assert_array_equal(obs[row, seat], encoding.encode(game, seat),
                                          err_msg=f"encoding of seat {seat}, row {row} step {step}")


@pytest.mark.parametrize("num_players, num_games, num_steps", [(2, 24, 260), (3, 8, 160), (4, 6, 140), (5, 6, 140)])
def test_engine_agrees_with_rules_of_record_step_by_step(num_players, num_games, num_steps):
    engine = BatchedHanabi(num_games, num_players, seed=num_players)
    rng = np.random.default_rng(num_players)
    styles = [("random", "long", "cheat")[row % 3] for row in range(num_games)]
    games = [_rules_game(engine, row) for row in range(num_games)]
    finished, best = 0, 0
    for step in range(num_steps):
        _check_rows(engine, games, step)
        actions = [_choose(game, rng, style) for game, style in zip(games, styles)]
        rewards = [game.step(uid) for game, uid in zip(games, actions)]
        reward, done, score = engine.step(torch.tensor(actions))
        assert reward.tolist() == rewards
        assert done.tolist() == [game.is_over() for game in games]
        assert score.tolist() == [game.score() for game in games]
        for row in done.nonzero().squeeze(1).tolist():
            finished, best = finished + 1, max(best, games[row].score())
            games[row] = _rules_game(engine, row)
    assert finished >= num_games  # every style finished games, so autoreset was exercised
    assert best == 25  # the cheating rows won, so 5s returning tokens and the win were exercised


def test_autoreset_deals_a_fresh_game_and_keeps_the_final_score():
    engine = BatchedHanabi(64, seed=0)
    rng = torch.Generator().manual_seed(0)
    returns = torch.zeros(64, dtype=torch.long)
    seen_done = False
    for _ in range(40):
        mask = engine.legal_mask()
        actions = (torch.rand(mask.shape, generator=rng) * mask).argmax(1)
        reward, done, score = engine.step(actions)
        returns += reward
        if done.any():
            seen_done = True
            assert torch.equal(returns[done], score[done])  # rewards sum to the final score (0 on a strikeout)
            assert (engine.info[done] == 8).all() and (engine.lives[done] == 3).all()
            assert (engine.cur[done] == 0).all() and (engine.deck_pos[done] == 10).all()
            assert (engine.score[done] == 0).all() and (engine.fireworks[done] == 0).all()
            fresh = engine.encode()[done]
            last_action = slice(127 + 76 + 50, 127 + 76 + 50 + 55)
            assert (fresh[:, last_action] == 0).all()  # a new game has no last move
            assert (fresh[:, 127:167].sum(1) == 40).all()  # deck of 40 after the deal
            for deck in engine.deck[done]:
                assert sorted(deck.tolist()) == deck_of_all_cards()
            returns[done] = 0
    assert seen_done


def test_without_autoreset_finished_games_stay_until_reset_games():
    # Sorted deck: seat 0 holds R1 R1 R1 R2 R2, seat 1 holds R3 R3 R4 R4 R5, then come the yellows.
    engine = BatchedHanabi(2, decks=[deck_of_all_cards()] * 2, seed=0)
    for uid in [5, 5, 10, 5, 10]:  # R1 scores; seat 1 misplays R3 twice between red hints
        reward, done, _ = engine.step(torch.tensor([uid, uid]), autoreset=False)
        assert not done.any()
    reward, done, score = engine.step(torch.tensor([5, 5]), autoreset=False)  # misplays R4: third strike
    assert done.all() and (score == 0).all() and (reward == -1).all()
    assert (engine.lives == 0).all() and (engine.fireworks[:, 0] == 1).all()  # left as it ended
    engine.reset_games(torch.tensor([True, False]), decks=[deck_of_all_cards()])
    assert engine.lives.tolist() == [3, 0] and engine.fireworks[:, 0].tolist() == [0, 1]


def test_seeds_and_decks_deal_reproducibly():
    assert torch.equal(BatchedHanabi(8, seed=3).deck, BatchedHanabi(8, seed=3).deck)
    assert not torch.equal(BatchedHanabi(8, seed=3).deck, BatchedHanabi(8, seed=4).deck)
    decks = torch.stack([torch.randperm(50) for _ in range(4)])
    engine = BatchedHanabi(4, decks=torch.tensor(deck_of_all_cards())[decks])
    assert engine.hands[:, 0].tolist() == engine.deck[:, :5].tolist()
    assert engine.hands[:, 1].tolist() == engine.deck[:, 5:10].tolist()
    with pytest.raises(ValueError, match="50 Hanabi cards"):
        BatchedHanabi(1, decks=[[0] * 50])


@pytest.mark.parametrize("num_players, size, moves", [(2, 658, 20), (3, 956, 30), (4, 1041, 38), (5, 1280, 48)])
def test_sizes_match_hle(num_players, size, moves):
    engine = BatchedHanabi(3, num_players, seed=0)
    assert encoding_size(num_players) == size == encoding.encoding_size(num_players)
    assert num_moves(num_players) == moves == rules.num_moves(num_players)
    assert engine.encode().shape == (3, size) and engine.legal_mask().shape == (3, moves)


def test_encode_into_a_buffer_and_as_other_dtypes():
    engine = BatchedHanabi(5, seed=1)
    buffer = torch.full((5, 658), 7.0)
    assert engine.encode(out=buffer) is buffer
    assert torch.equal(buffer, engine.encode())
    as_bytes = engine.encode(dtype=torch.uint8)
    engine.step(engine.legal_mask().float().argmax(1))
    assert not torch.equal(as_bytes, engine.encode(dtype=torch.uint8))  # not the engine's scratch buffer


def test_vector_env_observations_masks_and_autoreset():
    env = HanabiVectorEnv(num_envs=16, seed=0)
    obs, info = env.reset(seed=5)
    assert obs["observation"].shape == (16, 658) and obs["action_mask"].shape == (16, 20)
    assert (info["current_player"] == 0).all()
    assert env.single_observation_space["observation"].shape == (658,)
    episodes = 0
    for _ in range(60):
        actions = (torch.rand(16, 20) * obs["action_mask"]).argmax(1)
        obs, reward, terminated, truncated, info = env.step(actions)
        assert not truncated.any()
        assert torch.equal(info["current_player"], env.engine.cur)
        assert torch.equal(obs["action_mask"], env.engine.legal_mask().to(torch.int8))
        assert torch.equal(obs["observation"], env.engine.encode())
        assert torch.equal(info["_final_score"], terminated)
        episodes += int(terminated.sum())
    assert episodes > 0
    again, _ = HanabiVectorEnv(num_envs=16).reset(seed=5)
    first, _ = env.reset(seed=5)
    assert torch.equal(first["observation"], again["observation"])


def test_vector_env_final_observation_is_the_ended_game():
    env = HanabiVectorEnv(num_envs=32, seed=0, final_observation=True)
    twin = BatchedHanabi(32, decks=env.engine.deck)  # the same games, never reset automatically
    obs, _ = env.reset(options={"decks": env.engine.deck.clone()})
    ended = 0
    for _ in range(60):
        actions = (torch.rand(32, 20) * obs["action_mask"]).argmax(1)
        obs, reward, terminated, _, info = env.step(actions)
        twin_reward, twin_done, twin_score = twin.step(actions, autoreset=False)
        assert torch.equal(reward, twin_reward.float()) and torch.equal(terminated, twin_done)
        assert torch.equal(info["final_obs"]["observation"][terminated], twin.encode()[terminated])
        assert torch.equal(info["final_score"][terminated], twin_score[terminated])
        twin.reset_games(terminated, decks=env.engine.deck[terminated])
        ended += int(terminated.sum())
    assert ended > 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    cpu, cuda = BatchedHanabi(256, seed=9), BatchedHanabi(256, seed=9, device="cuda")
    cuda.reset(decks=cpu.deck.cuda())
    rng = torch.Generator().manual_seed(0)
    for _ in range(200):
        mask = cpu.legal_mask()
        assert torch.equal(mask, cuda.legal_mask().cpu())
        assert torch.equal(cpu.encode(), cuda.encode().cpu())
        actions = (torch.rand(mask.shape, generator=rng) * mask).argmax(1)
        done = cpu.step(actions, autoreset=False)[1]
        assert torch.equal(done, cuda.step(actions.cuda(), autoreset=False)[1].cpu())
        decks = torch.tensor(deck_of_all_cards())[torch.rand(int(done.sum()), 50, generator=rng).argsort(1)]
        cpu.reset_games(done, decks)
        cuda.reset_games(done.cuda(), decks.cuda())
