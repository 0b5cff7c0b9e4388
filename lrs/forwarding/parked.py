"""Statements set aside: each failed on its own while the target took others, so the engine
retries it alone, with its own backoff, and lets the rest flow past it. Dead letters an
operator replays come here too. After `max_retry_age` of failing (not as an outage) since its
first failure, a statement becomes a dead letter with its last error.

One document per (target, statement), like dead letters; recording is an upsert keyed by both,
so a worker redoing a round after a crash changes nothing.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Iterable

from pymongo import ASCENDING
from pymongo.database import Database

from lrs.forwarding.dead_letters import letter_id
from lrs.store.indexing import declare_index

COLLECTION = "forwarding.parked"


class Parked:
    def __init__(self, db: Database):
        self.collection = db[COLLECTION]

    def ensure_indexes(self) -> None:
        declare_index(self.collection, [("target", ASCENDING), ("next_attempt", ASCENDING)])

    def park(self, target: str, statement_id: str, seq: int, error: str, status: int | None,
             now: dt.datetime) -> None:
        self.collection.update_one(
            {"_id": letter_id(target, statement_id)},
            {"$setOnInsert": {"target": target, "statement_id": statement_id, "seq": seq, "since": now,
                              "failures": 1, "next_attempt": now},
             "$set": {"last_error": {"at": now, "message": error, "status": status}}},
            upsert=True)

    def due(self, target: str, now: dt.datetime, limit: int) -> list[dict[str, Any]]:
        return list(self.collection.find({"target": target, "next_attempt": {"$lte": now}})
                    .sort("next_attempt", ASCENDING).limit(limit))

    def failed(self, entry: dict, error: str, status: int | None, next_attempt: dt.datetime,
               now: dt.datetime) -> None:
        self.collection.update_one({"_id": entry["_id"]}, {
            "$set": {"next_attempt": next_attempt, "last_error": {"at": now, "message": error, "status": status}},
            "$inc": {"failures": 1}})

    def due_now(self, target: str, now: dt.datetime) -> int:
        """Bring the target's pending retries forward to now (an operator's "retry now"); how many."""
        return self.collection.update_many({"target": target, "next_attempt": {"$gt": now}},
                                           {"$set": {"next_attempt": now}}).modified_count

    def remove(self, target: str, statement_ids: Iterable[str]) -> None:
        ids = [letter_id(target, statement_id) for statement_id in statement_ids]
        if ids:
            self.collection.delete_many({"_id": {"$in": ids}})

    def count(self, target: str) -> int:
        return self.collection.count_documents({"target": target})

    def seqs(self, target: str) -> list[int]:
        return [doc["seq"] for doc in self.collection.find({"target": target}, {"seq": 1})]
