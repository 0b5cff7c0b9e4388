"""The admin JSON API for forwarding: status, dead letters, replay, retry now and backfill.

Everything under /admin needs HTTP Basic authentication with a credential of scope `admin`
(which xAPI's `all` does not include). Parameters and bodies are validated with marshmallow
before they reach MongoDB; a bad one is a 400 naming its path and rule.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request
from marshmallow import fields, validate

from lrs import schemas
from lrs.auth import ADMIN
from lrs.errors import BadRequest
from lrs.forwarding import operations
from lrs.forwarding.status import forwarding_status
from lrs.http.auth import acting, authenticate, require
from lrs.http.body import json_body
from lrs.http.context import current_lrs
from lrs.http.params import Integer, StrictSchema, no_parameters, single

blueprint = Blueprint("admin", __name__, url_prefix="/admin")
MAX_PAGE = 1000
# The Content-Types a page can send cross-site without a CORS preflight (Fetch's safelist).
FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"}


class DeadLetterPage(StrictSchema):
    after = Integer(load_default=-1, validate=validate.Range(min=-1))
    limit = Integer(load_default=100, validate=validate.Range(min=1, max=MAX_PAGE))


class Replay(StrictSchema):
    ids = fields.List(fields.String(), load_default=None, allow_none=False)  # absent: all; null is no list


class Retry(StrictSchema):
    """No fields: the body, if any, is {}."""


class Backfill(StrictSchema):
    since = fields.String(required=True)


def admin_only() -> None:
    """Every /admin request (also other modules' blueprints under /admin): a valid credential with
    scope `admin` (a CORS preflight carries none), and no body in a form's Content-Type: any web
    page can make a browser POST a form (or a no-cors fetch) here without asking, and the browser
    adds the Basic credentials it remembers for the LRS. JSON from a page needs CORS's consent."""
    if request.mimetype in FORM_TYPES:
        raise BadRequest(f"Content-Type {request.mimetype!r}: the admin API takes application/json (or no body); "
                         "a form's Content-Type is what any web page can make a browser send")
    authenticate()
    if request.method != "OPTIONS":
        require(ADMIN)


def object_body() -> dict[str, Any]:
    """The JSON object in the body; an empty body is {}."""
    return json_body() if request.get_data(cache=True) else {}


blueprint.before_request(admin_only)


@blueprint.get("/forwarding")
def status() -> Response:
    no_parameters()
    return jsonify({"targets": forwarding_status(current_lrs())})


@blueprint.get("/forwarding/<target>/dead-letters")
def dead_letters(target: str) -> Response:
    page = schemas.load(DeadLetterPage(), single(request.args), "query")
    letters = operations.dead_letters(current_lrs(), target, page["after"], page["limit"])
    more = letters[-1]["seq"] if len(letters) == page["limit"] else None
    return jsonify({"dead_letters": letters, "more_after": more})


@blueprint.post("/forwarding/<target>/dead-letters/replay")
def replay(target: str) -> Response:
    """Body {} for every dead letter of the target, or {"ids": [statement ids]}."""
    no_parameters()
    ids = schemas.load(Replay(), object_body())["ids"]
    return jsonify({"marked": operations.replay(current_lrs(), target, ids, by=acting())})


@blueprint.post("/forwarding/<target>/retry")
def retry(target: str) -> tuple[Response, int]:
    """No body, or {}: 202 when an attempt was waiting and is due now, 200 when nothing was waiting."""
    no_parameters()
    schemas.load(Retry(), object_body())
    result = operations.retry(current_lrs(), target, by=acting())
    return jsonify(result), 202 if result["waiting"] else 200


@blueprint.post("/forwarding/<target>/backfill")
def backfill(target: str) -> Response:
    """Body {"since": "<RFC 3339 time>" | "now"}."""
    no_parameters()
    since = schemas.load(Backfill(), object_body())["since"]
    try:
        checkpoint = operations.backfill(current_lrs(), target, since, by=acting())
    except ValueError as error:
        raise BadRequest(str(error)) from None  # it names the field already
    return jsonify({"target": target, "checkpoint": checkpoint})
