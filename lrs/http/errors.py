"""Every error leaves the LRS as the same JSON body: {"error": {"status", "message"}}; adapter
blueprints answer theirs in their own API's shape through `register_adapter_errors`."""
from __future__ import annotations

import logging
from typing import Callable, Iterable

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound, RequestEntityTooLarge

from lrs.errors import ItemErrors, LRSError, ServiceUnavailable, TooManyRequests
from lrs.http.request import LRSRequest
from lrs.logs import clipped
from lrs.xapi.errors import XAPIValidationError

log = logging.getLogger(__name__)

AUTH_CHALLENGE = 'Basic realm="LRS"'
# An error names the field and the rule, and quotes what the request sent there: an unknown
# parameter's name, a header's value, an id. Those may be as long as the request, so a message
# past this is cut in its middle, keeping its start (where) and its end (the rule).
MAX_MESSAGE_CHARS = 2048


def shortened(message: str) -> str:
    """`message`, its middle cut out if it is longer than MAX_MESSAGE_CHARS."""
    if len(message) <= MAX_MESSAGE_CHARS:
        return message
    kept = MAX_MESSAGE_CHARS // 2
    return f"{message[:kept]}...({len(message) - 2 * kept} characters left out)...{message[-kept:]}"


def error_body(status: int, message: str) -> dict:
    """The one shape of an error, also for answers the server gives before a request reaches Flask."""
    return {"error": {"status": status, "message": shortened(message)}}


def error_response(status: int, message: str) -> Response:
    response = jsonify(error_body(status, message))
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = AUTH_CHALLENGE
    return response


def register(app: Flask) -> None:
    app.before_request(route_wrong_method)

    @app.errorhandler(LRSError)
    def lrs_error(error: LRSError) -> Response:
        response = error_response(error.status, error.message)
        if isinstance(error, (ServiceUnavailable, TooManyRequests)):
            response.headers["Retry-After"] = str(error.retry_after_seconds)
        return response

    @app.errorhandler(XAPIValidationError)
    def invalid(error: XAPIValidationError) -> Response:
        return error_response(400, str(error))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        message = unrouted_message() if isinstance(error, NotFound) and request.url_rule is None else None
        return with_error_headers(error_response(error.code or 500, message or http_message(error)), error)


XAPI_RESOURCES = ("statements", "activities", "activities/state", "activities/profile", "agents", "agents/profile",
                  "about")


def unrouted_message() -> str:
    """A 404 for a path nothing answers, saying where things are: werkzeug's "check your spelling"
    left a newcomer who tried /statements (or /xapi/statement, or an adapter not enabled) guessing."""
    root = request.script_root + "/xapi"
    if request.path == "/xapi" or request.path.startswith("/xapi/"):
        return f"no xAPI resource at this path; the resources are {', '.join(f'{root}/{r}' for r in XAPI_RESOURCES)}"
    return (f"nothing at this path; the xAPI endpoint is {root} (e.g. {root}/statements), the admin API is "
            f"under {request.script_root}/admin, the admin console at {request.script_root}/console/ (for a "
            "browser), and a plugin's paths exist only while LRS_PLUGINS enables it")


def route_wrong_method() -> None:
    """Give a request whose method its path does not answer (a 405) the rule of that path.

    Flask leaves such a request unrouted, so the error handlers and after-request hooks of the
    path's blueprint would not apply: an adapter's 405 would not have its API's error shape, and
    one on /xapi/statements no X-Experience-API-Consistent-Through (xAPI wants it on every
    response of the Statement resource). The 405 is still raised before any view runs, and the
    blueprint's before-request checks (version, credentials) do not run for it."""
    error = request.routing_exception
    if not isinstance(error, MethodNotAllowed) or not error.valid_methods:
        return
    adapter = current_app.create_url_adapter(request)
    if adapter is not None:
        request.url_rule, request.view_args = adapter.match(method=error.valid_methods[0], return_rule=True)


def with_error_headers(response: Response, error: HTTPException) -> Response:
    """`response` with the headers werkzeug's error carries, such as a 405's Allow (RFC 9110 15.5.6)."""
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def http_message(error: HTTPException) -> str:
    """The message of one of werkzeug's errors (404, 405, 413...); a body over its size limit
    names the limit and its setting, a 405 the methods the path answers."""
    if isinstance(error, RequestEntityTooLarge) and isinstance(request, LRSRequest):
        return request.too_large(error)
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        return f"method not allowed here; this URL answers {', '.join(sorted(error.valid_methods))}"
    return error.description or error.name


Problem = tuple  # (index of the item or None, path, rule), as in lrs.errors.ItemErrors
Failure = Callable[[int, str, Iterable[Problem]], Response]


def invalid_items(noun: str = "item") -> Callable[[list[Problem]], str]:
    """The default summary of a refused batch: "2 invalid event(s); nothing was stored"."""
    def summary(problems: list[Problem]) -> str:
        count = len({index for index, _, _ in problems})
        return f"{count} invalid {noun}(s); nothing was stored"
    return summary


def register_adapter_errors(blueprint: Blueprint, failure: Failure,
                            summary: Callable[[list[Problem]], str] = invalid_items(),
                            internal: str = "internal error") -> None:
    """Answer every error raised on an adapter's blueprint with `failure(status, message,
    problems)`, the adapter's own error body; these handlers take precedence over the xAPI ones.

    ItemErrors: 400 with `summary(problems)` and every problem; any other LRSError: its status
    and message (and Retry-After for 429 and 503); werkzeug's HTTP errors (413, 405, ...): their
    code and description; anything else is logged with its traceback and answered 500 with
    `internal`, never the exception's text.
    """
    def lrs_error(error: LRSError) -> Response:
        if isinstance(error, ItemErrors):
            return failure(400, summary(error.errors), error.errors)
        response = failure(error.status, shortened(error.message), ())
        if isinstance(error, (ServiceUnavailable, TooManyRequests)):
            response.headers["Retry-After"] = str(error.retry_after_seconds)
        return response

    def http_error(error: HTTPException) -> Response:
        return with_error_headers(failure(error.code or 500, shortened(http_message(error)), ()), error)

    def unexpected(error: Exception) -> Response:
        log.exception("%s: %s %s failed", blueprint.name, clipped(request.method), clipped(request.path))
        return failure(500, internal, ())

    blueprint.register_error_handler(LRSError, lrs_error)
    blueprint.register_error_handler(HTTPException, http_error)
    blueprint.register_error_handler(Exception, unexpected)
