"""Reading JSON request bodies strictly (see `lrs.client_json`): a clear 400 otherwise."""
from __future__ import annotations

import codecs
from typing import Any

from flask import request
from werkzeug.http import parse_options_header

from lrs import client_json
from lrs.errors import BadRequest, UnsupportedMediaType

JSON_TYPES = ("application/json",)


def parse_json(data: bytes | str, what: str = "request body", unique_keys: bool = False,
               unique_rule: str = client_json.STATEMENT_PROPERTIES) -> Any:
    """`unique_keys`: an object naming a key twice is a 400 citing `unique_rule` (see
    `client_json.loads`)."""
    try:
        return client_json.loads(data, unique_keys=unique_keys, unique_rule=unique_rule)
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


def refuse_content_coding(what: str) -> None:
    """A 415 for a body with a content coding (gzip, ...; RFC 9110 8.4.1 and 15.5.16): the LRS decodes
    none, and read as they are, coded bytes fail as JSON with a message about something else, or
    a document is stored coded and comes back under its Content-Type alone, with nothing saying
    how to decode it."""
    coding = request.headers.get("Content-Encoding", "identity")
    if coding.strip(" \t").lower() != "identity":
        raise UnsupportedMediaType(f"Content-Encoding: {coding[:80]!r} is not decoded here: send {what} "
                                   "without a content coding (no Content-Encoding, or identity)")


def require_utf8(content_type: str | None, where: str) -> None:
    """A 400 for JSON whose Content-Type names a charset other than UTF-8. JSON between systems is
    UTF-8 (RFC 8259 8.1) and xAPI reads every string as UTF-8 (Communication 1.4): read that way,
    a body the client encoded as it says, ISO-8859-1 or UTF-16, would be stored misread whenever its
    bytes happen to be valid UTF-8 too, so the client is told instead. No charset, or utf-8 in any
    spelling Python knows (UTF-8, utf8), is JSON's own."""
    charset = parse_options_header(content_type or "")[1].get("charset")
    if charset is None or _codec(charset) == "utf-8":
        return
    raise BadRequest(f"{where}: Content-Type names charset {charset[:40]!r}, and JSON is UTF-8 (RFC 8259 8.1; "
                     "xAPI Communication 1.4: strings are encoded and interpreted as UTF-8): send UTF-8, "
                     "with charset=utf-8 or no charset")


def _codec(charset: str) -> str | None:
    try:
        return codecs.lookup(charset).name
    except LookupError:
        return None
