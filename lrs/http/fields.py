"""HTTP field values (RFC 9110 5.5) that come from places no HTTP parser guards.

The alternate request syntax's form fields, multipart part headers and stored document
Content-Types all end up in headers: of the request the LRS rebuilds, or of later responses. A CR
or LF there splits a header for a lenient client, and werkzeug refuses it in a response (a 500 on
every later read of the document); NUL and the other controls would reach clients raw. So such a
value is checked where it comes in, and refused with a 400 naming where it came from.
"""
from __future__ import annotations

import re

from lrs.errors import BadRequest

# field-value = *( VCHAR / SP / HTAB / obs-text ): no controls but HTAB, nothing beyond Latin-1.
_FIELD_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")
RULE = "an HTTP field value holds no CR, LF, NUL or other control character except tab (RFC 9110 5.5)"


def field_value(value: str, where: str) -> str:
    """`value` if it may go into a header; else a 400 naming `where` it came from and the first
    character refused, never the value: it may be credentials (the alternate syntax's
    Authorization field), which an error must not repeat."""
    if _FIELD_VALUE.fullmatch(value) is None:
        position, refused = next((n, c) for n, c in enumerate(value, 1) if _FIELD_VALUE.fullmatch(c) is None)
        raise BadRequest(f"{where}: character {position} is U+{ord(refused):04X}, which is not allowed: {RULE}")
    return value


def echoable(value: str | None, default: str) -> str:
    """`value` for a response header, or `default` if it is empty or was stored before the
    checks above existed and cannot be sent."""
    return value if value and _FIELD_VALUE.fullmatch(value) else default
