"""Say-Select conventions for Bob, the selector, read from the observation text Bob sees.

Observations (agents/envs/say_select.py): "My partner selected 3." or, once Bob has selected,
"I selected 2 before. My partner selected 3." Actions: " 1".." 5" select that ball, " 0" quits.

The conventions (their examples are the parser's phrasings, not the benchmark's):
- copy-number: select the number the partner says (the paper's instruction, instructrl.md 1.5).
- quit-on-repeat: quit when the partner says the number I selected last (the human policy, 1.3).
- select-next / select-previous: select one more / one less than the partner says (5 + 1 wraps to
  1, 1 - 1 wraps to 5): the off-by-one shifts people type, and conventions RL finds on its own.
- avoid-said-number: select any ball except the one the partner says ("never copy my number").
- never-quit: select a ball every turn, never quit.
- quit-immediately: quit at once.
- quit-after-one: quit as soon as I have selected once.
- even-balls-only / odd-balls-only: select only even (2, 4) / odd (1, 3, 5) balls, whatever the partner
  says (the parity instructions people type: "choose the even balls only").
- select-in-order: select 1, then 2, then 3, ... whatever the partner says, and quit after 5.

Each convention also names the cue tags it explains and needs (cues.py): select-next needs UP ("one more
than", "the number after mine"), so "pick the ball before the one I say" can never be read as copy-number
or select-next, and "pick the ball two higher than mine" (the number 2, unexplained) is asked about.

Signatures (`Convention.signature`, convention.py): the words a convention's meaning hinges on, written beside
each definition below as alternatives ("QUIT NOW POS": a quit word, a "now" word, and an affirmative clause).
- copy-number: affirmative (negated, it is avoid-said-number).
- avoid-said-number: an exclusion: "not"/"never", or EXCEPT ("except", "other", "different", "anything but").
- select-next: UP ("one more", "plus one", "higher than", "after mine"), the wrap 5 -> 1, or a bare "next"
  (NEXT) with a reference to the said number ("the next one after what I say"); "next one" alone may be the
  next ball in order, and is asked about. select-previous: DOWN or the wrap 1 -> 5.
- never-quit: a negated quit ("never, ever quit"), or CONTINUE said affirmatively ("keep going", "every turn").
- quit-immediately: a quit with NOW ("at once", "right away", "before selecting", "in the first turn"), or a
  bare imperative quit ("quit.", "stop now"); "quit until the game ends on its own" is neither.
- quit-after-one: a quit and ONCE; quit-on-repeat: a quit and a repeat (REPEAT, PREV or SAME).
- even-balls-only: EVEN, or "not odd"; odd-balls-only: ODD, or "not even". select-in-order: ORDER.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from agents.priors.conventions.convention import Convention, one_hot

GAME = "say-select"
NUM_BALLS = 5
QUIT = " 0"
BALLS = tuple(f" {k}" for k in range(1, NUM_BALLS + 1))
EVEN_BALLS = (" 2", " 4")
ODD_BALLS = (" 1", " 3", " 5")

_SAID = re.compile(r"my partner (?:selected|said|says|chose) (\d)", re.IGNORECASE)
_MINE = re.compile(r"i selected (\d) before", re.IGNORECASE)


@dataclass(frozen=True)
class BobView:
    said: int | None        # the partner's latest number, 1..5
    previous: int | None    # Bob's own previous selection, 1..5


def parse_observation(text: str) -> BobView:
    """The partner's latest number and Bob's previous selection, from the observation text."""
    said = _SAID.findall(text or "")
    mine = _MINE.search(text or "")
    return BobView(int(said[-1]) if said else None, int(mine.group(1)) if mine else None)


def _ball(k: int) -> str:
    return f" {(k - 1) % NUM_BALLS + 1}"


def _copy_number(observation: str, actions: Sequence[str]):
    view = parse_observation(observation)
    return None if view.said is None else one_hot(actions, {_ball(view.said)})


def _shift(step: int):
    def prefer(observation: str, actions: Sequence[str]):
        view = parse_observation(observation)
        return None if view.said is None else one_hot(actions, {_ball(view.said + step)})
    return prefer


def _avoid_said_number(observation: str, actions: Sequence[str]):
    view = parse_observation(observation)
    if view.said is None:
        return None
    return one_hot(actions, set(BALLS) - {_ball(view.said)})


def _quit_on_repeat(observation: str, actions: Sequence[str]):
    view = parse_observation(observation)
    if view.said is None or view.said != view.previous:
        return None
    return one_hot(actions, {QUIT})


def _never_quit(observation: str, actions: Sequence[str]):
    return one_hot(actions, set(BALLS))


def _quit_immediately(observation: str, actions: Sequence[str]):
    return one_hot(actions, {QUIT})


def _quit_after_one(observation: str, actions: Sequence[str]):
    return None if parse_observation(observation).previous is None else one_hot(actions, {QUIT})


def _only(balls: tuple[str, ...]):
    def prefer(observation: str, actions: Sequence[str]):
        return one_hot(actions, set(balls))
    return prefer


def _select_in_order(observation: str, actions: Sequence[str]):
    previous = parse_observation(observation).previous
    if previous is None:
        return one_hot(actions, {_ball(1)})
    return one_hot(actions, {QUIT} if previous >= NUM_BALLS else {_ball(previous + 1)})


def _tags(*names: str) -> frozenset[str]:
    return frozenset(names)


def _signature(*alternatives: str) -> tuple[frozenset[str], ...]:
    """Signature alternatives, each written as its tags separated by spaces: _signature("QUIT NOW POS", "QUIT BARE POS")."""
    return tuple(frozenset(a.split()) for a in alternatives)


_NUMBERS = ("copy-number", "select-next", "select-previous", "avoid-said-number", "even-balls-only", "odd-balls-only",
            "select-in-order")


def _others(me: str) -> tuple[str, ...]:
    return tuple(c for c in _NUMBERS if c != me)


CONVENTIONS = (
    Convention(
        "copy-number", GAME, "I select the number you say.", _copy_number,
        examples=(
            "I should select the same number as my partner.",
            "select the same number as your partner",
            "select the number I say",
            "pick the ball whose number I said",
            "choose the number your partner chose",
            "copy the number I say",
            "do the same as me",
            "follow my lead",
            "repeat my number",
            "my number tells you which ball to take",
            "the number you hear from me is the ball to take",
            "the ball I call is the one to pick",
            "take whichever ball I name",
            "go with the number I give you",
        ),
        negation="avoid-said-number", conflicts=_others("copy-number"),
        accepts=_tags("SAME", "REPEAT", "CONTINUE", "EX_SAME", "COND_SAY"), requires=(_tags("SELECT", "SAY", "SAME", "REPEAT"),),
        signature=_signature("POS"),
    ),
    Convention(
        "quit-on-repeat", GAME, "I quit when you say the number I selected last.",
        _quit_on_repeat, conditional=True,
        examples=(
            "quit when I repeat your last selection",
            "if I say the number you selected last time, quit",
            "when the partner says the same number again, quit",
            "quit if your partner repeats your previous number",
            "a repeated number means stop",
            "stop when I say your previous ball again",
            "if my number is the one you just picked, end the game",
            "when I repeat myself, select 0",
            "saying your previous ball a second time means the game is over",
        ),
        negation="never-quit", conflicts=("never-quit", "quit-immediately", "select-in-order"),
        accepts=_tags("QUIT", "REPEAT", "PREV", "SAME", "RESTRICT", "LATER", "NOW", "COND_SAY"),
        requires=(_tags("QUIT"), _tags("REPEAT", "PREV", "SAME")),
        signature=_signature("QUIT REPEAT POS", "QUIT PREV POS", "QUIT SAME POS"),
    ),
    Convention(
        "select-next", GAME, "I select one more than the number you say (after 5 comes 1).",
        _shift(+1),
        examples=(
            "select one more than my number",
            "pick the number after the one I say",
            "choose my number plus one",
            "add one to the number I say",
            "select the next ball after mine",
            "go one up from what I say",
            "take the ball one higher than mine",
        ),
        conflicts=_others("select-next"),
        accepts=_tags("UP", "NEXT", "WRAP_UP", "WRAP", "EX_UP", "EX_WRAP_UP", "CONTINUE", "COND_SAY"),
        requires=(_tags("UP", "WRAP_UP", "NEXT"),),
        signature=_signature("UP POS", "WRAP_UP POS", "NEXT SAY POS", "NEXT COND_SAY POS", "NEXT EX_UP POS",
                             "NEXT EX_WRAP_UP POS", "NEXT WRAP POS"),
    ),
    Convention(
        "select-previous", GAME, "I select one less than the number you say (before 1 comes 5).",
        _shift(-1),
        examples=(
            "select one less than my number",
            "pick the number before the one I say",
            "choose my number minus one",
            "subtract one from the number I say",
            "select the ball just below mine",
            "go one down from what I say",
            "take the ball one lower than mine",
        ),
        conflicts=_others("select-previous"),
        accepts=_tags("DOWN", "WRAP_DOWN", "WRAP", "EX_DOWN", "EX_WRAP_DOWN", "CONTINUE", "COND_SAY"), requires=(_tags("DOWN", "WRAP_DOWN"),),
        signature=_signature("DOWN POS", "WRAP_DOWN POS"),
    ),
    Convention(
        "avoid-said-number", GAME, "I select any ball except the number you say.",
        _avoid_said_number,
        examples=(
            "select any number except mine",
            "pick a different number from the one I say",
            "never select the number I say",
            "do not copy my number",
            "choose some other ball than the one I said",
            "do not take the ball I name",
        ),
        conflicts=_others("avoid-said-number"),
        accepts=_tags("EXCEPT", "SAME", "CONTINUE", "COND_SAY"), requires=(_tags("EXCEPT", "NOT"),),
        signature=_signature("EXCEPT", "NOT"),
    ),
    Convention(
        "never-quit", GAME, "I select a ball every turn and never quit.", _never_quit,
        examples=(
            "do not leave the game",
            "quitting is not allowed",
            "keep selecting until the end",
            "keep playing every turn",
            "continue until the game is over",
            "always pick a ball",
            "do not stop",
            "never end the game yourself",
        ),
        conflicts=("quit-immediately", "quit-on-repeat", "quit-after-one"),
        accepts=_tags("QUIT", "CONTINUE"), requires=(_tags("QUIT", "CONTINUE"), _tags("NOT", "CONTINUE")),
        signature=_signature("QUIT NOT", "CONTINUE POS"),
    ),
    Convention(
        "quit-immediately", GAME, "I quit at once.", _quit_immediately,
        examples=(
            "quit",
            "quit now",
            "quit as soon as the game starts",
            "give up immediately",
            "end the game at once",
            "select 0 immediately",
            "stop playing now",
        ),
        negation="never-quit", conflicts=("never-quit", "quit-on-repeat", "quit-after-one", "select-in-order"),
        accepts=_tags("QUIT", "NOW", "N0"), requires=(_tags("QUIT"),),
        signature=_signature("QUIT NOW POS", "QUIT BARE POS"),
    ),
    Convention(
        "quit-after-one", GAME, "I quit as soon as I have selected one ball.", _quit_after_one,
        conditional=True,
        examples=(
            "select once and then quit",
            "pick a single ball then stop",
            "quit after your first selection",
            "after one pick, end the game",
            "only select one ball, then quit",
        ),
        negation="never-quit", conflicts=("never-quit", "quit-immediately", "select-in-order"),
        accepts=_tags("QUIT", "ONCE", "LATER", "N1", "NOW"), requires=(_tags("QUIT"), _tags("ONCE")),
        signature=_signature("QUIT ONCE POS"),
    ),
    Convention(
        "even-balls-only", GAME, "I select only even-numbered balls (2 or 4), whatever you say.", _only(EVEN_BALLS),
        examples=(
            "only select even balls",
            "pick even numbers only",
            "choose only the balls with an even number",
            "stick to the even balls, 2 and 4",
            "whatever I say, take a ball with an even number",
        ),
        negation="odd-balls-only", conflicts=_others("even-balls-only"),
        accepts=_tags("EVEN", "N2", "N4"), requires=(_tags("EVEN"),),
        signature=_signature("EVEN POS", "ODD NOT"),
    ),
    Convention(
        "odd-balls-only", GAME, "I select only odd-numbered balls (1, 3 or 5), whatever you say.", _only(ODD_BALLS),
        examples=(
            "only select odd balls",
            "pick odd numbers only",
            "choose only the balls with an odd number",
            "stick to the odd balls, 1, 3 and 5",
            "whatever I say, take a ball with an odd number",
        ),
        negation="even-balls-only", conflicts=_others("odd-balls-only"),
        accepts=_tags("ODD", "N1", "N3", "N5"), requires=(_tags("ODD"),),
        signature=_signature("ODD POS", "EVEN NOT"),
    ),
    Convention(
        "select-in-order", GAME, "I select the balls in order (1, 2, 3, ...), whatever you say.", _select_in_order,
        examples=(
            "select the balls in order",
            "pick 1, then 2, then 3 and so on",
            "go through the balls in sequence",
            "take the balls one after another starting with 1",
            "count up through the balls and ignore what I say",
        ),
        conflicts=_others("select-in-order") + ("quit-on-repeat", "quit-immediately", "quit-after-one"),
        accepts=_tags("ORDER", "UP", "CONTINUE", "N1", "N2", "N3", "N4", "N5", "QUIT", "LATER"),
        requires=(_tags("ORDER"),),
        signature=_signature("ORDER POS"),
    ),
)
