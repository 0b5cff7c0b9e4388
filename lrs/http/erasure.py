"""DELETE /admin/agents?agent=<JSON>: erase a person (see lrs.erasure), admin credentials only."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from marshmallow import fields

from lrs import schemas
from lrs.erasure import erase_agent
from lrs.errors import BadRequest
from lrs.http.admin import admin_only
from lrs.http.auth import acting
from lrs.http.body import parse_json
from lrs.http.context import current_lrs
from lrs.http.params import StrictSchema, single

blueprint = Blueprint("erasure", __name__, url_prefix="/admin")
blueprint.before_request(admin_only)


class ErasureParams(StrictSchema):
    agent = fields.String(required=True, error_messages={
        "required": 'required, the person as xAPI Agent JSON, e.g. {{"mbox": "mailto:ann@example.com"}}'})


@blueprint.delete("/agents")
def erase() -> Response:
    raw = schemas.load(ErasureParams(), single(request.args), "query")["agent"]
    person = parse_json(raw, "agent")
    try:
        report = erase_agent(current_lrs(), person, by=acting())
    except ValueError as error:
        raise BadRequest(str(error)) from None
    return jsonify(report)
