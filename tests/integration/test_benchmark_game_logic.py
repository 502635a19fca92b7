"""benchmarks/game_logic.py runs, and its message digest is a fact of the code, not of the run: the same code
gives the same digest twice (it is how the benchmark tells that a change sent the same messages), and a
different partner gives another."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(partner: str) -> dict:
    out = subprocess.run([sys.executable, "benchmarks/game_logic.py", "--worker", "--replies", "20",
                          "--check-replies", "40", "--partner", partner,
                          "--instruction", "When you get a colour hint, play the cards it touches."],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_digest_is_the_same_for_the_same_code_and_differs_for_another_partner():
    first, second, vanilla = run("instructed"), run("instructed"), run("vanilla")
    assert first["digest"] == second["digest"]
    assert vanilla["digest"] != first["digest"]
    assert 0 < first["ms_per_reply"] < 1000
