"""What a reading tells the person: an Understanding as the plain fields of a game's `understanding` message.

    reading_fields(understanding, means) -> {"understood", "summary", "confidence", "clarify", "question",
                                              "choices", "not_understood", "confirm_text"}

- understood: [{"convention", "weight", "description"}], highest weight first;
- choices: one entry per reading the agent hesitates between: {"summary", "means" (what adopting it
  does, from the caller's `means(convention ids)`), "conventions", "understood", "text"};
- not_understood: the clauses it did not understand (normalised);
- confirm_text / a choice's text: words that read back as exactly that reading (the conventions'
  descriptions, parser.Parser.text_of). Confirming stores and re-reads them, so every understood part of
  the instruction is kept and nothing is asked again.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from agents.priors.conventions import convention, parser
from agents.priors.conventions.parser import Understanding


def reading_fields(understanding: Understanding, means: Callable[[Sequence[str]], str]) -> dict[str, Any]:
    game = understanding.game
    understood = [{"convention": cid, "weight": round(float(w), 4), "description": convention(game, cid).description}
                  for cid, w in understanding.understood]
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
            "confirm_text": parser(game).text_of(ids) if ids else None}
