"""Canonical Activity definitions, learnt from the definitions that stored statements carry.

Later definitions refine earlier ones (Data 2.4.4.1: an LRS may make small corrections): a property
a later definition gives replaces the earlier value, except the language maps `name` and
`description` and the `extensions`, which are merged key by key, so a definition in French adds
to one in English. Whether a statement's writer may change definitions at all (the `define`
scope) is decided by the caller (`StatementService.store(..., define=)`).

The canonical definition is bounded (see lrs.store.learnt for why): each merged map keeps at most
MAX_MAP_ENTRIES entries and the definition's JSON at most MAX_DEFINITION_BYTES. Past either, first
come stays: a new entry, or a replacement that would make the definition too big, is left out,
while the statement carrying it is stored as it is. xAPI lets the LRS choose its canonical
definition (Communication 2.5 asks only for an Activity Object; Data 2.4.4.1 lets the LRS decide
whether a provider may change it, and how much). A record grown past the bounds before they
existed is cut to them by the next definition received, keeping its first entries.

One record per Activity: `_id` the Activity id, `definition` the canonical definition as JSON text
(extension keys are IRIs, full of the dots MongoDB field names must avoid), `rev` and `full` (see
lrs.store.learnt).
"""
from __future__ import annotations

import json
from functools import partial
from typing import Any, Iterator

from pymongo.database import Database

from lrs.store.learnt import Refinement, encoded_size, refine_record

MERGED_MAPS = ("name", "description", "extensions")
# Room for a name and a description in every ISO 639-1 language, and for far more extensions than
# real definitions carry.
MAX_MAP_ENTRIES = 250
# A cmi.interaction with 100 choices, each described in 20 languages in 60 characters, is about 150 KB.
MAX_DEFINITION_BYTES = 512 * 1024


class BoundedDefinition:
    """A canonical definition being refined, its encoded size kept current so that each change is
    checked against the bounds without encoding the whole definition again."""

    def __init__(self) -> None:
        self.definition: dict[str, Any] = {}
        self.size = encoded_size(self.definition)
        self.refused = False

    def refine(self, later: dict) -> None:
        """Refine by the definition `later`, as far as the bounds allow."""
        for key, value in later.items():
            if key in MERGED_MAPS and isinstance(value, dict):
                self._merge(key, value)
            else:
                self._put(self.definition, key, value)

    def _merge(self, key: str, entries: dict) -> None:
        added = not isinstance(self.definition.get(key), dict)
        if added and not self._put(self.definition, key, {}):
            return
        target = self.definition[key]
        for name, value in entries.items():
            if name in target or len(target) < MAX_MAP_ENTRIES:
                self._put(target, name, value)
            else:
                self.refused = True
        if added and entries and not target:  # not one entry fitted: no empty map in their place
            self.size -= encoded_size(key) + 3 + (1 if len(self.definition) > 1 else 0)
            del self.definition[key]

    def _put(self, target: dict, key: str, value: Any) -> bool:
        """Set target[key] = value if the definition stays within MAX_DEFINITION_BYTES."""
        if key in target:
            if target[key] == value:
                return True
            grows = encoded_size(value) - encoded_size(target[key])
        else:
            grows = encoded_size(key) + 1 + encoded_size(value) + (1 if target else 0)  # "key":value and a comma
        if self.size + grows > MAX_DEFINITION_BYTES:
            self.refused = True
            return False
        target[key] = value
        self.size += grows
        return True


def refined(stored: dict, later: list[dict]) -> tuple[dict, bool]:
    """The definition `stored` refined by each of `later` in turn, within the bounds, and whether
    anything was left out. `stored` is itself put through them, first come first."""
    bounded = BoundedDefinition()
    for definition in (stored, *later):
        bounded.refine(definition)
    return bounded.definition, bounded.refused


def activities_in(statement: dict) -> Iterator[dict]:
    """Every Activity in the statement: object, context activities, sub-statement."""
    obj = statement.get("object", {})
    if obj.get("objectType", "Activity") == "Activity":
        yield obj
    for group in statement.get("context", {}).get("contextActivities", {}).values():
        yield from group
    if obj.get("objectType") == "SubStatement":
        yield from activities_in(obj)


def defined_activities(statement: dict) -> Iterator[dict]:
    """Every Activity with a definition in the statement."""
    return (activity for activity in activities_in(statement) if "definition" in activity)


class ActivityStore:
    def __init__(self, db: Database):
        self.collection = db["activities"]

    def get(self, activity_id: str) -> dict:
        """The canonical Activity; just its id when no definition was ever received."""
        activity: dict = {"objectType": "Activity", "id": activity_id}
        record = self.collection.find_one({"_id": activity_id})
        if record is not None:
            activity["definition"] = json.loads(record["definition"])
        return activity

    def forget(self, activity_id: str) -> bool:
        """Drop the canonical definition: the next definition received is the first again. An
        operator's remedy for one a client filled with what it should not have ("first come stays")."""
        return self.collection.delete_one({"_id": activity_id}).deleted_count == 1

    def canonicalise(self, statements: list[dict]) -> None:
        """Give every Activity in the statements the canonical definition (format=canonical). Each
        definition is read and parsed once, and shared by the statements that name its Activity."""
        activities = [activity for statement in statements for activity in activities_in(statement)]
        wanted = sorted({activity["id"] for activity in activities})
        known = {record["_id"]: json.loads(record["definition"])
                 for record in self.collection.find({"_id": {"$in": wanted}})}
        for activity in activities:
            if activity["id"] in known:
                activity["definition"] = known[activity["id"]]

    def record(self, statements: list[dict]) -> None:
        """Refine the canonical definitions with those of a stored batch, in statement order."""
        batch: dict[str, list[dict]] = {}
        for statement in statements:
            for activity in defined_activities(statement):
                batch.setdefault(activity["id"], []).append(activity["definition"])
        if not batch:
            return
        known = {record["_id"]: record for record in self.collection.find({"_id": {"$in": sorted(batch)}})}
        for activity_id, definitions in batch.items():
            refine_record(self.collection, activity_id, known.get(activity_id),
                          partial(_refinement, later=definitions), "activity")


def _refinement(record: dict | None, later: list[dict]) -> Refinement:
    stored = {} if record is None else json.loads(record["definition"])
    if record is not None and _within_bounds(record["definition"], stored) and not any(
            _adds_to(stored, definition) for definition in later):
        return Refinement(None, False)  # most batches repeat what is known: no size to count again
    definition, refused = refined(stored, later)
    if record is not None and definition == stored:
        return Refinement(None, refused)
    return Refinement({"definition": json.dumps(definition, ensure_ascii=False, separators=(",", ":"))}, refused)


def _within_bounds(text: str, definition: dict) -> bool:
    """Whether a stored definition keeps the bounds (one from before them may not)."""
    return len(text.encode()) <= MAX_DEFINITION_BYTES and all(
        len(definition.get(key) or ()) <= MAX_MAP_ENTRIES for key in MERGED_MAPS)


def _adds_to(stored: dict, later: dict) -> bool:
    """Whether refining `stored` by `later` could change it: a property or map entry it lacks or
    holds another value of (an empty map where there is none counts: it is kept)."""
    for key, value in later.items():
        if key in MERGED_MAPS and isinstance(value, dict):
            current = stored.get(key)
            if not isinstance(current, dict) or any(current.get(name, _MISSING) != entry
                                                    for name, entry in value.items()):
                return True
        elif stored.get(key, _MISSING) != value:
            return True
    return False


_MISSING = object()
