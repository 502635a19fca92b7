"""What a reading tells the person: an Understanding as the plain fields of a game's `understanding` message.

    reading_fields(understanding, means) -> {"understood", "summary", "confidence", "clarify", "question",
                                              "choices", "not_understood", "reader_confidence", "confirm_text"}

- understood: [{"convention", "weight", "description"}], highest weight first; with `followed` (Hanabi:
  `measured_agreement()`), also "agreement" (how often the partner's moves agreed with the convention in
  self-play once it shaped them through the prior) and "weak" (a convention with no trained agent of its own,
  followed less often than the measurement's weak_below);
- choices: one entry per reading the agent hesitates between: {"summary", "means" (what adopting it
  does, from the caller's `means(convention ids)`), "conventions", "understood", "text"};
- not_understood: the clauses it did not understand (normalised);
- reader_confidence: when the rules alone would have asked and the learned reader's agreement let the
  reading be adopted (reader.py), the reader's probability for it; otherwise null;
- confirm_text / a choice's text: words that read back as exactly that reading (the conventions'
  descriptions, parser.Parser.text_of). Confirming stores and re-reads them, so every understood part of
  the instruction is kept and nothing is asked again.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, Callable, Sequence

from agents.priors.conventions import convention, parser
from agents.priors.conventions.parser import Understanding


AGREEMENT = Path(__file__).resolve().parent / "agreement.json"  # written by benchmarks/convention_agreement.py


@functools.lru_cache(maxsize=1)
def measured_agreement() -> dict[str, Any]:
    """The Hanabi agents' measured agreement with each convention ({} when it was never measured)."""
    return json.loads(AGREEMENT.read_text()) if AGREEMENT.exists() else {}


def reading_fields(understanding: Understanding, means: Callable[[Sequence[str]], str],
                   followed: dict[str, Any] | None = None) -> dict[str, Any]:
    game = understanding.game
    understood = [{"convention": cid, "weight": round(float(w), 4), "description": convention(game, cid).description,
                   **_followed(followed, cid)} for cid, w in understanding.understood]
    ids = [cid for cid, _ in understanding.understood]
    choices = []
    for choice in understanding.choices:
        chosen = [cid for cid, _ in choice.understood]
        choices.append({"summary": choice.summary, "means": means(chosen), "conventions": chosen,
                        "understood": [{"convention": cid, "weight": round(float(w), 4),
                                        "description": convention(game, cid).description} for cid, w in choice.understood],
                        "text": parser(game).text_of(chosen)})
    return {"understood": understood, "summary": understanding.summary,
            "confidence": round(float(understanding.confidence), 4), "clarify": bool(understanding.clarify),
            "question": understanding.question, "choices": choices,
            "not_understood": list(understanding.not_understood),
            "reader_confidence": _rounded(getattr(understanding, "reader_confidence", None)),
            "confirm_text": parser(game).text_of(ids) if ids else None}


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


def _followed(followed: dict[str, Any] | None, convention_id: str) -> dict[str, Any]:
    measured = (followed or {}).get("conventions", {}).get(convention_id)
    if not measured or measured.get("agreement") is None:
        return {}
    weak = not measured.get("own_agent") and measured["agreement"] < followed["weak_below"]
    return {"agreement": measured["agreement"], "weak": weak}
