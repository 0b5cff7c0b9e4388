"""The value formats Caliper uses: IRIs, date-times, `urn:uuid:` ids, and the ids we derive.

Derived ids are name-based UUIDs (version 5), so that the same input always yields the same id:
a re-sent event maps to the same statement id, a session IRI to the same registration.
"""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Callable

from lrs.xapi import values as xapi_values
from lrs.xapi.errors import XAPIValidationError
from lrs.xapi.timestamps import format_timestamp, parse_timestamp

URN_UUID = "urn:uuid:"
AUTO_ATTACH = "urn:tag:auto-attach"  # seeds/003: "use the learner's active session"
RFC_3339 = "2.0.0"  # the xAPI version whose timestamp rule is Caliper's: RFC 3339 with a zone
# Namespaces of the derived ids; fixed forever, since stored ids depend on them.
EVENT_ID_NAMESPACE = uuid.UUID("9b4d1c3e-6f0a-5b7e-8c21-4a5d0e6f7a81")
SESSION_NAMESPACE = uuid.UUID("3e7f2a90-1c4b-5d6e-9f08-b1a2c3d4e5f6")
format_datetime = format_timestamp  # UTC with milliseconds and `Z`, the form Caliper recommends


def _passes(check: Callable[[Any, str], None], value: Any) -> bool:
    """Whether one of the core's raising format checks accepts the value."""
    try:
        check(value, "")
    except XAPIValidationError:
        return False
    return True


def is_iri(value: Any) -> bool:
    return isinstance(value, str) and xapi_values.is_iri(value)


def is_uuid(value: Any) -> bool:
    return _passes(xapi_values.validate_uuid, value)


def is_duration(value: Any) -> bool:
    """An ISO 8601 duration (the core's xAPI grammar: PnYnMnDTnHnMnS or PnW)."""
    return _passes(xapi_values.validate_duration, value)


def parse_datetime(value: Any) -> dt.datetime | None:
    """An RFC 3339 date-time with a time zone (Caliper's ISO 8601 profile) in UTC, or None."""
    try:
        return parse_timestamp(value, RFC_3339)
    except (XAPIValidationError, OverflowError):  # OverflowError: year 9999 past UTC
        return None


def is_event_id(value: Any) -> bool:
    """`urn:uuid:` and a non-empty opaque rest, the pattern seeds/002 states (`^urn:uuid:(.*)$`).

    Caliper asks for an RFC 4122 UUID after the prefix; other text is accepted (clients of the
    seeds' services send it) and gets a derived statement id, see `statement_id`.
    """
    return isinstance(value, str) and value[:len(URN_UUID)].lower() == URN_UUID and len(value) > len(URN_UUID) \
        and is_iri(value)


def canonical_event_id(event_id: str) -> str:
    """The one spelling of the event ids that name the same event. RFC 8141 makes a URN's `urn`
    and namespace id case-insensitive, and RFC 9562 (4122) a UUID's hex digits: `URN:UUID:C515…`
    is `urn:uuid:c515…`. Other text after the prefix is opaque, so its case is kept."""
    rest = event_id[len(URN_UUID):]
    return URN_UUID + (rest.lower() if is_uuid(rest) else rest)


def statement_id(event_id: str) -> str:
    """The UUID of the event id itself when it is one, else a name-based UUID of the whole id
    (in its canonical spelling: what releases that took only `urn:uuid:` derived)."""
    canonical = canonical_event_id(event_id)
    rest = canonical[len(URN_UUID):]
    return rest if is_uuid(rest) else str(uuid.uuid5(EVENT_ID_NAMESPACE, canonical))


def derived_id(text: str) -> str:
    """A `urn:uuid:` id for something that has none, the same for the same text."""
    return URN_UUID + str(uuid.uuid5(EVENT_ID_NAMESPACE, text))


def session_uuid(session_iri: str) -> str:
    """The LRS session id and xAPI registration of a Caliper session IRI."""
    return str(uuid.uuid5(SESSION_NAMESPACE, session_iri))


def without_nulls(value: Any) -> Any:
    """The value as JSON-LD reads it: an object's property whose value is null is no property
    (JSON-LD 1.1, expansion algorithm: a null value is dropped). IMS's caliper-python sends every
    unset property so unless it optimizes serialization."""
    if isinstance(value, dict):
        return {key: without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [without_nulls(item) for item in value]
    return value


def entity_id(value: Any) -> str | None:
    """The IRI of an entity given as an IRI string or as an object with an `id`."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return value["id"]
    return None


def session_iri(event: dict) -> str | None:
    """The IRI of the event's session, unless it asks to be auto-attached."""
    iri = entity_id(event.get("session"))
    return None if iri == AUTO_ATTACH else iri


def entity_type(value: Any) -> str | None:
    if isinstance(value, dict) and isinstance(value.get("type"), str):
        return value["type"]
    return None
