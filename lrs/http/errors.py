"""Every error leaves the LRS as the same JSON body: {"error": {"status", "message"}}."""
from __future__ import annotations

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from lrs.errors import LRSError, ServiceUnavailable, TooManyRequests
from lrs.xapi.errors import XAPIValidationError

AUTH_CHALLENGE = 'Basic realm="LRS"'


def error_response(status: int, message: str) -> Response:
    response = jsonify({"error": {"status": status, "message": message}})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = AUTH_CHALLENGE
    return response


def register(app: Flask) -> None:
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
        return error_response(error.code or 500, error.description or error.name)

