"""Hanabi: the rules of record (rules.py), HLE's observation encoding (encoding.py), the paper's texts
(language.py), hanab.live game JSON (hanablive.py) and a gymnasium environment (gym_env.py)."""

from agents.envs.hanabi.rules import HanabiGame, Move, MoveType, all_moves, move_from_uid, num_moves, uid_from_move

__all__ = ["HanabiGame", "Move", "MoveType", "all_moves", "move_from_uid", "num_moves", "uid_from_move"]
