"""What plays Hanabi: trained networks (`HanabiAgent`) and rule bots (`RuleBotAgent`) behind the Policy
interface, the sentence that explains a move (`explain`), and `load_hanabi_agent`.

    agent = load_hanabi_agent("agents/checkpoints/hanabi/color.pt")   # or "rulebot:color"
    decision = agent.act(game, legal, log_prior, lam, asked=True)    # game: rules.HanabiGame, its current player acts
    decision.move         -> 9
    decision.explanation  -> "You hinted red on A and C; you asked me to play colour-hinted cards, so I play C."
                             (asked=False: "...; I follow the colour convention (a colour hint means play), ...")
    decision.top          -> [{"uid": 9, "move": "play C", "score": -0.01, "policy_logp": ..., "prior_term": ...}, ...]

A trained agent scores each legal move by log pi(move) + lam * log p(move), p the prior `act` is given over
the legal moves (none given: log pi alone). For evaluation and training, `scores` and `act_many` use the
agent's own prior instead, the paper's: softmax over legal moves of beta * L, L from its instruction and the
partner's last move (`hanabi_net.paper_prior_logits`), weighted by its `play_lambda` (0 for PPO agents, as
the paper evaluates them). Cards are named by position A-E, oldest first (HLE slot 0 = A), as in the paper's
prompts.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from agents.envs.hanabi.deduction import hint_focus, is_playable, is_useless, possible_cards, public_counts
from agents.envs.hanabi.encoding import encode
from agents.envs.hanabi.language import join_positions, move_name
from agents.envs.hanabi.rules import (
    COLOR_HINT_UIDS,
    COLOR_NAMES,
    DISCARD_UIDS,
    HINT_UIDS,
    NUM_MOVES_2P,
    PLAY_UIDS,
    POSITIONS,
    HanabiGame,
    MoveType,
    mask_slots,
)
from agents.policies.base import Decision
from agents.policies.hanabi_net import PolicyNet, paper_prior_logits, prior_log_probs
from agents.policies.hanabi_rulebots import ConventionBot

TOP_MOVES = 3
_NO_MOVE_TERMS = np.full(NUM_MOVES_2P, -np.inf, dtype=np.float32)  # act's prior terms before the legal moves get theirs
INSTRUCTION_STYLE = {"color": "colour", "rank": "rank"}


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
    names the convention as the agent's own. The sentence is sent to the person during the game, so it is
    built from public information only and never from the person's hidden cards: a play or discard from the
    hints the agent received and the cards played and discarded (not the cards it sees in the person's
    hand, whose count would tell the person about their own cards); a hint from the hint, the positions it
    touches and the convention."""
    me = game.current_player
    last = game.history[-1] if game.history else None
    if uid in PLAY_UIDS:
        slot = uid - PLAY_UIDS.start
        if last is not None and last.move.is_hint and last.reveal_bitmask >> slot & 1:
            value = COLOR_NAMES[last.move.color] if last.move.type is MoveType.REVEAL_COLOR else str(last.move.rank + 1)
            kind = "color" if last.move.type is MoveType.REVEAL_COLOR else "rank"
            hinted = f"You hinted {value} on {join_positions(mask_slots(last.reveal_bitmask))}"
            if instruction == kind:
                return f"{hinted}; {_convention(kind, asked)}, so I play {POSITIONS[slot]}."
            return f"{hinted}, so I play {POSITIONS[slot]}."
        cards = possible_cards(game, me, slot, public_counts(game))
        if cards and all(is_playable(game, c) for c in cards):
            return (f"From the hints and the cards played and discarded, my card at {POSITIONS[slot]} must be "
                    "playable, so I play it.")
        return f"I play {POSITIONS[slot]}, guessing that it is playable."
    if uid in DISCARD_UIDS:
        slot = uid - DISCARD_UIDS.start
        cards = possible_cards(game, me, slot, public_counts(game))
        if cards and all(is_useless(game, c) for c in cards):
            return f"My card at {POSITIONS[slot]} can no longer be played, so I discard it to win back a hint token."
        return f"I discard {POSITIONS[slot]}, a card nobody hinted, to win back a hint token."
    return _explain_hint(game, uid, instruction, asked)


def _explain_hint(game: HanabiGame, uid: int, instruction: str | None, asked: bool) -> str:
    """A hint in the terms of the convention: for a hint of its kind, the card the convention says to play
    (the newest touched one, as the rule bots read hints); for the other kind, that it is no play signal.
    Only which positions the hint touches is taken from the person's hand: everyone sees that once it is given."""
    partner = (game.current_player + 1) % game.num_players
    kind = "color" if uid in COLOR_HINT_UIDS else "rank"
    value = uid - HINT_UIDS[kind].start
    mask = sum(1 << s for s, (color, rank) in enumerate(game.hand_cards(partner))
               if (color if kind == "color" else rank) == value)
    hint = f"{move_name(uid)} on your {join_positions(mask_slots(mask))}"
    if instruction == kind:
        reason = _convention(kind, asked)
        focus = POSITIONS[hint_focus(mask)]
        return f"{reason[0].upper()}{reason[1:]}, so I {hint}: under that convention, play {focus}."
    if instruction is None:
        return f"I {hint}."
    return f"I {hint}, which is not a play signal: {_convention(instruction, asked)}."


def _check_game(game) -> None:
    if not isinstance(game, HanabiGame):
        raise TypeError("act needs the rules.HanabiGame (the server's authoritative game), not a view")


class HanabiAgent:
    """A trained PolicyNet with its instruction, its own prior's strength (beta, play_lambda) and model card."""

    def __init__(self, net: PolicyNet, name: str, instruction: str | None, beta: float = 1.0,
                 play_lambda: float = 0.0, card: dict | None = None, path: str | None = None):
        # the agent only plays: with its parameters frozen no pass records autograd history, so log_policy needs
        # no no_grad context (entering one was a few per cent of an agent move); train_hanabi gives it a copy
        self.net = net.eval().requires_grad_(False)
        self.path = path
        self.name, self.instruction, self.beta, self.play_lambda = name, instruction, beta, play_lambda
        self.card = card or {}

    @property
    def convention(self) -> str | None:
        """The hint convention the agent was trained to follow: "color", "rank" or None."""
        return self.instruction

    def log_policy(self, obs: np.ndarray, legal: np.ndarray) -> torch.Tensor:
        """log pi [B, 20] for observations [B, 658] and legal masks [B, 20]; illegal moves are -inf."""
        return self.net.log_policy(torch.as_tensor(obs), torch.as_tensor(legal))

    @torch.no_grad()
    def scores(self, obs: np.ndarray, legal: np.ndarray, prior_logits=None, lam: float | None = None):
        """(log pi [B, 20], prior term lam * log prior [B, 20], total score [B, 20]) with the agent's own prior
        (the paper's for its instruction, or `prior_logits` L) at `lam` (default play_lambda); illegal moves
        are -inf."""
        legal_t = torch.as_tensor(legal)
        log_pi = self.log_policy(obs, legal)
        lam = self.play_lambda if lam is None else lam
        if prior_logits is None and self.instruction is not None and lam != 0:
            prior_logits = paper_prior_logits(torch.as_tensor(obs), self.instruction)
        if prior_logits is None or lam == 0:
            term = torch.zeros_like(log_pi).masked_fill(~legal_t, float("-inf"))
        else:
            term = lam * prior_log_probs(torch.as_tensor(prior_logits, dtype=torch.float32).reshape(log_pi.shape),
                                         legal_t, self.beta)
        return log_pi, term, log_pi + term

    def act(self, game: HanabiGame, legal: Sequence[int], log_prior: np.ndarray | None, lam: float, *,
            asked: bool = False) -> Decision:
        """The move of `game`'s current player: argmax over `legal` of log pi + lam * log_prior.

        game: the authoritative rules.HanabiGame whose current player is this agent; the agent observes it
        only through encode(game, game.current_player), that player's HLE observation (never its own cards).
        log_prior: log p over exactly `legal`, aligned with it, or None (then log pi alone, Decision.lam 0).
        asked: the person's instruction called for the agent's convention (see `explain`)."""
        _check_game(game)
        legal = [int(uid) for uid in legal]
        mask = np.zeros(NUM_MOVES_2P, dtype=bool)
        mask[legal] = True
        # one network call in torch; the rest (20 numbers) in numpy, where indexing costs no tensor per element
        log_pi = self.log_policy(encode(game, game.current_player)[None], mask[None])[0].numpy()
        applied = float(lam) if log_prior is not None and lam > 0 else 0.0
        term = _NO_MOVE_TERMS.copy()
        if applied:
            if len(log_prior) != len(legal):
                raise ValueError(f"log_prior must hold one number per legal move: {len(log_prior)} for {len(legal)}")
            # prior_term's lam * log p for a lam > 0 (no 0 * -inf to guard against here)
            term[legal] = (applied * np.asarray(log_prior, dtype=np.float64)).astype(np.float32)
        else:
            term[legal] = 0
        total = log_pi + term
        uid = int(total.argmax())
        allowed = set(legal)
        order = [i for i in np.argsort(-total, kind="stable").tolist() if i in allowed][:TOP_MOVES]
        totals, log_pis, terms = total.tolist(), log_pi.tolist(), term.tolist()  # Python floats, converted once
        top = [{"uid": i, "move": move_name(i), "score": round(totals[i], 4),
                "policy_logp": round(log_pis[i], 4), "prior_term": round(terms[i], 4)} for i in order]
        return Decision(uid, explain(game, uid, self.instruction, asked), top, applied)

    def act_many(self, games: list[HanabiGame]) -> list[int]:
        """Greedy moves for many games at once, by `scores` (for evaluation)."""
        obs = np.stack([encode(g, g.current_player) for g in games])
        legal = np.stack([g.legal_mask() for g in games])
        return self.scores(obs, legal)[2].argmax(-1).tolist()


class RuleBotAgent:
    """A `ConventionBot` behind the Policy interface: a partner that needs no training. It has no scores to
    re-weight, so it ignores the prior (Decision.lam is always 0)."""

    def __init__(self, instruction: str):
        self.bot = ConventionBot(instruction)
        self.name, self.instruction, self.card = f"rulebot-{instruction}", instruction, {}

    @property
    def convention(self) -> str:
        """The hint convention the bot follows: "color" or "rank"."""
        return self.instruction

    def act(self, game: HanabiGame, legal: Sequence[int], log_prior: np.ndarray | None, lam: float, *,
            asked: bool = False) -> Decision:
        """The bot's move for `game`'s current player, and the rule that chose it."""
        _check_game(game)
        uid, rule = self.bot.decide(game)
        return Decision(uid, explain(game, uid, self.instruction, asked),
                        [{"uid": uid, "move": move_name(uid), "rule": rule}], 0.0)

    def act_many(self, games: list[HanabiGame]) -> list[int]:
        return [self.bot.act(g) for g in games]


def load_hanabi_agent(source: str) -> HanabiAgent | RuleBotAgent:
    """A trained agent from a checkpoint file, or 'rulebot:color' / 'rulebot:rank' for a rule-based partner."""
    if source.startswith("rulebot:"):
        return RuleBotAgent(source.split(":", 1)[1])
    try:
        ckpt = torch.load(source, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise FileNotFoundError(f"no Hanabi agent at {source}; see agents/checkpoints/hanabi/ for the shipped ones") from None
    meta = ckpt.get("meta", {})
    return HanabiAgent(PolicyNet.from_checkpoint(ckpt), name=meta.get("name", source), instruction=meta.get("instruction"),
                       beta=meta.get("beta", 1.0), play_lambda=meta.get("play_lambda", 0.0), card=meta, path=source)
