"""The admin web console at /console: server-rendered pages (Flask/Jinja, a little plain JS) for
statements, credentials, forwarding and what this LRS is. It calls the same services as the
HTTP API (`lrs.credentials`, the statement service and store, `lrs.forwarding.operations`) and
never the database behind their backs.
"""
from __future__ import annotations

import datetime as dt
import secrets

from flask import Blueprint, Flask, redirect, render_template, url_for

from lrs.console import about, credentials, forwarding, guard, signin, statements
from lrs.console.sessions import Sessions
from lrs.core import LRS
from lrs.errors import LRSError, NotFound


def register(app: Flask, lrs: LRS) -> None:
    console = Blueprint("console", __name__, url_prefix="/console", template_folder="templates",
                        static_folder="static")
    console.before_request(guard.guard)
    console.after_request(guard.secure_headers)
    console.register_error_handler(LRSError, _refused)
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


def _refused(error: LRSError) -> tuple[str, int, dict[str, str]]:
    """A service's refusal (bad input, unknown key, the last admin, too many failed sign-ins...)
    as a page saying why, with Retry-After when the service gave one, as the API's answers have."""
    retry = getattr(error, "retry_after_seconds", None)
    headers = {"Retry-After": str(retry)} if retry is not None else {}
    return render_template("console/refused.html", reason=error.message, status=error.status), error.status, headers


def _unknown(unknown: str) -> None:
    """A mistyped console address: the console's own 404 page (with its links), not the API's JSON."""
    raise NotFound(f"no console page at /console/{unknown}; the pages are the links at the top")
