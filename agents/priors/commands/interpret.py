"""`instructplay interpret`: show what instructions are understood to mean.

    instructplay interpret --game say-select "copy my number" "quit if I repeat"
    instructplay interpret --game hanabi --json --file instructions.txt
    instructplay interpret --game hanabi --backend lm --model ./my-gpt2 "colour hints mean play"

Instructions are read in input order (several TEXT arguments, or one per non-blank line of FILE; "-"
reads standard input). With --json each instruction prints one JSON object on its own line:
{"instruction", "game", "understood": [{"convention", "weight"}] (highest weight first), "confidence",
"clarify", "off_topic", "contradictory", "summary", "question", "choices": [{"summary", "understood"}] (one per
reading the agent hesitates between), "not_understood": [the clauses it did not understand], "reader_confidence":
the learned reader's probability when its agreement with the rules let the reading be adopted, else null}.

Backends: "conventions" (default) parses the text into weights over the named conventions. "lm" scores
with a local causal LM (agents.priors.lm.CausalLMPrior), which has no parser: it reports the prior it
gives on canonical observations as the one convention it behaves most like (projection.py).
"""

from __future__ import annotations

import argparse
import json
import sys

BACKENDS = ("conventions", "lm")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--game", required=True, choices=("say-select", "hanabi"))
    parser.add_argument("--backend", default="conventions", choices=BACKENDS,
                        help="conventions (default, offline) or lm (a local causal LM, needs --model)")
    parser.add_argument("--model", help="local folder or GGUF file of a causal LM, for --backend lm")
    parser.add_argument("--device", default="cpu", help="torch device for --backend lm (default cpu)")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--file", help="read instructions from FILE, one per line ('-' = standard input)")
    parser.add_argument("text", nargs="*", help="instructions (quote each one)")


def run(args: argparse.Namespace) -> int:
    try:
        instructions = _instructions(args)
        understand = _backend(args)
    except (ValueError, OSError) as e:
        print(f"instructplay interpret: {e}", file=sys.stderr)
        return 2
    for text in instructions:
        understanding = understand(args.game, text)
        print(json.dumps(understanding.to_dict()) if args.json else _describe(understanding), flush=True)
    return 0


def _instructions(args: argparse.Namespace) -> list[str]:
    if bool(args.text) == bool(args.file):
        raise ValueError("give the instructions either as TEXT arguments or with --file FILE (not both)")
    if args.text:
        return list(args.text)
    if args.file == "-":
        lines = sys.stdin.read().splitlines()
    else:
        with open(args.file, encoding="utf-8") as f:
            lines = f.read().splitlines()
    return [line.strip() for line in lines if line.strip()]


def _backend(args: argparse.Namespace):
    if args.backend == "conventions":
        if args.model:
            raise ValueError("--model is for --backend lm; the conventions backend needs no model")
        from agents.priors.conventions import understand
        return understand
    if not args.model:
        raise ValueError("--backend lm needs --model PATH, a local folder with a causal LM and its tokenizer, "
                         "or a GGUF file")
    from agents.priors.conventions.projection import understand_prior
    from agents.priors.lm import CausalLMPrior

    prior = CausalLMPrior(args.model, device=args.device)
    return lambda game, text: understand_prior(game, prior, text)


def _describe(u) -> str:
    lines = [json.dumps(u.instruction)]
    if u.understood:
        weights = ", ".join(f"{c} {w:.2f}" for c, w in u.understood)
        lines.append(f"  understood: {weights}  (confidence {u.confidence:.2f})")
    else:
        lines.append("  not understood" + (" (contradictory)" if u.contradictory else ""))
    lines.append(f"  {u.summary}")
    for clause in u.not_understood:
        lines.append(f"  not understood: {json.dumps(clause)}")
    for i, choice in enumerate(u.choices):
        lines.append(f"  choice {i}: {', '.join(c for c, _ in choice.understood)}")
    if u.clarify:
        lines.append(f"  asks: {u.question}")
    return "\n".join(lines)
