"""Games to and from hanab.live's game JSON (format 3.0.0, `misc/example_game_with_comments.jsonc`).

A hanab.live game is the full deck, top to bottom, and the list of actions:
- deck: {"suitIndex", "rank" 1-5}; the deal fills player 0's hand, then player 1's, ... as HLE's does;
- play {"type": 0, "target": card order} and discard {"type": 1, ...}: the card's position in the
  deck (its "order"), not its hand slot;
- colour clue {"type": 2, "target": seat, "value": suit index}, rank clue {"type": 3, ..., "value": 1-5};
- game over {"type": 4, "target": seat, "value": end condition} for a game stopped early (4 =
  terminated by a player); a game that ends by the rules needs none.

Colours: hanab.live's "No Variant" suits are Red Yellow Green Blue Purple; HLE's colours are R Y G W B.
Red, yellow, green and blue keep their names, and HLE's white is shown as hanab.live's purple.
"""

from __future__ import annotations

from agents.envs.hanabi.rules import NUM_COLORS, NUM_RANKS, HanabiGame, Move, MoveType

VARIANT = "No Variant"
HLE_COLOR_TO_SUIT = (0, 1, 2, 4, 3)  # R Y G W B -> Red Yellow Green Purple Blue
SUIT_TO_HLE_COLOR = tuple(HLE_COLOR_TO_SUIT.index(suit) for suit in range(NUM_COLORS))
PLAY, DISCARD, COLOR_CLUE, RANK_CLUE, GAME_OVER, END_BY_VOTE = range(6)
END_TERMINATED = 4


def to_hanablive(game: HanabiGame, players: list[str] | None = None) -> dict:
    """The game as hanab.live JSON. An unfinished game ends with a 'terminated by a player' action."""
    players = players or [f"Player {seat}" for seat in range(game.num_players)]
    if len(players) != game.num_players or len(set(players)) != len(players):
        raise ValueError(f"give {game.num_players} distinct player names, got {players}")
    actions = [_action(game, item.player, item.move, item.card_order) for item in game.history]
    if not game.is_over():
        actions.append({"type": GAME_OVER, "target": game.current_player, "value": END_TERMINATED})
    return {
        "players": list(players),
        "deck": [{"suitIndex": HLE_COLOR_TO_SUIT[color], "rank": rank + 1} for color, rank in game.deck_order],
        "actions": actions,
        "options": {"variant": VARIANT},
    }


def _action(game: HanabiGame, player: int, move: Move, card_order: int) -> dict:
    if move.type is MoveType.PLAY:
        return {"type": PLAY, "target": card_order, "value": 0}
    if move.type is MoveType.DISCARD:
        return {"type": DISCARD, "target": card_order, "value": 0}
    target = (player + move.target_offset) % game.num_players
    if move.type is MoveType.REVEAL_COLOR:
        return {"type": COLOR_CLUE, "target": target, "value": HLE_COLOR_TO_SUIT[move.color]}
    return {"type": RANK_CLUE, "target": target, "value": move.rank + 1}


def from_hanablive(data: dict) -> HanabiGame:
    """Replay hanab.live JSON through the rules of record; raises ValueError on anything they reject."""
    variant = data.get("options", {}).get("variant", VARIANT)
    if variant != VARIANT:
        raise ValueError(f"only hanab.live's {VARIANT!r} is supported, not {variant!r}")
    if data.get("options", {}).get("startingPlayer", 0) != 0:
        raise ValueError("games where a player other than the first starts are not supported")
    num_players = len(data.get("players", []))
    try:
        deck = [(SUIT_TO_HLE_COLOR[card["suitIndex"]], card["rank"] - 1) for card in data["deck"]]
    except (KeyError, IndexError, TypeError) as error:
        raise ValueError(f"deck must be a list of {{'suitIndex': 0-4, 'rank': 1-5}}: {error}") from error
    game = HanabiGame(num_players, deck=deck)
    for number, action in enumerate(data.get("actions", [])):
        if action["type"] in (GAME_OVER, END_BY_VOTE):
            break
        uid = game.uid_from_move(_move(game, action, number))
        try:
            game.step(uid)
        except ValueError as error:
            raise ValueError(f"action {number} {action}: {error}") from error
    return game


def _move(game: HanabiGame, action: dict, number: int) -> Move:
    kind, target = action["type"], action["target"]
    if kind in (PLAY, DISCARD):
        hand = game.hands[game.current_player]
        if target not in hand:
            raise ValueError(f"action {number} {action}: card {target} is not in player {game.current_player}'s hand")
        return Move(MoveType.PLAY if kind == PLAY else MoveType.DISCARD, card_index=hand.index(target))
    offset = (target - game.current_player) % game.num_players
    if kind == COLOR_CLUE and offset and 0 <= action["value"] < NUM_COLORS:
        return Move(MoveType.REVEAL_COLOR, target_offset=offset, color=SUIT_TO_HLE_COLOR[action["value"]])
    if kind == RANK_CLUE and offset and 1 <= action["value"] <= NUM_RANKS:
        return Move(MoveType.REVEAL_RANK, target_offset=offset, rank=action["value"] - 1)
    raise ValueError(f"action {number} {action} is not a play, discard or clue to another player")
