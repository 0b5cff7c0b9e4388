"""Flask's request object, made safe against two kinds of hostile input werkzeug lets through.

- A chunked body (no Content-Length) over the size limit: werkzeug's `get_data` returns its first
  `max_content_length` bytes as if that were the whole body, so a document was stored truncated
  and JSON cut at a lucky place was accepted. Here reaching the limit is a 413, as it is when a
  Content-Length announces too much.
- An Authorization header that is not ASCII: werkzeug raises ValueError while decoding it (a 500).
  Here it is no credential at all, so the resource answers 401 like for any unusable header.

It also knows which setting its size limit comes from, so that a 413 can name the limit and the
setting (werkzeug's own words name neither).
"""
from __future__ import annotations

from typing import Any

from flask import Request
from werkzeug.datastructures import Authorization
from werkzeug.exceptions import RequestEntityTooLarge


def body_limit_message(limit: int, setting: str) -> str:
    """What every 413 for a body over its limit says, wherever the body is read."""
    return f"request body: larger than {limit} bytes, the limit set by {setting}"


class LRSRequest(Request):
    limit_setting = "LRS_MAX_BODY_BYTES"  # the setting `max_content_length` comes from

    def limit_body(self, max_bytes: int, setting: str) -> None:
        """A limit other than LRS_MAX_BODY_BYTES for this request's body (set before reading it)."""
        self.max_content_length, self.limit_setting = max_bytes, setting

    def too_large(self, error: RequestEntityTooLarge) -> str:
        """What a 413 says: the limit and its setting when the body is (or, sent chunked, may be)
        over `max_content_length`; werkzeug's words otherwise (its form parser's own limits)."""
        limit = self.max_content_length
        if limit is None or (self.content_length is not None and self.content_length <= limit):
            if self.mimetype == "multipart/form-data":  # the form parser's own limits
                return (f"form: more than {self.max_form_parts} parts, or a field over {self.max_form_memory_size} "
                        "bytes: more than any form of this LRS sends")
            return error.description or error.name
        return body_limit_message(limit, self.limit_setting)

    def get_data(self, cache: bool = True, as_text: bool = False, parse_form_data: bool = False) -> Any:
        data = super().get_data(cache=cache, as_text=False, parse_form_data=parse_form_data)
        if self.content_length is None and self.max_content_length is not None \
                and len(data) >= self.max_content_length:
            self.stream.read(1)  # at its limit werkzeug's stream raises RequestEntityTooLarge (413)
        return data.decode(errors="replace") if as_text else data

    @property
    def authorization(self) -> Authorization | None:  # type: ignore[override]
        try:
            return super().authorization
        except ValueError:  # base64 of non-ASCII text
            return None
