"""The indexed fields derived from a statement, so every GET /statements filter is an index lookup.

The statement itself is kept as its exact JSON text (`raw`), because xAPI allows keys MongoDB
handles badly (extension IRIs full of dots, keys starting with `$`) and because the exact text is
what GET returns. Everything a query or an aggregation needs is copied out here.
"""
from __future__ import annotations

from typing import Any, Iterable

from lrs.xapi.agents import agent_keys, ifi_key
from lrs.xapi.attachments import declared_attachments
from lrs.xapi.timestamps import parse_timestamp
from lrs.xapi.values import duration_seconds

CONTEXT_ACTIVITY_KINDS = ("parent", "grouping", "category", "other")
# The related agents a 1.0.x reader does not see: related only through contextAgents/contextGroups,
# which 1.0.3 lacks and its readers get statements without (lrs.xapi.formats.in_version). Present
# only when there are such agents.
CONTEXT_ONLY_AGENTS = "context_only_agents"


def derived_fields(statement: dict) -> dict[str, Any]:
    """Filter fields of the statement; `via` (StatementRef targets) is added by the store."""
    fields = _filter_fields(statement)
    obj = statement["object"]
    fields.update(
        actor=ifi_key(statement["actor"]),
        object_type=obj.get("objectType", "Activity"),
        object_id=obj.get("id") if "id" in obj else ifi_key(obj),
        ref=obj["id"] if obj.get("objectType") == "StatementRef" else None,
        authority=ifi_key(statement["authority"]) if "authority" in statement else None,
        # None until stored when it defaults to the stored time (see lrs.xapi.prepare.stored_times)
        timestamp=parse_timestamp(statement["timestamp"], "2.0.0") if "timestamp" in statement else None,
        result=_result_fields(statement.get("result")),
        context=_context_fields(statement.get("context")),
        # lower-case, like the content store's keys: one digest is one content, whatever its case
        attachments=sorted({a["sha2"].lower() for _, a in declared_attachments(statement) if "sha2" in a}),
    )
    return fields


def _filter_fields(statement: dict) -> dict[str, Any]:
    """The fields the StatementRef rule matches on; also copied into referring statements."""
    obj = statement["object"]
    context = statement.get("context") or {}
    agents = set(agent_keys(statement["actor"]))
    if obj.get("objectType") in ("Agent", "Group"):
        agents.update(agent_keys(obj))
    related_agents, context_only = _related_agents(statement, agents)
    related_activities = set(_activity_ids(statement))
    for part in _substatement_parts(statement):
        related_activities.update(_activity_ids(part))
    return {
        "verb": statement["verb"]["id"],
        "agents": sorted(agents),
        "related_agents": sorted(related_agents | context_only),
        **({CONTEXT_ONLY_AGENTS: sorted(context_only)} if context_only else {}),
        "activities": [obj["id"]] if obj.get("objectType", "Activity") == "Activity" else [],
        "related_activities": sorted(related_activities),
        "registration": context.get("registration"),
    }


def _related_agents(statement: dict, agents: set[str]) -> tuple[set[str], set[str]]:
    """The agents related_agents matches in 1.0.x (actor, object, authority, instructor, team,
    and a SubStatement's), and those 2.0's contextAgents and contextGroups add to them."""
    related = set(agents) | _agents_of(statement, include_actor_object=False)
    in_context = _context_agents_of(statement)
    for part in _substatement_parts(statement):
        related |= _agents_of(part)
        in_context |= _context_agents_of(part)
    if "authority" in statement:
        related.update(agent_keys(statement["authority"]))
    return related, in_context - related


def _substatement_parts(statement: dict) -> Iterable[dict]:
    obj = statement["object"]
    return [obj] if obj.get("objectType") == "SubStatement" else []


def _agents_of(statement: dict, include_actor_object: bool = True) -> set[str]:
    """Actor, object agent, instructor and team of one (sub)statement: its agents in 1.0.x too."""
    keys: set[str] = set()
    if include_actor_object:
        keys.update(agent_keys(statement["actor"]))
        if statement["object"].get("objectType") in ("Agent", "Group"):
            keys.update(agent_keys(statement["object"]))
    context = statement.get("context") or {}
    for role in ("instructor", "team"):
        if role in context:
            keys.update(agent_keys(context[role]))
    return keys


def _context_agents_of(statement: dict) -> set[str]:
    """The agents of one (sub)statement's 2.0 contextAgents and contextGroups."""
    keys: set[str] = set()
    context = statement.get("context") or {}
    for entry in context.get("contextAgents", ()):
        keys.update(agent_keys(entry["agent"]))
    for entry in context.get("contextGroups", ()):
        keys.update(agent_keys(entry["group"]))
    return keys


def _activity_ids(statement: dict) -> list[str]:
    obj = statement["object"]
    ids = [obj["id"]] if obj.get("objectType", "Activity") == "Activity" else []
    context_activities = (statement.get("context") or {}).get("contextActivities") or {}
    for kind in CONTEXT_ACTIVITY_KINDS:
        ids.extend(_ids(context_activities.get(kind)))
    return ids


def _ids(activities: Any) -> list[str]:
    if activities is None:
        return []
    if isinstance(activities, dict):
        activities = [activities]
    return [activity["id"] for activity in activities]


def _result_fields(result: dict | None) -> dict[str, Any] | None:
    if not result:
        return None
    score = result.get("score") or {}
    return {
        "scaled": score.get("scaled"),
        "raw": score.get("raw"),
        "min": score.get("min"),
        "max": score.get("max"),
        "success": result.get("success"),
        "completion": result.get("completion"),
        "duration_seconds": duration_seconds(result["duration"]) if "duration" in result else None,
    }


def _context_fields(context: dict | None) -> dict[str, Any] | None:
    if not context:
        return None
    activities = context.get("contextActivities") or {}
    fields: dict[str, Any] = {kind: _ids(activities.get(kind)) for kind in CONTEXT_ACTIVITY_KINDS}
    fields["platform"] = context.get("platform")
    fields["instructor"] = ifi_key(context["instructor"]) if "instructor" in context else None
    return fields
