"""The layering rule of docs DESIGN.md: agents/ knows nothing of Flask, the database or the server, and what
plays (policies, envs, priors) imports nothing from agents/learn. Checked on every import statement of every
.py file under agents/, at module level and inside functions."""

import ast
from pathlib import Path

import pytest

AGENTS = Path(__file__).resolve().parents[2] / "agents"
NOT_IN_AGENTS = ("server", "flask", "flask_socketio", "sqlalchemy")
PLAY_TIME = ("policies", "envs", "priors")
SOURCES = sorted(AGENTS.rglob("*.py"))


def imported_modules(path: Path, root: Path = AGENTS) -> list[str]:
    """Every module an import statement in `path` names, relative imports resolved (`root`: the agents folder)."""
    package = ".".join(path.relative_to(root.parent).with_suffix("").parts[:-1])
    modules = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            base = ".".join(part for part in (base, node.module) if part)
            modules += [base] + [f"{base}.{alias.name}" for alias in node.names]
    return modules


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def offences(path: Path, root: Path = AGENTS) -> list[str]:
    """The imports of `path` that break the rule."""
    play_time = path.relative_to(root).parts[0] in PLAY_TIME
    return [m for m in imported_modules(path, root)
            if any(within(m, banned) for banned in NOT_IN_AGENTS) or (play_time and within(m, "agents.learn"))]


def test_every_layer_is_checked():
    assert set(PLAY_TIME) | {"learn"} <= {p.relative_to(AGENTS).parts[0] for p in SOURCES}


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(AGENTS)))
def test_agents_import_no_server_and_play_time_code_no_learning(path):
    assert offences(path) == [], f"{path.relative_to(AGENTS.parent)} imports what its layer may not"


@pytest.mark.parametrize("layer, source, found", [
    ("learn", "from server.app import create_app\n", ["server.app", "server.app.create_app"]),
    ("envs", "def f():\n    import flask_socketio\n", ["flask_socketio"]),
    ("priors", "import sqlalchemy.orm as orm\n", ["sqlalchemy.orm"]),
    ("policies", "def f():\n    from agents.learn import say_select_q\n", ["agents.learn", "agents.learn.say_select_q"]),
    ("priors", "from ..learn.hanabi_training import deal\n", ["agents.learn.hanabi_training",
                                                            "agents.learn.hanabi_training.deal"]),
    ("policies", "from . import base\nfrom agents.envs import say_select\n", []),
    ("learn", "from agents.learn import hanabi_eval\n", []),
])
def test_the_check_finds_a_forbidden_import_wherever_it_stands(tmp_path, layer, source, found):
    root = tmp_path / "agents"
    (root / layer).mkdir(parents=True)
    path = root / layer / "module.py"
    path.write_text(source)
    assert offences(path, root) == found
