"""Formats of single values (IRI, UUID, language tag, duration, ...) and JSON type checks.

Every pattern is compiled once at import: these run several times per statement on the hot path.
Each check raises XAPIValidationError(path, rule) and returns nothing, so callers read as a list
of rules.
"""
from __future__ import annotations

import datetime as dt
import functools
import math
import re
from typing import Any, Callable, Iterable

import isodate
import langcodes

from lrs.xapi import iri
from lrs.xapi.errors import XAPIValidationError

# Only values this short are remembered by the cached checks (`remembered`): the values that repeat
# across statements are short, and a cache of thousands of entries holding any string a body may
# carry kept megabytes of every refused request.
CACHED_CHARS = 2048
# langcodes parses a tag's variants recursively, one call per subtag: "en-" and a thousand 8-letter
# subtags exhausted Python's stack (a 500). A valid tag has few: RFC 5646 lets no variant repeat and
# IANA registers about a hundred, so a tag with more subtags before its first singleton (where
# extensions and private use begin) is refused unparsed.
MAX_CORE_SUBTAGS = 200
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_MAILTO = re.compile(r"mailto:[^@\s:/?#]+@[^@\s/?#]+")
_SHA1_HEX = re.compile(r"[0-9a-fA-F]{40}")
_HEX = re.compile(r"[0-9a-fA-F]+")
_SHA2_HEX_LENGTHS = frozenset({56, 64, 96, 128})  # SHA-224, -256, -384, -512
# Parameters as an HTTP field value may carry them (RFC 9110 5.5): no CR, LF or other control
# character but tab, since the content type goes back out in a multipart part's headers.
_MEDIA_TYPE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+/[!#$%&'*+.^_`|~0-9A-Za-z-]+([ \t]*;[\t\x20-\x7e\x80-\xff]*)?")
# ISO 8601:2004 4.4.3.2 only: PnYnMnDTnHnMnS (each part optional, at least one; a decimal fraction
# only on the last part) or PnW alone. isodate also accepts signs, "PT", weeks mixed with days and
# the 4.4.3.3 alternative format, all of which xAPI forbids, so the grammar is stated here instead.
# ASCII digits only: \d alone also matches other scripts' digits (P١Y), which are not ISO 8601.
_PART = r"\d+(?:[.,]\d+(?={0}\Z))?{0}"
_DURATION = re.compile(
    r"P(?:(?=\d|T\d)(?:{Y})?(?:{M})?(?:{D})?(?:T(?=\d)(?:{H})?(?:{M})?(?:{S})?)?|{W})\Z".format(
        **{unit: _PART.format(unit) for unit in "YMWDHS"}), re.ASCII)
# The longest duration accepted: what a datetime.timedelta holds (isodate reads durations into one),
# 999,999,999 days, about 2.7 million years. Longer ones are valid ISO 8601, but their seconds
# could not be indexed or added up in analytics.
LONGEST_DURATION_SECONDS = dt.timedelta.max.total_seconds()
LONGEST_DURATION_RULE = "must be at most 999,999,999 days long (about 2.7 million years; a year counts 365 days)"


def fail(path: str, rule: str) -> None:
    raise XAPIValidationError(path, rule)


def require_dict(value: Any, path: str) -> dict:
    if type(value) is not dict:
        fail(path, "must be an object")
    return value


def require_list(value: Any, path: str) -> list:
    if type(value) is not list:
        fail(path, "must be an array")
    return value


def require_str(value: Any, path: str) -> str:
    if type(value) is not str:
        fail(path, "must be a string")
    return value


def require_bool(value: Any, path: str) -> None:
    if type(value) is not bool:
        fail(path, "must be true or false")


def require_number(value: Any, path: str) -> float:
    """A JSON number: not a boolean (Python's bool is an int), not NaN or infinity."""
    if type(value) not in (int, float) or not math.isfinite(value):
        fail(path, "must be a number")
    return value


def only_keys(obj: dict, allowed: frozenset, path: str) -> None:
    """xAPI rejects properties it does not define, including wrongly cased ones."""
    for key in obj:
        if key not in allowed:
            fail(f"{path}.{key}", "is not an allowed property here")


def require_keys(obj: dict, required: Iterable[str], path: str) -> None:
    for key in required:
        if key not in obj:
            fail(f"{path}.{key}", "is required")


def remembered(maxsize: int) -> Callable[[Callable[[str], bool]], Callable[[str], bool]]:
    """A check whose answers for values of at most CACHED_CHARS characters are cached."""
    def decorate(check: Callable[[str], bool]) -> Callable[[str], bool]:
        cached = functools.lru_cache(maxsize=maxsize)(check)

        @functools.wraps(check)
        def remembering(value: str) -> bool:
            return cached(value) if len(value) <= CACHED_CHARS else check(value)
        return remembering
    return decorate


@remembered(maxsize=8192)
def is_iri(value: str) -> bool:
    """An absolute IRI (RFC 3987): a scheme is required, so relative references fail.

    Cached: checking costs microseconds per value, and verb ids, activity ids,
    extension keys and home pages repeat across statements.
    """
    return iri.is_iri(value)


def validate_iri(value: Any, path: str) -> None:
    if type(value) is not str or not is_iri(value):
        fail(path, "must be an IRI")


def validate_irl(value: Any, path: str) -> None:
    """An IRL is an IRI meant to be resolvable; resolvability is not checked."""
    if type(value) is not str or not is_iri(value):
        fail(path, "must be an IRL")


def validate_uri(value: Any, path: str) -> None:
    """A URI (RFC 3986) is an IRI of ASCII characters only (RFC 3987 2.2)."""
    if type(value) is not str or not value.isascii() or not iri.is_iri(value):
        fail(path, "must be a URI")


def validate_uuid(value: Any, path: str) -> None:
    """A UUID in standard string form (8-4-4-4-12 hex digits, either case)."""
    if type(value) is not str or _UUID.fullmatch(value) is None:
        fail(path, "must be a UUID in standard string form")


def validate_mailto(value: Any, path: str) -> None:
    if type(value) is not str or _MAILTO.fullmatch(value) is None:
        fail(path, 'must be a mailto IRI: "mailto:" and an email address')


def validate_sha1_hex(value: Any, path: str) -> None:
    if type(value) is not str or _SHA1_HEX.fullmatch(value) is None:
        fail(path, "must be a hex-encoded SHA-1 hash (40 hex digits)")


def validate_sha2_hex(value: Any, path: str) -> None:
    if type(value) is not str or len(value) not in _SHA2_HEX_LENGTHS or _HEX.fullmatch(value) is None:
        fail(path, "must be a hex-encoded SHA-2 hash")


def validate_media_type(value: Any, path: str) -> None:
    if type(value) is not str or _MEDIA_TYPE.fullmatch(value) is None:
        fail(path, "must be an Internet Media Type like text/plain")


def validate_duration(value: Any, path: str) -> None:
    """ISO 8601 duration in the format of ISO 8601:2004(E) 4.4.3.2 (Data 4.6), at most
    LONGEST_DURATION_SECONDS long."""
    if type(value) is not str or _DURATION.match(value) is None:
        fail(path, "must be an ISO 8601 duration like PT1H30M or P4W")
    if duration_seconds(value) > LONGEST_DURATION_SECONDS:
        fail(path, LONGEST_DURATION_RULE)


@functools.lru_cache(maxsize=4096)
def duration_seconds(duration: str) -> float:
    """Seconds in a duration of the xAPI grammar, years and months counted as 365 and 30 days;
    math.inf past what a timedelta holds. Remembered: validation and the indexed fields both ask."""
    try:
        parsed = isodate.parse_duration(duration)
    except OverflowError:  # isodate builds a timedelta of the weeks, days and time parts
        return math.inf
    if isinstance(parsed, isodate.Duration):
        days = float(parsed.years) * 365 + float(parsed.months) * 30
        return parsed.tdelta.total_seconds() + days * 86400
    return parsed.total_seconds()


@remembered(maxsize=4096)
def is_language_tag(tag: str) -> bool:
    """RFC 5646 tag with registered subtags. Cached: a handful of tags repeat across statements."""
    return "_" not in tag and _core_subtags(tag) <= MAX_CORE_SUBTAGS and langcodes.tag_is_valid(tag)


def _core_subtags(tag: str) -> int:
    """How many subtags come before the first singleton (none: they all do)."""
    subtags = tag.split("-")
    return next((index for index, subtag in enumerate(subtags) if len(subtag) == 1), len(subtags))


def validate_language_tag(value: Any, path: str) -> None:
    if type(value) is not str or not is_language_tag(value):
        fail(path, "must be an RFC 5646 language tag")


def validate_language_map(value: Any, path: str) -> None:
    """An object from RFC 5646 language tags to strings."""
    for tag, text in require_dict(value, path).items():
        if not is_language_tag(tag):
            fail(f"{path}.{tag}", "is not an RFC 5646 language tag")
        if type(text) is not str:
            fail(f"{path}.{tag}", "must be a string")


def validate_extensions(value: Any, path: str) -> None:
    """Keys must be IRIs; values are anything, null included (Data 4.1)."""
    for key in require_dict(value, path):
        if not is_iri(key):
            fail(f"{path}.{key}", "extension keys must be IRIs")
