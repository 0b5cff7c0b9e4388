"""Checking envelopes, events and entities against the Caliper 1.2 model (and the seeds' rules).

Every check returns a list of (JSON path, rule) problems rather than stopping at the first, so a
client sees everything wrong with an envelope in one response. Entities are checked by their own
type (`lrs_plugins.caliper.model`) wherever they appear: as envelope items, as event properties and
nested in other entities. Any JSON value in any position yields problems, never an exception.

Leniencies, so that IMS's own examples pass (docs/caliper.md lists them):
- GeneralProfile may govern any event type (IMS files a NavigationEvent under it);
- the entity types of `actor`, `object` and `generated` are those of any profile's row for the
  event's type and action (IMS's MediaProfile NavigationEvent of a DigitalResourceCollection);
- `metric` values outside Caliper's Metric terms are accepted in data that declares no Caliper
  `@context` (the Timeback seed's "Facts Learnt").

A property of an event or entity whose value is null is absent, as JSON-LD reads it (`without_nulls`):
a required one is missing.
"""
from __future__ import annotations

import math
from typing import Any

from lrs_plugins.caliper import model
from lrs_plugins.caliper import vocabulary as v
from lrs_plugins.caliper.values import is_duration, is_event_id, is_iri, parse_datetime, without_nulls

Problem = tuple[str, str]
ENVELOPE_REQUIRED = ("sensor", "sendTime", "dataVersion", "data")
DATE_TIME_RULE = ("must be an ISO 8601 date-time with a time zone, e.g. 2026-01-15T10:07:30.000Z, "
                  "in years 1 to 9999 in UTC")
UNKNOWN_PROPERTY = "unknown property of a {} (custom data belongs in `extensions`)"
MAX_DEPTH = 24  # entities nested deeper than this are refused, not walked
SCALARS = {
    "string": (lambda value: isinstance(value, str), "must be a string"),
    "integer": (lambda value: type(value) is int, "must be an integer"),
    "decimal": (lambda value: type(value) in (int, float) and math.isfinite(value), "must be a number"),
    "boolean": (lambda value: type(value) is bool, "must be true or false"),
    "DateTime": (lambda value: parse_datetime(value) is not None, DATE_TIME_RULE),
    "Duration": (is_duration, "must be an ISO 8601 duration, e.g. PT1M30S, of at most 999,999,999 days"),
    "IRI": (is_iri, "must be an IRI"),
    "object": (lambda value: isinstance(value, dict), "must be an object"),
}


def envelope_problems(envelope: Any) -> list[Problem]:
    """The envelope's own fields; its `data` items are checked one by one elsewhere."""
    if not isinstance(envelope, dict):
        return [("$", "the body must be a Caliper envelope object {sensor, sendTime, dataVersion, data}")]
    problems = [(f"$.{name}", "required") for name in ENVELOPE_REQUIRED if name not in envelope]
    if "sensor" in envelope and not is_iri(envelope["sensor"]):
        problems.append(("$.sensor", "must be an IRI identifying the sensor"))
    if "sendTime" in envelope and parse_datetime(envelope["sendTime"]) is None:
        problems.append(("$.sendTime", DATE_TIME_RULE))
    if unsupported_version(envelope):
        problems.append(("$.dataVersion", f"unsupported Caliper version: this endpoint takes {v.DATA_VERSION} "
                                          "(GET /caliper/event lists the versions it supports)"))
    elif "dataVersion" in envelope and not _one_of(envelope["dataVersion"], v.DATA_VERSIONS):
        problems.append(("$.dataVersion", f"must be a string, {v.DATA_VERSION}"))
    data = envelope.get("data")
    if "data" in envelope and (not isinstance(data, list) or not data):
        problems.append(("$.data", "must be a non-empty array of Caliper events and entities"))
    return problems


def unsupported_version(envelope: Any) -> bool:
    """An envelope naming a Caliper version (a string) other than 1.2: Caliper 1.2 section 6.1
    answers it 422, apart from malformed envelopes (400)."""
    version = envelope.get("dataVersion") if isinstance(envelope, dict) else None
    return isinstance(version, str) and version not in v.DATA_VERSIONS


def is_event(item: Any) -> bool:
    """Envelope items are Events or Entities (describes); an Event has an action or event type."""
    if not isinstance(item, dict):
        return True
    kind = item.get("type")
    return "action" in item or "eventTime" in item or \
        (isinstance(kind, str) and (kind in model.EVENT_TYPES or kind.endswith("Event")))


def event_problems(event: Any, path: str) -> list[Problem]:
    """Caliper 1.2: required properties, formats, profile, action and entity types of one Event."""
    if not isinstance(event, dict):
        return [(path, "must be a Caliper Event object")]
    event = without_nulls(event)
    kind = event.get("type")
    known = isinstance(kind, str) and kind in model.EVENT_TYPES
    specs = model.properties(kind if known else "Event")
    problems = [(f"{path}.{key}", "unknown property (custom data belongs in `extensions`)")
                for key in event if key not in specs and key != "@context"]
    problems += [(f"{path}.{key}", "required") for key in model.required(kind if known else "Event")
                 if key not in event]
    problems += _context_problems(event, path)
    if "id" in event and not is_event_id(event["id"]):
        problems.append((f"{path}.id", "must be a UUID expressed as a URN: urn:uuid:<UUID>"))
    if "type" in event and not known:
        problems.append((f"{path}.type", f"unknown Caliper event type (known: {', '.join(sorted(model.EVENT_TYPES))})"))
    if "profile" in event and not _one_of(event["profile"], v.PROFILES):
        problems.append((f"{path}.profile", f"must be one of {', '.join(v.PROFILES)}"))
    action = event.get("action")
    if "action" in event and not v.is_action(action):
        problems.append((f"{path}.action", "unknown Caliper action"))
    rules = _governing_rules(event, path, problems) if known else []
    rows = [rule for rule in v.rules_for(kind, None) if v.canonical_action(action) in rule.actions] \
        if known and v.is_action(action) else []
    strict = "@context" in event
    for name, spec in specs.items():
        if name in event and name not in ("id", "type", "profile", "action"):
            allowed = _allowed(spec, name, rows)
            problems += check_value(event[name], allowed, f"{path}.{name}", strict, 0)
    for name in {required for rule in rules for required in rule.requires}:
        if all(name in rule.requires for rule in rules) and name not in event:
            problems.append((f"{path}.{name}", f"required for a {kind} {action}"))
    return problems


def events_api_problems(event: dict, path: str) -> list[Problem]:
    """The further rules of the Events API (seeds/003) beyond Caliper's own."""
    event = without_nulls(event)
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
    """An Entity described in an envelope, by the model of its own type."""
    if not isinstance(entity, dict):
        return [(path, "must be a Caliper Event or Entity object")]
    entity = without_nulls(entity)
    return entity_problems(entity, path, model.DESCRIBABLE, "@context" in entity, 0)


def check_value(value: Any, spec: str, path: str, strict: bool, depth: int) -> list[Problem]:
    """`value` against a property spec of `lrs_plugins.caliper.model` (see there)."""
    spec = spec.rstrip("!")
    if spec.startswith("["):
        if not isinstance(value, list):
            return [(path, "must be an array")]
        return [p for index, item in enumerate(value)
                for p in check_value(item, spec[1:-1], f"{path}[{index}]", strict, depth)]
    if spec in SCALARS:
        test, rule = SCALARS[spec]
        return [] if test(value) else [(path, rule)]
    if spec.startswith("Term:"):
        return _term_problems(value, spec[5:], path, strict)
    allowed = tuple(spec.split("|"))
    if isinstance(value, str):
        return [] if is_iri(value) else [(path, "must be an IRI or an entity object {id, type}")]
    if not isinstance(value, dict):
        return [(path, "must be an IRI or an entity object {id, type}")]
    return entity_problems(value, path, allowed, strict, depth + 1)


def entity_problems(entity: dict, path: str, allowed: tuple[str, ...], strict: bool, depth: int) -> list[Problem]:
    """An entity object: a known type allowed here, then each property by the type's model."""
    if depth > MAX_DEPTH:
        return [(path, f"entities nested more than {MAX_DEPTH} deep are not accepted")]
    kind = entity.get("type")
    if not isinstance(kind, str):
        problems = [(f"{path}.type", "required: the entity's Caliper type")]
        if "id" in entity and not is_iri(entity["id"]):
            problems.append((f"{path}.id", "required: the entity's IRI"))
        return problems
    if kind not in model.ENTITY_TYPES:
        return [(f"{path}.type", f"unknown Caliper entity type {kind!r}")]
    if not model.is_a(kind, allowed):
        return [(f"{path}.type", f"{kind} is not allowed here (expected {' or '.join(allowed)}, or a subtype)")]
    strict = strict or (_caliper_context(entity.get("@context")) if depth else "@context" in entity)
    specs = model.properties(kind)
    problems = _context_problems(entity, path) if depth == 0 else _local_context_problems(entity, path)
    for key, item in entity.items():
        if key == "@context":
            continue
        if key not in specs:
            problems.append((f"{path}.{key}", UNKNOWN_PROPERTY.format(kind)))
        elif key == "id":
            problems += [] if is_iri(item) else [(f"{path}.id", "required: the entity's IRI")]
        elif key != "type":
            problems += check_value(item, specs[key], f"{path}.{key}", strict, depth)
    missing = [key for key in model.required(kind) if key not in entity]
    problems += [(f"{path}.{key}", "required: the entity's IRI" if key == "id" else "required") for key in missing]
    return problems


def _one_of(value: Any, options: frozenset[str] | tuple[str, ...]) -> bool:
    """Membership that is safe on any JSON value (lists and objects are unhashable)."""
    return isinstance(value, str) and value in options


def _term_problems(value: Any, terms: str, path: str, strict: bool) -> list[Problem]:
    if not isinstance(value, str):
        return [(path, f"must be a string, one of Caliper's {terms} terms")]
    if value in model.TERMS[terms] or (terms == "Metric" and not strict):
        return []
    return [(path, f"unknown {terms} term {value!r} (known: {', '.join(sorted(model.TERMS[terms]))})")]


def _context_problems(item: dict, path: str) -> list[Problem]:
    """`@context`: the Caliper 1.2 context IRI, an inline context object (as IMS's examples send;
    not resolved), or an array whose last element is the Caliper IRI (Caliper 1.2 lists the remote
    context last; earlier elements may be other IRIs or inline context objects)."""
    context = item.get("@context")
    if "@context" not in item or isinstance(context, dict):
        return []
    last = context[-1] if isinstance(context, list) and context else context
    if not isinstance(last, str) or last not in v.CALIPER_CONTEXTS:
        return [(f"{path}.@context", f"must be {v.CALIPER_CONTEXT}, an inline context object, or an array ending with {v.CALIPER_CONTEXT}")]
    if isinstance(context, list) and any(not isinstance(c, (str, dict)) for c in context):
        return [(f"{path}.@context", "array elements must be context IRIs or context objects")]
    return []


def _local_context_problems(entity: dict, path: str) -> list[Problem]:
    """The `@context` of a nested entity: Caliper 1.2 lets any object add local contexts (an IRI, an
    inline object or an array of them, e.g. schema.org's) to give meaning to terms beyond Caliper's;
    only the top-level object must end with Caliper's own."""
    context = entity.get("@context")
    elements = context if isinstance(context, list) else [context]
    if "@context" not in entity or all(isinstance(c, dict) or is_iri(c) for c in elements):
        return []
    return [(f"{path}.@context", "must be a context IRI, an inline context object, or an array of them")]


def _caliper_context(context: Any) -> bool:
    """Whether a nested entity's `@context` names Caliper's (alone or in an array)."""
    return any(isinstance(c, str) and c in v.CALIPER_CONTEXTS for c in (context if isinstance(context, list) else [context]))


def _governing_rules(event: dict, path: str, problems: list[Problem]) -> list[v.Rule]:
    """The profile rows that allow this event's type and action; adds a problem when none does."""
    kind, profile, action = event["type"], event.get("profile"), event.get("action")
    if (profile is not None and not _one_of(profile, v.PROFILES)) or not v.is_action(action):
        return []
    candidates = v.rules_for(kind, profile)
    if not candidates and profile == "GeneralProfile":
        candidates = v.rules_for(kind, None)
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


def _allowed(spec: str, name: str, rows: list[v.Rule]) -> str:
    """The entity types `actor`, `object` or `generated` may have: those of every profile's row for
    the event's type and action (the named profile only decides the actions), else the event
    type's own definition."""
    if name not in ("actor", "object", "generated"):
        return spec
    types = sorted({kind for rule in rows for kind in getattr(rule, name)})
    return "|".join(types) if types else spec
