"""The study file: the example study is valid and complete; every kind of mistake is reported with the line
it is on, all at once; settings layer study < block < condition < condition's block; `study check` and
`study open` on the command line (a changed file is a new version)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from server.games.service import Delay
from server.studies import spec
from server.studies.commands.open_study import open_study

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "docs" / "studies" / "example.yaml"


def errors(text: str) -> list[tuple[int | None, str]]:
    study, problems = spec.check(text)
    found = [(p.line, p.message) for p in problems if p.severity == "error"]
    assert (study is None) == bool(found)
    return found


def line_of(text: str, fragment: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if fragment in line)


def test_the_example_study_is_valid_and_has_everything_a_study_needs():
    study, problems = spec.check(EXAMPLE.read_text())
    assert study is not None and [p for p in problems if p.severity == "error"] == []
    assert study.games_played() == {"say-select", "hanabi"} and set(study.tutorials) == {"say-select", "hanabi"}
    assert len(study.conditions) >= 2 and study.order == "latin-square"
    assert {"prolific", "mturk"} <= set(study.entry) and study.consent_version and study.completion_code
    after, end = study.questionnaires["after_game"], study.questionnaires["end"]
    kinds = {i.type for i in after.items} | {i.type for i in end.items}
    assert kinds == {"likert", "choice", "text"}
    assert {"trust", "understood", "effort"} <= {i.id for i in after.items}
    typed, fixed = study.conditions
    assert all(g.may_instruct for g in typed.games.values())
    assert all(not g.may_instruct and g.instruction for g in fixed.games.values())
    assert typed.games["hanabi"].delay == Delay(900, 250, 400)
    assert len(set(study.seeds)) == len(study.seeds) == 500
    assert study.seeds == spec.generated_seeds(500, 2026)  # the same list every time


def test_every_error_is_reported_with_its_line():
    text = EXAMPLE.read_text()
    broken = (text.replace("id: instruct-or-not", "id: Instruct Or Not")
              .replace("entry: [prolific, mturk, ask]", "entry: [prolific, facebook]")
              .replace("settings: {game: hanabi, partner: instructed, seat: 0}",
                       "settings: {game: hanabi, partner: nobody, seat: 0}")
              .replace("        scale: 5\n", "        scale: 4\n")
              .replace("      hanabi: {partner: color,", "      hanabi: {partner: colour,")
              .replace("    prolific: https://app.prolific", "    prolific: ftp://app.prolific"))
    found = errors(broken)
    messages = " | ".join(m for _, m in found)
    expected = {
        "Instruct Or Not": line_of(broken, "id: Instruct Or Not"),
        "facebook": line_of(broken, "entry: [prolific, facebook]"),
        "no partner 'nobody'": line_of(broken, "partner: nobody"),
        "5 labels for a 4-point scale": line_of(broken, "labels: [Very little"),
        "no partner 'colour'": line_of(broken, "partner: colour"),
        "completion.redirect.prolific": line_of(broken, "prolific: ftp://"),
    }
    for fragment, line in expected.items():
        assert any(fragment in m and l == line for l, m in found), (fragment, line, found)
    assert len(found) >= len(expected), messages


@pytest.mark.parametrize("text, fragment, line", [
    ("id: a\nid: b\n", "'id' appears twice", 2),
    ("id: a\n  x: [\n", "YAML syntax", 2),
    ("- just\n- a list\n", "the study must be a mapping", 1),
    ("", "empty", 1),
])
def test_yaml_mistakes_are_reported_with_their_line(text, fragment, line):
    found = errors(text)
    assert any(fragment in m and l == line for l, m in found), found


def minimal(**top) -> dict:
    study = {
        "id": "s", "title": "t", "consent": {"version": "1", "text": "ok"},
        "blocks": [{"id": "a", "settings": {"game": "say-select", "partner": "instructq"}}],
        "conditions": [{"id": "c1"}, {"id": "c2"}], "seeds": [1, 2, 3], "target_per_condition": 4,
        "completion": {"code": "X"},
    }
    study.update(top)
    return study


def test_settings_layer_study_then_block_then_condition_then_the_conditions_block():
    study = spec.parse(yaml.safe_dump(minimal(
        settings={"delay_ms": 100, "lambda": 0.5},
        blocks=[{"id": "a", "settings": {"game": "say-select", "partner": "instructq", "delay_ms": 200}},
                {"id": "b", "games": 2, "settings": {"game": "hanabi", "partner": "instructed", "seat": 1}}],
        conditions=[{"id": "c1", "settings": {"may_instruct": False, "delay_ms": {"mean": 300, "sd": 50, "min": 100}},
                     "blocks": {"b": {"partner": "rank", "lambda": 2, "details": False}}},
                    {"id": "c2", "target": 9}])))
    c1, c2 = study.conditions
    assert c1.games["a"] == spec.GameSpec("say-select", "instructq", 0, False, None, 0.5, None, Delay(300, 50, 100))
    assert c1.games["b"] == spec.GameSpec("hanabi", "rank", 1, False, None, 2.0, None, Delay(300, 50, 100), False)
    assert c2.games["a"].delay == Delay(200) and c2.games["b"].delay == Delay(100) and c2.games["b"].seat == 1
    assert (c1.target, c2.target) == (4, 9)


def test_a_condition_may_change_the_game_of_a_block():
    study = spec.parse(yaml.safe_dump(minimal(conditions=[
        {"id": "c1"}, {"id": "c2", "blocks": {"a": {"game": "hanabi", "partner": "vanilla"}}}])))
    assert study.conditions[1].games["a"].game == "hanabi"
    assert any("partner 'instructq'" in m for _, m in errors(yaml.safe_dump(minimal(conditions=[
        {"id": "c1"}, {"id": "c2", "blocks": {"a": {"game": "hanabi"}}}]))))


def test_too_few_seeds_for_a_participant_is_an_error():
    found = errors(yaml.safe_dump(minimal(blocks=[{"id": "a", "games": 4, "settings": {
        "game": "say-select", "partner": "instructq"}}])))
    assert any("would see a deal twice" in m for _, m in found)


def test_hanabi_reads_instructions_only_with_conventions():
    found = errors(yaml.safe_dump(minimal(settings={"prior_backend": "table"}, blocks=[
        {"id": "a", "settings": {"game": "hanabi", "partner": "color"}}])))
    assert any("hanabi reads instructions with conventions" in m for _, m in found)


def test_study_check_on_the_command_line(tmp_path):
    good = subprocess.run([sys.executable, "-m", "server.cli", "study", "check", str(EXAMPLE)], cwd=REPO,
                          capture_output=True, text=True)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "condition typed" in good.stdout and "say-select > hanabi | hanabi > say-select" in good.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(EXAMPLE.read_text().replace("target_per_condition: 25", "target_per_condition: many"))
    out = subprocess.run([sys.executable, "-m", "server.cli", "study", "check", str(bad)], cwd=REPO,
                         capture_output=True, text=True)
    assert out.returncode == 1
    assert f"{bad}:{line_of(bad.read_text(), 'target_per_condition: many')}: error: target_per_condition" in out.stdout


def test_study_open_stores_a_new_version_only_when_the_file_changed(tmp_path):
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    path = tmp_path / "study.yaml"
    path.write_text(EXAMPLE.read_text())
    assert open_study(path, url) == ("instruct-or-not", 1, True)
    assert open_study(path, url) == ("instruct-or-not", 1, False)
    path.write_text(EXAMPLE.read_text().replace("target_per_condition: 25", "target_per_condition: 30"))
    assert open_study(path, url) == ("instruct-or-not", 2, True)
    path.write_text(EXAMPLE.read_text().replace("target_per_condition: 25", "target_per_condition: 0"))
    with pytest.raises(spec.StudyFileError):
        open_study(path, url)
    out = subprocess.run([sys.executable, "-m", "server.cli", "study", "open", str(EXAMPLE), "--db", url,
                          "--url", "https://play.example.org"], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "open at version 3" in out.stdout
    assert ("https://play.example.org/s/instruct-or-not?PROLIFIC_PID={{%PROLIFIC_PID%}}&STUDY_ID={{%STUDY_ID%}}"
            "&SESSION_ID={{%SESSION_ID%}}") in out.stdout
