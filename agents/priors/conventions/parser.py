"""Free text -> weights over a game's conventions, with what was understood, in words.

The reading of one instruction, step by step:

1. Normalise: lower case, contractions spelt out ("don't" -> "do not"), "=" read as "means", a few
   chat abbreviations ("pls", "clr") spelt out.
2. Spelling: a word the embedding model's vocabulary does not know is replaced by the nearest word of
   the conventions' own vocabulary, within one edit (short words) or two (transpositions count as one):
   "slect teh same nubmer" -> "select the same number".
3. Clauses: the text is cut at sentence ends, at "and"/"but"/"also" and at commas; a conditional
   ("if I hint a colour, play it") stays one clause, and a piece with no content word joins its neighbour.
4. Negation: each clause has a polarity (an odd number of "not", "never", "no", "avoid", ...) and a core
   (the clause without those words). "never X unless Y" is read as "X only if Y". The sentence embedding
   does not tell "quit" from "never quit" (shared/reference/stack.md), so the polarity is handled here,
   in words, and only the cores are embedded.
5. Matching: the core is compared (cosine, all-MiniLM-L6-v2) with the core of every example phrasing of
   every convention. An example with the clause's polarity votes for its convention; one with the opposite
   polarity votes for that convention's `negation` ("never copy my number" -> avoid-said-number), or for
   nothing. A few lexical cues settle what embeddings blur: a clause about colour and not rank cannot be
   the rank convention, and the other way round.
6. Judging: a clause whose best score is low is not about the game; one in between is unclear. Two
   clauses asking for conflicting conventions make the instruction contradictory, which is reported as
   not understood. The understood clauses share the weight; the share of a clause that was not understood
   is left to the uniform remainder of the prior. Confidence combines how well the clauses matched, how
   clearly they beat the runner-up, and how much of the text was understood. Below CLARIFY_BELOW, or when
   part of the text was not understood, the agent asks, naming what it thinks was meant; when it asks
   its weights shrink by the confidence.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from agents.priors.conventions.convention import Convention
from agents.priors.conventions.embedder import Embedder

# Thresholds on the cosine similarity of a clause to its best example: chosen by hand before the benchmark
# was first run, checked on held-out sentences (tests/unit/test_conventions_parser.py), not changed since.
OFF_TOPIC_BELOW = 0.36     # best score under this: the clause is not about the game
SURE_ABOVE = 0.62          # best score over this: the match itself is sure
CLEAR_MARGIN = 0.06        # lead over the runner-up convention that counts as clear
CLARIFY_BELOW = 0.5        # confidence under this: ask the person
LEXICAL_PENALTY = 0.25     # taken off a convention whose key word the clause contradicts
EXACT = 0.97               # a match this close is one of the examples: no lexical cue overrides it

_CONTRACTIONS = (
    (r"\bcan't\b|\bcant\b|\bcannot\b", "can not"), (r"\bwon't\b|\bwont\b", "will not"),
    (r"\bdon't\b|\bdont\b", "do not"), (r"\bdoesn't\b|\bdoesnt\b", "does not"),
    (r"\bdidn't\b|\bdidnt\b", "did not"), (r"\bshouldn't\b|\bshouldnt\b", "should not"),
    (r"\bisn't\b|\bisnt\b", "is not"), (r"\baren't\b|\barent\b", "are not"), (r"n't\b", " not"),
    (r"'ll\b", " will"), (r"'re\b", " are"), (r"'ve\b", " have"), (r"\bi'm\b", "i am"), (r"'s\b", ""),
    (r"'d\b", " would"),
)
_REWRITES = (
    (r"\be\.g\.|\bi\.e\.", " for example "), (r"\s*=\s*", " means "), (r"&", " and "),
    (r"\+\s*1\b", " plus one"), (r"-\s*1\b", " minus one"), (r"[\"'`]", " "), (r"(\w)-(\w)", r"\1 \2"),
    (r"^\s*instructions?\s*:\s*", ""), (r"\bif not\b|\bor else\b", "otherwise"), (r"\bnothing else\b", "only"),
    (r"\bno matter what\b", "always"), (r"\bno matter\b", "whatever"),
    (r"\b(?:does|do) not matter\b", "either way"),
    (r"\b(?:do not|never|not)\s+(?:ever\s+)?([a-z ]+?)\s+(?:unless|until)\b", r"\1 only when"),
)
_ABBREVIATIONS = {"pls": "please", "plz": "please", "u": "you", "ur": "your", "r": "are", "clr": "color",
                  "col": "color", "num": "number", "nr": "number", "b4": "before", "thx": "thanks", "pos": "position"}
_NEGATIONS = {"not", "never", "no", "avoid", "without", "nor", "neither", "nothing", "forbidden"}
_STOPWORDS = set(
    "a an the i me my mine you your yours we us our it its they them their he she his her is are was were be "
    "been being am do does did doing to of in on at by for with as that this these those so if when whenever "
    "then than there here and or but also just please thanks ok okay hey hi bob alice partner partners "
    "always ever would will should can could must may might shall really very too some any all every each "
    "what which who whom whose how why where while once after before only again lol haha lmao hehe btw "
    "yes yeah well else let go have has had get got".split()
)
_CONDITIONAL_START = re.compile(r"^(?:if|when|whenever|whatever|whichever|once|after|unless|as soon as|in case|"
                                r"each time|every time|otherwise|else|in (?:every|any|all) other cases?|"
                                r"in that case)\b")
_SENTENCES = re.compile(r"[.;!?\n]+")
_JOINERS = re.compile(r",?\s*\b(?:and|but|also)\b(?!\s+then)\s*|,\s*")
_WORD = re.compile(r"[a-z0-9]+")

# Words that settle which hint a clause is about, and whether it is about quitting at all.
_COLOR_WORDS = {"color", "colors", "colour", "colours", "colored", "coloured", "red", "yellow", "green",
                "white", "blue"}
_RANK_WORDS = {"rank", "ranks", "number", "numbers", "value", "values", "1", "2", "3", "4", "5", "two", "three",
               "four", "five", "ones", "twos", "threes", "fours", "fives"}
_QUIT_WORDS = {"quit", "quits", "quitting", "stop", "stopping", "end", "ends", "leave", "exit", "done",
               "give", "0", "zero", "finish", "over", "continue", "keep", "going", "until", "till"}
_EITHER_WORDS = {"any", "every", "whatever", "either", "or", "both", "whichever"}
_QUIT_CONVENTIONS = {"quit-on-repeat", "never-quit", "quit-immediately", "quit-after-one"}
_ENDING_WORDS = {"quit", "quits", "quitting", "stop", "stopping", "leave", "exit", "0", "zero", "finish", "end"}
_SELECT_WORDS = {"select", "selects", "selecting", "pick", "picks", "picking", "choose", "chooses", "choosing",
                 "take", "takes", "taking", "copy", "copying", "grab", "follow", "mirror", "same"}
_NUMBER_CONVENTIONS = {"copy-number", "select-next", "select-previous", "avoid-said-number"}
# A convention that a positive clause names without any of its key words is penalised: embeddings put
# "select my number" close to "select my number plus one".
_KEY_WORDS = {
    "color-hint-play": _COLOR_WORDS,
    "rank-hint-play": _RANK_WORDS,
    "select-next": {"next", "plus", "more", "higher", "add", "up", "above", "after", "following", "increment",
                    "bigger", "larger", "greater", "right"},
    "select-previous": {"less", "minus", "lower", "below", "before", "subtract", "down", "smaller",
                        "preceding", "left", "fewer"},
    "quit-on-repeat": {"repeat", "repeats", "repeated", "repeating", "again", "twice", "same", "echo", "back",
                       "previous", "last", "just", "before", "already", "match", "matches", "own"},
    "quit-after-one": {"one", "once", "single", "first", "after"},
    "avoid-said-number": {"except", "different", "other", "another", "anything", "else", "instead", "besides",
                          "apart", "but"},
    "hint-keep": {"keep", "kept", "keeping", "save", "saves", "saved", "saving", "hold", "holding", "protect",
                  "precious", "safe", "preserve"},
}


@dataclass(frozen=True)
class Reading:
    """How one clause of the instruction was read."""

    text: str                  # the clause, normalised and spell-corrected
    convention: str | None     # the best convention, or None when nothing fits
    score: float               # its similarity score
    runner_up: float           # the best score of any other convention
    negated: bool
    base: str | None           # the convention of the example that matched (before negation)
    status: str                # "understood", "unclear" or "off-topic"

    @property
    def confidence(self) -> float:
        fit = np.clip((self.score - OFF_TOPIC_BELOW) / (SURE_ABOVE - OFF_TOPIC_BELOW), 0.0, 1.0)
        lead = np.clip((self.score - self.runner_up) / CLEAR_MARGIN, 0.0, 1.0)
        return float(fit * (0.5 + 0.5 * lead))


@dataclass(frozen=True)
class Understanding:
    """What an instruction was understood to mean: conventions with weights, in words."""

    game: str
    instruction: str
    understood: tuple[tuple[str, float], ...]   # (convention id, weight), highest first; sum <= 1, the rest
                                                # of the prior is uniform (scaled by confidence when asking)
    confidence: float                           # in [0, 1]
    clarify: bool                               # unsure: ask the person to confirm or rephrase
    off_topic: bool                             # nothing in the text is about playing this game
    contradictory: bool                         # asks for conventions that exclude each other
    summary: str                                # the reading, in words
    question: str | None                        # what to ask the person when clarify is true
    readings: tuple[Reading, ...] = field(default=())

    def to_dict(self) -> dict:
        return {
            "instruction": self.instruction,
            "game": self.game,
            "understood": [{"convention": c, "weight": round(w, 4)} for c, w in self.understood],
            "confidence": round(self.confidence, 4),
            "clarify": self.clarify,
            "off_topic": self.off_topic,
            "contradictory": self.contradictory,
            "summary": self.summary,
            "question": self.question,
        }


class Parser:
    """Reads instructions for one game against its conventions."""

    def __init__(self, game: str, conventions: Sequence[Convention], embedder: Embedder):
        self.game = game
        self.conventions = {c.id: c for c in conventions}
        self.embedder = embedder
        self._examples: list[tuple[str, bool]] = []   # (convention id, negated) per example
        self._matrix: np.ndarray | None = None
        self._known: frozenset[str] | None = None
        self._speller: _Speller | None = None

    def understand(self, instruction: str) -> Understanding:
        self._prepare()
        clauses = split_clauses(self._spell(normalise(instruction)))
        if not clauses:
            return self._off_topic(instruction, ())
        polarities = [polarity(c) for c in clauses]
        vectors = self.embedder.embed([core for _, core in polarities])
        readings = tuple(self._read(clause, negated, vector)
                         for clause, (negated, _), vector in zip(clauses, polarities, vectors))
        return self._judge(instruction, readings)

    # -- preparing the examples, once ------------------------------------------------------------------

    def _prepare(self) -> None:
        if self._matrix is not None:
            return
        cores = []
        for convention in self.conventions.values():
            for example in convention.examples:
                for clause in split_clauses(normalise(example)):
                    negated, core = polarity(clause)
                    self._examples.append((convention.id, negated))
                    cores.append(core)
        domain = {w for text in cores for w in _WORD.findall(text)} | _COLOR_WORDS | _RANK_WORDS | _QUIT_WORDS
        domain |= {w for c in self.conventions.values() for w in _WORD.findall(normalise(c.description))}
        self._known = self.embedder.vocabulary() | domain | _STOPWORDS
        self._speller = _Speller(domain)
        self._matrix = self.embedder.embed(cores)

    def _spell(self, text: str) -> str:
        def fix(match: re.Match) -> str:
            word = match.group(0)
            if word in _ABBREVIATIONS:
                return _ABBREVIATIONS[word]
            if word in self._known or (word.endswith("s") and word[:-1] in self._known) or word.isdigit():
                return word
            return self._speller.correct(word) or word
        return _WORD.sub(fix, text)

    # -- reading one clause ----------------------------------------------------------------------------

    def _read(self, clause: str, negated: bool, vector: np.ndarray) -> Reading:
        similarity = self._matrix @ vector
        best: dict[str, tuple[float, str]] = {}
        for (example_id, example_negated), score in zip(self._examples, similarity):
            target = example_id if example_negated == negated else self.conventions[example_id].negation
            if target is not None and score > best.get(target, (-1.0, ""))[0]:
                best[target] = (float(score), example_id)
        words = set(_WORD.findall(clause))
        scores = {cid: score if score >= EXACT else score - self._penalty(cid, words, negated)
                  for cid, (score, _) in best.items()}
        ranked = sorted(scores, key=scores.get, reverse=True)
        top = ranked[0]
        runner_up = scores[ranked[1]] if len(ranked) > 1 else 0.0
        score = scores[top]
        if score < OFF_TOPIC_BELOW:
            status = "off-topic"
        elif score < SURE_ABOVE or score - runner_up < CLEAR_MARGIN:
            status = "unclear"
        else:
            status = "understood"
        return Reading(clause, top, score, runner_up, negated, best[top][1], status)

    def _penalty(self, convention_id: str, words: set[str], negated: bool) -> float:
        """Lexical cues that embeddings blur: which hint a clause is about, which number it selects, and
        whether it is about quitting at all."""
        if not negated and convention_id in _KEY_WORDS and not words & _KEY_WORDS[convention_id]:
            return LEXICAL_PENALTY
        either_hint = words & _COLOR_WORDS and words & _RANK_WORDS and words & _EITHER_WORDS
        if convention_id in ("color-hint-play", "rank-hint-play") and either_hint:
            return LEXICAL_PENALTY
        if convention_id in _QUIT_CONVENTIONS and not words & _QUIT_WORDS:
            return LEXICAL_PENALTY
        if convention_id in _NUMBER_CONVENTIONS and words & _ENDING_WORDS and not words & _SELECT_WORDS:
            return LEXICAL_PENALTY
        return 0.0

    # -- judging the whole instruction -----------------------------------------------------------------

    def _judge(self, instruction: str, readings: tuple[Reading, ...]) -> Understanding:
        on_topic = [r for r in readings if r.status != "off-topic"]
        if not on_topic:
            return self._off_topic(instruction, readings)
        clash = self._contradiction(on_topic)
        if clash:
            return self._contradictory(instruction, readings, clash)
        share = 1.0 / len(readings)
        weights: dict[str, float] = defaultdict(float)
        for r in on_topic:
            weights[r.convention] += share
        confidence = min(r.confidence for r in on_topic) * len(on_topic) / len(readings)
        clarify = confidence < CLARIFY_BELOW or len(on_topic) < len(readings)
        scale = confidence if clarify else 1.0
        understood = tuple(sorted(((c, w * scale) for c, w in weights.items()), key=lambda cw: -cw[1]))
        summary = self.summarise(understood)
        question = self._question(summary, readings) if clarify else None
        return Understanding(self.game, instruction, understood, confidence, clarify, False, False,
                             summary, question, readings)

    def _contradiction(self, readings: Sequence[Reading]) -> tuple[Reading, Reading] | None:
        for i, a in enumerate(readings):
            for b in readings[i + 1:]:
                conflicting = b.convention in self.conventions[a.convention].conflicts
                opposite = a.base == b.base and a.negated != b.negated and a.convention != b.convention
                if conflicting or opposite:
                    return a, b
        return None

    def summarise(self, understood: Sequence[tuple[str, float]]) -> str:
        """The reading in words: the general conventions (with their shares when several), then the
        conditional ones, which take precedence where they apply (convention.py)."""
        general = [(self.conventions[c], w) for c, w in understood if not self.conventions[c].conditional]
        special = [self.conventions[c] for c, _ in understood if self.conventions[c].conditional]
        total = sum(w for _, w in general)
        parts = [c.description if len(general) == 1 else f"{c.description.rstrip('.')} ({w / total:.0%})."
                 for c, w in general]
        if special:
            lead = "Where it applies, this comes first: " if general else ""
            parts.append(lead + " ".join(c.description for c in special))
        return " ".join(parts)

    def _question(self, summary: str, readings: Sequence[Reading]) -> str:
        missed = [r.text for r in readings if r.status == "off-topic"]
        unsure = f" I did not understand \"{'; '.join(missed)}\"." if missed else ""
        return f"I think you mean: {summary}{unsure} Is that right? Please confirm, or say it in other words."

    def _off_topic(self, instruction: str, readings: tuple[Reading, ...]) -> Understanding:
        game = "Say-Select" if self.game == "say-select" else "Hanabi"
        example = next(iter(self.conventions.values())).description
        return Understanding(
            self.game, instruction, (), 0.0, True, True, False,
            f"I did not find an instruction about how to play {game} in this.",
            f"How should I play? You could say, for example: \"{example}\"", readings)

    def _contradictory(self, instruction: str, readings, clash: tuple[Reading, Reading]) -> Understanding:
        a, b = (self.conventions[r.convention].description.rstrip(".") for r in clash)
        return Understanding(
            self.game, instruction, (), 0.0, True, False, True,
            f"This asks for two things that exclude each other: \"{clash[0].text}\" and \"{clash[1].text}\".",
            f"Which do you mean: {a}, or {b}?", readings)


# -- text helpers ------------------------------------------------------------------------------------


def normalise(text: str) -> str:
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    for pattern, replacement in _CONTRACTIONS + _REWRITES:
        text = re.sub(pattern, replacement, text)
    return re.sub(r"\s+", " ", text).strip()


def content_words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text) if w not in _STOPWORDS and w not in _NEGATIONS]


def split_clauses(text: str) -> list[str]:
    """Clauses with content, conditionals kept whole; pieces without content join a neighbour."""
    clauses: list[str] = []
    for sentence in _SENTENCES.split(text):
        clauses += _sentence_clauses([p.strip() for p in _JOINERS.split(sentence) if p.strip()])
    return [c for c in clauses if content_words(c)]


def _sentence_clauses(pieces: list[str]) -> list[str]:
    clauses: list[str] = []
    pending = ""   # a conditional ("if I hint a colour") waiting for its main clause, or a piece too short
    for piece in pieces:
        opens_condition = bool(_CONDITIONAL_START.match(piece)) and " then " not in f" {piece} "
        piece = f"{pending} {piece}".strip()
        if opens_condition and not pending:
            pending = piece
        elif piece.startswith("then ") and clauses:
            clauses[-1] = f"{clauses[-1]} {piece}"
            pending = ""
        elif _too_short(piece, bool(clauses)):
            if clauses:
                clauses[-1] = f"{clauses[-1]} {piece}"
                pending = ""
            else:
                pending = piece
        else:
            clauses.append(piece)
            pending = ""
    if pending:
        if clauses and not content_words(pending):
            clauses[-1] = f"{clauses[-1]} {pending}"
        else:
            clauses.append(pending)
    return clauses


def _too_short(piece: str, after_a_clause: bool) -> bool:
    """A piece without content, or one content word after a clause ("... and stop"), joins its neighbour;
    a short negated piece ("... and never quit") stands alone."""
    words = content_words(piece)
    negated = any(w in _NEGATIONS for w in piece.split())
    return not words or (len(words) == 1 and after_a_clause and not negated)


def polarity(clause: str) -> tuple[bool, str]:
    """(negated, core): an odd number of negation words negates; the core is the clause without them."""
    words = clause.split()
    cues = [i for i, w in enumerate(words)
            if w in _NEGATIONS or (w == "stop" and i + 1 < len(words) and words[i + 1].endswith("ing"))]
    drop = set(cues) | {i - 1 for i in cues if i > 0 and words[i - 1] in ("do", "does", "did", "should", "will", "can")}
    core = " ".join(w for i, w in enumerate(words) if i not in drop) or clause
    return len(cues) % 2 == 1, core


class _Speller:
    """Nearest domain word by edit distance (symmetric deletes, verified with optimal string alignment)."""

    def __init__(self, words: set[str]):
        self._index: dict[str, set[str]] = defaultdict(set)
        for word in words:
            for variant in _deletes(word, 2):
                self._index[variant].add(word)

    def correct(self, word: str) -> str | None:
        if len(word) < 3:
            return None
        limit = 1 if len(word) <= 4 else 2
        if len(word) == 3:   # too short to tell a typo from another word, unless two letters swapped
            return next((w for w in self._index.get(word[:1] + word[2:], ()) if sorted(w) == sorted(word)), None)
        candidates = {c for v in _deletes(word, limit) for c in self._index.get(v, ())}
        scored = sorted((_osa(word, c), -len(c), c) for c in candidates)
        scored = [s for s in scored if s[0] <= limit]
        return scored[0][2] if scored else None


def _deletes(word: str, depth: int) -> set[str]:
    out, frontier = {word}, {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1:] for w in frontier for i in range(len(w))}
        out |= frontier
    return out


def _osa(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions, adjacent transpositions."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[-1][-1]
