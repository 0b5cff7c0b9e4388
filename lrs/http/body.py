"""Reading JSON request bodies strictly (see `lrs.client_json`): a clear 400 otherwise."""
from __future__ import annotations

from typing import Any

from flask import request

from lrs import client_json
from lrs.errors import BadRequest

JSON_TYPES = ("application/json",)


def parse_json(data: bytes | str, what: str = "request body") -> Any:
    try:
        return client_json.loads(data)
    except UnicodeDecodeError:
        raise BadRequest(f"{what}: must be UTF-8 encoded") from None
    except client_json.UnstorableJSON as error:
        raise BadRequest(f"{what}: {error}") from None
    except ValueError as error:
        raise BadRequest(f"{what}: malformed JSON ({error})") from None


def json_body(check_type: bool = True) -> Any:
    """The body of a JSON request; the Content-Type must be JSON when it is given, unless
    `check_type` is False (adapters whose browser clients post JSON as text/plain with
    `navigator.sendBeacon`)."""
    if check_type and request.mimetype and request.mimetype not in JSON_TYPES:
        raise BadRequest(f"Content-Type {request.mimetype!r} is not supported here; use application/json")
    return parse_json(request.get_data(cache=False))
