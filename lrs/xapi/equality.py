"""The "same statement" rule (Data 2.3.1 Statement Comparison; 9274.1.1 4.2 Statement Immutability).

Used when a statement id is stored again (same -> no-op, different -> 409 Conflict) and to check a
signed statement against its JWS payload. Differences that the immutability exceptions allow are
ignored; every other difference counts:

- ignored: id, authority, stored, timestamp and version (set or normalised by the LRS),
  attachments (not part of the statement), Verb display and Activity definitions (not part of the
  statement either), the order of Group members (an unordered list);
- case-insensitive values compared case-insensitively: UUIDs (StatementRef ids, registration), the
  email domain of mbox, mbox_sha1sum hex digits, the context language tag;
- a contextActivities value given as one Activity equals the one-element array the LRS returns;
- a SubStatement timestamp compares as an instant, whatever its zone or format;
- result durations compare as strings, beyond 0.01 s precision excluded (Data 4.6).

Everything else, contextActivities order included, must be equal as JSON values.
"""
from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from lrs.xapi.agents import normalise_mbox
from lrs.xapi.timestamps import format_timestamp, parse_timestamp

_LRS_SET = ("id", "authority", "stored", "timestamp", "version", "attachments")
_SUBSECOND_DIGITS = re.compile(r"([.,]\d{2})\d+(?=S$)")
_LENIENT = "1.0.0"  # the 1.0.x timestamp grammar accepts every form 2.0 does


def same_statement(a: dict, b: dict) -> bool:
    """Whether two valid statements are the same statement under the comparison rules."""
    return _comparable(a, substatement=False) == _comparable(b, substatement=False)


def _comparable(statement: dict, *, substatement: bool) -> dict:
    comparable = {key: value for key, value in statement.items() if key not in _LRS_SET}
    if substatement and "timestamp" in statement:
        comparable["timestamp"] = format_timestamp(parse_timestamp(statement["timestamp"], _LENIENT))
    comparable["actor"] = _agent(statement["actor"])
    comparable["verb"] = statement["verb"]["id"]
    comparable["object"] = _object(statement["object"])
    if "result" in statement and "duration" in statement["result"]:
        result = statement["result"]
        comparable["result"] = {**result, "duration": _SUBSECOND_DIGITS.sub(r"\1", result["duration"])}
    if "context" in statement:
        comparable["context"] = _context(statement["context"])
    return comparable


def _object(obj: dict) -> Any:
    object_type = obj.get("objectType", "Activity")
    if object_type == "Activity":
        return _activity(obj)
    if object_type in ("Agent", "Group"):
        return _agent(obj)
    if object_type == "StatementRef":
        return {**obj, "id": obj["id"].lower()}
    return {**_comparable(obj, substatement=True), "objectType": "SubStatement"}


def _activity(activity: dict) -> dict:
    return {key: value for key, value in activity.items() if key != "definition"}


def _agent(agent: dict) -> dict:
    comparable = dict(agent)
    if "mbox" in agent:
        comparable["mbox"] = normalise_mbox(agent["mbox"])
    if "mbox_sha1sum" in agent:
        comparable["mbox_sha1sum"] = agent["mbox_sha1sum"].lower()
    if "member" in agent:
        comparable["member"] = sorted((_agent(member) for member in agent["member"]), key=_sort_key)
    return comparable


def _sort_key(agent: dict) -> str:
    return json.dumps(agent, sort_keys=True)


def _context(context: dict) -> dict:
    comparable = dict(context)
    if "registration" in context:
        comparable["registration"] = context["registration"].lower()
    if "language" in context:
        comparable["language"] = context["language"].lower()
    if "statement" in context:
        comparable["statement"] = {**context["statement"], "id": context["statement"]["id"].lower()}
    for role in ("instructor", "team"):
        if role in context:
            comparable[role] = _agent(context[role])
    if "contextActivities" in context:
        comparable["contextActivities"] = {
            kind: [_activity(a) for a in (value if type(value) is list else [value])]
            for kind, value in context["contextActivities"].items()}
    for key, role in (("contextAgents", "agent"), ("contextGroups", "group")):
        if key in context:
            comparable[key] = [{**entry, role: _agent(entry[role])} for entry in context[key]]
    return comparable


def statement_digest(statement: dict) -> str:
    """A hash of what the comparison rule compares: equal for the same statement as two LRSs
    store it (whatever their authority, stored, timestamp format or version)."""
    comparable = json.dumps(_comparable(statement, substatement=False), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(comparable.encode("utf-8")).hexdigest()
