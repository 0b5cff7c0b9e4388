"""The value formats Caliper uses: IRIs, date-times, `urn:uuid:` ids, and the ids we derive.

Derived ids are name-based UUIDs (version 5), so that the same input always yields the same id:
a re-sent event maps to the same statement id, a session IRI to the same registration.
"""
from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import rfc3987

URN_UUID = "urn:uuid:"
AUTO_ATTACH = "urn:tag:auto-attach"  # seeds/003: "use the learner's active session"
CANONICAL_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
# Namespaces of the derived ids; fixed forever, since stored ids depend on them.
EVENT_ID_NAMESPACE = uuid.UUID("9b4d1c3e-6f0a-5b7e-8c21-4a5d0e6f7a81")
SESSION_NAMESPACE = uuid.UUID("3e7f2a90-1c4b-5d6e-9f08-b1a2c3d4e5f6")


def is_iri(value: Any) -> bool:
    return isinstance(value, str) and rfc3987.match(value, rule="IRI") is not None


def parse_datetime(value: Any) -> dt.datetime | None:
    """An RFC 3339 date-time with a time zone (Caliper's ISO 8601 profile), or None."""
    if not isinstance(value, str) or not DATE_TIME.match(value):
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(dt.timezone.utc)
    except ValueError:
        return None


def format_datetime(value: dt.datetime) -> str:
    """UTC with milliseconds and `Z`, the form Caliper recommends."""
    utc = value.astimezone(dt.timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def is_event_id(value: Any) -> bool:
    """`urn:uuid:` and a non-empty opaque rest, the pattern seeds/002 states (`^urn:uuid:(.*)$`).

    Caliper asks for an RFC 4122 UUID after the prefix; other text is accepted (clients of the
    seeds' services send it) and gets a derived statement id, see `statement_id`.
    """
    return isinstance(value, str) and value.startswith(URN_UUID) and len(value) > len(URN_UUID) \
        and is_iri(value)


def statement_id(event_id: str) -> str:
    """The UUID of the event id itself when it is one, else a name-based UUID of the whole id."""
    rest = event_id[len(URN_UUID):]
    if CANONICAL_UUID.match(rest):
        return rest.lower()
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, event_id))


def session_uuid(session_iri: str) -> str:
    """The LRS session id and xAPI registration of a Caliper session IRI."""
    return str(uuid.uuid5(SESSION_NAMESPACE, session_iri))


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
