"""HTTP for studies: the entry page `/s/<study-id>` (static/study.html) and the JSON API it calls.

Every POST takes a JSON object; the participant's `token` (kept by the browser) travels in the body, so a
page closing can still report with navigator.sendBeacon. Errors are `{"error": message, "errors": {...}}`
with a 4xx/5xx status. docs/PROTOCOL.md ("Studies") lists the routes and their answers.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request, send_from_directory

from server.db.store import StorageUnavailable
from server.studies.service import StudyError, StudyService

bp = Blueprint("studies", __name__)
MAX_BODY_BYTES = 64 * 1024


def studies() -> StudyService:
    return current_app.extensions["instructplay_studies"]


@bp.get("/s/<study_id>")
def entry_page(study_id: str):
    return send_from_directory(current_app.static_folder, "study.html")


@bp.get("/api/studies/<study_id>")
def info(study_id: str):
    return jsonify(studies().info(study_id))


@bp.post("/api/studies/<study_id>/enter")
def enter(study_id: str):
    return jsonify(studies().enter(study_id, _body()))


@bp.post("/api/studies/<study_id>/consent")
def consent(study_id: str):
    return jsonify(studies().consent(study_id, _body()))


@bp.post("/api/studies/<study_id>/place")
def place(study_id: str):
    return jsonify(studies().current(study_id, _body()))


@bp.post("/api/studies/<study_id>/next")
def next_page(study_id: str):
    return jsonify(studies().submit(study_id, _body()))


@bp.post("/api/studies/<study_id>/events")
def events(study_id: str):
    studies().log(study_id, _body())
    return "", 204


def _body() -> dict[str, Any]:
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise StudyError(f"the request is over {MAX_BODY_BYTES} bytes", 413)
    body = request.get_json(force=True, silent=True)  # sendBeacon posts text/plain
    if not isinstance(body, dict):
        raise StudyError("send a JSON object")
    return body


@bp.errorhandler(StudyError)
def study_error(e: StudyError):
    response = jsonify(error=e.message, errors=e.errors)
    response.status_code = e.status
    return response


@bp.errorhandler(StorageUnavailable)
def storage_unavailable(e: StorageUnavailable):
    response = jsonify(error=f"{e}; try again in a moment", errors={})
    response.status_code = 503
    return response
