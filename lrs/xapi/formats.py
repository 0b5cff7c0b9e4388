"""The `format` parameter of GET /statements: exact, ids or canonical (Communication 2.1.3).

- exact: the statement as stored.
- ids: Agents and identified Groups reduced to objectType and IFI (anonymous Groups keep their
  members, each reduced), Activities to their id, Verbs to their id. The conformance suite checks
  that an Activity comes back with its id alone.
- canonical: Agents and Groups as stored; every language map of a Verb or Activity (display, name,
  description, interaction component descriptions) reduced to the one language the
  Accept-Language list prefers (RFC 2616 14.4; a language given q=0 only when the map has no
  other). The definitions are those in the statement: this module does not know the store, so
  the statement's own definition is the canonical one it can offer.

Whatever the format, a reader speaking xAPI 1.0.x gets statements stored under 2.0 in 1.0 form
(`in_version`): 1.0.3 knows neither contextAgents nor contextGroups (Data 2.4.6 lists the only
context properties) nor statement versions beyond 1.0.x (Data 2.4.10), and 1.0.x clients refuse
such statements (TinCanPython cannot read them, nor a page holding one). A dual-version LRS is two
conformant LRSs over one store, each answering in its own version, as Yet Analytics' SQL LRS does
with its strict-version mode. The 2.0 form stays what a 2.0 reader gets.
"""
from __future__ import annotations

import json
from typing import Callable

from lrs.xapi.agents import IFIS
from lrs.xapi.validation import ALL_COMPONENT_LISTS
from lrs.xapi.versions import is_v2

Transform = Callable[[dict], dict]
V2_CONTEXT_KEYS = ("contextAgents", "contextGroups")
# What the stored text of a statement needing the 1.0 form holds: a 2.0.x version or a 2.0 context
# property (in that text digits and key names are never escaped).
_V2_MARKS = ('"2.', *(f'"{key}"' for key in V2_CONTEXT_KEYS))


def format_statement(statement: dict, fmt: str, languages: list[tuple[str, float]], version: str) -> dict:
    """The stored `statement` in format `fmt` for a reader speaking xAPI `version`; `languages` are
    the Accept-Language ranges with their qualities, by preference (quality 0: not acceptable)."""
    statement = in_version(statement, version)
    if fmt == "exact":
        return statement
    if fmt == "ids":
        return _rebuild(statement, _agent_ids, _verb_id, _activity_id)
    if fmt == "canonical":
        choose = _LanguageChooser(languages)
        return _rebuild(statement, _same, choose.verb, choose.activity)
    raise ValueError(f"unknown statement format {fmt!r}")


def exact_text(raw: str, version: str) -> str:
    """format=exact: the stored JSON text `raw` as a reader speaking `version` gets it. Only a text
    that may need the 1.0 form is parsed: a page of 1.0 statements is returned as stored."""
    if is_v2(version) or not any(mark in raw for mark in _V2_MARKS):
        return raw
    statement = json.loads(raw)
    converted = in_version(statement, version)
    return raw if converted is statement else json.dumps(converted, ensure_ascii=False, separators=(",", ":"))


def in_version(statement: dict, version: str) -> dict:
    """The statement a reader speaking `version` gets (the same object when nothing changes).

    A 1.0.x reader gets 1.0 form: contextAgents and contextGroups dropped, from the SubStatement
    too, and a 2.0.x `version` said as 1.0.0, what a 1.0.x LRS gives a statement without one (the
    comparison rule ignores versions). Timestamps need nothing: every one is stored in UTC with a
    "T" and "Z", valid in both versions."""
    if is_v2(version):
        return statement
    converted = _without_v2_context(statement)
    if not statement.get("version", "1.0.0").startswith("1.0"):
        converted = {**converted, "version": "1.0.0"}
    return converted


def _without_v2_context(body: dict) -> dict:
    """The statement (or SubStatement) without 2.0's context properties; an emptied context goes too."""
    rebuilt = body
    context = body.get("context")
    if context is not None and any(key in context for key in V2_CONTEXT_KEYS):
        rebuilt = {**body, "context": {key: value for key, value in context.items() if key not in V2_CONTEXT_KEYS}}
        if not rebuilt["context"]:
            del rebuilt["context"]
    obj = body["object"]
    if obj.get("objectType") == "SubStatement":
        substatement = _without_v2_context(obj)
        if substatement is not obj:
            rebuilt = {**rebuilt, "object": substatement}
    return rebuilt


def _rebuild(statement: dict, agent: Transform, verb: Transform, activity: Transform) -> dict:
    """A copy of the statement with each Agent/Group, Verb and Activity transformed, wherever it is."""
    rebuilt = dict(statement)
    rebuilt["actor"] = agent(statement["actor"])
    rebuilt["verb"] = verb(statement["verb"])
    rebuilt["object"] = _rebuild_object(statement["object"], agent, verb, activity)
    if "authority" in statement:
        rebuilt["authority"] = agent(statement["authority"])
    if "context" in statement:
        rebuilt["context"] = _rebuild_context(statement["context"], agent, activity)
    return rebuilt


def _rebuild_object(obj: dict, agent: Transform, verb: Transform, activity: Transform) -> dict:
    object_type = obj.get("objectType", "Activity")
    if object_type == "Activity":
        return activity(obj)
    if object_type in ("Agent", "Group"):
        return agent(obj)
    if object_type == "SubStatement":
        return _rebuild(obj, agent, verb, activity)
    return obj


def _rebuild_context(context: dict, agent: Transform, activity: Transform) -> dict:
    rebuilt = dict(context)
    for role in ("instructor", "team"):
        if role in context:
            rebuilt[role] = agent(context[role])
    if "contextActivities" in context:
        rebuilt["contextActivities"] = {
            kind: [activity(a) for a in value] if type(value) is list else [activity(value)]
            for kind, value in context["contextActivities"].items()}
    for key, role in (("contextAgents", "agent"), ("contextGroups", "group")):
        if key in context:
            rebuilt[key] = [{**entry, role: agent(entry[role])} for entry in context[key]]
    return rebuilt


def _same(value: dict) -> dict:
    return value


def _agent_ids(agent: dict) -> dict:
    reduced = {"objectType": agent["objectType"]} if "objectType" in agent else {}
    ifi = next((key for key in IFIS if key in agent), None)
    if ifi is not None:
        reduced[ifi] = agent[ifi]
    else:
        reduced["member"] = [_agent_ids(member) for member in agent["member"]]
    return reduced


def _verb_id(verb: dict) -> dict:
    return {"id": verb["id"]}


def _activity_id(activity: dict) -> dict:
    return {"id": activity["id"]}


class _LanguageChooser:
    """Reduces each language map to the entry the Accept-Language ranges prefer (RFC 2616 14.4)."""

    def __init__(self, languages: list[tuple[str, float]]):
        self.ranges = [(language.lower(), quality) for language, quality in languages]

    def verb(self, verb: dict) -> dict:
        if "display" not in verb:
            return verb
        return {**verb, "display": self.one_language(verb["display"])}

    def activity(self, activity: dict) -> dict:
        if "definition" not in activity:
            return activity
        definition = dict(activity["definition"])
        for key in ("name", "description"):
            if key in definition:
                definition[key] = self.one_language(definition[key])
        for key in ALL_COMPONENT_LISTS:
            if key in definition:
                definition[key] = [self._component(component) for component in definition[key]]
        return {**activity, "definition": definition}

    def _component(self, component: dict) -> dict:
        if "description" not in component:
            return component
        return {**component, "description": self.one_language(component["description"])}

    def one_language(self, language_map: dict) -> dict:
        """The acceptable entry of the highest quality, the earlier range winning a tie. With none
        acceptable, the first entry no range names (not excluded), else the first entry: a map the
        client excluded entirely (q=0) still shows one language, as RFC 2616 lets a server answer in
        a language the client did not ask for rather than refuse (406), and canonical keeps one."""
        if not language_map:
            return language_map
        ranks = {tag: self._rank(tag) for tag in language_map}
        acceptable = [tag for tag, rank in ranks.items() if rank and rank[0] > 0]
        if acceptable:
            best = max(acceptable, key=ranks.__getitem__)
        else:
            best = next((tag for tag, rank in ranks.items() if rank is None), next(iter(language_map)))
        return {best: language_map[best]}

    def _rank(self, tag: str) -> tuple[float, int] | None:
        """(quality, -position) of the longest range matching `tag`, "*" being shorter than any:
        the tag's quality by RFC 2616 14.4; None when no range matches it."""
        lowered = tag.lower()
        matching = [(-1 if wanted == "*" else len(wanted), quality, -position)
                    for position, (wanted, quality) in enumerate(self.ranges)
                    if wanted in ("*", lowered) or lowered.startswith(wanted + "-")]
        return max(matching)[1:] if matching else None
