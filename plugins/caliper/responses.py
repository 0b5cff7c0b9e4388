"""The JSON shapes both Caliper APIs answer in (seeds/002 and seeds/003).

Success bodies are the endpoints' own; every failure is `{status: "error", message, errors}` where
`errors` lists `{index, path, message}` for each problem (index: the item of the request, null for
the envelope itself; path: JSONPath into the request body).
"""
from __future__ import annotations

import logging
from typing import Any, Iterable

from flask import Blueprint, Response, jsonify
from werkzeug.exceptions import HTTPException

from lrs.errors import ItemErrors, LRSError

log = logging.getLogger(__name__)


def reply(status: int, body: dict) -> Response:
    response = jsonify(body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="caliper", error="invalid_token"'
    return response


def failure(status: int, message: str, problems: Iterable[tuple[Any, str, str]] = ()) -> Response:
    errors = [{"index": index, "path": path, "message": rule} for index, path, rule in problems]
    return reply(status, {"status": "error", "message": message, "errors": errors})


def register_errors(blueprint: Blueprint) -> None:
    blueprint.register_error_handler(LRSError, _lrs_error)
    blueprint.register_error_handler(HTTPException, _http_error)
    blueprint.register_error_handler(Exception, _unexpected)


def _lrs_error(error: LRSError) -> Response:
    if isinstance(error, ItemErrors):
        items = {index for index, _, _ in error.errors if index is not None}
        what = f"{len(items)} invalid item(s)" if items else "invalid envelope"
        return failure(400, f"{what}; nothing was stored ({_first(error.errors)})", error.errors)
    return failure(error.status, error.message)


def _first(problems: list) -> str:
    """The first problem, for clients that show only `message` (timeback-caliper does)."""
    _, path, rule = problems[0]
    more = f"; {len(problems) - 1} more in `errors`" if len(problems) > 1 else ""
    return f"{path}: {rule}{more}"


def _http_error(error: HTTPException) -> Response:
    return failure(error.code or 500, error.description or error.name)


def _unexpected(error: Exception) -> Response:
    log.exception("caliper request failed")
    return failure(500, "internal error; nothing was stored")


