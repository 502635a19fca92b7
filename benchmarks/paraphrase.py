"""The paraphrase benchmark: how well free-form instructions are understood, and how fast.

    python benchmarks/paraphrase.py                       # the conventions backend (default), all seven collections
    python benchmarks/paraphrase.py --collection people --show-errors
    python benchmarks/paraphrase.py --backend lm --model PATH

Eight collections.

The first, benchmarks/data/paraphrases.jsonl, and its numbers:
benchmarks/data/paraphrases.jsonl holds instructions written by hand the way different people type
them (terse, wordy, misspelt, negated, mixed, off-topic, contradictory; both games), each labelled with
the conventions an understanding may put first, or "off-topic" (which covers contradictory text). None
of them is among the parser's example phrasings. The numbers:

- top-1 accuracy: over the on-topic instructions the backend understood without asking, the share whose
  highest-weight convention is one of the expected ones;
- clarification rate: the share of on-topic instructions on which the backend asked (or called them
  off-topic or contradictory) instead of acting;
- silently mapped: off-topic or contradictory instructions that the backend mapped to a convention
  without asking. Targets (default backend): accuracy >= 95%, clarification < 10%, none silently mapped.

The second, benchmarks/data/people.jsonl (issue #15), holds 212 instructions written in the voices of
different people (a casual texter, a formal writer, a non-native speaker, a hanab.live regular, a novice
who hedges, a terse gamer, an impatient one in capitals, a child, a planner who writes lists, a chatty
one), not paraphrases of the library's descriptions: typos, hedges, long and short, several clauses,
modifiers (before/after, one more/less, only when, except, not, even/odd), jargon, off-topic. Each is
labelled with the readings that are right (`readings`: a list of convention sets) or "ask" (the agent must
ask: jargon with no convention, a modifier no convention defines, a contradiction, off-topic text), and
with `split`: "dev" (looked at while the parser was changed) or "held-out" (only scored). Its numbers:

- misreadings: instructions adopted without a question whose reading is not one of the right ones (for an
  "ask" instruction: any adoption). Target 0.
- clarification rate: the share of instructions with a right reading on which the agent asked. Target < 15%.
- top-1 accuracy on what is adopted: the share of adopted instructions whose highest-weight convention is
  in a right reading. Target >= 97%. (Exact: the adopted set is one of the right readings.)

The third, benchmarks/data/people2.jsonl, is the third blind set (170 instructions in the voices of a retired
teacher, a texter, a non-native speaker, a hanab.live regular, a formal writer, a chatty one, a terse one, one
who types emoji, one who types code), written by someone who had not seen the parser; its first score prompted
the fixes described in docs/priors.md, so every line is "dev" now. Same format and numbers as the second.

The fourth, benchmarks/data/people3.jsonl, is the fourth blind set (198 instructions, both games, new voices),
also written without sight of the parser; it was scored once before the fixes it prompted (signature cues,
negation scope, run-on conditionals, frequency and position modifiers: docs/priors.md), so every line is
"dev" now. Same format and numbers as the second.

The fifth, benchmarks/data/people4.jsonl, is the fifth blind set (212 instructions, 12 new voices: double
negations, questions, run-ons, both games mixed up), written without sight of the parser. Its first score
(16 misreadings) prompted the whitelist reading (docs/priors.md), so every line is "dev" now.

The sixth, benchmarks/data/people5.jsonl, is the sixth blind set (227 instructions, 12 more voices), written
without sight of the parser and scored once, after the whitelist reading, with no change made for it; its
needless questions then prompted the harmless-class fixes (docs/priors.md), so every line is "dev" now.

The seventh, benchmarks/data/people6.jsonl, is the seventh blind set (240 instructions, 12 new voices),
written without sight of the repository and scored once before and once after those fixes (docs/priors.md
has both); only the four lines whose errors were then read are "dev", the rest "held-out".

The eighth, benchmarks/data/people7.jsonl, is the eighth blind set (240 instructions, 12 new voices), written
without sight of the repository and scored first with the learned reader's first rule; the six lines whose
errors were then read are "dev", the rest "held-out" (docs/priors.md, "The learned reader").

The learned reader (agents/priors/conventions/reader.py) is trained on every line that is not "held-out",
so the dev lines of these collections score better than new text would; --no-reader scores the rules alone.

Speed (conventions backend only), measured in this run:
- a new instruction: ConventionsPrior.understand on each benchmark text, uncached, against the raw
  sentence-embedding call on the same text (the floor: the parser embeds each clause once);
- a cached prior: ConventionsPrior.log_probs repeated, against a plain dict lookup with a key of the
  same shape. Targets: under 50 ms, under 50 microseconds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DATA = Path(__file__).resolve().parent / "data" / "paraphrases.jsonl"
PEOPLE = Path(__file__).resolve().parent / "data" / "people.jsonl"
PEOPLE2 = Path(__file__).resolve().parent / "data" / "people2.jsonl"
PEOPLE3 = Path(__file__).resolve().parent / "data" / "people3.jsonl"
PEOPLE4 = Path(__file__).resolve().parent / "data" / "people4.jsonl"
PEOPLE5 = Path(__file__).resolve().parent / "data" / "people5.jsonl"
PEOPLE6 = Path(__file__).resolve().parent / "data" / "people6.jsonl"
PEOPLE7 = Path(__file__).resolve().parent / "data" / "people7.jsonl"
OFF_TOPIC = "off-topic"


def load(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def score(rows: list[dict], understand) -> dict:
    """Accuracy, clarification and silent mappings of `understand(game, text) -> Understanding`."""
    counts = Counter()
    errors = []
    for row in rows:
        u = understand(row["game"], row["text"])
        declined = u.clarify or u.off_topic or u.contradictory
        top = u.understood[0][0] if u.understood else None
        if row["expected"] == [OFF_TOPIC]:
            counts["off_topic"] += 1
            if not declined and top is not None:
                counts["silently_mapped"] += 1
                errors.append((row, u, "off-topic text mapped silently"))
            continue
        counts["on_topic"] += 1
        counts[f"on_topic:{row['style']}"] += 1
        if declined:
            counts["asked"] += 1
            counts[f"asked:{row['style']}"] += 1
            errors.append((row, u, "asked"))
        elif top in row["expected"]:
            counts["correct"] += 1
        else:
            counts[f"wrong:{row['style']}"] += 1
            errors.append((row, u, f"wrong: {top}"))
    acted = counts["on_topic"] - counts["asked"]
    return {
        "counts": counts,
        "errors": errors,
        "accuracy": counts["correct"] / acted if acted else float("nan"),
        "clarification_rate": counts["asked"] / counts["on_topic"],
        "silently_mapped": counts["silently_mapped"],
    }


def score_people(rows: list[dict], understand) -> dict:
    """Misreadings, clarification and accuracy of `understand` on the people collection (see the module doc)."""
    counts = Counter()
    errors = []
    for row in rows:
        u = understand(row["game"], row["text"])
        asked = u.clarify or u.off_topic or u.contradictory or not u.understood
        adopted = {c for c, _ in u.understood}
        must_ask = row["readings"] == "ask"
        split = row.get("split", "all")
        for key in ("all", split):
            counts[f"{key}:n"] += 1
            if must_ask:
                counts[f"{key}:must_ask"] += 1
                if not asked:
                    counts[f"{key}:misread"] += 1
            else:
                counts[f"{key}:answerable"] += 1
                if asked:
                    counts[f"{key}:asked"] += 1
                else:
                    counts[f"{key}:adopted"] += 1
                    right = [set(r) for r in row["readings"]]
                    top = u.understood[0][0]
                    counts[f"{key}:top1"] += any(top in r for r in right)
                    counts[f"{key}:exact"] += adopted in right
                    counts[f"{key}:misread"] += adopted not in right
            if must_ask and not asked:
                counts[f"{key}:adopted"] += 1
        if must_ask and not asked:
            errors.append((row, u, "MISREAD (should ask)"))
        elif not must_ask and not asked and adopted not in [set(r) for r in row["readings"]]:
            errors.append((row, u, "MISREAD"))
        elif not must_ask and asked:
            errors.append((row, u, "asked"))
    return {"counts": counts, "errors": errors}


def print_people(result: dict, splits: list[str]) -> None:
    c = result["counts"]
    for key in ["all"] + splits:
        n, answerable, adopted = c[f"{key}:n"], c[f"{key}:answerable"], c[f"{key}:adopted"]
        if not n:
            continue
        adopted_answerable = answerable - c[f"{key}:asked"]
        print(f"  [{key}] {n} instructions ({answerable} with a right reading, {c[f'{key}:must_ask']} must ask)")
        print(f"    misreadings with no question: {c[f'{key}:misread']}  (target 0)")
        print(f"    clarification rate:           {c[f'{key}:asked'] / answerable:.1%} "
              f"({c[f'{key}:asked']} of {answerable}; target < 15%)")
        print(f"    top-1 accuracy on adopted:    {c[f'{key}:top1'] / max(1, adopted):.1%} "
              f"({c[f'{key}:top1']} of {adopted} adopted; target >= 97%); exact set "
              f"{c[f'{key}:exact'] / max(1, adopted_answerable):.1%}")


def show_people_errors(result: dict) -> None:
    for row, u, why in result["errors"]:
        got = ", ".join(f"{cid} {w:.2f}" for cid, w in u.understood) or "-"
        want = row["readings"] if row["readings"] == "ask" else " | ".join("+".join(r) for r in row["readings"])
        print(f"  [{why}] ({row.get('split')}) {row['game']}: {row['text']!r} -> {got}; want {want}")
        if u.question:
            print(f"      asked: {u.question}")


def time_conventions(rows: list[dict]) -> None:
    from agents.priors.conventions import parser
    from agents.priors.conventions.embedder import default_embedder
    from agents.priors.conventions.parser import normalise
    from agents.priors.conventions.prior import ConventionsPrior

    print(f"timing on {os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.1f} (other work slows both columns)")
    prior = ConventionsPrior()
    embedder = default_embedder()
    for game in ("say-select", "hanabi"):
        parser(game).understand("warm up")
        if parser(game).reader is not None:   # every text below is new to the learned reader too
            parser(game).reader.forget()
    new, raw = [], []
    for row in rows:
        t = time.perf_counter()
        prior.understand(row["game"], row["text"])
        new.append(time.perf_counter() - t)
        t = time.perf_counter()
        embedder.embed([normalise(row["text"])])
        raw.append(time.perf_counter() - t)
    ms = lambda xs: f"median {statistics.median(xs) * 1e3:.1f} ms, p90 {_p90(xs) * 1e3:.1f} ms"
    ratio = statistics.median(new) / statistics.median(raw)
    print(f"new instruction understood:   {ms(new)}  (target < 50 ms)")
    print(f"  reference, raw embedding:   {ms(raw)}; ratio of medians {ratio:.2f}")

    instruction, observation = "I should select the same number as my partner.", "My partner selected 3."
    actions = [" 1", " 2", " 3", " 4", " 5", " 0"]
    prior.log_probs("say-select", instruction, observation, actions)
    table = {("say-select", instruction, observation, tuple(actions)): None}
    n = 100_000
    t = time.perf_counter()
    for _ in range(n):
        prior.log_probs("say-select", instruction, observation, actions)
    cached = (time.perf_counter() - t) / n
    t = time.perf_counter()
    for _ in range(n):
        table.get(("say-select", instruction, observation, tuple(actions)))
    plain = (time.perf_counter() - t) / n
    print(f"cached prior lookup:          {cached * 1e6:.2f} us per call  (target < 50 us)")
    print(f"  reference, dict lookup:     {plain * 1e6:.2f} us per call; ratio {cached / plain:.1f}")


def _p90(xs: list[float]) -> float:
    return sorted(xs)[int(0.9 * (len(xs) - 1))]


def backend(args: argparse.Namespace):
    if args.backend == "conventions":
        from agents.priors.conventions import parser, understand
        if args.no_reader:
            for game in ("say-select", "hanabi"):
                parser(game).reader = None
        return understand
    if not args.model:
        sys.exit("--backend lm needs --model PATH (a local causal LM)")
    from agents.priors.conventions.projection import understand_prior
    from agents.priors.lm import CausalLMPrior

    prior = CausalLMPrior(args.model)
    return lambda game, text: understand_prior(game, prior, text)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--backend", default="conventions", choices=("conventions", "lm"))
    p.add_argument("--model", help="local causal LM folder or GGUF file, for --backend lm")
    p.add_argument("--collection", default="all", choices=("all", "both", "paraphrases", "people", "people2", "people3", "people4",
                                                                  "people5", "people6", "people7"),
                   help='"all" (the default; "both" is an alias kept for old command lines) scores the eight collections')
    p.add_argument("--data", default=str(DATA), help="the first collection's file")
    p.add_argument("--people", default=str(PEOPLE), help="the second collection's file")
    p.add_argument("--people2", default=str(PEOPLE2), help="the third collection's file")
    p.add_argument("--people3", default=str(PEOPLE3), help="the fourth collection's file")
    p.add_argument("--people4", default=str(PEOPLE4), help="the fifth collection's file")
    p.add_argument("--people5", default=str(PEOPLE5), help="the sixth collection's file")
    p.add_argument("--people6", default=str(PEOPLE6), help="the seventh collection's file")
    p.add_argument("--people7", default=str(PEOPLE7), help="the eighth collection's file")
    p.add_argument("--no-reader", action="store_true",
                   help="the conventions backend without its learned reader (agents/priors/conventions/reader.py): the rules alone")
    p.add_argument("--show-errors", action="store_true")
    p.add_argument("--no-timing", action="store_true")
    args = p.parse_args()
    if args.collection == "both":
        args.collection = "all"
    understand = backend(args)
    timed: list[dict] = []
    if args.collection in ("all", "paraphrases"):
        rows = load(Path(args.data))
        timed += rows
        result = score(rows, understand)
        c = result["counts"]
        print(f"collection 1, paraphrases.jsonl, backend {args.backend}: {len(rows)} instructions "
              f"({c['on_topic']} on topic, {c['off_topic']} off topic or contradictory)")
        print(f"  top-1 accuracy on understood: {result['accuracy']:.1%}  (target >= 95%)")
        print(f"  clarification rate:           {result['clarification_rate']:.1%}  (target < 10%)")
        print(f"  off-topic silently mapped:    {result['silently_mapped']} of {c['off_topic']}  (target 0)")
        styles = sorted({r["style"] for r in rows if r["expected"] != [OFF_TOPIC]})
        print("  by style (on topic): " + ", ".join(
            f"{s} {c[f'on_topic:{s}'] - c[f'asked:{s}'] - c[f'wrong:{s}']}/{c[f'on_topic:{s}']}" for s in styles))
        if args.show_errors:
            for row, u, why in result["errors"]:
                got = ", ".join(f"{cid} {w:.2f}" for cid, w in u.understood) or "-"
                print(f"  [{why}] {row['game']}: {row['text']!r} -> {got} (confidence {u.confidence:.2f}); "
                      f"expected {'/'.join(row['expected'])}")
    for number, name, path in ((2, "people", args.people), (3, "people2", args.people2), (4, "people3", args.people3),
                               (5, "people4", args.people4), (6, "people5", args.people5),
                               (7, "people6", args.people6), (8, "people7", args.people7)):
        if args.collection not in ("all", name):
            continue
        rows = load(Path(path))
        timed += rows
        result = score_people(rows, understand)
        print(f"collection {number}, {Path(path).name}, backend {args.backend}:")
        print_people(result, sorted({r.get("split", "all") for r in rows} - {"all"}))
        if args.show_errors:
            show_people_errors(result)
    if args.backend == "conventions" and not args.no_timing:
        time_conventions(timed)


if __name__ == "__main__":
    main()
