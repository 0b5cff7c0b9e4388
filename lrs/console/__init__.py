"""The admin web console at /console: server-rendered pages (Flask/Jinja, a little plain JS) for
statements, credentials, forwarding and what this LRS is. It calls the same services as the
HTTP API (`lrs.credentials`, the statement service and store, `lrs.forwarding.operations`) and
never the database behind their backs.
"""
from __future__ import annotations

import datetime as dt
import secrets

from flask import Blueprint, Flask, Response, make_response, redirect, render_template, url_for
from werkzeug.exceptions import HTTPException

from lrs.console import about, credentials, forwarding, guard, signin, statements
from lrs.console.sessions import Sessions
from lrs.core import LRS
from lrs.errors import LRSError, NotFound
from lrs.http.errors import http_message, with_error_headers


def register(app: Flask, lrs: LRS) -> None:
    console = Blueprint("console", __name__, url_prefix="/console", template_folder="templates",
                        static_folder="static")
    console.before_request(guard.guard)
    console.after_request(guard.secure_headers)
    console.register_error_handler(LRSError, _refused)
    console.register_error_handler(HTTPException, _http_refused)
    console.context_processor(lambda: {"back_url": guard.back_url})
    console.add_app_template_global(lambda: secrets.token_urlsafe(16), "console_form_id")  # see guard.once
    for page in (signin, statements, credentials, forwarding, about):
        console.register_blueprint(page.blueprint)
    console.add_url_rule("/", "home", lambda: redirect(url_for("console.statements.index"), 303))
    console.add_url_rule("/<path:unknown>", "unknown", _unknown, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    sessions = Sessions(lrs.db, lrs.credentials, dt.timedelta(minutes=lrs.settings["console_idle_minutes"]))
    sessions.ensure_indexes()
    app.extensions["console_sessions"] = sessions
    app.register_blueprint(console)


def _refused(error: LRSError) -> Response:
    """A service's refusal (bad input, unknown key, the last admin, too many failed sign-ins...)
    as a page saying why, with Retry-After when the service gave one, as the API's answers have."""
    response = _page(error.message, error.status)
    retry = getattr(error, "retry_after_seconds", None)
    if retry is not None:
        response.headers["Retry-After"] = str(retry)
    return response


def _http_refused(error: HTTPException) -> Response:
    """werkzeug's own errors (a method the page does not answer, a form over the parser's limits)
    as the same page, with their headers (a 405's Allow), not the API's JSON."""
    return with_error_headers(_page(http_message(error), error.code or 500), error)


def _page(reason: str, status: int) -> Response:
    return make_response(render_template("console/refused.html", reason=reason, status=status), status)


def _unknown(unknown: str) -> None:
    """A mistyped console address: the console's own 404 page (with its links), not the API's JSON."""
    raise NotFound(f"no console page at /console/{unknown}; the pages are the links at the top")
