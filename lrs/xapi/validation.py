"""Statement validation: the rules of xAPI 1.0.3 Data 2 and of 9274.1.1 (2.0) section 4.2.

One function per kind of object, each checking its properties in a fixed order and raising
XAPIValidationError on the first rule broken, with the JSON path of the offending value. The
version string decides the few differences: 2.0 adds contextAgents and contextGroups, accepts 2.0.x
statement versions and requires RFC 3339 timestamps.
"""
from __future__ import annotations

from typing import Any, Callable

from lrs.xapi.agents import IFIS
from lrs.xapi.errors import XAPIValidationError
from lrs.xapi.timestamps import parse_timestamp
from lrs.xapi.values import (
    fail,
    only_keys,
    require_bool,
    require_dict,
    require_keys,
    require_list,
    require_number,
    require_str,
    validate_duration,
    validate_extensions,
    validate_iri,
    validate_irl,
    validate_language_map,
    validate_language_tag,
    validate_mailto,
    validate_media_type,
    validate_sha1_hex,
    validate_sha2_hex,
    validate_uri,
    validate_uuid,
)
from lrs.xapi.versions import is_v2

__all__ = ["validate_statements", "validate_statement", "validate_agent", "validate_uuid", "validate_iri",
           "validate_language_map", "validate_timestamp", "VOIDED"]

VOIDED = "http://adlnet.gov/expapi/verbs/voided"
INTERACTION_TYPES = frozenset({"true-false", "choice", "fill-in", "long-fill-in", "matching", "performance",
                               "sequencing", "likert", "numeric", "other"})
# Which interaction component lists each interactionType supports (Data 2.4.4.1, Interaction Components).
COMPONENT_LISTS = {"choice": ("choices",), "sequencing": ("choices",), "likert": ("scale",),
                   "matching": ("source", "target"), "performance": ("steps",)}
ALL_COMPONENT_LISTS = ("choices", "scale", "source", "target", "steps")
CONTEXT_ACTIVITY_KINDS = frozenset({"parent", "grouping", "category", "other"})

_SHARED = frozenset({"actor", "verb", "object", "result", "context", "timestamp", "attachments"})
STATEMENT_KEYS = _SHARED | {"id", "stored", "authority", "version"}
SUBSTATEMENT_KEYS = _SHARED | {"objectType"}
AGENT_KEYS = frozenset({"objectType", "name", *IFIS})
GROUP_KEYS = AGENT_KEYS | {"member"}
ACCOUNT_KEYS = frozenset({"homePage", "name"})
VERB_KEYS = frozenset({"id", "display"})
ACTIVITY_KEYS = frozenset({"objectType", "id", "definition"})
DEFINITION_KEYS = frozenset({"name", "description", "type", "moreInfo", "extensions", "interactionType",
                             "correctResponsesPattern", *ALL_COMPONENT_LISTS})
COMPONENT_KEYS = frozenset({"id", "description"})
STATEMENT_REF_KEYS = frozenset({"objectType", "id"})
RESULT_KEYS = frozenset({"score", "success", "completion", "response", "duration", "extensions"})
SCORE_KEYS = frozenset({"scaled", "raw", "min", "max"})
CONTEXT_KEYS = frozenset({"registration", "instructor", "team", "contextActivities", "revision", "platform",
                          "language", "statement", "extensions"})
CONTEXT_KEYS_V2 = CONTEXT_KEYS | {"contextAgents", "contextGroups"}
CONTEXT_AGENT_KEYS = frozenset({"objectType", "agent", "relevantTypes"})
CONTEXT_GROUP_KEYS = frozenset({"objectType", "group", "relevantTypes"})
ATTACHMENT_KEYS = frozenset({"usageType", "display", "description", "contentType", "length", "sha2", "fileUrl"})
ATTACHMENT_REQUIRED = ("usageType", "display", "contentType", "length", "sha2")


def validate_statements(payload: object, version: str) -> list[dict]:
    """One Statement or an array of them, as a list; paths are "statement" or "statement[i]"."""
    if type(payload) is dict:
        validate_statement(payload, version)
        return [payload]
    if type(payload) is list:
        for index, statement in enumerate(payload):
            validate_statement(statement, version, f"statement[{index}]")
        return payload
    raise XAPIValidationError("statement", "must be a Statement object or an array of Statements")


def validate_statement(statement: object, version: str, path: str = "statement") -> None:
    """A Statement as a client sends it; LRS-set properties (stored, authority) are checked too."""
    statement = require_dict(statement, path)
    only_keys(statement, STATEMENT_KEYS, path)
    if "id" in statement:
        validate_uuid(statement["id"], f"{path}.id")
    _statement_body(statement, path, version)
    if "stored" in statement:
        validate_timestamp(statement["stored"], f"{path}.stored", version)
    if "authority" in statement:
        _authority(statement["authority"], f"{path}.authority")
    if "version" in statement:
        _statement_version(statement["version"], f"{path}.version", version)
    if statement["verb"]["id"] == VOIDED and statement["object"].get("objectType") != "StatementRef":
        fail(f"{path}.object", "a voiding Statement's object must be a StatementRef")


def _statement_body(statement: dict, path: str, version: str, *, substatement: bool = False) -> None:
    """What Statements and SubStatements share: actor, verb, object, result, context, ...

    One exception to "no null values": the 2.0 conformance suite sends a statement with
    "timestamp": null and expects it stored with timestamp = stored, so in 2.0 a null top-level
    timestamp means "not given" (prepare_statement drops it).
    """
    require_keys(statement, ("actor", "verb", "object"), path)
    _actor(statement["actor"], f"{path}.actor")
    _verb(statement["verb"], f"{path}.verb")
    object_type = _object(statement["object"], f"{path}.object", version, in_substatement=substatement)
    if "result" in statement:
        _result(statement["result"], f"{path}.result")
    if "context" in statement:
        _context(statement["context"], f"{path}.context", version, object_type)
    if "timestamp" in statement and not (statement["timestamp"] is None and not substatement and is_v2(version)):
        validate_timestamp(statement["timestamp"], f"{path}.timestamp", version)
    if "attachments" in statement:
        for index, attachment in enumerate(require_list(statement["attachments"], f"{path}.attachments")):
            _attachment(attachment, f"{path}.attachments[{index}]")


def validate_timestamp(value: Any, path: str, version: str) -> None:
    """ISO 8601 (1.0.x) or RFC 3339 (2.0.x) date and time, per timestamps.parse_timestamp."""
    try:
        parse_timestamp(value, version)
    except XAPIValidationError as error:
        raise XAPIValidationError(path, error.rule) from None


def _statement_version(value: Any, path: str, version: str) -> None:
    """1.0.x statements anywhere; 2.0.x ones only in 2.0 requests (Data 2.4.10, 9274.1.1 4.2.4.3)."""
    parts = require_str(value, path).split(".")
    families = ("1", "2") if is_v2(version) else ("1",)
    if not (2 <= len(parts) <= 3 and parts[0] in families and parts[1] == "0"
            and all(part.isdigit() and part.isascii() for part in parts)):
        allowed = "1.0.x or 2.0.x" if is_v2(version) else "1.0.x"
        fail(path, f"must be a version {allowed}")


# Agents and Groups -------------------------------------------------------------------------------

def validate_agent(value: object, path: str) -> None:
    """An Agent or a Group (anonymous or identified), as in an actor or the `agent` parameter: the
    same rules in every xAPI version."""
    _actor(value, path)


def _actor(value: Any, path: str, *, object_type_required: bool = False) -> None:
    agent = require_dict(value, path)
    if "objectType" in agent:
        object_type = agent["objectType"]
        if object_type == "Group":
            _group(agent, path)
            return
        if object_type != "Agent":
            fail(f"{path}.objectType", 'must be "Agent" or "Group"')
    elif object_type_required:
        fail(f"{path}.objectType", "is required when an Agent or Group is the object")
    _agent(agent, path)


def _agent(agent: dict, path: str) -> None:
    only_keys(agent, AGENT_KEYS, path)
    if "name" in agent:
        require_str(agent["name"], f"{path}.name")
    if _ifi_count(agent, path) != 1:
        fail(path, "an Agent must have exactly one of mbox, mbox_sha1sum, openid, account")


def _group(group: dict, path: str) -> None:
    """Anonymous (members, no IFI) or identified (one IFI); members are Agents only."""
    only_keys(group, GROUP_KEYS, path)
    if "name" in group:
        require_str(group["name"], f"{path}.name")
    ifis = _ifi_count(group, path)
    if ifis > 1:
        fail(path, "an identified Group must have exactly one of mbox, mbox_sha1sum, openid, account")
    if ifis == 0 and "member" not in group:
        fail(f"{path}.member", "is required in an anonymous Group")
    if "member" in group:
        for index, member in enumerate(require_list(group["member"], f"{path}.member")):
            member_path = f"{path}.member[{index}]"
            member = require_dict(member, member_path)
            if "objectType" in member and member["objectType"] != "Agent":
                fail(f"{member_path}.objectType", 'must be "Agent": a Group cannot be a member')
            _agent(member, member_path)


def _ifi_count(agent: dict, path: str) -> int:
    """How many IFIs the Agent or Group has, each validated."""
    count = 0
    if "mbox" in agent:
        validate_mailto(agent["mbox"], f"{path}.mbox")
        count += 1
    if "mbox_sha1sum" in agent:
        validate_sha1_hex(agent["mbox_sha1sum"], f"{path}.mbox_sha1sum")
        count += 1
    if "openid" in agent:
        validate_uri(agent["openid"], f"{path}.openid")
        count += 1
    if "account" in agent:
        _account(agent["account"], f"{path}.account")
        count += 1
    return count


def _account(value: Any, path: str) -> None:
    account = require_dict(value, path)
    only_keys(account, ACCOUNT_KEYS, path)
    require_keys(account, ("homePage", "name"), path)
    validate_irl(account["homePage"], f"{path}.homePage")
    require_str(account["name"], f"{path}.name")


def _authority(value: Any, path: str) -> None:
    """An Agent, or for 3-legged OAuth an anonymous Group of exactly two Agents (Data 2.4.9)."""
    _actor(value, path)
    if value.get("objectType") == "Group":
        if any(ifi in value for ifi in IFIS):
            fail(path, "an authority Group must be anonymous (OAuth consumer and user)")
        if len(value["member"]) != 2:
            fail(f"{path}.member", "an authority Group must have exactly two members")


# Verb and Object ---------------------------------------------------------------------------------

def _verb(value: Any, path: str) -> None:
    verb = require_dict(value, path)
    only_keys(verb, VERB_KEYS, path)
    require_keys(verb, ("id",), path)
    validate_iri(verb["id"], f"{path}.id")
    if "display" in verb:
        validate_language_map(verb["display"], f"{path}.display")


def _object(value: Any, path: str, version: str, *, in_substatement: bool) -> str:
    """Validates the object by its objectType (default Activity) and returns that type."""
    obj = require_dict(value, path)
    object_type = obj.get("objectType", "Activity")
    if "objectType" not in obj and any(ifi in obj for ifi in IFIS):
        fail(f"{path}.objectType", "is required when an Agent or Group is the object")
    if object_type == "Activity":
        _activity(obj, path)
    elif object_type in ("Agent", "Group"):
        _actor(obj, path, object_type_required=True)
    elif object_type == "StatementRef":
        _statement_ref(obj, path)
    elif object_type == "SubStatement":
        if in_substatement:
            fail(f"{path}.objectType", "a SubStatement cannot contain a SubStatement")
        only_keys(obj, SUBSTATEMENT_KEYS, path)
        _statement_body(obj, path, version, substatement=True)
    else:
        fail(f"{path}.objectType", 'must be "Activity", "Agent", "Group", "StatementRef" or "SubStatement"')
    return object_type


def _statement_ref(value: Any, path: str) -> None:
    """The objectType comes first: a SubStatement in context.statement breaks the StatementRef rule,
    which its actor being "not allowed here" would not say."""
    ref = require_dict(value, path)
    if ref.get("objectType") != "StatementRef":
        sent = f", not {ref['objectType']!r}" if "objectType" in ref else ""
        fail(f"{path}.objectType", f'must be "StatementRef"{sent}: only a Statement Reference may be here (xAPI Data 2.4.6)')
    only_keys(ref, STATEMENT_REF_KEYS, path)
    require_keys(ref, ("id",), path)
    validate_uuid(ref["id"], f"{path}.id")


def _activity(value: Any, path: str) -> None:
    activity = require_dict(value, path)
    only_keys(activity, ACTIVITY_KEYS, path)
    if "objectType" in activity and activity["objectType"] != "Activity":
        fail(f"{path}.objectType", 'must be "Activity"')
    require_keys(activity, ("id",), path)
    validate_iri(activity["id"], f"{path}.id")
    if "definition" in activity:
        _definition(activity["definition"], f"{path}.definition")


def _definition(value: Any, path: str) -> None:
    definition = require_dict(value, path)
    only_keys(definition, DEFINITION_KEYS, path)
    _optional(definition, path, name=validate_language_map, description=validate_language_map, type=validate_iri,
              moreInfo=validate_irl, extensions=validate_extensions)
    _interaction(definition, path)


def _optional(obj: dict, path: str, **checks: Callable[[Any, str], object]) -> None:
    """The checks of the properties present, in the order given: the first rule broken is the one
    reported, whatever order the client sent them in."""
    for key, check in checks.items():
        if key in obj:
            check(obj[key], f"{path}.{key}")


def _interaction(definition: dict, path: str) -> None:
    """Interaction properties need a valid interactionType, and only its component lists."""
    if "interactionType" not in definition:
        for key in ("correctResponsesPattern", *ALL_COMPONENT_LISTS):
            if key in definition:
                fail(f"{path}.{key}", "is only allowed with an interactionType")
        return
    interaction_type = definition["interactionType"]
    if type(interaction_type) is not str or interaction_type not in INTERACTION_TYPES:
        fail(f"{path}.interactionType", "must be one of " + ", ".join(sorted(INTERACTION_TYPES)))
    if "correctResponsesPattern" in definition:
        patterns_path = f"{path}.correctResponsesPattern"
        for index, pattern in enumerate(require_list(definition["correctResponsesPattern"], patterns_path)):
            require_str(pattern, f"{patterns_path}[{index}]")
    supported = COMPONENT_LISTS.get(interaction_type, ())
    for key in ALL_COMPONENT_LISTS:
        if key in definition:
            if key not in supported:
                fail(f"{path}.{key}", f"is not a component list of {interaction_type} interactions")
            _components(definition[key], f"{path}.{key}")


def _components(value: Any, path: str) -> None:
    seen = set()
    for index, component in enumerate(require_list(value, path)):
        component_path = f"{path}[{index}]"
        component = require_dict(component, component_path)
        only_keys(component, COMPONENT_KEYS, component_path)
        require_keys(component, ("id",), component_path)
        component_id = require_str(component["id"], f"{component_path}.id")
        if component_id in seen:
            fail(f"{component_path}.id", "interaction component ids must be distinct within a list")
        seen.add(component_id)
        if "description" in component:
            validate_language_map(component["description"], f"{component_path}.description")


# Result, Context, Attachments --------------------------------------------------------------------

def _result(value: Any, path: str) -> None:
    result = require_dict(value, path)
    only_keys(result, RESULT_KEYS, path)
    _optional(result, path, score=_score, success=require_bool, completion=require_bool, response=require_str,
              duration=validate_duration, extensions=validate_extensions)


def _score(value: Any, path: str) -> None:
    score = require_dict(value, path)
    only_keys(score, SCORE_KEYS, path)
    numbers = {key: require_number(score[key], f"{path}.{key}") for key in ("scaled", "raw", "min", "max")
               if key in score}
    if "scaled" in numbers and not -1 <= numbers["scaled"] <= 1:
        fail(f"{path}.scaled", "must be between -1 and 1")
    _score_range(numbers.get("raw"), numbers.get("min"), numbers.get("max"), path)


def _score_range(raw: float | None, low: float | None, high: float | None, path: str) -> None:
    """Data 2.4.5.1: min less than max, raw between them inclusive. A raw outside a range whose
    min equals max breaks both rules; the raw is named, since that is the value outside its bounds."""
    if low is not None and high is not None and low > high:
        fail(f"{path}.min", f"must be less than max (xAPI Data 2.4.5.1): min {low} is greater than max {high}")
    rule = "must be between min and max inclusive (xAPI Data 2.4.5.1)"
    if raw is not None and low is not None and raw < low:
        fail(f"{path}.raw", f"{rule}: {raw} is less than min {low}")
    if raw is not None and high is not None and raw > high:
        fail(f"{path}.raw", f"{rule}: {raw} is greater than max {high}")
    if low is not None and low == high:
        fail(f"{path}.min", f"must be less than max (xAPI Data 2.4.5.1): min and max are both {low}")


def _context(value: Any, path: str, version: str, object_type: str) -> None:
    context = require_dict(value, path)
    v2 = is_v2(version)
    only_keys(context, CONTEXT_KEYS_V2 if v2 else CONTEXT_KEYS, path)
    _optional(context, path, registration=validate_uuid, instructor=_actor, team=_team,
              contextActivities=_context_activities)
    for key in ("revision", "platform"):
        if key in context:
            require_str(context[key], f"{path}.{key}")
            if object_type != "Activity":
                fail(f"{path}.{key}", "is only allowed when the object is an Activity")
    _optional(context, path, language=validate_language_tag, statement=_statement_ref, extensions=validate_extensions,
              contextAgents=_context_agents, contextGroups=_context_groups)


def _team(value: Any, path: str, role: str = "a team") -> None:
    if require_dict(value, path).get("objectType") != "Group":
        fail(f"{path}.objectType", f'must be "Group": {role} is a Group')
    _actor(value, path)


def _context_activities(value: Any, path: str) -> None:
    """Each kind holds an Activity or an array of Activities (arrays are what the LRS returns)."""
    for kind, activities in require_dict(value, path).items():
        kind_path = f"{path}.{kind}"
        if kind not in CONTEXT_ACTIVITY_KINDS:
            fail(kind_path, "must be one of parent, grouping, category, other")
        if type(activities) is list:
            for index, activity in enumerate(activities):
                _activity(activity, f"{kind_path}[{index}]")
        else:
            _activity(activities, kind_path)


def _context_agents(value: Any, path: str) -> None:
    for index, entry in enumerate(require_list(value, path)):
        entry_path = f"{path}[{index}]"
        entry = _context_entry(entry, entry_path, "contextAgent", "agent", CONTEXT_AGENT_KEYS)
        agent = require_dict(entry["agent"], f"{entry_path}.agent")
        if agent.get("objectType", "Agent") != "Agent":
            fail(f"{entry_path}.agent.objectType", 'must be "Agent"')
        _actor(agent, f"{entry_path}.agent")


def _context_groups(value: Any, path: str) -> None:
    for index, entry in enumerate(require_list(value, path)):
        entry_path = f"{path}[{index}]"
        entry = _context_entry(entry, entry_path, "contextGroup", "group", CONTEXT_GROUP_KEYS)
        _team(entry["group"], f"{entry_path}.group", "a contextGroup's group")


def _context_entry(value: Any, path: str, object_type: str, member_key: str, keys: frozenset) -> dict:
    """The shared shape of contextAgent and contextGroup objects (9274.1.1 4.2.2.5)."""
    entry = require_dict(value, path)
    only_keys(entry, keys, path)
    if entry.get("objectType") != object_type:
        fail(f"{path}.objectType", f'must be "{object_type}"')
    require_keys(entry, (member_key,), path)
    if "relevantTypes" in entry:
        types = require_list(entry["relevantTypes"], f"{path}.relevantTypes")
        if not types:
            fail(f"{path}.relevantTypes", "must hold at least one IRI when present")
        for index, iri in enumerate(types):
            validate_iri(iri, f"{path}.relevantTypes[{index}]")
    return entry


def _attachment(value: Any, path: str) -> None:
    attachment = require_dict(value, path)
    only_keys(attachment, ATTACHMENT_KEYS, path)
    require_keys(attachment, ATTACHMENT_REQUIRED, path)
    validate_iri(attachment["usageType"], f"{path}.usageType")
    validate_language_map(attachment["display"], f"{path}.display")
    if "description" in attachment:
        validate_language_map(attachment["description"], f"{path}.description")
    validate_media_type(attachment["contentType"], f"{path}.contentType")
    length = attachment["length"]
    if type(length) is not int or length < 0:
        fail(f"{path}.length", "must be a non-negative integer")
    validate_sha2_hex(attachment["sha2"], f"{path}.sha2")
    if "fileUrl" in attachment:
        validate_irl(attachment["fileUrl"], f"{path}.fileUrl")
