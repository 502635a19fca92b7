"""HTTP for researchers: the dashboard page `/research` (static/research.html), its login and its JSON.

| route | who | answer |
|---|---|---|
| `GET /research` | anyone | the page (no data: it asks the routes below) |
| `GET /research/api/session` | anyone | `{"enabled", "logged_in", "message"}` |
| `POST /research/login` | anyone | `{"password"}` -> 200 `{"logged_in": true}`; 401 wrong; 429 too many failures; 404 off |
| `POST /research/logout` | anyone | 204; the session cookie is cleared |
| `GET /research/api/overview` | researcher | studies' participants by state, conditions against targets, live and finished games |
| `GET /research/api/scores?study=ID` | researcher | the scores' tables (server/research/report.py) |
| `GET /research/plots/<name>.png?study=ID` | researcher | one of the scores' plots |
| `GET /research/report.html?study=ID` | researcher | `instructplay score`'s report, as a download |
| `GET /research/export.zip?study=ID&pseudonymise=1` | researcher | `instructplay export --format csv`, zipped |

Everything but the page, the session and the login answers 401 `{"error"}` to anyone not logged in
(server/research/access.py); docs/RESEARCHERS.md is the researcher's guide.
"""

from __future__ import annotations

import logging
import math

from flask import Blueprint, Response, current_app, jsonify, request, send_from_directory, session
from flask_login import login_user, logout_user

from server.db.store import StorageUnavailable
from server.research import access, dashboard
from server.research.report import PLOTS

log = logging.getLogger(__name__)
bp = Blueprint("research", __name__)


def _board() -> dashboard.ScoreBoard:
    return current_app.extensions.setdefault("instructplay_scoreboard", dashboard.ScoreBoard())


def _store():
    return current_app.extensions["instructplay"].store


def _study() -> str | None:
    """The `?study=` asked for (None: every game); 404 for a study that does not exist."""
    study = request.args.get("study") or None
    if study is not None and study not in current_app.extensions["instructplay_studies"].store.study_ids():
        raise access.AccessDenied(f"there is no study {study[:40]}", 404)
    return study


@bp.after_request
def private(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/research")
def page():
    return send_from_directory(current_app.static_folder, "research.html")


@bp.get("/research/api/session")
def who():
    on = access.dashboard_on()
    return jsonify(enabled=on, logged_in=access.is_researcher(),
                   message=None if on else f"The {access.DASHBOARD_OFF.removeprefix('the ')}.")


@bp.post("/research/login")
def login():
    if not access.dashboard_on():
        raise access.AccessDenied(access.DASHBOARD_OFF, 404)
    address = access.client_address(request)
    limit = access.login_limit()
    wait = limit.blocked(address)
    if wait is not None:
        response = jsonify(error=access.wait_message(wait), retry_after=math.ceil(wait))
        response.status_code = 429
        response.headers["Retry-After"] = str(math.ceil(wait))
        return response
    body = request.get_json(silent=True) if request.is_json else request.form
    password = (body or {}).get("password")
    if not isinstance(password, str) or not password or not access.check_password(password):
        limit.failed(address)
        log.warning("a failed researcher login from %s", address)
        response = jsonify(error="that is not the researcher password")
        response.status_code = 401
        return response
    limit.succeeded(address)
    session.clear()
    login_user(access.researcher())
    session.permanent = True  # lasts RESEARCHER_SESSION_HOURS, then the cookie's signature is refused
    log.info("a researcher logged in from %s", address)
    return jsonify(logged_in=True)


@bp.post("/research/logout")
def logout():
    logout_user()
    session.clear()
    return "", 204


@bp.get("/research/api/overview")
def overview():
    access.require_researcher()
    return jsonify(dashboard.overview(_store().engine, current_app.extensions["instructplay_studies"]))


@bp.get("/research/api/scores")
def scores():
    access.require_researcher()
    study = _study()
    return jsonify(dashboard.scores_json(_board().current(_store(), study), study))


@bp.get("/research/plots/<name>")
def plot(name: str):
    access.require_researcher()
    study = _study()
    if name not in PLOTS:
        raise access.AccessDenied(f"there is no plot {name[:40]}; the plots are {', '.join(PLOTS)}", 404)
    return Response(_board().current(_store(), study).images[name], mimetype="image/png")


@bp.get("/research/report.html")
def report():
    access.require_researcher()
    study = _study()
    name = f"report-{study or 'all'}-{dashboard.stamp()}.html"
    return Response(dashboard.report_page(_store(), study), mimetype="text/html",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/research/export.zip")
def export():
    access.require_researcher()
    study = _study()
    pseudonymise = request.args.get("pseudonymise") in ("1", "true", "on", "yes")
    data, counts = dashboard.export_zip(_store(), study, pseudonymise)
    log.info("a researcher exported %s (%s)%s", study or "every game",
             ", ".join(f"{n} {name}" for name, n in counts.items()), " with pseudonyms" if pseudonymise else "")
    name = f"instructplay-{study or 'all'}{'-pseudonymised' if pseudonymise else ''}-{dashboard.stamp()}.zip"
    return Response(data, mimetype="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.errorhandler(StorageUnavailable)
def storage_unavailable(e: StorageUnavailable):
    response = jsonify(error=f"{e}; try again in a moment")
    response.status_code = 503
    return response


def init_app(app) -> None:
    """The researcher's login and every route's access rules (server/research/access.py), and this blueprint."""
    access.init_app(app)
    app.register_blueprint(bp)
