"""Errors the core raises, each carrying the HTTP status the xAPI specification assigns it.

They know nothing of Flask; `lrs.http.errors` turns them into the JSON error body.
"""
from __future__ import annotations


class LRSError(Exception):
    status = 500

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class BadRequest(LRSError):
    status = 400


class Unauthorized(LRSError):
    status = 401


class Forbidden(LRSError):
    status = 403


class NotFound(LRSError):
    status = 404


class Conflict(LRSError):
    status = 409


class PreconditionFailed(LRSError):
    status = 412


class PayloadTooLarge(LRSError):
    status = 413


class UnsupportedMediaType(LRSError):
    status = 415


class TooManyRequests(LRSError):
    """Refused for now (repeated failed authentications): the answer says when, in Retry-After."""

    status = 429

    def __init__(self, message: str, retry_after_seconds: int):
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class ServiceUnavailable(LRSError):
    """Try again shortly: the answer says when, in Retry-After."""

    status = 503
    retry_after_seconds = 1


class ItemErrors(BadRequest):
    """Several items of a batch are invalid: (index, path, rule) for each, for adapters' reports."""

    def __init__(self, errors: list[tuple[int, str, str]]):
        first = errors[0]
        super().__init__(f"{first[1]}: {first[2]}")
        self.errors = errors


class VoidingRefused(ItemErrors):
    """Voiding statements the writer may not void: xAPI (Data 2.3.2) says such a request SHOULD be
    refused whole with 403, as it comes from a source not authorized to void those statements."""

    status = 403
