"""Signing in with an admin credential (key and secret) and signing out.

The sign-in form carries its own CSRF token, matched against a short-lived cookie (double
submit), since there is no session yet to hold one.
"""
from __future__ import annotations

import hmac
import re
import secrets

from flask import Blueprint, Response, redirect, render_template, request, url_for

from lrs.auth import ADMIN_SCOPE
from lrs.console import guard
from lrs.http.context import current_lrs

blueprint = Blueprint("signin", __name__)
SIGN_IN_COOKIE = "lrs_console_sign_in"


@blueprint.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> Response | tuple[Response, int]:
    if request.method == "GET":  # after a session ran out, its browser comes here: say why, once
        return _form(notice=guard.sessions().ended(request.cookies.get(guard.COOKIE)))
    expected = request.cookies.get(SIGN_IN_COOKIE, "")
    if not expected or not hmac.compare_digest(expected.encode(), request.form.get("csrf", "").encode()):
        return _form("The sign-in form expired or did not come from this console. Try again.", 403, fresh=True)
    credential = current_lrs().credentials.verify(request.form.get("key", ""), request.form.get("secret", ""),
                                                  request.remote_addr)
    if credential is None:
        return _form("Unknown key or wrong secret, or the credential was revoked.", 401)
    if ADMIN_SCOPE not in credential.scopes:
        return _form("This credential has no admin scope: the console is for administrators.", 403)
    response = redirect(_next_page(), 303)
    if request.cookies.get(guard.COOKIE):  # signing in over a session (another credential's?) ends it
        guard.sessions().close(request.cookies[guard.COOKIE])
    guard.set_cookie(response, guard.COOKIE, guard.sessions().open(credential), None)
    response.delete_cookie(SIGN_IN_COOKIE, path=guard.cookie_path())
    return response


@blueprint.post("/sign-out")
def sign_out() -> Response:
    guard.sessions().close(guard.current().token)
    response = redirect(url_for("console.signin.sign_in"), 303)
    response.delete_cookie(guard.COOKIE, path=guard.cookie_path())
    return response


def _form(error: str = "", status: int = 200, fresh: bool = False, notice: str | None = None) -> tuple[Response, int]:
    token = _form_token(fresh)
    response = Response(render_template("console/sign_in.html", error=error, notice=notice, csrf=token,
                                        next=request.values.get("next", "")), status)
    guard.set_cookie(response, SIGN_IN_COOKIE, token, 600)
    return response, status


def _form_token(fresh: bool) -> str:
    """The browser's sign-in token if it has one, so that every console tab it shows the form in
    (a restored window of several) can sign in, not only the last one loaded; else, or `fresh`
    (the one sent was refused), a new one."""
    kept = request.cookies.get(SIGN_IN_COOKIE, "")
    if not fresh and re.fullmatch(r"[A-Za-z0-9_-]{43}", kept):
        return kept
    return secrets.token_urlsafe(32)


def _next_page() -> str:
    """Where the user was going, if it is a console page (never another site)."""
    wanted = request.form.get("next", "")
    if wanted.startswith("/console/") and not wanted.startswith("/console//"):
        return wanted
    return url_for("console.statements.index")
