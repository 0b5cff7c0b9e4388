"""Timestamps: ISO 8601 for 1.0.x, RFC 3339 for 2.0.x, always stored and returned in UTC.

A leap second (23:59:60 UTC, RFC 3339 5.6 and 5.7; ISO 8601 allows it too) is kept as the last
instant Python's datetime can hold before the next second, 23:59:59.999999: it orders after every
earlier instant and before midnight. Both versions refuse the "unknown local offset" forms -00, -0000 and -00:00 (the conformance suite
sends them as invalid). 1.0.x accepts ISO 8601 extended and basic forms, with or without seconds
and zone (no zone means UTC); 2.0.x requires RFC 3339: seconds and a zone (Z or +hh:mm).
"""
from __future__ import annotations

import datetime as dt
import functools
import re

from lrs.xapi.errors import XAPIValidationError
from lrs.xapi.versions import is_v2

_ISO_EXTENDED = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"([Zz]|[+-]\d{2}(?::?\d{2})?)?", re.ASCII)
_ISO_BASIC = re.compile(
    r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(?:(\d{2})(?:[.,](\d+))?)?([Z]|[+-]\d{2}(?:\d{2})?)?", re.ASCII)
_RFC_3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})", re.ASCII)
_UNKNOWN_OFFSETS = frozenset({"-00", "-0000", "-00:00"})


def parse_timestamp(value: str, version: str) -> dt.datetime:
    """An aware UTC datetime (microsecond precision) or XAPIValidationError with path "timestamp"."""
    if not isinstance(value, str):
        raise XAPIValidationError("timestamp", "must be a string")
    return _parsed(value, is_v2(version))


@functools.lru_cache(maxsize=4096)
def _parsed(value: str, v2: bool) -> dt.datetime:
    """Remembered: a statement's timestamp is read by validation, preparation and its indexed
    fields (a refusal is not remembered)."""
    match = _RFC_3339.fullmatch(value) if v2 else (_ISO_EXTENDED.fullmatch(value) or _ISO_BASIC.fullmatch(value))
    if match is None:
        expected = "an RFC 3339" if v2 else "an ISO 8601"
        raise XAPIValidationError("timestamp", f"{value!r} is not {expected} date and time")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    if zone in _UNKNOWN_OFFSETS:
        raise XAPIValidationError("timestamp", f"{value!r} has an unknown (negative zero) offset")
    leap = second == "60"
    try:
        moment = dt.datetime(int(year), int(month), int(day), int(hour), int(minute), 59 if leap else int(second or 0),
                             999999 if leap else int((fraction or "0")[:6].ljust(6, "0")), tzinfo=_zone(zone))
    except ValueError as error:
        raise XAPIValidationError("timestamp", f"{value!r} is not a valid date and time ({error})") from None
    try:
        utc = moment.astimezone(dt.timezone.utc)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-01:00: in UTC it is past year 9999
        raise XAPIValidationError("timestamp", f"{value!r} is out of range in UTC (years 1 to 9999)") from None
    if leap and (utc.hour, utc.minute) != (23, 59):
        raise XAPIValidationError("timestamp", f"{value!r}: second 60 is a leap second, which only the last "
                                  "minute of a UTC day has (RFC 3339 5.7)")
    return utc


def _zone(zone: str | None) -> dt.timezone:
    if zone is None or zone in "Zz":
        return dt.timezone.utc
    digits = zone[1:].replace(":", "")
    if int(digits[:2]) > 23:  # dt.timezone's own refusal would quote Python's repr
        raise ValueError("offset hours must be below 24")
    if int(digits[2:] or 0) > 59:
        raise ValueError("offset minutes must be below 60")
    offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
    return dt.timezone(-offset if zone[0] == "-" else offset)


def utc_now() -> dt.datetime:
    """Now, at the millisecond precision MongoDB keeps, so stored values compare as returned."""
    now = dt.datetime.now(dt.timezone.utc)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


@functools.lru_cache(maxsize=4096)
def format_timestamp(moment: dt.datetime) -> str:
    """UTC with millisecond precision, e.g. "2026-11-23T08:20:04.123Z" (the precision MongoDB keeps),
    always with four year digits (strftime's %Y drops the leading zeros of years below 1000 on glibc).
    Remembered: the statements of a batch share their `stored` time."""
    utc = moment.astimezone(dt.timezone.utc) if moment.tzinfo else moment
    return utc.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"
