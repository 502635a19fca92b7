"""`instructplay interpret` and `instructplay conventions`: JSON format, input order, --file, errors, and
the LM backend with a tiny local model."""

import json

import numpy as np
import pytest

from agents.priors.base import Prior
from agents.priors.conventions import convention, mixture
from agents.priors.conventions.projection import understand_prior
from agents.priors.conventions.prior import DEFAULT_BETA
from server.cli import main
from tests.tiny_lm import tiny_lm_path  # noqa: F401  (a pytest fixture)

KEYS = {"instruction", "game", "understood", "confidence", "clarify", "off_topic", "contradictory", "summary",
        "question", "choices", "not_understood", "reader_confidence"}


def run_json(capsys, *argv):
    assert main(["interpret", *argv, "--json"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_json_lines_in_input_order(capsys):
    texts = ["never quit", "copy my number and quit if I repeat", "what's the weather"]
    out = run_json(capsys, "--game", "say-select", *texts)
    assert [o["instruction"] for o in out] == texts
    for o in out:
        assert set(o) == KEYS and o["game"] == "say-select" and 0.0 <= o["confidence"] <= 1.0
        weights = [u["weight"] for u in o["understood"]]
        assert weights == sorted(weights, reverse=True) and all(set(u) == {"convention", "weight"} for u in o["understood"])
    assert out[0]["understood"] == [{"convention": "never-quit", "weight": 1.0}] and out[0]["clarify"] is False
    assert {u["convention"] for u in out[1]["understood"]} == {"copy-number", "quit-on-repeat"}
    assert out[2]["understood"] == [] and out[2]["clarify"] is True and out[2]["off_topic"] is True


def test_file_mode_reads_one_instruction_per_line(capsys, tmp_path):
    path = tmp_path / "instructions.txt"
    path.write_text("colour hints mean play\n\nnever discard anything\nrank clue: play it\n", encoding="utf-8")
    out = run_json(capsys, "--game", "hanabi", "--file", str(path))
    assert [o["instruction"] for o in out] == ["colour hints mean play", "never discard anything", "rank clue: play it"]
    assert [o["understood"][0]["convention"] for o in out] == ["color-hint-play", "never-discard", "rank-hint-play"]


def test_plain_text_output_says_what_was_understood_and_asks_when_unsure(capsys):
    assert main(["interpret", "--game", "say-select", "select one more than I say", "tell me a joke"]) == 0
    out = capsys.readouterr().out
    assert out.index("select one more than I say") < out.index("tell me a joke")
    assert "select-next 1.00" in out and "asks:" in out


@pytest.mark.parametrize("argv, message", [
    (["--game", "hanabi"], "either as TEXT arguments or with --file"),
    (["--game", "hanabi", "x", "--file", "f.txt"], "either as TEXT arguments or with --file"),
    (["--game", "hanabi", "--file", "/nonexistent/instructions.txt"], "No such file"),
    (["--game", "hanabi", "--backend", "lm", "x"], "needs --model PATH"),
])
def test_errors_tell_the_user_what_to_do(capsys, argv, message):
    assert main(["interpret", *argv]) == 2
    assert message in capsys.readouterr().err


def test_conventions_lists_ids_with_descriptions(capsys):
    assert main(["conventions", "--game", "hanabi", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[0]["convention"] == "color-hint-play" and "colour" in rows[0]["description"]
    assert {r["convention"] for r in rows} >= {"rank-hint-play", "discard-oldest", "hint-keep"}


def test_lm_backend_reports_the_convention_its_prior_behaves_like(capsys, tiny_lm_path):  # noqa: F811
    out = run_json(capsys, "--game", "say-select", "--backend", "lm", "--model", str(tiny_lm_path), "copy me", "quit")
    assert [o["instruction"] for o in out] == ["copy me", "quit"]
    for o in out:
        assert set(o) == KEYS and len(o["understood"]) <= 1
        assert o["understood"] == [] or o["understood"][0]["weight"] == pytest.approx(o["confidence"], abs=1e-4)


class ConventionLike(Prior):
    """A stand-in LM prior that behaves exactly like one convention (or uniformly, with None)."""

    def __init__(self, convention_id):
        self.convention_id = convention_id

    def log_probs(self, game, instruction, observation, actions):
        if self.convention_id is None:
            return np.full(len(actions), -np.log(len(actions)))
        weighted = [(convention(game, self.convention_id), 1.0)]
        return np.log(mixture(weighted, observation, actions, DEFAULT_BETA[game]))


@pytest.mark.parametrize("game, convention_id", [("say-select", "quit-on-repeat"), ("say-select", "select-next"),
                                                 ("hanabi", "rank-hint-play"), ("hanabi", "discard-oldest")])
def test_a_prior_is_read_as_the_convention_it_behaves_like(game, convention_id):
    u = understand_prior(game, ConventionLike(convention_id), "anything")
    assert u.understood == ((convention_id, pytest.approx(1.0)),) and not u.clarify


def test_a_uniform_prior_follows_no_convention():
    u = understand_prior("hanabi", ConventionLike(None), "anything")
    assert u.off_topic and u.clarify and u.understood == ()
