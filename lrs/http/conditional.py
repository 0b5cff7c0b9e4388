"""The request preconditions of RFC 9110 13.1 as the document resources read them.

- `etags` reads If-Match / If-None-Match (13.1.1, 13.1.2). On writes and deletes the store checks
  them, and If-Unmodified-Since, inside its compare-and-set (`lrs.store.documents.Preconditions`).
- `unmodified_since` and `modified_since` read the date conditions (13.1.4, 13.1.3): each is
  ignored when its ETag counterpart is given, when it is not one valid HTTP-date, and (If-Modified-
  Since) on any method but GET and HEAD. A representation without a modification date (a missing
  document, an empty id list) ignores both, as 13.1.3 and 13.1.4 say.
- `answer_read` evaluates all four on a GET or HEAD in the order of 13.2.2: If-Match, then
  If-Unmodified-Since (412 when false, in the resource's error format), then If-None-Match, then
  If-Modified-Since (304 when false).

Dates compare at the one second an HTTP-date holds: a document written at 10:00:00.600 was sent
with Last-Modified 10:00:00, and a client sending that date back has seen that version. Two writes
within one second are told apart by the ETag only (If-Match).
"""
from __future__ import annotations

import datetime as dt
import re

from flask import Response, request

from lrs.errors import BadRequest, PreconditionFailed
from lrs.store.documents import ANY, modified_after, require_unmodified

# RFC 9110 8.8.3: entity-tag = [ W/ ] DQUOTE *etagc DQUOTE, etagc = %x21 / %x23-7E / obs-text; as a
# list (5.6.1) with optional whitespace and empty elements, each stretch of whitespace matched one
# way only (no backtracking blow-up). etagc has no DQUOTE, so findall reads the tags of a value
# the list pattern accepted in order.
_ENTITY_TAG = re.compile(r'(W/)?"([\x21\x23-\x7e\x80-\xff]*)"')
_ETAG_LIST = re.compile(r'[ \t]*(?:{0}[ \t]*)?(?:,[ \t]*(?:{0}[ \t]*)?)*'.format(_ENTITY_TAG.pattern))

# RFC 9110 5.6.7: IMF-fixdate, and the obsolete rfc850-date and asctime-date a recipient must accept.
_DAY, _WEEKDAY = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)", "(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH = f"(?P<month>{'|'.join(_MONTHS)})"
_TIME = r"(?P<hour>\d\d):(?P<minute>\d\d):(?P<second>\d\d)"
_HTTP_DATES = (
    re.compile(rf"{_DAY}, (?P<day>\d\d) {_MONTH} (?P<year>\d{{4}}) {_TIME} GMT"),
    re.compile(rf"{_WEEKDAY}, (?P<day>\d\d)-{_MONTH}-(?P<year>\d\d) {_TIME} GMT"),
    re.compile(rf"{_DAY} {_MONTH} (?P<day>[ \d]\d) {_TIME} (?P<year>\d{{4}})"),
)


def etags(header: str, weak: bool = False) -> frozenset[str] | None:
    """The ETags of the header (None when absent), ANY for a bare *. Weak ones are left out unless
    `weak` (the weak comparison of If-None-Match, 13.1.2; W/"x" then reads as "x"): strong
    comparison (If-Match, 13.1.1) never matches them (8.8.3.2), and this LRS's ETags are all strong.

    The grammar is RFC 9110's (13.1.1, 13.1.2): * alone, or a comma-separated list of quoted
    entity-tags. Anything else is a 400 naming the header: an unquoted ETag compared as it is
    could never match, so a client that strips the quotes would get 412 on every retry; and a
    header naming nothing, read as absent, would let a PUT past the 409 that guards an existing
    document from blind overwrites. A quoted "*" is an ETag no document has (ours are SHA-1 hex)."""
    value = request.headers.get(header)
    if value is None:
        return None
    if value.strip(" \t") == ANY:
        return frozenset({ANY})
    if _ETAG_LIST.fullmatch(value) is None or _ENTITY_TAG.search(value) is None:
        raise BadRequest(f'{header}: {value[:80]!r} is not * or a list of quoted ETags like "3a7bd3e2..." '
                         "(RFC 9110 13.1.1)")
    return frozenset(tag for is_weak, tag in _ENTITY_TAG.findall(value) if weak or not is_weak) - {ANY}


def http_date(value: str | None) -> dt.datetime | None:
    """The time an HTTP-date names (UTC); None for anything else, which a date condition ignores."""
    for form in _HTTP_DATES:
        found = form.fullmatch((value or "").strip(" \t"))
        if found:
            return _to_datetime(found)
    return None


def _to_datetime(found: re.Match) -> dt.datetime | None:
    year = int(found["year"])
    if len(found["year"]) == 2:  # rfc850-date: more than 50 years ahead is the century before (5.6.7)
        now = dt.datetime.now(dt.timezone.utc).year
        year += now - now % 100
        year -= 100 if year > now + 50 else 0
    try:
        return dt.datetime(year, _MONTHS.index(found["month"]) + 1, int(found["day"]), int(found["hour"]),
                           int(found["minute"]), int(found["second"]), tzinfo=dt.timezone.utc)
    except ValueError:  # 31 Feb, 25:00:00, a leap second
        return None


def unmodified_since() -> dt.datetime | None:
    """The If-Unmodified-Since date to hold the target to; None when the header is to be ignored."""
    if "If-Match" in request.headers:
        return None
    return http_date(request.headers.get("If-Unmodified-Since"))


def modified_since() -> dt.datetime | None:
    """The If-Modified-Since date of a GET or HEAD; None when the header is to be ignored."""
    if request.method not in ("GET", "HEAD") or "If-None-Match" in request.headers:
        return None
    return http_date(request.headers.get("If-Modified-Since"))


def answer_read(response: Response, modified: dt.datetime | None, what: str) -> Response:
    """`response` to a GET or HEAD (with its ETag set), or the answer its preconditions call for:
    412 (If-Match, If-Unmodified-Since), or 304 Not Modified (If-None-Match, If-Modified-Since)
    with the ETag alone. `modified`: the representation's modification date (None: none)."""
    etag = response.get_etag()[0]
    match = etags("If-Match")
    if match is not None and ANY not in match and etag not in match:
        raise PreconditionFailed(f'If-Match: {what}\'s ETag is now "{etag}"')
    require_unmodified(modified, unmodified_since(), what)
    none_match = etags("If-None-Match", weak=True)
    if none_match is not None:
        unchanged = ANY in none_match or etag in none_match
    else:
        since = modified_since()
        unchanged = since is not None and modified is not None and not modified_after(modified, since)
    if not unchanged:
        return response
    not_modified = Response(status=304)
    not_modified.set_etag(etag)
    return not_modified
