"""The simplified H5P event (POST /h5p-event) -> one xAPI statement, as seeds/001 describes it.

`{contentId, verb, score, success, completion, duration, response}`; contentId and verb are
required. Beyond seeds/001 the body may carry `language`, `registration` and `classId` (the class
becomes a grouping activity, which class analytics aggregate on).
"""
from __future__ import annotations

import uuid
from typing import Any

from lrs.xapi.values import LONGEST_DURATION_SECONDS
from lrs_plugins.h5p.config import H5PConfig
from lrs_plugins.h5p.scores import is_number, without_empty_range
from lrs_plugins.h5p.submitted import SEED_VERSION

ADL = "http://adlnet.gov/expapi/verbs/"
VERBS = ("attempted", "answered", "completed", "passed", "failed", "interacted", "progressed")
FALLBACK_VERB = "interacted"
ASSESSMENT = "http://adlnet.gov/expapi/activities/assessment"
SCORE_MEMBERS = ("scaled", "raw", "min", "max")

Problem = tuple[str, str]  # (field, message)


def verb_name(verb: str) -> str:
    """One of the seven verbs; an IRI counts by its last path segment, anything else is `interacted`."""
    name = verb.rstrip("/").rsplit("/", 1)[-1]
    return name if name in VERBS else FALLBACK_VERB


def problems(body: Any) -> list[Problem]:
    """What is wrong with the event body, as (field, message); empty when it can be mapped."""
    if not isinstance(body, dict):
        return [("", "the event must be a JSON object")]
    found = [(name, f"{name} is required") for name in ("contentId", "verb") if body.get(name) is None]
    found += _typed(body, "contentId", _is_id, "a non-empty string or an integer")
    found += _typed(body, "classId", _is_id, "a non-empty string or an integer")
    found += _typed(body, "verb", _is_text, "a non-empty string")
    for name in ("success", "completion"):
        found += _typed(body, name, lambda value: isinstance(value, bool), "true or false")
    for name in ("response", "language", "registration"):
        found += _typed(body, name, lambda value: isinstance(value, str), "a string")
    found += _typed(body, "duration", _is_duration,
                    f"a number of seconds from 0 to {LONGEST_DURATION_SECONDS:,.0f} (999,999,999 days) "
                    "or an ISO 8601 duration")
    found += _typed(body, "score", lambda value: isinstance(value, dict), "an object")
    if isinstance(body.get("score"), dict):
        for name in SCORE_MEMBERS:
            found += _typed(body["score"], name, is_number, "a number", prefix="score.")
    return found


def statement(body: dict, user_id: str, config: H5PConfig) -> dict:
    """The statement for an event body without problems; its id is new."""
    name = verb_name(body["verb"])
    context: dict[str, Any] = {"platform": config.platform, "extensions": {config.extension("event"): body}}
    for member in ("language", "registration"):
        if body.get(member) is not None:
            context[member] = body[member]
    if body.get("classId") is not None:
        context["contextActivities"] = {"grouping": [{"objectType": "Activity",
                                                      "id": config.class_iri(str(body["classId"]))}]}
    statement = {
        "id": str(uuid.uuid4()),
        "version": SEED_VERSION,
        "actor": config.actor(user_id),
        "verb": {"id": ADL + name, "display": {"en-US": name}},
        "object": {"objectType": "Activity", "id": config.content_iri(str(body["contentId"])),
                   "definition": {"type": ASSESSMENT}},
        "context": context,
    }
    result = without_empty_range(_result(body))
    if result:
        statement["result"] = result
    return statement


def iso_duration(seconds: float) -> str:
    """120 -> PT120S, 1.5 -> PT1.5S: xAPI keeps durations to 0.01 s."""
    return "PT" + f"{seconds:.2f}".rstrip("0").rstrip(".") + "S"


def _result(body: dict) -> dict:
    result: dict[str, Any] = {}
    sent = body.get("score") or {}  # null is absent, like every other optional field
    score = {name: sent[name] for name in SCORE_MEMBERS if sent.get(name) is not None}
    if score:
        result["score"] = score
    for name in ("success", "completion", "response"):
        if body.get(name) is not None:
            result[name] = body[name]
    duration = body.get("duration")
    if duration is not None:
        result["duration"] = duration if isinstance(duration, str) else iso_duration(duration)
    return result


def _typed(body: dict, name: str, check: Any, expected: str, prefix: str = "") -> list[Problem]:
    value = body.get(name)
    if value is None or check(value):
        return []
    return [(prefix + name, f"{prefix}{name} must be {expected}")]


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def _is_id(value: Any) -> bool:
    return _is_text(value) or (isinstance(value, int) and not isinstance(value, bool))


def _is_duration(value: Any) -> bool:
    """Text is checked by the core's rules once mapped; a number must fit the core's longest duration."""
    return isinstance(value, str) or (is_number(value) and 0 <= value <= LONGEST_DURATION_SECONDS)
