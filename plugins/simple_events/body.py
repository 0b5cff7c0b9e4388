"""Reading an adapter's JSON request body strictly (shared by the simple_events and h5p plugins).

NaN and Infinity are not JSON; letting them through would put numbers into statements that no
client can read back, so they are refused like any other malformed body.
"""
from __future__ import annotations

import json
from typing import Any

from flask import request

from lrs.errors import BadRequest


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def json_body() -> Any:
    """The request body as JSON; 400 with the parser's reason when it is not UTF-8 JSON.

    The Content-Type is not checked: browsers' `navigator.sendBeacon` posts JSON as text/plain.
    """
    try:
        return json.loads(request.get_data(cache=False).decode("utf-8"), parse_constant=_no_constants)
    except UnicodeDecodeError:
        raise BadRequest("the request body must be UTF-8 encoded JSON") from None
    except ValueError as error:
        raise BadRequest(f"the request body is not valid JSON ({error})") from None
