"""POST of one event or an array of events, answered exactly in the shapes of seeds/000.

Success: `{success, statements_created, request_id}`. Every failure (400, 401, 403, 413, 500):
`{error, request_id, validation_errors: [{index, field, message}]}`. A batch is all or nothing:
one bad event and nothing is stored.
"""
from __future__ import annotations

import re
from typing import Iterable

from flask import Blueprint, Flask, Response, jsonify, request

from lrs.core import LRS
from lrs.errors import ItemErrors
from lrs.http.bearer import authenticate
from lrs.http.body import json_body
from lrs.http.errors import invalid_items, register_adapter_errors
from lrs.http.observe import current_request_id
from lrs.http.params import refuse_parameters
from lrs.statements import WriteRights
from lrs_plugins.simple_events.mapping import EventMapping

PLUGIN_NAME = "simple_events"
SCOPES = frozenset({PLUGIN_NAME})
XAPI_VERSION = "1.0.3"
REQUEST_ID_HEADER = "X-Request-Id"

# The statement property a core validation error names -> the event field it came from.
EVENT_FIELDS = {"actor": "userId", "verb": "event", "object": "properties", "context": "traits",
                "timestamp": "timestamp"}


def register(app: Flask, lrs: LRS, path: str, mapping: EventMapping) -> None:
    blueprint = Blueprint(PLUGIN_NAME, __name__)
    register_adapter_errors(blueprint, _failure, invalid_items("event"),
                            "internal error; the server log has the details under this request_id")

    def post_events() -> Response:
        credential = authenticate(lrs, request.authorization, SCOPES)
        refuse_parameters(())  # it takes none (seeds/000): a misspelt option is not silently dropped
        payload = json_body(check_type=False)
        events = payload if isinstance(payload, list) else [payload]
        lrs.statements.refuse_too_many(len(events), "events")
        problems = [(index, field, message) for index, event in enumerate(events)
                    for field, message in mapping.problems(event)]
        if problems:
            raise ItemErrors(problems)
        statements = [mapping.statement(event) for event in events]
        try:
            lrs.statements.store(statements, authority=credential.authority, version=XAPI_VERSION,
                                 source=PLUGIN_NAME, rights=WriteRights.adapter(credential, voids="none"))
        except ItemErrors as error:
            raise ItemErrors([(index, event_field(path), f"{rule} ({path})")
                              for index, path, rule in error.errors]) from error
        return _reply(200, {"success": True, "statements_created": len(statements), "request_id": _request_id()})

    blueprint.add_url_rule(path, "post_events", post_events, methods=["POST"])
    app.register_blueprint(blueprint)


def event_field(path: str) -> str:
    """`statement[2].actor.account.name` -> `userId`: the event field a core error is about."""
    rest = re.sub(r"^statement\[\d+\]\.?", "", path)
    return EVENT_FIELDS.get(re.split(r"[.\[]", rest, maxsplit=1)[0], rest)


def _request_id() -> str:
    """The core's request id (on every log line of the request), answered in the body too."""
    return current_request_id()


def _reply(status: int, body: dict) -> Response:
    """The body in the seeds' key order, with the request id also as a header (for logs)."""
    response = jsonify(body)
    response.status_code = status
    response.headers[REQUEST_ID_HEADER] = _request_id()
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="simple_events"'
    return response


def _failure(status: int, message: str, items: Iterable[tuple[int, str, str]] = ()) -> Response:
    errors = [{"index": index, "field": field, "message": text} for index, field, text in items]
    return _reply(status, {"error": message, "request_id": _request_id(), "validation_errors": errors})
