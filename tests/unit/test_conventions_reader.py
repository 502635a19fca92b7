"""The learned reader (agents/priors/conventions/reader.py) and the rule that lets it replace a question
(Parser._second_opinion): a reader trained on the spot saves and loads through the shipped code path, the
shipped weights match the labelled data, blind lines are never trained on, and the rule only ever turns a
question into the rules' own reading, never into another one.

The rule is tested with a scripted reader (`Scripted`, which answers what a test tells it), so each guard is
checked whatever the trained weights say; the shipped reader is tested on what it must still ask about."""

import json
from pathlib import Path

import numpy as np
import pytest

from agents.priors.conventions import CONVENTIONS, parser, understand
from agents.priors.conventions.embedder import default_embedder
from agents.priors.conventions.parser import Parser
from agents.priors.conventions.reader import ASK, BENCHMARK, WEIGHTS, Example, Reader, digest, training_examples


class Scripted:
    """A reader that answers with a fixed reading and probability, whatever the text."""

    def __init__(self, reading, p=0.99):
        self.reading, self.p, self.texts = (None if reading is None else frozenset(reading)), p, []

    def predict(self, game, text):
        return self.predict_many(game, [text])[0]

    def predict_many(self, game, texts):
        self.texts += texts
        return [(self.reading, self.p)] * len(texts)


def scripted_parser(game, reading, p=0.99):
    return Parser(game, CONVENTIONS[game], default_embedder(), Scripted(reading, p))


def test_a_reader_trained_on_the_spot_saves_loads_and_reads_the_same(tmp_path):
    examples = [Example("say-select", t, (frozenset(["copy-number"]),)) for t in
                ("pick the number I say", "take my number", "choose what I call")]
    examples += [Example("say-select", t, (frozenset(["never-quit"]),)) for t in
                 ("never quit", "do not stop playing", "keep going to the end")]
    examples += [Example("say-select", t, ASK) for t in ("what a lovely day", "I like trains", "hello there")]
    examples += [Example("hanabi", t, (frozenset(["discard-oldest"]),)) for t in ("discard your oldest card", "bin the chop")]
    examples += [Example("hanabi", t, ASK) for t in ("finesse me", "the weather is nice")]
    reader = Reader.train(examples, lambda e: e.text.lower(), epochs=6, progress=False)
    path = tmp_path / "reader.npz"
    reader.save(path)
    loaded = Reader.load(path)
    assert loaded.names == reader.names and loaded.digest == digest(examples)
    for game, text in (("say-select", "pick the number I say"), ("say-select", "I like trains"),
                       ("hanabi", "discard your oldest card")):
        trained, p = reader.predict(game, text)
        again, q = loaded.predict(game, text)
        assert again == trained and q == pytest.approx(p, abs=0.02)   # the weights are stored as float16
    # a game's reading is one of that game's classes
    assert loaded.predict("hanabi", "pick the number I say")[0] in (None, frozenset(["discard-oldest"]))
    assert loaded.predict("no-such-game", "anything") == (None, 0.0)


def test_the_shipped_reader_is_trained_on_the_labelled_data_as_it_is():
    """Retrain with `instructplay train reader` after changing any labelled collection."""
    assert Reader.load(WEIGHTS).digest == digest(training_examples())


def test_blind_lines_are_never_trained_on():
    trained = {(e.game, e.text) for e in training_examples()}
    blind = []
    for path in sorted(BENCHMARK.glob("people*.jsonl")):
        with open(path, encoding="utf-8") as f:
            blind += [(r["game"], r["text"]) for r in map(json.loads, f) if r.get("split") == "held-out"]
    assert len(blind) > 400
    assert not trained & set(blind)


# -- the rule, with a scripted reader --------------------------------------------------------------------------

def test_an_agreeing_reader_turns_a_question_about_unknown_words_into_the_rules_reading():
    text = "whack down whatever I give you a colour hint on"
    alone = Parser("hanabi", CONVENTIONS["hanabi"], default_embedder()).understand(text)
    assert alone.clarify and alone.reader_confidence is None
    u = scripted_parser("hanabi", ["color-hint-play"], 0.93).understand(text)
    assert not u.clarify and [c for c, _ in u.understood] == ["color-hint-play"]
    assert u.reader_confidence == pytest.approx(0.93) and u.question is None
    assert u.to_dict()["reader_confidence"] == pytest.approx(0.93)


@pytest.mark.parametrize("reading, p", [
    (["play-newest"], 0.99),                         # another reading than the rules'
    (["color-hint-play", "never-discard"], 0.99),     # the rules' reading and more, with nothing calling for it
    (None, 0.99),                                     # the reader would ask
    (["color-hint-play"], 0.6),                       # not sure enough
])
def test_a_reader_that_does_not_agree_or_is_unsure_changes_nothing(reading, p):
    text = "whack down whatever I give you a colour hint on"
    u = scripted_parser("hanabi", reading, p).understand(text)
    assert u.clarify and u.reader_confidence is None


@pytest.mark.parametrize("game, text, reading", [
    ("say-select", "pick the ball two more than the one I say", ["select-next"]),     # a modifier no convention has
    ("say-select", "copy my number but not 5", ["copy-number"]),                      # a negated piece with a number
    ("say-select", "Copy my number. Be unpredictable.", ["copy-number"]),              # a directive beside the rule
    ("say-select", "copy my number, but only beneath a full moon", ["copy-number"]),  # a condition no convention has
    ("say-select", "copy my number and do not wander off halfway", ["copy-number"]),  # a negated piece that matches nothing
    ("hanabi", "wait, what does a colour hint do again?", ["color-hint-play"]),        # a question about the rules
    ("say-select", "pick my number, but only on the even turns", ["copy-number"]),     # a frequency, not the even balls
    ("say-select", "copy me and never quit. Actually, quit right away.", ["copy-number", "never-quit"]),  # a contradiction
    ("say-select", "don't NOT pick my number", ["copy-number"]),                       # a double negation
    ("hanabi", "finesse", ["play-newest"]),                                             # jargon with no convention
    ("say-select", "when I say a number, quit", ["quit-on-repeat"]),    # the reader may not stand in for "repeat"
    ("hanabi", "chop", ["discard-oldest"]),                             # a lone jargon word is asked about
    ("say-select", "honestly whatever just pick balls i dont care", ["copy-number"]),  # indifference: no convention
])
def test_the_rules_that_guard_meaning_still_force_a_question(game, text, reading):
    u = scripted_parser(game, reading, 0.999).understand(text)
    assert u.clarify or u.off_topic or u.contradictory
    assert u.reader_confidence is None


def test_the_reader_may_stand_in_for_a_verb_of_the_game_in_a_clause_the_rules_could_not_read():
    text = "fire your newest card blind"   # "fire" is no rule's word for play; "newest" is play-newest's own cue
    assert Parser("hanabi", CONVENTIONS["hanabi"], default_embedder()).understand(text).clarify
    u = scripted_parser("hanabi", ["play-newest"], 0.95).understand(text)
    assert not u.clarify and [c for c, _ in u.understood] == ["play-newest"]


def test_an_understood_instruction_never_asks_the_reader():
    p = scripted_parser("say-select", ["never-quit"], 0.999)
    u = p.understand("pick the number I say")
    assert not u.clarify and [c for c, _ in u.understood] == ["copy-number"] and u.reader_confidence is None
    assert p.reader.texts == []


# -- the shipped reader ----------------------------------------------------------------------------------------

STILL_ASKED = [  # (game, text): with the shipped reader, each is still asked about
    ("say-select", "pick the ball two more than the one I say"),
    ("say-select", "Copy my number. Be unpredictable."),
    ("say-select", "just take whatever ball is the biggest"),
    ("hanabi", "finesse me when you can"),
    ("hanabi", "play the card one higher than the one I hint"),
    ("hanabi", "only give hints on odd turns"),
    ("say-select", "I had pasta for lunch"),
]


@pytest.mark.parametrize("game, text", STILL_ASKED)
def test_the_shipped_reader_leaves_these_asked(game, text):
    u = understand(game, text)
    assert u.clarify or u.off_topic or u.contradictory


def test_the_shipped_reader_is_what_the_parser_uses():
    for game in ("say-select", "hanabi"):
        assert isinstance(parser(game).reader, Reader)
        reading, p = parser(game).reader.predict(game, parser(game).clean("hello, how are you today?"))
        assert 0.0 <= p <= 1.0 and np.isfinite(p)


def test_instructplay_train_reader_writes_weights_the_parser_can_load(tmp_path, monkeypatch):
    from agents.priors.conventions import reader as reader_module
    from server.cli import main

    tiny = [Example("say-select", "pick the number I say", (frozenset(["copy-number"]),)),
            Example("say-select", "never quit", (frozenset(["never-quit"]),)),
            Example("hanabi", "discard your oldest card", (frozenset(["discard-oldest"]),)),
            Example("hanabi", "hello", ASK)]
    monkeypatch.setattr(reader_module, "training_examples", lambda: tiny)
    out = tmp_path / "reader.npz"
    assert main(["train", "reader", "--out", str(out), "--epochs", "1"]) == 0
    loaded = Reader.load(out)
    assert loaded.digest == digest(tiny)
    assert sorted(loaded.names) == ["hanabi:ask", "hanabi:discard-oldest", "say-select:copy-number", "say-select:never-quit"]
    p = Parser("say-select", CONVENTIONS["say-select"], default_embedder(), loaded)
    assert p.understand("pick the number I say").understood[0][0] == "copy-number"


def test_a_question_with_nothing_to_choose_offers_the_readers_reading_as_a_choice():
    text = "yeet whatever ball I holler at ya"
    alone = Parser("say-select", CONVENTIONS["say-select"], default_embedder()).understand(text)
    assert alone.clarify and not alone.choices
    u = scripted_parser("say-select", ["copy-number"], 0.7).understand(text)   # sure enough to offer, not to adopt
    assert u.clarify and u.reader_confidence is None
    assert [[c for c, _ in choice.understood] for choice in u.choices] == [["copy-number"]]
    assert "Did you mean: " + u.choices[0].summary in u.question
    for reading, p in ((None, 0.99), (["copy-number"], 0.3), (["copy-number", "avoid-said-number"], 0.99)):
        assert not scripted_parser("say-select", reading, p).understand(text).choices   # ask, unsure, or a conflict
    # words no convention explains ("two more than") are never dropped by a one-click choice
    assert not scripted_parser("say-select", ["select-next"], 0.7).understand(
        "pick the ball two more than the one I say").choices


def test_loading_the_reader_leaves_torchs_random_state_alone():
    import torch

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    Reader.load(WEIGHTS)
    assert torch.equal(torch.rand(3), expected)
