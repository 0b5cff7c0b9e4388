"""What the LRS knows about each Agent: the names stored statements gave it, by IFI.

The Agents resource answers with a Person object built from this. Names come from every Agent a
statement names (actor, object, group members, instructor, team, 2.0 context agents and groups,
sub-statements; not the authority, which the LRS sets). Records are keyed by the IFI key
(lrs.xapi.agents.ifi_key) and grow with `$addToSet`; a batch costs one query, plus one upsert per
agent it gives a new name.
"""
from __future__ import annotations

from typing import Iterator

from pymongo.database import Database

from lrs.xapi.agents import IFIS, ifi_key


def named_agents(statement: dict) -> Iterator[dict]:
    """Every Agent or Group object in the statement, members included."""
    obj = statement.get("object", {})
    candidates = [statement.get("actor"), obj if obj.get("objectType") in ("Agent", "Group") else None]
    context = statement.get("context", {})
    candidates += [context.get("instructor"), context.get("team")]
    candidates += [entry.get("agent") for entry in context.get("contextAgents", ()) if isinstance(entry, dict)]
    candidates += [entry.get("group") for entry in context.get("contextGroups", ()) if isinstance(entry, dict)]
    for agent in candidates:
        if isinstance(agent, dict) and agent.get("objectType", "Agent") in ("Agent", "Group"):
            yield agent
            yield from agent.get("member", ())
    if obj.get("objectType") == "SubStatement":
        yield from named_agents(obj)


def person(agent: dict, names: list[str]) -> dict:
    """A Person object (Communication 2.4) for `agent`: its IFI and every name known for it."""
    found: dict = {"objectType": "Person"}
    if names:
        found["name"] = names
    for ifi in IFIS:
        if ifi in agent:
            found[ifi] = [agent[ifi]]
    return found


class AgentStore:
    def __init__(self, db: Database):
        self.collection = db["agents"]

    def names(self, agent: dict) -> list[str]:
        record = self.collection.find_one({"_id": ifi_key(agent)})
        return list(record["names"]) if record else []

    def record(self, statements: list[dict]) -> None:
        names: dict[str, list[str]] = {}
        for statement in statements:
            for agent in named_agents(statement):
                key = ifi_key(agent)
                if key is not None and isinstance(agent.get("name"), str):
                    names.setdefault(key, [])
                    if agent["name"] not in names[key]:
                        names[key].append(agent["name"])
        if not names:
            return
        known = {record["_id"]: record["names"] for record in self.collection.find({"_id": {"$in": sorted(names)}})}
        for key, found in names.items():
            new = [name for name in found if name not in known.get(key, ())]
            if new:
                self.collection.update_one({"_id": key}, {"$addToSet": {"names": {"$each": new}}}, upsert=True)
