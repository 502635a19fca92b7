"""The conventions backend, the offline default: named conventions per game, and a parser from free
text to weights over them.

    understand(game, text) -> Understanding   what was understood: conventions, weights, confidence
    ConventionsPrior()                         the Prior: the weighted mixture of the conventions
    CONVENTIONS[game]                          the library: id, description, preference function

See convention.py (what a convention is, how they mix), say_select.py and hanabi.py (the library),
parser.py (how text is read), cues.py (the words that change a clause's meaning), report.py (what a
reading tells the person: choices, what was not understood, measured agreement), embedder.py (the
sentence-embedding model), prior.py (the Prior); docs/priors.md tells the whole story with its numbers.
"""

from __future__ import annotations

import functools

from agents.priors.base import check_game
from agents.priors.conventions import hanabi, say_select
from agents.priors.conventions.convention import Convention, mixture
from agents.priors.conventions.parser import Parser, Reading, Understanding

CONVENTIONS: dict[str, tuple[Convention, ...]] = {
    "say-select": say_select.CONVENTIONS,
    "hanabi": hanabi.CONVENTIONS,
}


def convention(game: str, convention_id: str) -> Convention:
    check_game(game)
    for c in CONVENTIONS[game]:
        if c.id == convention_id:
            return c
    known = ", ".join(c.id for c in CONVENTIONS[game])
    raise KeyError(f"no convention {convention_id!r} in {game}; known: {known}")


@functools.lru_cache(maxsize=None)
def parser(game: str) -> Parser:
    """The process-wide parser of a game (it shares the one embedding model), with the learned reader
    (reader.py) as its second opinion when its weights are there."""
    from agents.priors.conventions.embedder import default_embedder
    from agents.priors.conventions.reader import WEIGHTS, Reader

    check_game(game)
    return Parser(game, CONVENTIONS[game], default_embedder(), Reader.load(WEIGHTS) if WEIGHTS.exists() else None)


def understand(game: str, text: str) -> Understanding:
    """What `text` is understood to mean in `game` (not cached; ConventionsPrior caches)."""
    return parser(game).understand(text)


def __getattr__(name: str):
    if name == "ConventionsPrior":   # prior.py imports this package, so it is loaded on first use
        from agents.priors.conventions.prior import ConventionsPrior
        return ConventionsPrior
    raise AttributeError(name)


__all__ = ["CONVENTIONS", "Convention", "ConventionsPrior", "Reading", "Understanding", "convention",
           "mixture", "parser", "understand"]
