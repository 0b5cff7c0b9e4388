"""What every console request goes through: a live admin session, a CSRF token on every change,
and headers that keep the pages in their own origin (strict CSP, no framing, no caching).

A page asked for without a session redirects to sign-in; an action without one is a 401; an
action without the session's CSRF token is a 403 and changes nothing. SameSite=Strict cookies
already keep cross-site requests from carrying the session; the token is the second lock.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Response, current_app, g, redirect, render_template, request, url_for

from lrs.console.sessions import ConsoleSession, Sessions
from lrs.errors import Conflict

COOKIE = "lrs_console"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
OPEN_ENDPOINTS = frozenset({"console.signin.sign_in", "console.static"})
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


def acting() -> str:
    """Who acts through this console request, as the audit log lines name them."""
    return f"credential {current().credential.key} in the console"


def sessions() -> Sessions:
    return current_app.extensions["console_sessions"]


def current() -> ConsoleSession:
    """The signed-in session of this request (the guard has checked it)."""
    return g.console_session


def guard() -> Response | tuple[str, int] | None:
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    token = request.cookies.get(COOKIE)
    found = sessions().find(token)
    if found is None:
        if request.method in SAFE_METHODS:  # the sign-in page says why a session that ran out did
            return redirect(url_for("console.signin.sign_in", next=request.full_path), 303)
        ended = sessions().ended(token)
        return render_template("console/refused.html", reason=f"{ended + ' ' if ended else ''}Sign in first: this "
                               "action needs an admin session, and nothing was changed."), 401
    if request.method not in SAFE_METHODS and not found.csrf_matches(sent_csrf()):
        return render_template("console/refused.html", reason="The form's CSRF token is missing or wrong: "
                               "nothing was changed. Reload the page and try again."), 403
    g.console_session = found
    g.console_notice = sessions().take_notice(found) if request.method == "GET" else None
    return None


def once() -> None:
    """Refuse a form that makes a secret when it is sent a second time: a reload or Back after
    'Credential created' sends it again, which made one more credential, or replaced the secret
    just shown (and perhaps already pasted into a client) by another. A form's id is made when it
    is shown (the `once` macro); a request without one is not checked."""
    form = request.form.get("once")
    if form and not sessions().spend(current(), form):
        raise Conflict("This form was sent already (a reload or Back sends it again), so nothing was done "
                       "again: the credential and the secret shown then are as they were. For another one, "
                       "open the page again.")


def notify(notice: str) -> None:
    """Say `notice` on the next page this session asks for (the one an action redirects to)."""
    sessions().leave_notice(current().token, notice)


def sent_csrf() -> str | None:
    return request.form.get("csrf") or request.headers.get("X-CSRF-Token")


def secure_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"  # for back_url; nothing leaves the LRS
    if request.endpoint != "console.static":
        response.headers["Cache-Control"] = "no-store"
    return response


def back_url() -> str:
    """Where a refusal's Back link leads: the console page the refused request came from (the
    form, with the filters or the credential it was for), else the statements."""
    came_from = urlsplit(request.referrer or "")
    page = came_from.path + (f"?{came_from.query}" if came_from.query else "")
    # Only the path is kept, so the link stays on this LRS whatever Host a proxy passed on.
    if page.startswith(cookie_path() + "/") and not page.startswith(cookie_path() + "//"):
        return page
    return url_for("console.statements.index")


def cookie_path() -> str:
    """The console's path, under the application's mount point if it has one."""
    return request.script_root + "/console"


def set_cookie(response: Response, name: str, value: str, max_age: int | None) -> None:
    """HttpOnly, SameSite=Strict, limited to the console's path, and Secure when it is on https."""
    response.set_cookie(name, value, max_age=max_age, path=cookie_path(), httponly=True, samesite="Strict",
                        secure=request.is_secure)
