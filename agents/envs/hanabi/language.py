"""Hanabi in words: the InstructRL paper's texts (Hu & Sadigh 2023), short move names for people (`move_name`),
lists of names ("A, B and E", `join_names`) and a readable rendering of a player's view.

The paper's language model sees only the partner's last move and one candidate move, in these
exact words (instruct-rl `pyhanabi/gen_all_langs.py`, 2 players, hand positions A-E = slots 0-4,
A the oldest card):
- partner's last move: "My partner did nothing", "My partner played their card at position B",
  "My partner discarded their card at position E", "My partner told me that the color of my card at
  position A is red", "My partner told me that the rank of my cards at position A, B and E is 2"
  (321 texts: nothing, 10 plays/discards, 10 hint values x 31 sets of touched positions);
- candidate move (note the leading space): " play my card at position A", " discard my card at
  position A", " hint color to my partner", " hint rank to my partner" (12 distinct texts); with
  full=True the hint names its value, " hint 'color red' to my partner", as the paper's option does.
"""

from __future__ import annotations

import functools
import itertools
from typing import Sequence

from agents.envs.hanabi.rules import (
    COLOR_NAMES,
    MAX_INFORMATION_TOKENS,
    MAX_LIFE_TOKENS,
    MAX_SCORE,
    NUM_COLORS,
    NUM_RANKS,
    POSITIONS,
    HanabiGame,
    HistoryItem,
    Move,
    MoveType,
    all_moves,
    card_name,
    mask_slots,
)

NOTHING = "My partner did nothing"
PAPER_PROMPT = "Instruction: {instruction}\n\nPreviously: {prev_action}.\n\nQuestion: Should I{curr_action}?\n\nAnswer:"
PAPER_INSTRUCTIONS = {
    "color": "If my partner tells me the 'color' of some of my cards, I should play those specific cards. "
             "If my partner does something else, e.g. discards their card or tells me the 'rank' of my cards, "
             "then I may 'hint color' to my partner.",
    "rank": "If my partner tells me the 'rank' of some of my cards, I should play those specific cards. "
            "If my partner does something else, e.g. discards their card or tells me the 'color' of my cards, "
            "then I may 'hint rank' to my partner.",
}  # meta_prompt5, the prompts behind the paper's priors


def _two_players_only(num_players: int) -> None:
    if num_players != 2:
        raise ValueError(f"the paper's Hanabi texts describe 2-player games, not {num_players} players")


def join_names(names: Sequence[str]) -> str:
    """'A', 'A and C', 'A, B and E': the paper's way of listing positions, used for every list in words."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def join_positions(slots: Sequence[int]) -> str:
    """The positions of hand slots in words: [0, 2] -> 'A and C'."""
    return join_names([POSITIONS[i] for i in slots])


def hint_text(move: Move, touched_slots: list[int]) -> str:
    """'My partner told me that the color of my cards at position A and E is red'."""
    kind, value = ("color", COLOR_NAMES[move.color]) if move.type is MoveType.REVEAL_COLOR else ("rank", str(move.rank + 1))
    cards = "card" if len(touched_slots) == 1 else "cards"
    return f"My partner told me that the {kind} of my {cards} at position {join_positions(touched_slots)} is {value}"


def history_item_text(item: HistoryItem | None) -> str:
    """The paper's text for a partner's move, seen by the player it was made to (None: no move yet)."""
    if item is None:
        return NOTHING
    if item.move.type is MoveType.PLAY:
        return f"My partner played their card at position {POSITIONS[item.move.card_index]}"
    if item.move.type is MoveType.DISCARD:
        return f"My partner discarded their card at position {POSITIONS[item.move.card_index]}"
    return hint_text(item.move, mask_slots(item.reveal_bitmask))


def partner_last_move_text(game: HanabiGame, player: int) -> str:
    """The paper's 'Previously: ...' text: the most recent move of `player`'s partner (2 players)."""
    _two_players_only(game.num_players)
    partner_moves = (item for item in reversed(game.history) if item.player != player)
    return history_item_text(next(partner_moves, None))


def move_text(uid: int, full: bool = False) -> str:
    """The paper's text for a candidate move of a 2-player game, e.g. ' play my card at position A'."""
    move = all_moves(2)[uid]
    if move.type is MoveType.PLAY:
        return f" play my card at position {POSITIONS[move.card_index]}"
    if move.type is MoveType.DISCARD:
        return f" discard my card at position {POSITIONS[move.card_index]}"
    if not full:
        return " hint color to my partner" if move.type is MoveType.REVEAL_COLOR else " hint rank to my partner"
    if move.type is MoveType.REVEAL_COLOR:
        return f" hint 'color {COLOR_NAMES[move.color]}' to my partner"
    return f" hint 'rank {move.rank + 1}' to my partner"


@functools.cache  # 20 names, asked for on every move (prior labels, top moves)
def move_name(uid: int) -> str:
    """A move of a 2-player game named for people: 'play A', 'discard C', 'hint red', 'hint 3s' (the page's
    prior bars and top moves, the stored events' `labels` and `top`, the server's refusals)."""
    move = all_moves(2)[uid]
    if move.type is MoveType.PLAY:
        return f"play {POSITIONS[move.card_index]}"
    if move.type is MoveType.DISCARD:
        return f"discard {POSITIONS[move.card_index]}"
    if move.type is MoveType.REVEAL_COLOR:
        return f"hint {COLOR_NAMES[move.color]}"
    return f"hint {move.rank + 1}s"


def all_action_texts() -> list[str]:
    """The 12 distinct candidate-move texts: play and discard per position A-E, then the two hints."""
    texts = []
    for position in POSITIONS:
        texts += [f" play my card at position {position}", f" discard my card at position {position}"]
    return texts + [" hint color to my partner", " hint rank to my partner"]


def all_partner_move_texts() -> list[str]:
    """The 321 partner-move texts, in the paper's order: nothing, then by move uid, hints by touched set."""
    texts = [NOTHING]
    for uid, move in enumerate(all_moves(2)):
        if not move.is_hint:
            texts.append(history_item_text(HistoryItem(player=1, move=move, uid=uid)))
            continue
        for size in range(1, len(POSITIONS) + 1):
            texts += [hint_text(move, list(slots)) for slots in itertools.combinations(range(len(POSITIONS)), size)]
    return texts


# ---------------------------------------------------------------- a readable view


def _card_words(code: int) -> str:
    return f"{COLOR_NAMES[code // NUM_RANKS]} {code % NUM_RANKS + 1}"


def _knowledge_words(know) -> str:
    colors = [COLOR_NAMES[c] for c in range(NUM_COLORS) if know.color_plausible >> c & 1]
    ranks = [str(r + 1) for r in range(NUM_RANKS) if know.rank_plausible >> r & 1]
    hinted = [w for w in (COLOR_NAMES[know.color] if know.color >= 0 else "",
                          f"rank {know.rank + 1}" if know.rank >= 0 else "") if w]
    told = f"told {' and '.join(hinted)}; " if hinted else ""
    return f"{told}could be {'/'.join(colors)} {'/'.join(ranks)}"


def _move_words(item: HistoryItem, observer: int, num_players: int) -> str:
    who = "You" if item.player == observer else f"Player {item.player}"
    move = item.move
    if move.type in (MoveType.PLAY, MoveType.DISCARD):
        card = _card_words(item.color * NUM_RANKS + item.rank)
        if move.type is MoveType.DISCARD:
            return f"{who} discarded {card} from position {POSITIONS[move.card_index]}"
        outcome = "" if item.scored else " (a misplay: lost a life)"
        return f"{who} played {card} from position {POSITIONS[move.card_index]}{outcome}"
    target = (item.player + move.target_offset) % num_players
    whom = "you" if target == observer else f"player {target}"
    value = COLOR_NAMES[move.color] if move.type is MoveType.REVEAL_COLOR else f"rank {move.rank + 1}"
    return f"{who} told {whom} which cards are {value}: position {join_positions(mask_slots(item.reveal_bitmask))}"


def log_text(item: HistoryItem, seat: int) -> str:
    """A move of a 2-player game in words from `seat`'s side of the table, as the play page's log says it
    (hanab.live's style): "Your partner hinted red on your A and C", "You played green 1 from D"."""
    you = item.player == seat
    who = "You" if you else "Your partner"
    move = item.move
    if move.is_hint:
        whose = "your partner's" if you else "your"
        value = COLOR_NAMES[move.color] if move.type is MoveType.REVEAL_COLOR else f"{move.rank + 1}s"
        return f"{who} hinted {value} on {whose} {join_positions(mask_slots(item.reveal_bitmask))}"
    card = _card_words(item.color * NUM_RANKS + item.rank)
    slot = POSITIONS[move.card_index]
    if move.type is MoveType.DISCARD:
        return f"{who} discarded {card} from {slot}"
    if item.scored:
        return f"{who} played {card} from {slot}"
    return f"{who} misplayed {card} from {slot} and lost a life"


def render_view(game: HanabiGame, player: int) -> str:
    """Everything `player` may see, as plain text for the page and for language models (own cards hidden)."""
    p = game.num_players
    turn = "it is your turn" if game.current_player == player else f"it is player {game.current_player}'s turn"
    if game.is_over():
        turn = "the game is over"
    lines = [
        f"Hanabi, {p} players. You are player {player}; {turn}.",
        f"Score {game.score()} of {MAX_SCORE}. Hint tokens {game.information_tokens} of {MAX_INFORMATION_TOKENS}. "
        f"Lives {game.life_tokens} of {MAX_LIFE_TOKENS}. Cards left in the deck: {game.deck_size}.",
        "Fireworks: " + ", ".join(f"{COLOR_NAMES[c]} {game.fireworks[c]}" for c in range(NUM_COLORS)) + ".",
        "Your hand (position A is your oldest card):",
    ]
    lines += [f"  {POSITIONS[i]}: unknown; {_knowledge_words(k)}" for i, k in enumerate(game.knowledge[player])]
    for offset in range(1, p):
        seat = (player + offset) % p
        lines.append(f"Player {seat}'s hand (they see only what they were told):")
        lines += [f"  {POSITIONS[i]}: {_card_words(game.deck_cards[o])}; {_knowledge_words(k)}"
                  for i, (o, k) in enumerate(zip(game.hands[seat], game.knowledge[seat]))]
    discards = ", ".join(card_name(code) for code in game.discard_pile) or "none"
    lines.append(f"Discards: {discards}.")
    recent = list(reversed(game.last_moves(player)))
    if recent:
        lines.append("Moves since your last turn, oldest first: " + "; ".join(_move_words(i, player, p) for i in recent) + ".")
    return "\n".join(lines)
