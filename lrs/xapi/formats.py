"""The `format` parameter of GET /statements: exact, ids or canonical (Communication 2.1.3).

- exact: the statement as stored.
- ids: Agents and identified Groups reduced to objectType and IFI (anonymous Groups keep their
  members, each reduced), Activities to their id, Verbs to their id. The conformance suite checks
  that an Activity comes back with its id alone.
- canonical: Agents and Groups as stored; every language map of a Verb or Activity (display, name,
  description, interaction component descriptions) reduced to the one language the
  Accept-Language list prefers. The definitions are those in the statement: this module does not
  know the store, so the statement's own definition is the canonical one it can offer.
"""
from __future__ import annotations

from typing import Callable

from lrs.xapi.agents import IFIS
from lrs.xapi.validation import ALL_COMPONENT_LISTS

Transform = Callable[[dict], dict]


def format_statement(statement: dict, fmt: str, languages: list[str]) -> dict:
    """The stored `statement` in format `fmt`; `languages` are the Accept-Language ranges by preference."""
    if fmt == "exact":
        return statement
    if fmt == "ids":
        return _rebuild(statement, _agent_ids, _verb_id, _activity_id)
    if fmt == "canonical":
        choose = _LanguageChooser(languages)
        return _rebuild(statement, _same, choose.verb, choose.activity)
    raise ValueError(f"unknown statement format {fmt!r}")


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

    def __init__(self, languages: list[str]):
        self.ranges = [language.lower() for language in languages]

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
        """The best-matching entry; the first entry when no range matches or the map is empty."""
        if not language_map:
            return language_map
        tags = {tag.lower(): tag for tag in language_map}
        for wanted in self.ranges:
            if wanted == "*":
                break
            if wanted in tags:
                return {tags[wanted]: language_map[tags[wanted]]}
            for lowered, tag in tags.items():
                if lowered.startswith(wanted + "-"):
                    return {tag: language_map[tag]}
        first = next(iter(language_map))
        return {first: language_map[first]}
