"""What every response says about itself, whatever route, plugin or error handler made it.

- Not to be stored by any cache (`Cache-Control: no-store`) unless the route says otherwise (the
  console's static files do). Statements, documents and adapters' reads change under the same URL
  and hold personal data: a browser that kept one heuristically (they carry Last-Modified) would
  hand a client a stale page, or a stale ETag that makes its next write a 412; nothing stays on
  a shared machine's disk after the data is erased. (A document GET with If-None-Match or
  If-Modified-Since can be a 304, for clients that keep documents themselves; caches, keeping
  nothing, never send one.) Clients' cache busters (xAPI.js `cachebuster=`) are
  unknown parameters, refused as any other.
- No Content-Type on a 204: it has no content (Flask's default is text/html).
"""
from __future__ import annotations

from flask import Flask, Response


def register(app: Flask) -> None:
    app.after_request(_describe)


def _describe(response: Response) -> Response:
    if "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    if response.status_code == 204:
        response.headers.pop("Content-Type", None)
    return response
