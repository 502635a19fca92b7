"""What a convention is, and how weighted conventions mix into one prior.

A convention is a named, documented way to play: a function from the text of what the agent saw and
the texts of its legal actions to 0/1 preferences L over those actions (or graded, non-negative
scores), together with the phrasings a person might use for it. Its distribution over the actions is
softmax(beta * L), the paper's form (instructrl.md 2.1, 4.3): with L the paper's colour logits and
beta = 1 this is exactly the paper's Hanabi prior.

A convention also says which meaning-changing words it explains (`accepts`: tags of agents/priors/
conventions/cues.py, such as UP for "one more" or SURE for "only when sure") and which it needs (`requires`:
groups of tags, one of each group must be present; the pseudo-tag NOT stands for a negated clause). The
parser adopts a convention for a clause only when the convention explains every such word of the clause
(parser.py): a modifier no convention explains is a reason to ask, never to guess.

A convention that has an opposite or a near neighbour also has a *signature* (`signature`): the words its
meaning hinges on, as alternatives (each a set of tags that must all be in the clause; one alternative is
enough). The pseudo-tag NOT stands for a negated clause, POS for an affirmative one, BARE for a clause with
nothing but cue words and plain game words ("quit", "stop now"). avoid-said-number needs an exclusion
(EXCEPT: "other", "different", "anything but"; or NOT), even-balls-only needs EVEN (or "not odd"),
select-next needs UP, never-quit needs a negated quit or CONTINUE, hint-keep needs KEEP said affirmatively
or a negated play or discard. An embedding match alone never supplies a signature: "selecting whichever ball
I mention" is close to "never select the ball I mention" but has no exclusion, so it is not avoid-said-number.
The parser asks about a clause whose best match lacks its signature, rather than falling back on the next
convention (parser.py).

A *conditional* convention speaks only in some situations (quit-on-repeat speaks only when the partner
repeats my last selection) and returns None elsewhere. The mixture of an understood instruction at one
observation:

- the conventions that speak share the understood mass, each in proportion to its weight;
- when a conditional convention speaks, it overrides the unconditional ones (an exception beats the
  rule: "copy my number and quit if I repeat" quits on a repeat, and copies otherwise);
- when none speaks, or for the part of the instruction that was not understood, the mass is spread
  uniformly over the actions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

Preferences = Callable[[str, Sequence[str]], "np.ndarray | None"]


@dataclass(frozen=True)
class Convention:
    id: str
    game: str
    description: str                    # plain words, in the agent's voice: "I select the number you say."
    prefer: Preferences                 # (observation, actions) -> L (len(actions),) or None
    examples: tuple[str, ...]           # the parser's phrasings of it (kept apart from the benchmark)
    negation: str | None = None         # the convention meant by "don't <this>", if there is one
    conditional: bool = False           # speaks only in some situations (returns None otherwise)
    conflicts: tuple[str, ...] = field(default=())  # conventions that cannot be asked for together
    accepts: frozenset[str] = frozenset()    # the cue tags (cues.py) a clause may carry and still mean this
    requires: tuple[frozenset[str], ...] = ()  # each group: at least one of its tags must be in the clause
    hint_kind: str | None = None        # Hanabi: the hint kind it is about ("color", "rank", "any"), if any
    situational: bool = False           # Hanabi: needs the table (cards, fireworks), not only the last move
    subsumes: tuple[str, ...] = ()      # conventions this one already includes (read together, only this one stays)
    signature: tuple[frozenset[str], ...] = ()  # alternatives: all tags of one must be in the clause (NOT, POS, BARE too)

    def signed(self, found, negated: bool, bare: bool) -> bool:
        """Whether a clause with these cue tags, this polarity and (not) bare carries this convention's
        signature (always true for a convention without one)."""
        if not self.signature:
            return True
        present = set(found) | {"NOT" if negated else "POS"} | ({"BARE"} if bare else set())
        return any(alternative <= present for alternative in self.signature)

    def distribution(self, observation: str, actions: Sequence[str], beta: float) -> np.ndarray | None:
        L = self.prefer(observation, actions)
        return None if L is None else softmax(beta * np.asarray(L, dtype=np.float64))


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


def one_hot(actions: Sequence[str], preferred) -> np.ndarray:
    """0/1 preferences: 1 for every action text in `preferred`."""
    return np.array([1.0 if a in preferred else 0.0 for a in actions])


def mixture(weighted: Sequence[tuple[Convention, float]], observation: str, actions: Sequence[str],
            beta: float) -> np.ndarray:
    """The prior (probabilities over `actions`) of conventions with weights summing to at most 1."""
    n = len(actions)
    understood = float(sum(w for _, w in weighted))
    speaking = []
    for convention, weight in weighted:
        p = convention.distribution(observation, actions, beta)
        if p is not None and weight > 0:
            speaking.append((convention, weight, p))
    overriding = [s for s in speaking if s[0].conditional]
    chosen = overriding or speaking
    if not chosen:
        return np.full(n, 1.0 / n)
    total = sum(w for _, w, _ in chosen)
    out = np.full(n, (1.0 - understood) / n)
    for _, weight, p in chosen:
        out += understood * (weight / total) * p
    return out
