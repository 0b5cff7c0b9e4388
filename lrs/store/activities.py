"""Canonical Activity definitions, learnt from the definitions that stored statements carry.

Later definitions refine earlier ones (Data 2.4.4.1: an LRS may make small corrections): a property
a later definition gives replaces the earlier value, except the language maps `name` and
`description` and the `extensions`, which are merged key by key, so a definition in French adds
to one in English. Whether a statement's writer may change definitions at all (the `define`
scope) is decided by the caller (`StatementService.store(..., define=)`).

One record per Activity: `_id` the Activity id, `definition` the canonical definition as JSON text
(extension keys are IRIs, full of the dots MongoDB field names must avoid), and `rev`, a counter
each update compares and sets, so concurrent batches refine a definition one after the other and
never lose each other's languages.
"""
from __future__ import annotations

import json
import logging
from typing import Iterator

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

log = logging.getLogger(__name__)

MERGED_MAPS = ("name", "description", "extensions")
MAX_ATTEMPTS = 16


def refine(earlier: dict, later: dict) -> dict:
    """The definition `earlier` refined by `later`."""
    refined = {**earlier, **later}
    for key in MERGED_MAPS:
        if isinstance(earlier.get(key), dict) and isinstance(later.get(key), dict):
            refined[key] = {**earlier[key], **later[key]}
    return refined


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

    def canonicalise(self, statements: list[dict]) -> None:
        """Give every Activity in the statements the canonical definition (format=canonical)."""
        activities = [activity for statement in statements for activity in activities_in(statement)]
        wanted = sorted({activity["id"] for activity in activities})
        known = {record["_id"]: record["definition"] for record in self.collection.find({"_id": {"$in": wanted}})}
        for activity in activities:
            if activity["id"] in known:
                activity["definition"] = json.loads(known[activity["id"]])

    def record(self, statements: list[dict]) -> None:
        """Refine the canonical definitions with those of a stored batch, in statement order."""
        batch: dict[str, dict] = {}
        for statement in statements:
            for activity in defined_activities(statement):
                batch[activity["id"]] = refine(batch.get(activity["id"], {}), activity["definition"])
        if not batch:
            return
        known = {record["_id"]: record for record in self.collection.find({"_id": {"$in": sorted(batch)}})}
        for activity_id, definition in batch.items():
            self._refine(activity_id, definition, known.get(activity_id))

    def _refine(self, activity_id: str, definition: dict, record: dict | None) -> None:
        for _ in range(MAX_ATTEMPTS):
            current = {} if record is None else json.loads(record["definition"])
            refined = refine(current, definition)
            if record is not None and refined == current:
                return
            text = json.dumps(refined, ensure_ascii=False, separators=(",", ":"))
            try:
                if record is None:
                    self.collection.insert_one({"_id": activity_id, "definition": text, "rev": 0})
                    return
                if self.collection.update_one({"_id": activity_id, "rev": record["rev"]},
                                              {"$set": {"definition": text}, "$inc": {"rev": 1}}).matched_count:
                    return
            except DuplicateKeyError:
                pass
            record = self.collection.find_one({"_id": activity_id})
        # The statements are stored already; failing their request now would only make clients retry.
        log.warning("activity %s: definition not refined, it kept changing concurrently", activity_id)
