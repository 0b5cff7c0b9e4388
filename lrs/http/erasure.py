"""DELETE /admin/agents?agent=<JSON>: erase a person (see lrs.erasure), admin credentials only."""
from __future__ import annotations

import json

from flask import Blueprint, Response, g, jsonify, request

from lrs.erasure import erase_agent
from lrs.errors import BadRequest
from lrs.http.admin import admin_only
from lrs.http.context import current_lrs

blueprint = Blueprint("erasure", __name__, url_prefix="/admin")
blueprint.before_request(admin_only)


@blueprint.delete("/agents")
def erase() -> Response:
    raw = request.args.get("agent")
    if raw is None:
        raise BadRequest('agent: required, the person as xAPI Agent JSON, e.g. {"mbox": "mailto:ann@example.com"}')
    try:
        person = json.loads(raw)
    except ValueError:
        raise BadRequest("agent: must be JSON (an xAPI Agent)") from None
    try:
        report = erase_agent(current_lrs(), person, by=f"credential {g.credential.key}")
    except ValueError as error:
        raise BadRequest(str(error)) from None
    return jsonify(report)
