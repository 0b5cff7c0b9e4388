"""CORS for browser clients: preflight answers and the xAPI headers exposed to scripts."""
from __future__ import annotations

from flask import Flask, Response, request

ALLOWED_HEADERS = ("Authorization, Content-Type, Content-Length, X-Experience-API-Version, "
                   "If-Match, If-None-Match, Accept-Language, X-Requested-With")
EXPOSED_HEADERS = ("ETag, Last-Modified, Content-Type, Content-Length, X-Experience-API-Version, "
                   "X-Experience-API-Consistent-Through")
METHODS = "GET, HEAD, PUT, POST, DELETE, OPTIONS"


def register(app: Flask, origins: tuple[str, ...]) -> None:
    @app.before_request
    def preflight() -> Response | None:
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            return Response(status=204)
        return None

    @app.after_request
    def allow(response: Response) -> Response:
        origin = request.headers.get("Origin")
        if origin and ("*" in origins or origin in origins):
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Credentials"] = "true"
            response.headers["Access-Control-Allow-Methods"] = METHODS
            response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
            response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
            response.headers["Access-Control-Max-Age"] = "86400"
            response.vary.add("Origin")
        return response
