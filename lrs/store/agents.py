"""What the LRS knows about each Agent: the names stored statements gave it, by IFI.

The Agents resource answers with a Person object built from this. Names come from every Agent a
statement names (actor, object, group members, instructor, team, 2.0 context agents and groups,
sub-statements; not the authority, which the LRS sets). Records are keyed by the IFI key
(lrs.xapi.agents.ifi_key), so a Person has one identifier; a batch costs one query, plus one
update per agent it gives a new name (a compare-and-set, see lrs.store.learnt).

The names are bounded as canonical definitions are, for the same reasons: at most MAX_NAMES, of
MAX_NAMES_BYTES together (as a JSON list). Past either, first come stays: a new name is left out of
the Person, and the statement giving it stored as it is. A record grown past the bounds before
they existed is cut to them by the next new name, keeping its first names.
"""
from __future__ import annotations

from functools import partial
from typing import Iterator

from pymongo.database import Database

from lrs.store.learnt import Refinement, encoded_size, refine_record
from lrs.xapi.agents import IFIS, ifi_key

MAX_NAMES = 100
MAX_NAMES_BYTES = 64 * 1024


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
        known = {record["_id"]: record for record in self.collection.find({"_id": {"$in": sorted(names)}})}
        for key, found in names.items():
            refine_record(self.collection, key, known.get(key), partial(_refinement, found=found), "agent")


def bounded_names(names: list[str]) -> tuple[list[str], bool]:
    """`names` as far as they fit the bounds, in order (a name too big for the room left does not
    keep out a smaller one after it), and whether any was left out."""
    kept: list[str] = []
    size = encoded_size(kept)
    for name in names:
        grows = encoded_size(name) + (1 if kept else 0)
        if len(kept) < MAX_NAMES and size + grows <= MAX_NAMES_BYTES:
            kept.append(name)
            size += grows
    return kept, len(kept) < len(names)


def _refinement(record: dict | None, found: list[str]) -> Refinement:
    stored = record["names"] if record else []
    kept, refused = bounded_names([*stored, *(name for name in found if name not in stored)])
    return Refinement(None if record and kept == stored else {"names": kept}, refused)
