"""Statements a target refused because of their content, kept with the target's answer.

One document per (target, statement), written with an upsert keyed by both, so recording the
same refusal twice (a worker that died after recording it redoes its batch) changes nothing.
`replay` marks letters an operator asked to send again; the worker picks them up.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Iterable

from pymongo import ASCENDING
from pymongo.database import Database

from lrs.store.indexing import declare_index

COLLECTION = "forwarding.dead_letters"


def letter_id(target: str, statement_id: str) -> str:
    return f"{target}|{statement_id}"


class DeadLetters:
    def __init__(self, db: Database):
        self.collection = db[COLLECTION]

    def ensure_indexes(self) -> None:
        declare_index(self.collection, [("target", ASCENDING), ("seq", ASCENDING)])
        declare_index(self.collection, [("target", ASCENDING), ("replay", ASCENDING)])

    def record(self, target: str, statement_id: str, seq: int, status: int | None, reason: str,
               now: dt.datetime) -> None:
        self.collection.update_one(
            {"_id": letter_id(target, statement_id)},
            {"$set": {"target": target, "statement_id": statement_id, "seq": seq, "status": status,
                      "reason": reason, "at": now, "replay": False},
             "$inc": {"refusals": 1}},
            upsert=True)

    def clear(self, target: str, statement_ids: Iterable[str]) -> None:
        """Delivered statements are no dead letters (any more)."""
        ids = [letter_id(target, statement_id) for statement_id in statement_ids]
        if ids:
            self.collection.delete_many({"_id": {"$in": ids}})

    def count(self, target: str) -> int:
        return self.collection.count_documents({"target": target})

    def page(self, target: str, after_seq: int = -1, limit: int = 100) -> list[dict[str, Any]]:
        """Dead letters of a target in statement order, `limit` at a time after `after_seq`."""
        cursor = (self.collection.find({"target": target, "seq": {"$gt": after_seq}}, {"_id": 0})
                  .sort("seq", ASCENDING).limit(limit))
        return list(cursor)

    def mark_for_replay(self, target: str, statement_ids: list[str] | None = None) -> int:
        """Ask for these letters (all of the target's when None) to be sent again."""
        query: dict[str, Any] = {"target": target}
        if statement_ids is not None:
            query["_id"] = {"$in": [letter_id(target, statement_id) for statement_id in statement_ids]}
        return self.collection.update_many(query, {"$set": {"replay": True}}).matched_count

    def unmark(self, target: str, statement_ids: list[str]) -> None:
        """Letters whose replay is over (their refusals are recorded again, or they are gone)."""
        ids = [letter_id(target, statement_id) for statement_id in statement_ids]
        self.collection.update_many({"_id": {"$in": ids}}, {"$set": {"replay": False}})

    def to_replay(self, target: str, limit: int) -> list[dict[str, Any]]:
        return list(self.collection.find({"target": target, "replay": True}, {"statement_id": 1, "seq": 1})
                    .sort("seq", ASCENDING).limit(limit))
