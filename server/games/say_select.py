"""Say-Select on the server: the protocol's moves and views over the rules of record
(agents/envs/say_select.py), the partner agents people can choose, and rebuilding a game from its events.

The person plays Alice (seat 0) and says numbers; the agent plays Bob and selects or quits.
Protocol moves: Alice `{"say": N}`, Bob `{"select": N}` or `{"quit": true}`, with N in 1..5.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np

from agents.envs.say_select import ALICE, BOB, MAX_STEPS, NUM_BALLS, QUIT, SaySelectEnv
from server.messages import ProtocolError

GAME = "say-select"
ACTION_LABELS = ["1", "2", "3", "4", "5", "quit"]


@dataclass(frozen=True)
class Partner:
    id: str
    name: str
    description: str
    lam: float


PARTNERS = {
    p.id: p
    for p in [
        Partner("instructq", "instructQ Bob",
                "Learns with Q-learning regularised toward what your instruction suggests (lambda 0.25), "
                "so it settles on the convention you describe.", 0.25),
        Partner("vanilla-q", "Q-learning Bob",
                "Plain Q-learning (lambda 0): it ignores instructions and follows whatever arbitrary "
                "convention its training settled on.", 0.0),
    ]
}


def partner_list() -> list[dict[str, Any]]:
    return [{"id": p.id, "name": p.name, "description": p.description, "lambda": p.lam} for p in PARTNERS.values()]


def human_move_to_action(move: dict[str, Any]) -> int:
    """Alice's protocol move -> env action 0..4, or a ProtocolError saying what to send instead."""
    if set(move) != {"say"}:
        raise ProtocolError("illegal_move", f'you play Alice, who only says a number: send {{"say": N}} with N in 1..5, '
                                            f"not {move}")
    n = move["say"]
    if isinstance(n, bool) or not isinstance(n, int):
        raise ProtocolError("bad_message", f'"say" must be an integer 1..5, got {type(n).__name__}')
    if not 1 <= n <= NUM_BALLS:
        raise ProtocolError("illegal_move", f"there is no ball {n}; say a number from 1 to {NUM_BALLS}")
    return n - 1


def agent_action_to_move(action: int) -> dict[str, Any]:
    return {"quit": True} if action == QUIT else {"select": action + 1}


def move_to_action(move: dict[str, Any]) -> int:
    """Any stored move (Alice's or Bob's) -> env action."""
    if "say" in move:
        return move["say"] - 1
    if move.get("quit"):
        return QUIT
    return move["select"] - 1


class SaySelectGame:
    """One game's rules state. `applied(action)` returns a new game, so the caller can store the
    event first and adopt the new state only once the event is safe."""

    def __init__(self, env: SaySelectEnv, initial: list[int]):
        self.env = env
        self.initial = initial

    @classmethod
    def deal(cls, seed: int) -> "SaySelectGame":
        env = SaySelectEnv()
        env.reset(seed=seed)
        return cls(env, list(env.balls))

    @classmethod
    def from_balls(cls, balls: list[int]) -> "SaySelectGame":
        env = SaySelectEnv()
        env.reset(options={"balls": list(balls)})
        return cls(env, list(env.balls))

    @property
    def step(self) -> int:
        return len(self.env.history)

    @property
    def over(self) -> bool:
        return self.env.remaining_steps == 0

    @property
    def to_act(self) -> str | None:
        if self.over:
            return None
        return "human" if self.env.active_player == ALICE else "agent"

    @property
    def k(self) -> int:
        return self.env.k

    @property
    def total_reward(self) -> int:
        return int(self.env.total_reward)

    @property
    def score(self) -> float:
        return float(self.env.score)

    def legal_moves(self) -> list[dict[str, Any]]:
        """The person's legal moves now (none when it is the agent's turn or the game is over)."""
        if self.to_act != "human":
            return []
        return [{"say": int(i) + 1} for i in np.flatnonzero(self.env.action_mask())]

    def bob_context(self) -> tuple[int, int | None]:
        """(Bob's previous selection 0 = none / 1..5, what Alice just said 1..5 or None before she says)."""
        h = self.env.history
        said = h[-1] + 1 if h and self.env.active_player == BOB else None
        bob_moves = h[1::2]
        prev = bob_moves[-1] + 1 if bob_moves and bob_moves[-1] != QUIT else 0
        return prev, said

    def applied(self, action: int) -> tuple["SaySelectGame", int]:
        """The game after `action` by the player to act, and the reward it earned."""
        env = copy.deepcopy(self.env)
        _, reward, _, _, _ = env.step(action)
        return SaySelectGame(env, self.initial), int(reward)

    def history(self) -> list[dict[str, Any]]:
        out, balls = [], list(self.initial)
        for t, action in enumerate(self.env.history):
            if t % 2 == ALICE:
                out.append({"actor": "human", "move": {"say": action + 1}, "reward": 0})
                continue
            reward = 0 if action == QUIT else balls[action]
            if action != QUIT:
                balls[action] = -1
            out.append({"actor": "agent", "move": agent_action_to_move(action), "reward": reward})
        return out

    def view(self) -> dict[str, Any]:
        """Alice's view: she sees every ball."""
        return {"balls": list(self.env.balls), "initial": list(self.initial), "k": self.k, "step": self.step,
                "max_steps": MAX_STEPS, "history": self.history(), "total_reward": self.total_reward}


def rebuild(events: list[dict[str, Any]]) -> SaySelectGame:
    """The game as its stored events leave it: the deal from `game_started`, then every move in order."""
    start = events[0]
    if start["type"] != "game_started":
        raise ValueError(f"a game's first event must be game_started, got {start['type']}")
    game = SaySelectGame.from_balls(start["payload"]["balls"])
    for e in events[1:]:
        if e["type"] == "move":
            game, _ = game.applied(move_to_action(e["move"]))
    return game
