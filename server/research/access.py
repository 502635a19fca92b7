"""Who may read what: the researcher's login, and the participant's key to their own games.

Every route that reads games, replays, instructions or exports asks here (docs/RESEARCHERS.md, "Access"):

- **The researcher** logs in at /research with the password from configuration
  (RESEARCHER_PASSWORD_HASH, a Werkzeug password hash, or RESEARCHER_PASSWORD; there is no default: without
  one the dashboard is off and says so). The login is a Flask-Login session in Flask's signed session cookie
  (SECRET_KEY), HttpOnly, SameSite=Lax, Secure when the request came over https, for RESEARCHER_SESSION_HOURS.
  Failed logins are counted per address with the `limits` library (LOGIN_FAILURES, e.g. "5 per 15 minutes");
  past the limit the login answers 429 saying when to try again.
- **A participant** reads a game they played by presenting its key: the game's resume token (from
  `game_started`), or their study token (the study's games they played). The game and replay pages send the
  keys they hold in the `X-Instructplay-Tokens` header (`GAME_ID:TOKEN`, comma-separated); a download link
  carries one as `?token=`.

Anyone else gets 401 (nothing presented: log in, or open it from your game's page) or 404 (a key that does
not open this game: whether it exists is not said). `readable_game` and `finished_games` are the two checks;
the blueprints call them before they read anything.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import os
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from flask import Flask, Request, current_app, jsonify, request
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager, UserMixin, current_user
from werkzeug.security import check_password_hash, generate_password_hash

from server.db.store import GameRecord
from server.games.service import token_hash

log = logging.getLogger(__name__)

TOKEN_HEADER = "X-Instructplay-Tokens"
TOKEN_PARAM = "token"
MAX_KEYS = 50                       # keys one request may present (a tab's games)
DASHBOARD_OFF = ("the researcher dashboard is off on this server: start it with INSTRUCTPLAY_RESEARCHER_PASSWORD "
                 "(or INSTRUCTPLAY_RESEARCHER_PASSWORD_HASH) set; docs/RESEARCHERS.md says how")
NOT_LOGGED_IN = "log in as a researcher at /research first"


class AccessDenied(Exception):
    """A request refused: 401 (no credentials) or 404 (not yours, or no such thing); the message says what to do."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.message = message
        self.status = status


def denied_response(e: AccessDenied):
    response = jsonify(error=e.message)
    response.status_code = e.status
    response.headers["Cache-Control"] = "no-store"
    return response


# ---------------------------------------------------------------- the researcher's login


class Researcher(UserMixin):
    """The one researcher account. Its id carries a fingerprint of the credential, so a changed password
    ends every session made with the old one."""

    def __init__(self, fingerprint: str):
        self.id = f"researcher:{fingerprint}"


def credential(config: dict[str, Any]) -> str | None:
    """The researcher's password hash: RESEARCHER_PASSWORD_HASH as given, else RESEARCHER_PASSWORD hashed now,
    else None (the dashboard is off)."""
    given = config.get("RESEARCHER_PASSWORD_HASH")
    if given:
        return str(given)
    password = config.get("RESEARCHER_PASSWORD")
    return generate_password_hash(str(password)) if password else None


def fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def dashboard_on() -> bool:
    return current_app.extensions["instructplay_access"].password_hash is not None


def is_researcher() -> bool:
    return bool(current_user and current_user.is_authenticated)


def require_researcher() -> None:
    if not dashboard_on():
        raise AccessDenied(DASHBOARD_OFF, 401)
    if not is_researcher():
        raise AccessDenied(NOT_LOGGED_IN, 401)


@dataclass
class LoginLimit:
    """Failed logins per address (the `limits` library's moving window; in memory, or in Redis shared by every
    process). `blocked` is how many seconds the address must wait, or None."""

    rule: Any
    window: Any

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "LoginLimit":
        from limits import parse, storage, strategies

        text = str(config.get("LOGIN_FAILURES") or "5 per 15 minutes")
        try:
            rule = parse(text)
        except ValueError:
            raise ValueError(f"INSTRUCTPLAY_LOGIN_FAILURES={text!r} is not a rate such as '5 per 15 minutes'; "
                             f"fix or unset it") from None
        uri = config.get("RATE_LIMIT_STORAGE") or _redis(config.get("MESSAGE_QUEUE")) or "memory://"
        return cls(rule, strategies.MovingWindowRateLimiter(storage.storage_from_string(str(uri))))

    def blocked(self, address: str) -> float | None:
        if self.window.test(self.rule, "login", address):
            return None
        reset = self.window.get_window_stats(self.rule, "login", address).reset_time
        return max(1.0, reset - time.time())

    def failed(self, address: str) -> None:
        self.window.hit(self.rule, "login", address)

    def succeeded(self, address: str) -> None:
        self.window.clear(self.rule, "login", address)


def _redis(url: Any) -> str | None:
    return str(url) if url and str(url).startswith(("redis://", "rediss://")) else None


def wait_message(seconds: float) -> str:
    """'try again in 4 minutes (at 10:42 UTC)'."""
    at = (datetime.now(timezone.utc) + timedelta(seconds=seconds)).strftime("%H:%M:%S UTC")
    minutes = math.ceil(seconds / 60)
    span = f"{math.ceil(seconds)} seconds" if seconds < 90 else f"{minutes} minutes"
    return f"too many failed logins from your address: try again in {span} (at {at})"


def client_address(req: Request) -> str:
    """The address a request came from: with TRUSTED_PROXIES = n proxies in front (HAProxy: 1), the address the
    n-th proxy from us reports in X-Forwarded-For; else the connection's."""
    proxies = int(current_app.config.get("TRUSTED_PROXIES") or 0)
    forwarded = [a.strip() for a in req.headers.get("X-Forwarded-For", "").split(",") if a.strip()]
    if proxies > 0 and len(forwarded) >= proxies:
        return forwarded[-proxies]
    return req.remote_addr or "unknown"


def over_https(req: Request) -> bool:
    """Whether the browser reached us over https: directly, or through TRUSTED_PROXIES that say so
    (X-Forwarded-Proto)."""
    if req.is_secure:
        return True
    if int(current_app.config.get("TRUSTED_PROXIES") or 0) > 0:
        return req.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower() == "https"
    return False


class HttpsAwareSessions(SecureCookieSessionInterface):
    """Flask's signed cookie session, its cookie Secure whenever the request came over https (or always, with
    SESSION_COOKIE_SECURE), so that it works on http://127.0.0.1 and is never sent in the clear from a site
    served over https."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or over_https(request)

    def get_signing_serializer(self, app: Flask):
        """Flask's serializer, built once per key (Flask builds one for every request, and Flask-SocketIO makes
        a request of every socket message: about a third of the CPU of its request context)."""
        key = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        cached = getattr(self, "_serializer", None)
        if cached is None or cached[0] != key:
            cached = self._serializer = (key, super().get_signing_serializer(app))
        return cached[1]


@dataclass
class AccessState:
    password_hash: str | None
    limit: LoginLimit


def init_app(app: Flask) -> None:
    """The login manager, the session cookie's settings, the failed-login limit, and the 401/404 answers; logs
    whether the dashboard is on."""
    state = AccessState(credential(app.config), LoginLimit.from_config(app.config))
    app.extensions["instructplay_access"] = state
    app.session_interface = HttpsAwareSessions()
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    app.config["SESSION_COOKIE_SAMESITE"] = app.config.get("SESSION_COOKIE_SAMESITE") or "Lax"
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=float(app.config.get("RESEARCHER_SESSION_HOURS") or 12))

    manager = LoginManager()
    manager.session_protection = "basic"

    @manager.user_loader
    def load(user_id: str) -> Researcher | None:
        current = app.extensions["instructplay_access"].password_hash
        if current is None:
            return None
        user = Researcher(fingerprint(current))
        return user if hmac.compare_digest(user_id, user.id) else None

    @manager.unauthorized_handler
    def unauthorized():
        return denied_response(AccessDenied(DASHBOARD_OFF if not dashboard_on() else NOT_LOGGED_IN, 401))

    manager.init_app(app)
    app.register_error_handler(AccessDenied, denied_response)
    if state.password_hash is None:
        log.warning("%s", DASHBOARD_OFF)
    else:
        log.info("the researcher dashboard is on at /research")
        if not os.environ.get("INSTRUCTPLAY_SECRET_KEY") and not app.config.get("TESTING"):
            log.warning("INSTRUCTPLAY_SECRET_KEY is not set: researchers' logins end when this process restarts "
                        "and do not carry to other processes; set it to a long random string in any deployment")


def check_password(password: str) -> bool:
    stored = current_app.extensions["instructplay_access"].password_hash
    return stored is not None and check_password_hash(stored, password)


def researcher() -> Researcher:
    return Researcher(fingerprint(current_app.extensions["instructplay_access"].password_hash))


def login_limit() -> LoginLimit:
    return current_app.extensions["instructplay_access"].limit


# ---------------------------------------------------------------- a participant's keys to their games


def presented_keys(req: Request) -> tuple[dict[str, str], str | None]:
    """The keys a request presents: {game id: token} from the header, and the `?token=` one (for the game in
    the route)."""
    keys: dict[str, str] = {}
    for entry in req.headers.get(TOKEN_HEADER, "").split(",")[:MAX_KEYS]:
        game_id, _, token = entry.strip().partition(":")
        if game_id and token:
            keys[game_id] = token
    return keys, req.args.get(TOKEN_PARAM) or None


def _load(game_id: str) -> GameRecord | None:
    return current_app.extensions["instructplay"].store.load_game(game_id)


def _place_by_token(study_id: str, digest: str) -> Any:
    return current_app.extensions["instructplay_studies"].store.place_by_token(study_id, digest)


def opens(record: GameRecord, token: str) -> bool:
    """Whether `token` proves its holder played this game: the game's own resume token, or the study token of
    the study participant whose game it is."""
    digest = token_hash(token)
    if record.resume_token_hash and hmac.compare_digest(record.resume_token_hash, digest):
        return True
    study = ((record.config or {}).get("study") or {}).get("id")
    if not study:
        return False
    place = _place_by_token(study, digest)
    return place is not None and place.participant_id == record.participant_id


def readable_game(game_id: str) -> GameRecord:
    """The game, if this request may read it (the researcher, or a key that opens it); AccessDenied otherwise."""
    if is_researcher():
        record = _load(game_id)
        if record is None:
            raise AccessDenied(f"there is no game {game_id[:40]}", 404)
        return record
    keys, param = presented_keys(request)
    tokens = [t for t in (keys.get(game_id), param) if t]
    if not tokens and not keys:
        raise AccessDenied("this game's data is private: open it from the page of the game you played (that browser "
                           "tab keeps its key), or log in as a researcher at /research", 401)
    record = _load(game_id) if tokens else None
    if record is None or not any(opens(record, t) for t in tokens):
        raise AccessDenied(f"there is no game {game_id[:40]} that your key opens", 404)
    return record


def finished_games(limit: int) -> list[dict[str, Any]]:
    """The latest finished games this request may list, newest first: every one for the researcher, those its
    keys open for anyone else; 401 with nothing presented. The rows of `Store.finished_games`."""
    if is_researcher():
        return current_app.extensions["instructplay"].store.finished_games(limit)
    keys, _ = presented_keys(request)
    if not keys:
        raise AccessDenied("the list of games is private: your own games are listed in the tab you played them in; "
                           "researchers log in at /research", 401)
    rows = []
    for game_id, token in keys.items():
        record = _load(game_id)
        if record is None or record.status != "over" or not opens(record, token):
            continue
        over = next((e["payload"] for e in record.events if e["type"] == "game_over"), {})
        rows.append({"game_id": record.id, "game": record.game, "partner": record.agent, "seed": record.seed,
                     "ended_at": record.ended_at, "score": over.get("score"), "turns": over.get("turns")})
    rows.sort(key=lambda r: (r["ended_at"] or "", r["game_id"]), reverse=True)
    return rows[:limit]


def main() -> int:
    """`python -m server.research.access`: ask for a password and print its hash for
    INSTRUCTPLAY_RESEARCHER_PASSWORD_HASH (the password itself is then kept nowhere)."""
    import getpass

    password = getpass.getpass("Researcher password: ")
    if len(password) < 12:
        print("choose at least 12 characters")
        return 1
    if getpass.getpass("Again: ") != password:
        print("the two differ; nothing printed")
        return 1
    print(generate_password_hash(password))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
