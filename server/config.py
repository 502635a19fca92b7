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
| BOB_EPISODES          | INSTRUCTPLAY_BOB_EPISODES         | 10000 (most episodes a new Bob trains; it usually stops after 1,000-4,000) |
| BOB_SEED              | INSTRUCTPLAY_BOB_SEED             | 0 (training seed of on-demand Bobs)       |
| BOB_WAIT_S            | INSTRUCTPLAY_BOB_WAIT_S           | 600 (longest an agent turn waits for a Bob)|
| HANABI_AGENT_DIR      | INSTRUCTPLAY_HANABI_AGENT_DIR     | <repo>/agents/checkpoints/hanabi ({color,rank,vanilla}.pt; rule bots stand in for missing ones) |
| HANABI_LAMBDA         | INSTRUCTPLAY_HANABI_LAMBDA        | 1.0 (lambda of log pi + lambda log prior for Hanabi agents that follow instructions) |
| HOST                  | INSTRUCTPLAY_HOST                 | 127.0.0.1                                 |
| PORT                  | INSTRUCTPLAY_PORT                 | 5000                                      |
| SECRET_KEY            | INSTRUCTPLAY_SECRET_KEY           | random per process: set it in any deployment (it signs the researcher's login cookie; a random key ends logins at every restart and does not carry between processes) |
| RESEARCHER_PASSWORD   | INSTRUCTPLAY_RESEARCHER_PASSWORD  | none: the researcher dashboard (/research) is off, and says so |
| RESEARCHER_PASSWORD_HASH | INSTRUCTPLAY_RESEARCHER_PASSWORD_HASH | none (a Werkzeug password hash, `python -m server.research.access` makes one; used instead of RESEARCHER_PASSWORD) |
| RESEARCHER_SESSION_HOURS | INSTRUCTPLAY_RESEARCHER_SESSION_HOURS | 12 (a researcher's login lasts this long) |
| LOGIN_FAILURES        | INSTRUCTPLAY_LOGIN_FAILURES       | 5 per 15 minutes (failed researcher logins one address may make; then 429 until the oldest expires) |
| RATE_LIMIT_STORAGE    | INSTRUCTPLAY_RATE_LIMIT_STORAGE   | none: MESSAGE_QUEUE's Redis when it is one (shared by every process), else this process's memory |
| TRUSTED_PROXIES       | INSTRUCTPLAY_TRUSTED_PROXIES      | 0 (proxies in front that set X-Forwarded-For/-Proto, HAProxy: 1; logins are counted by the address they report, and cookies are Secure when they say https) |
| SERVER_WORKER         | INSTRUCTPLAY_SERVER_WORKER        | gevent (`serve`: gunicorn's gevent worker, one event loop, less than half the CPU per move with hundreds of open games; `gthread`: the threaded worker; server/concurrency.py) |
| SERVER_THREADS        | INSTRUCTPLAY_SERVER_THREADS       | 1000 (`serve`: worker threads = most concurrent connections of one process) |
| DB_POOL_SIZE          | INSTRUCTPLAY_DB_POOL_SIZE         | 20 (database connections one process keeps open) |
| DB_MAX_OVERFLOW       | INSTRUCTPLAY_DB_MAX_OVERFLOW      | 20 (more it may open at busy times)       |
| DB_POOL_TIMEOUT_S     | INSTRUCTPLAY_DB_POOL_TIMEOUT_S    | 30 (longest wait for a free connection before `storage_unavailable`: busy) |
| MAX_MESSAGE_BYTES     | INSTRUCTPLAY_MAX_MESSAGE_BYTES    | 65536 (one socket message, UTF-8 bytes)   |
| MESSAGE_RATE          | INSTRUCTPLAY_MESSAGE_RATE         | 30 (messages per second one connection may send, after a burst of MESSAGE_BURST) |
| MESSAGE_BURST         | INSTRUCTPLAY_MESSAGE_BURST        | 100                                       |
| GAMES_PER_MINUTE      | INSTRUCTPLAY_GAMES_PER_MINUTE     | 20 (new games one connection may start, after a burst of GAMES_BURST) |
| GAMES_BURST           | INSTRUCTPLAY_GAMES_BURST          | 10                                        |
| WARNINGS_PER_MINUTE   | INSTRUCTPLAY_WARNINGS_PER_MINUTE  | 30 (log lines about one connection's bad input) |
| TORCH_THREADS         | INSTRUCTPLAY_TORCH_THREADS        | 1 (`serve`: torch's threads per server process; the agents' networks are tiny, and torch's default of a thread per core kept idle threads spinning between moves: 2.9 -> 1.9 ms of CPU per move and reply, benchmarks/serving.py) |
| TRAININGS_AT_ONCE     | INSTRUCTPLAY_TRAININGS_AT_ONCE    | half the cores, at least 1 (new Say-Select Bobs trained at once; the rest queue) |
| ROOM_IDLE_S           | INSTRUCTPLAY_ROOM_IDLE_S          | 600 (a game nobody is connected to leaves memory after this; it is rebuilt on resume) |
| RESUME_AFTER_END_S    | INSTRUCTPLAY_RESUME_AFTER_END_S   | 600 (a finished game's resume token works this long after the end, to show the result) |
| CONNECTIONS_PER_GAME  | INSTRUCTPLAY_CONNECTIONS_PER_GAME | 4 (tabs that may hold one game at once)   |
| DEAL_KEY              | INSTRUCTPLAY_DEAL_KEY             | <repo>/instance/deal.key, made once (Hanabi decks are shuffled from a keyed hash of the seed; every process of one site needs the same key) |
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
    "BOB_EPISODES": 10000,
    "BOB_SEED": 0,
    "BOB_WAIT_S": 600.0,
    "HANABI_AGENT_DIR": str(REPO_ROOT / "agents" / "checkpoints" / "hanabi"),
    "HANABI_LAMBDA": 1.0,
    "HOST": "127.0.0.1",
    "PORT": 5000,
    "SECRET_KEY": None,
    "RESEARCHER_PASSWORD": None,
    "RESEARCHER_PASSWORD_HASH": None,
    "RESEARCHER_SESSION_HOURS": 12.0,
    "LOGIN_FAILURES": "5 per 15 minutes",
    "RATE_LIMIT_STORAGE": None,
    "TRUSTED_PROXIES": 0,
    "SERVER_WORKER": "gevent",
    "SERVER_THREADS": 1000,
    "DB_POOL_SIZE": 20,
    "DB_MAX_OVERFLOW": 20,
    "DB_POOL_TIMEOUT_S": 30.0,
    "MAX_MESSAGE_BYTES": 65536,
    "MESSAGE_RATE": 30.0,
    "MESSAGE_BURST": 100.0,
    "GAMES_PER_MINUTE": 20.0,
    "GAMES_BURST": 10.0,
    "WARNINGS_PER_MINUTE": 30.0,
    "TORCH_THREADS": 1,
    "TRAININGS_AT_ONCE": max(1, (os.cpu_count() or 2) // 2),
    "ROOM_IDLE_S": 600.0,
    "RESUME_AFTER_END_S": 600.0,
    "CONNECTIONS_PER_GAME": 4,
    "DEAL_KEY": None,
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


def deal_key(path: Path = INSTANCE_DIR / "deal.key") -> str:
    """The site's key for dealing (DEAL_KEY's default): read from `path`, made there on first use."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(32)
        try:
            with open(path, "x") as f:  # two processes starting at once: the first one's key wins
                f.write(key)
        except FileExistsError:
            pass
        return path.read_text().strip()


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
