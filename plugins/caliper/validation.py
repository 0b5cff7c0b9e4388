"""Checking envelopes, events and entities against Caliper 1.2 (and the seeds' stricter rules).

Every check returns a list of (JSON path, rule) problems rather than stopping at the first, so a
client sees everything wrong with an envelope in one response. The rules themselves are the data
tables of `plugins.caliper.vocabulary`.
"""
from __future__ import annotations

from typing import Any

from plugins.caliper import vocabulary as v
from plugins.caliper.values import is_event_id, is_iri, parse_datetime

Problem = tuple[str, str]
ENVELOPE_REQUIRED = ("sensor", "sendTime", "dataVersion", "data")
DATE_TIME_RULE = "must be an ISO 8601 date-time with a time zone, e.g. 2026-01-15T10:07:30.000Z"


def envelope_problems(envelope: Any) -> list[Problem]:
    """The envelope's own fields; its `data` items are checked one by one elsewhere."""
    if not isinstance(envelope, dict):
        return [("$", "the body must be a Caliper envelope object {sensor, sendTime, dataVersion, data}")]
    problems = [(f"$.{name}", "required") for name in ENVELOPE_REQUIRED if name not in envelope]
    if "sensor" in envelope and not is_iri(envelope["sensor"]):
        problems.append(("$.sensor", "must be an IRI identifying the sensor"))
    if "sendTime" in envelope and parse_datetime(envelope["sendTime"]) is None:
        problems.append(("$.sendTime", DATE_TIME_RULE))
    if "dataVersion" in envelope and envelope["dataVersion"] != v.DATA_VERSION:
        problems.append(("$.dataVersion", f"must be {v.DATA_VERSION}"))
    data = envelope.get("data")
    if "data" in envelope and (not isinstance(data, list) or not data):
        problems.append(("$.data", "must be a non-empty array of Caliper events and entities"))
    return problems


def is_event(item: Any) -> bool:
    """Envelope items are Events or Entities (describes); an Event has an action or event type."""
    if not isinstance(item, dict):
        return True
    kind = item.get("type")
    return "action" in item or "eventTime" in item or kind in v.EVENT_TYPES or \
        (isinstance(kind, str) and kind.endswith("Event"))


def event_problems(event: Any, path: str) -> list[Problem]:
    """Caliper 1.2: required properties, formats, profile, action and entity types of one Event."""
    if not isinstance(event, dict):
        return [(path, "must be a Caliper Event object")]
    problems = [(f"{path}.{key}", "unknown property (custom data belongs in `extensions`)")
                for key in event if key not in v.EVENT_PROPERTIES]
    problems += [(f"{path}.{key}", "required") for key in v.EVENT_REQUIRED if key not in event]
    problems += _format_problems(event, path)
    rules = _governing_rules(event, path, problems)
    if rules:
        problems += _entity_problems(event, path, rules)
    return problems


def events_api_problems(event: dict, path: str) -> list[Problem]:
    """The further rules of the Events API (seeds/003) beyond Caliper's own."""
    problems = []
    if "@context" not in event:
        problems.append((f"{path}.@context", f"required (use {v.CALIPER_CONTEXT})"))
    extensions = event.get("extensions")
    subject = extensions.get("subject") if isinstance(extensions, dict) else None
    if not isinstance(subject, str) or not subject.strip():
        problems.append((f"{path}.extensions.subject", "required: the academic subject of the event"))
    for name in ("actor", "object"):
        if name in event and not isinstance(event[name], dict):
            problems.append((f"{path}.{name}", "must be a full entity object {id, type, ...}"))
    if event.get("type") == "GradeEvent" and "generated" not in event:
        problems.append((f"{path}.generated", "required for a GradeEvent (the Score)"))
    return problems


def entity_item_problems(entity: Any, path: str) -> list[Problem]:
    """An Entity described in an envelope, by the Entity schema of seeds/002."""
    if not isinstance(entity, dict):
        return [(path, "must be a Caliper Event or Entity object")]
    problems = [(f"{path}.{key}", "unknown property of an Entity (custom data belongs in `extensions`)")
                for key in entity if key not in v.ENTITY_PROPERTIES]
    problems += _entity_value_problems(entity, path, ("Entity",))
    problems += _context_problems(entity, path)
    for name in ("name", "description"):
        if name in entity and not isinstance(entity[name], str):
            problems.append((f"{path}.{name}", "must be a string"))
    for name in ("dateCreated", "dateModified"):
        if name in entity and parse_datetime(entity[name]) is None:
            problems.append((f"{path}.{name}", DATE_TIME_RULE))
    if "extensions" in entity and not isinstance(entity["extensions"], dict):
        problems.append((f"{path}.extensions", "must be an object"))
    others = entity.get("otherIdentifiers", [])
    if not isinstance(others, list) or any(not isinstance(o, (str, dict)) for o in others):
        problems.append((f"{path}.otherIdentifiers", "must be an array of strings or objects"))
    return problems


def _context_problems(item: dict, path: str) -> list[Problem]:
    if "@context" not in item:
        return []
    context = item["@context"]
    first = context[0] if isinstance(context, list) and context else context
    if first not in v.CALIPER_CONTEXTS:
        return [(f"{path}.@context", f"must be {v.CALIPER_CONTEXT} (or an array starting with it)")]
    return []


def _format_problems(event: dict, path: str) -> list[Problem]:
    problems = _context_problems(event, path)
    if "id" in event and not is_event_id(event["id"]):
        problems.append((f"{path}.id", "must be a UUID expressed as a URN: urn:uuid:<UUID>"))
    if "eventTime" in event and parse_datetime(event["eventTime"]) is None:
        problems.append((f"{path}.eventTime", DATE_TIME_RULE))
    if "extensions" in event and not isinstance(event["extensions"], dict):
        problems.append((f"{path}.extensions", "must be an object"))
    if "type" in event and event["type"] not in v.EVENT_TYPES:
        problems.append((f"{path}.type", f"unknown Caliper event type (known: {', '.join(sorted(v.EVENT_TYPES))})"))
    if "profile" in event and event["profile"] not in v.PROFILES:
        problems.append((f"{path}.profile", f"must be one of {', '.join(v.PROFILES)}"))
    action = event.get("action")
    if "action" in event and (not isinstance(action, str) or v.canonical_action(action) not in v.ACTIONS):
        problems.append((f"{path}.action", "unknown Caliper action"))
    return problems


def _governing_rules(event: dict, path: str, problems: list[Problem]) -> list[v.Rule]:
    """The profile rows that allow this event's type and action; adds a problem when none does."""
    kind, profile, action = event.get("type"), event.get("profile"), event.get("action")
    if kind not in v.EVENT_TYPES or (profile is not None and profile not in v.PROFILES) \
            or not isinstance(action, str) or v.canonical_action(action) not in v.ACTIONS:
        return []
    candidates = v.rules_for(kind, profile)
    if not candidates:
        problems.append((f"{path}.type", f"{kind} is not an event of the {profile}"))
        return []
    canonical = v.canonical_action(action)
    matching = [rule for rule in candidates if canonical in rule.actions]
    if not matching:
        allowed = sorted({a for rule in candidates for a in rule.actions})
        where = f"the {profile}" if profile else "any profile"
        problems.append((f"{path}.action", f"{action} is not allowed for a {kind} in {where} "
                                           f"(allowed: {', '.join(allowed)})"))
    return matching


def _entity_problems(event: dict, path: str, rules: list[v.Rule]) -> list[Problem]:
    problems = []
    for name, allowed in (("actor", {t for r in rules for t in r.actor}),
                          ("object", {t for r in rules for t in r.object}),
                          ("generated", {t for r in rules for t in r.generated} or {"Entity"}),
                          *((key, set(types)) for key, types in v.CONTEXT_ENTITIES.items())):
        if name in event:
            problems += _entity_value_problems(event[name], f"{path}.{name}", tuple(sorted(allowed)))
    for name in {required for rule in rules for required in rule.requires}:
        if all(name in rule.requires for rule in rules) and name not in event:
            problems.append((f"{path}.{name}", f"required for a {event['type']} {event['action']}"))
    return problems


def _entity_value_problems(value: Any, path: str, allowed: tuple[str, ...]) -> list[Problem]:
    """An entity given as an IRI, or as an object with an IRI `id` and an allowed `type`."""
    if isinstance(value, str):
        return [] if is_iri(value) else [(path, "must be an IRI or an entity object {id, type}")]
    if not isinstance(value, dict):
        return [(path, "must be an IRI or an entity object {id, type}")]
    problems = []
    if not is_iri(value.get("id")):
        problems.append((f"{path}.id", "required: the entity's IRI"))
    kind = value.get("type")
    if not isinstance(kind, str):
        problems.append((f"{path}.type", "required: the entity's Caliper type"))
    elif kind not in v.ENTITY_TYPES:
        problems.append((f"{path}.type", f"unknown Caliper entity type {kind!r}"))
    elif not v.is_a(kind, allowed):
        problems.append((f"{path}.type", f"{kind} is not allowed here (expected {' or '.join(allowed)}, "
                                         "or a subtype)"))
    return problems
