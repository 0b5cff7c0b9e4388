"""One simple event -> one xAPI statement, and the per-field problems that prevent it.

The mapping is documented as a table in docs/simple_events.md; keep the two in step. Every IRI
the mapping mints lives under one configurable base, so an operator can see at a glance which
activities and extensions came from this adapter.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Mapping
from urllib.parse import quote

from lrs import client_json

ADL = "http://adlnet.gov/expapi/verbs/"
ADL_VOCABULARY = "https://w3id.org/xapi/adl/verbs/"

# event name -> (verb IRI, display). The first four are ADL's xAPI verbs, the log-in pair is from
# the ADL vocabulary in the xAPI registry.
VERBS: dict[str, tuple[str, str]] = {
    "answered": (ADL + "answered", "answered"),
    "launched": (ADL + "launched", "launched"),
    "completed": (ADL + "completed", "completed"),
    "experienced": (ADL + "experienced", "experienced"),
    "loggedin": (ADL_VOCABULARY + "logged-in", "logged in"),
    "loggedout": (ADL_VOCABULARY + "logged-out", "logged out"),
}
PLATFORM_EVENTS = frozenset({"loggedin", "loggedout"})

# property -> (path segment of the minted activity IRI, activity type or None), in the order
# they are looked for: the first one present is the statement's object.
OBJECT_PROPERTIES: dict[str, tuple[str, str | None]] = {
    "questionId": ("questions", "http://adlnet.gov/expapi/activities/question"),
    "activityId": ("activities", None),
    "contentId": ("content", None),
}
PLATFORM_TYPE = "http://activitystrea.ms/schema/1.0/application"

KNOWN_TRAITS = ("role", "schoolName", "schoolURN", "schoolId", "yearGroup", "className", "classId")
FIELD_TYPES: dict[str, type] = {"event": str, "userId": str, "traits": dict, "properties": dict, "timestamp": str}
TYPE_NAMES = {str: "a string", dict: "an object"}
REQUIRED = ("event", "userId")
UNKNOWN_EVENTS = ("reject", "accept")

# The whole event is kept in its statement's context.extensions, 3 levels below the statement, so
# it may nest 3 levels less than a statement may (a limit counted as the client sent the event).
EVENT_MAX_DEPTH = client_json.MAX_DEPTH - 3

Problem = tuple[str, str]  # (field, message)


@dataclass(frozen=True)
class EventMapping:
    """The settings the mapping depends on, resolved once when the plugin's routes are added."""

    home_page: str
    iri_base: str
    platform: str
    accept_unknown: bool

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> "EventMapping":
        public_url = settings["public_url"].rstrip("/")
        return cls(
            home_page=settings["simple_events_home_page"] or public_url,
            iri_base=(settings["simple_events_iri_base"] or public_url + "/simple-events").rstrip("/"),
            platform=settings["simple_events_platform"],
            accept_unknown=settings["simple_events_unknown_events"] == "accept",
        )

    @property
    def event_extension(self) -> str:
        """The context extension that keeps the original event, exactly as it was posted."""
        return f"{self.iri_base}/extensions/event"

    def problems(self, event: Any) -> list[Problem]:
        """Everything wrong with one event, as (field, message); empty when it can be mapped."""
        if not isinstance(event, dict):
            return [("", "an event must be a JSON object")]
        problems = [(name, f"{name} is required") for name in REQUIRED if event.get(name) is None]
        for name, kind in FIELD_TYPES.items():
            value = event.get(name)
            if value is not None and not isinstance(value, kind):
                problems.append((name, f"{name} must be {TYPE_NAMES[kind]}"))
            elif name in REQUIRED and isinstance(value, str) and _blank(value):
                problems.append((name, f"{name} must not be empty or white space"))
        problems += _string_members(event.get("properties"), "properties", OBJECT_PROPERTIES)
        problems += _string_members(event.get("traits"), "traits", KNOWN_TRAITS)
        problems += _too_deep(event)
        name = event.get("event")
        if isinstance(name, str) and not _blank(name) and name not in VERBS and not self.accept_unknown:
            problems.append(("event", f"unknown event {name!r}; known events: {', '.join(VERBS)}"))
        return problems

    def statement(self, event: dict) -> dict:
        """The statement for an event that has no problems; the id is new for every event."""
        statement = {
            "id": str(uuid.uuid4()),
            "actor": {"objectType": "Agent", "account": {"homePage": self.home_page, "name": event["userId"]}},
            "verb": self._verb(event["event"]),
            "object": self._object(event["event"], event.get("properties") or {}),
            "context": self._context(event),
        }
        if event.get("timestamp") is not None:
            statement["timestamp"] = event["timestamp"]
        return statement

    def _iri(self, *segments: str) -> str:
        return "/".join([self.iri_base, *(quote(segment, safe="") for segment in segments)])

    def _verb(self, name: str) -> dict:
        iri, display = VERBS.get(name) or (self._iri("verbs", name), name)
        return {"id": iri, "display": {"en-US": display}}

    def _object(self, name: str, properties: dict) -> dict:
        if name not in PLATFORM_EVENTS:
            for prop, (segment, activity_type) in OBJECT_PROPERTIES.items():
                if properties.get(prop) is not None:
                    definition = {"type": activity_type} if activity_type else {}
                    return _activity(self._iri(segment, properties[prop]), definition)
        return _activity(self.iri_base + "/platform", {"type": PLATFORM_TYPE, "name": {"en-US": self.platform}})

    def _context(self, event: dict) -> dict:
        traits = dict(event.get("traits") or {})
        grouping = []
        school_id, class_id = traits.pop("schoolId", None), traits.pop("classId", None)
        if school_id is not None:
            grouping.append(_activity(self._iri("schools", school_id), _named(traits.pop("schoolName", None))))
        if class_id is not None:
            path = ("schools", school_id, "classes", class_id) if school_id is not None else ("classes", class_id)
            grouping.append(_activity(self._iri(*path), _named(traits.pop("className", None))))
        # a null trait is an absent one, as every other null of the event is (it stays in the event kept below)
        extensions = {self._iri("traits", name): value for name, value in traits.items() if value is not None}
        extensions[self.event_extension] = event
        context: dict[str, Any] = {"platform": self.platform, "extensions": extensions}
        if grouping:
            context["contextActivities"] = {"grouping": grouping}
        return context


def _string_members(value: Any, field: str, names: Any) -> list[Problem]:
    """Known members of `traits` / `properties` must be non-empty strings."""
    if not isinstance(value, dict):
        return []
    return [(f"{field}.{name}", f"{field}.{name} must be a non-empty string, not white space")
            for name in names if value.get(name) is not None and (not isinstance(value[name], str) or _blank(value[name]))]


def _blank(text: str) -> bool:
    """An id of white space only is a client's template left empty; stored, it would be one more user
    (or school, class, activity) that every report shows and no one is."""
    return not text.strip()


def _too_deep(event: dict) -> list[Problem]:
    return [(name, f"{name} is nested deeper than {EVENT_MAX_DEPTH} levels below the event (the event is kept "
                   f"whole 3 levels down its statement, and statements nest at most {client_json.MAX_DEPTH})")
            for name, value in event.items() if 1 + _levels(value) > EVENT_MAX_DEPTH]


def _levels(value: Any) -> int:
    """How deep `value` nests below itself (0 for a scalar, [] or {}). The body was read by
    lrs.client_json, which bounds its depth, so this recursion cannot exhaust the stack."""
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return max((1 + _levels(child) for child in children), default=0)


def _activity(iri: str, definition: dict) -> dict:
    activity: dict[str, Any] = {"objectType": "Activity", "id": iri}
    if definition:
        activity["definition"] = definition
    return activity


def _named(name: str | None) -> dict:
    return {"name": {"en-US": name}} if name else {}
