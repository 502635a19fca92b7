"""What the server loads to play Hanabi: trained agents and rule-based partners behind one interface.

    agent = load_hanabi_agent("agents/checkpoints/hanabi/color.pt")   # or "rulebot:color"
    uid, info = agent.act(game, asked=True)         # game: rules.HanabiGame, its current player acts
    info["explanation"]  -> "You hinted red on A and C; you asked me to play colour-hinted cards, so I play C."
                            (asked=False: "...; I follow the colour convention (a colour hint means play), ...")
    info["top_moves"]    -> [{"uid": 9, "move": "play C", "score": -0.01, "policy_logp": ..., "prior_term": ...}, ...]

A trained agent scores each legal move by log pi(move) + lam * log prior(move), where the prior is the
paper's: softmax over legal moves of beta * L, L from the instruction and the partner's last move
(`hanabi_net.paper_prior_logits`); `prior_logits` may be passed in from another backend instead.
`lam` defaults to the agent's `play_lambda` (0 for PPO agents, as the paper evaluates them).
Cards are named by position A-E, oldest first (HLE slot 0 = A), as in the paper's prompts.
"""

from __future__ import annotations

import numpy as np
import torch

from agents.envs.hanabi.encoding import encode
from agents.envs.hanabi.language import move_name
from agents.envs.hanabi.rules import COLOR_NAMES, HanabiGame, MoveType
from agents.learn.hanabi_net import PolicyNet, paper_prior_logits, prior_log_probs
from agents.learn.hanabi_rulebots import ConventionBot, hint_focus, is_playable, is_useless, possible_cards

POSITIONS = "ABCDE"
TOP_MOVES = 3
INSTRUCTION_STYLE = {"color": "colour", "rank": "rank"}


def _positions(mask: int) -> str:
    names = [POSITIONS[i] for i in range(5) if mask >> i & 1]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _convention(kind: str, asked: bool) -> str:
    """Why the agent reads `kind` hints as play signals: the person asked for it, or it is the agent's own."""
    style = INSTRUCTION_STYLE[kind]
    if asked:
        return f"you asked me to play {style}-hinted cards"
    return f"I follow the {style} convention (a {style} hint means play)"


def explain(game: HanabiGame, uid: int, instruction: str | None, asked: bool) -> str:
    """One sentence saying why the player to move makes move `uid`.

    `instruction` is the convention the agent follows ("color", "rank" or None); `asked` says whether the
    person's adopted instruction called for it: only then does the sentence say "you asked me", otherwise it
    names the convention as the agent's own. A play or discard is explained from what the agent can deduce
    from its own view; a hint only from public information (the hint, the positions it touches, the
    history) and the convention, never from the person's hidden cards."""
    me = game.current_player
    last = game.history[-1] if game.history else None
    if 5 <= uid < 10:
        slot = uid - 5
        if last is not None and last.move.is_hint and last.reveal_bitmask >> slot & 1:
            value = COLOR_NAMES[last.move.color] if last.move.type is MoveType.REVEAL_COLOR else str(last.move.rank + 1)
            kind = "color" if last.move.type is MoveType.REVEAL_COLOR else "rank"
            hinted = f"You hinted {value} on {_positions(last.reveal_bitmask)}"
            if instruction == kind:
                return f"{hinted}; {_convention(kind, asked)}, so I play {POSITIONS[slot]}."
            return f"{hinted}, so I play {POSITIONS[slot]}."
        cards = possible_cards(game, me, slot)
        if cards and all(is_playable(game, c) for c in cards):
            return f"From the hints and the cards I can see, my card at {POSITIONS[slot]} must be playable, so I play it."
        return f"I play {POSITIONS[slot]}, guessing that it is playable."
    if uid < 5:
        cards = possible_cards(game, me, uid)
        if cards and all(is_useless(game, c) for c in cards):
            return f"My card at {POSITIONS[uid]} can no longer be played, so I discard it to win back a hint token."
        return f"I discard {POSITIONS[uid]}, a card nobody hinted, to win back a hint token."
    return _explain_hint(game, uid, instruction, asked)


def _explain_hint(game: HanabiGame, uid: int, instruction: str | None, asked: bool) -> str:
    """A hint in the terms of the convention: for a hint of its kind, the card the convention says to play
    (the newest touched one, as the rule bots read hints); for the other kind, that it is no play signal.
    Only which positions the hint touches is taken from the person's hand: everyone sees that once it is given."""
    partner = (game.current_player + 1) % game.num_players
    kind, value = ("color", uid - 10) if uid < 15 else ("rank", uid - 15)
    mask = sum(1 << s for s, (color, rank) in enumerate(game.hand_cards(partner))
               if (color if kind == "color" else rank) == value)
    hint = f"hint {COLOR_NAMES[value] if kind == 'color' else f'{value + 1}s'} on your {_positions(mask)}"
    if instruction == kind:
        reason = _convention(kind, asked)
        focus = POSITIONS[hint_focus(mask)]
        return f"{reason[0].upper()}{reason[1:]}, so I {hint}: under that convention, play {focus}."
    if instruction is None:
        return f"I {hint}."
    return f"I {hint}, which is not a play signal: {_convention(instruction, asked)}."


class HanabiAgent:
    """A trained PolicyNet with its instruction, prior strength and model card."""

    def __init__(self, net: PolicyNet, name: str, instruction: str | None, beta: float = 1.0,
                 play_lambda: float = 0.0, card: dict | None = None, path: str | None = None):
        self.net = net.eval()
        self.path = path
        self.name, self.instruction, self.beta, self.play_lambda = name, instruction, beta, play_lambda
        self.card = card or {}

    @torch.no_grad()
    def scores(self, obs: np.ndarray, legal: np.ndarray, prior_logits=None, lam: float | None = None):
        """(log pi [B, 20], prior term lam * log prior [B, 20], total score [B, 20]); illegal moves are -inf."""
        obs_t, legal_t = torch.as_tensor(obs), torch.as_tensor(legal)
        logits, _ = self.net(obs_t, legal_t)
        log_pi = torch.log_softmax(logits, -1)
        lam = self.play_lambda if lam is None else lam
        if prior_logits is None and self.instruction is not None and lam != 0:
            prior_logits = paper_prior_logits(obs_t, self.instruction)
        if prior_logits is None or lam == 0:
            term = torch.zeros_like(log_pi).masked_fill(~legal_t, float("-inf"))
        else:
            term = lam * prior_log_probs(torch.as_tensor(prior_logits, dtype=torch.float32).reshape(log_pi.shape),
                                         legal_t, self.beta)
        return log_pi, term, log_pi + term

    def act(self, game: HanabiGame, legal=None, prior_logits=None, lam: float | None = None,
            asked: bool = False) -> tuple[int, dict]:
        """The move for `game`'s current player and what explains it (`asked`: the person's instruction
        called for the agent's convention, see `explain`)."""
        if not isinstance(game, HanabiGame):
            raise TypeError("act needs the rules.HanabiGame (the server's authoritative game), not a view")
        obs = encode(game, game.current_player)[None]
        legal = game.legal_mask() if legal is None else np.asarray(legal, dtype=bool)
        log_pi, term, total = (x[0] for x in self.scores(obs, legal[None], prior_logits, lam))
        uid = int(total.argmax())
        order = [int(i) for i in torch.argsort(total, descending=True) if legal[int(i)]][:TOP_MOVES]
        top = [{"uid": i, "move": move_name(i), "score": round(float(total[i]), 4),
                "policy_logp": round(float(log_pi[i]), 4), "prior_term": round(float(term[i]), 4)} for i in order]
        return uid, {"top_moves": top, "prior_term": top[0]["prior_term"],
                     "explanation": explain(game, uid, self.instruction, asked)}

    @torch.no_grad()
    def act_many(self, games: list[HanabiGame]) -> list[int]:
        """Greedy moves for many games at once (for evaluation)."""
        obs = np.stack([encode(g, g.current_player) for g in games])
        legal = np.stack([g.legal_mask() for g in games])
        return self.scores(obs, legal)[2].argmax(-1).tolist()


class RuleBotAgent:
    """A `ConventionBot` behind the HanabiAgent interface: a partner that needs no training."""

    def __init__(self, instruction: str):
        self.bot = ConventionBot(instruction)
        self.name, self.instruction, self.card = f"rulebot-{instruction}", instruction, {}

    def act(self, game: HanabiGame, legal=None, prior_logits=None, lam: float | None = None,
            asked: bool = False) -> tuple[int, dict]:
        uid, rule = self.bot.decide(game)
        return uid, {"top_moves": [{"uid": uid, "move": move_name(uid), "rule": rule}], "prior_term": 0.0,
                     "explanation": explain(game, uid, self.instruction, asked)}

    def act_many(self, games: list[HanabiGame]) -> list[int]:
        return [self.bot.act(g) for g in games]


def load_hanabi_agent(path: str):
    """A trained agent from a checkpoint file, or 'rulebot:color' / 'rulebot:rank' for a rule-based partner."""
    if path.startswith("rulebot:"):
        return RuleBotAgent(path.split(":", 1)[1])
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise FileNotFoundError(f"no Hanabi agent at {path}; see agents/checkpoints/hanabi/ for the shipped ones") from None
    meta = ckpt.get("meta", {})
    return HanabiAgent(PolicyNet.from_checkpoint(ckpt), name=meta.get("name", path), instruction=meta.get("instruction"),
                       beta=meta.get("beta", 1.0), play_lambda=meta.get("play_lambda", 0.0), card=meta, path=path)
