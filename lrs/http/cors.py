"""CORS for browser clients (flask-cors): preflight answers and the xAPI headers exposed to scripts.

xAPI clients in a browser (TinCanJS, xAPI.js) send `Authorization` themselves; they never need
the browser to add credentials it has cached. So with the default `LRS_CORS_ORIGINS=*` every
origin is answered `Access-Control-Allow-Origin: *` without `Access-Control-Allow-Credentials`:
a page on any site can call the LRS with a key and secret it holds, but cannot borrow Basic
credentials the user's browser remembers. An operator who lists origins trusts those pages:
they are echoed, with credentials allowed, and every other origin gets no CORS headers.

The operator's own surfaces (`/admin`, `/console`, `/metrics`) answer no page of another origin,
a listed one included: their clients are the CLI, monitoring and the console's own pages. With
listed origins, a listed page (an LMS with a flaw, any page of its site) could otherwise use the
admin API with the Basic credentials an admin's browser remembers, or read console pages (their
CSRF tokens) with its session cookie, which SameSite=Strict still sends within the same site.

Every answer says `Vary: Origin`: whether it carries CORS headers, and with listed origins which
origin they name, depends on the request's Origin, so a cache must not hand one page's answer
(or a request's without an Origin) to another page. (flask-cors says so only when the Origin
matched one of two or more listed origins.)
"""
from __future__ import annotations

import re

from flask import Flask, Response, request
from flask_cors import CORS

ALLOWED_HEADERS = ["Authorization", "Content-Type", "Content-Length", "X-Experience-API-Version",
                   "If-Match", "If-None-Match", "Accept-Language", "X-Requested-With"]
# What a page's script may read of an answer: the xAPI headers, and what tells it when to come
# back and why it was refused (Retry-After on 429 and 503, an OAuth Bearer challenge's error) and
# which request to name when reporting a problem (X-Request-Id, which adapters' clients log).
EXPOSED_HEADERS = ["ETag", "Last-Modified", "Content-Type", "Content-Length", "X-Experience-API-Version",
                   "X-Experience-API-Consistent-Through", "Retry-After", "WWW-Authenticate", "X-Request-Id"]
METHODS = ["GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS"]
# Every path but the operator's surfaces (flask-cors matches it at the path's start).
CROSS_ORIGIN_PATHS = re.compile(r"/(?!(?:admin|console|metrics)(?:/|$))")


def register(app: Flask, origins: tuple[str, ...]) -> None:
    """`origins`: `("*",)` for any page without credentials, or the exact origins trusted."""
    any_origin = "*" in origins

    @app.before_request
    def preflight() -> Response | None:
        """A preflight carries no credentials or version header: answer it before those checks."""
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            return Response(status=204)
        return None

    CORS(app, resources=[CROSS_ORIGIN_PATHS], origins="*" if any_origin else list(origins),
         send_wildcard=any_origin, supports_credentials=not any_origin, always_send=False, allow_headers=ALLOWED_HEADERS,
         expose_headers=EXPOSED_HEADERS, methods=METHODS, max_age=86400, vary_header=False)

    @app.after_request
    def vary(response: Response) -> Response:
        response.vary.add("Origin")
        return response


def answer_headers(origin: str | None, origins: tuple[str, ...], path: str) -> list[tuple[str, str]]:
    """The CORS headers of an answer (not a preflight's) to a request from `origin` for `path`, as
    flask-cors gives the application's: for answers made outside Flask, the server's own refusals."""
    headers = [("Vary", "Origin")]
    if not origin or not CROSS_ORIGIN_PATHS.match(path):
        return headers
    if "*" in origins:
        allowed = [("Access-Control-Allow-Origin", "*")]
    elif origin.lower() in {listed.lower() for listed in origins}:
        allowed = [("Access-Control-Allow-Origin", origin), ("Access-Control-Allow-Credentials", "true")]
    else:
        return headers
    return allowed + [("Access-Control-Expose-Headers", ", ".join(sorted(EXPOSED_HEADERS)))] + headers
