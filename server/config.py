"""Server configuration: defaults, read from `INSTRUCTPLAY_*` environment variables.

`load_config()` returns a plain dict of Flask config keys; `create_app(config)` lays any overrides
given in code (tests) on top of it. Every key, its variable and its default:

| key                   | environment variable              | default                                   |
|-----------------------|-----------------------------------|-------------------------------------------|
| DATABASE_URL          | INSTRUCTPLAY_DATABASE_URL         | sqlite:///<repo>/instance/instructplay.db |
| AGENT_DELAY_MS        | INSTRUCTPLAY_AGENT_DELAY_MS       | 700 (pause before the agent's move shows) |
| MESSAGE_QUEUE         | INSTRUCTPLAY_MESSAGE_QUEUE        | none (a Redis URL for several processes)  |
| MESSAGE_QUEUE_CHANNEL | INSTRUCTPLAY_MESSAGE_QUEUE_CHANNEL| flask-socketio (processes of one site share it) |
| PRIOR_BACKEND         | INSTRUCTPLAY_PRIOR_BACKEND        | conventions (or table, lm)                |
| PRIOR_TABLE_P         | INSTRUCTPLAY_PRIOR_TABLE_P        | 0.9 (the table prior's p)                 |
| LM_MODEL              | INSTRUCTPLAY_LM_MODEL             | none (a local causal-LM path for `lm`)    |
| MAX_INSTRUCTION_CHARS | INSTRUCTPLAY_MAX_INSTRUCTION_CHARS| 1000                                      |
| BOB_CACHE_DIR         | INSTRUCTPLAY_BOB_CACHE_DIR        | <repo>/instance/bobs                      |
| BOB_EPISODES          | INSTRUCTPLAY_BOB_EPISODES         | 50000 (the paper's training length)       |
| BOB_SEED              | INSTRUCTPLAY_BOB_SEED             | 0 (training seed of on-demand Bobs)       |
| BOB_WAIT_S            | INSTRUCTPLAY_BOB_WAIT_S           | 600 (longest an agent turn waits for a Bob)|
| HANABI_AGENT_DIR      | INSTRUCTPLAY_HANABI_AGENT_DIR     | <repo>/agents/checkpoints/hanabi ({color,rank,vanilla}.pt; rule bots stand in for missing ones) |
| HANABI_LAMBDA         | INSTRUCTPLAY_HANABI_LAMBDA        | 1.0 (lambda of log pi + lambda log prior for Hanabi agents that follow instructions) |
| HOST                  | INSTRUCTPLAY_HOST                 | 127.0.0.1                                 |
| PORT                  | INSTRUCTPLAY_PORT                 | 5000                                      |
| SECRET_KEY            | INSTRUCTPLAY_SECRET_KEY           | random per process                        |
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = REPO_ROOT / "instance"
PREFIX = "INSTRUCTPLAY_"

DEFAULTS: dict[str, object] = {
    "DATABASE_URL": f"sqlite:///{INSTANCE_DIR / 'instructplay.db'}",
    "AGENT_DELAY_MS": 700,
    "MESSAGE_QUEUE": None,
    "MESSAGE_QUEUE_CHANNEL": "flask-socketio",
    "PRIOR_BACKEND": "conventions",
    "PRIOR_TABLE_P": 0.9,
    "LM_MODEL": None,
    "MAX_INSTRUCTION_CHARS": 1000,
    "BOB_CACHE_DIR": str(INSTANCE_DIR / "bobs"),
    "BOB_EPISODES": 50000,
    "BOB_SEED": 0,
    "BOB_WAIT_S": 600.0,
    "HANABI_AGENT_DIR": str(REPO_ROOT / "agents" / "checkpoints" / "hanabi"),
    "HANABI_LAMBDA": 1.0,
    "HOST": "127.0.0.1",
    "PORT": 5000,
    "SECRET_KEY": None,
}


def load_config(environ: dict[str, str] | None = None) -> dict[str, object]:
    """The defaults, each replaced by its `INSTRUCTPLAY_<KEY>` variable when set (converted to the default's type)."""
    environ = os.environ if environ is None else environ
    config = dict(DEFAULTS)
    for key, default in DEFAULTS.items():
        raw = environ.get(PREFIX + key)
        if raw is None or raw == "":
            continue
        config[key] = _convert(key, raw, default)
    if not config["SECRET_KEY"]:
        config["SECRET_KEY"] = secrets.token_hex(16)
    return config


def _convert(key: str, raw: str, default: object) -> object:
    try:
        if isinstance(default, bool):
            return raw.lower() in ("1", "true", "yes", "on")
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
    except ValueError:
        raise ValueError(f"{PREFIX}{key}={raw!r} is not a valid {type(default).__name__}; fix or unset it") from None
    return raw
