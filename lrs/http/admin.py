"""The admin JSON endpoint for forwarding: status, dead letters, replay and backfill.

Everything under /admin needs HTTP Basic authentication with a credential of scope `all`.
Parameters are checked to be plain values of the right type before they reach MongoDB.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from lrs.core import current_lrs
from lrs.errors import BadRequest
from lrs.forwarding import operations
from lrs.forwarding.status import forwarding_status
from lrs.http.auth import authenticate, require
from lrs.http.body import json_body

blueprint = Blueprint("admin", __name__, url_prefix="/admin")
MAX_PAGE = 1000


@blueprint.before_request
def admin_only() -> None:
    authenticate()
    if request.method != "OPTIONS":  # a CORS preflight carries no credentials
        require({"all"})


@blueprint.get("/forwarding")
def status() -> Response:
    return jsonify({"targets": forwarding_status(current_lrs())})


@blueprint.get("/forwarding/<target>/dead-letters")
def dead_letters(target: str) -> Response:
    after = _int_param("after", -1, -1, None)
    limit = _int_param("limit", 100, 1, MAX_PAGE)
    letters = operations.dead_letters(current_lrs(), target, after, limit)
    more = letters[-1]["seq"] if len(letters) == limit else None
    return jsonify({"dead_letters": letters, "more_after": more})


@blueprint.post("/forwarding/<target>/dead-letters/replay")
def replay(target: str) -> Response:
    """Body {} for every dead letter of the target, or {"ids": [statement ids]}."""
    body = _object_body()
    ids = body.get("ids")
    if ids is not None and not (isinstance(ids, list) and all(isinstance(i, str) for i in ids)):
        raise BadRequest("ids: must be a list of statement id strings")
    return jsonify({"marked": operations.replay(current_lrs(), target, ids)})


@blueprint.post("/forwarding/<target>/backfill")
def backfill(target: str) -> Response:
    """Body {"since": "<RFC 3339 time>" | "now"}."""
    since = _object_body().get("since")
    if not isinstance(since, str):
        raise BadRequest('since: required, an RFC 3339 time or "now"')
    try:
        checkpoint = operations.backfill(current_lrs(), target, since)
    except ValueError as error:
        raise BadRequest(str(error)) from None
    return jsonify({"target": target, "checkpoint": checkpoint})


def _object_body() -> dict[str, Any]:
    if not request.get_data(cache=True):
        return {}
    body = json_body()
    if not isinstance(body, dict):
        raise BadRequest("request body: must be a JSON object")
    return body


def _int_param(name: str, default: int, low: int, high: int | None) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name}: must be an integer") from None
    if value < low or (high is not None and value > high):
        raise BadRequest(f"{name}: must be between {low} and {high if high is not None else 'any'}")
    return value
