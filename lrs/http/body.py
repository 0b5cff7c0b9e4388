"""Reading JSON request bodies strictly: UTF-8, no NaN or Infinity, a clear 400 otherwise."""
from __future__ import annotations

import json
from typing import Any

from flask import request

from lrs.errors import BadRequest

JSON_TYPES = ("application/json",)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(data: bytes | str, what: str = "request body") -> Any:
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        return json.loads(text, parse_constant=_no_constants)
    except UnicodeDecodeError:
        raise BadRequest(f"{what}: must be UTF-8 encoded") from None
    except ValueError as error:
        raise BadRequest(f"{what}: malformed JSON ({error})") from None


def json_body(check_type: bool = True) -> Any:
    """The body of a JSON request; the Content-Type must be JSON when it is given, unless
    `check_type` is False (adapters whose browser clients post JSON as text/plain with
    `navigator.sendBeacon`)."""
    if check_type and request.mimetype and request.mimetype not in JSON_TYPES:
        raise BadRequest(f"Content-Type {request.mimetype!r} is not supported here; use application/json")
    return parse_json(request.get_data(cache=False))
