"""Per-target forwarding state in MongoDB: checkpoint, gaps, lease, retry and counters.

One document per target, and every change is one atomic single-document update. Changes made
by a worker are conditional on that worker still owning the target's lease (and, for the
checkpoint, on the checkpoint being the one it started from), so a worker that lost its lease
(paused, partitioned, or presumed dead) cannot overwrite the work of the one that took over.

`checkpoint`: every statement with a seq at or below it is dealt with (delivered, dead-lettered,
or not wanted by the target's filter), except the seqs listed in `gaps`: numbers that were
allocated but not yet visible when the checkpoint passed them (a concurrent batch still being
written, or a write that failed). They are delivered when they become visible.
"""
from __future__ import annotations

import datetime as dt
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import pymongo
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from lrs.forwarding.delivery import NO_REFUSALS, Refusals

COLLECTION = "forwarding.targets"


@dataclass(frozen=True)
class Gap:
    seq: int
    seen: dt.datetime

    def to_doc(self) -> dict[str, Any]:
        return {"seq": self.seq, "seen": self.seen}


@dataclass(frozen=True)
class TargetState:
    name: str
    checkpoint: int
    gaps: tuple[Gap, ...]
    attempts: int
    next_attempt: dt.datetime | None
    doc: dict

    @classmethod
    def from_doc(cls, doc: dict) -> "TargetState":
        return cls(doc["_id"], doc["checkpoint"], tuple(Gap(g["seq"], g["seen"]) for g in doc.get("gaps", ())),
                   doc.get("attempts", 0), doc.get("next_attempt"), doc)

    @property
    def progress(self) -> "Progress":
        """What an interrupted attempt at the batch after the checkpoint got done: statements
        delivered or dead-lettered, and the parts it had not resolved (see `delivery`)."""
        doc = self.doc.get("progress") or {}
        if doc.get("checkpoint") != self.checkpoint:
            return Progress()
        parts = tuple((tuple(part), 0) if isinstance(part, list) else (tuple(part["ids"]), part["failures"])
                      for part in doc.get("parts", ()))
        return Progress(frozenset(doc.get("done", ())), parts)


@dataclass(frozen=True)
class Progress:
    done: frozenset[str] = frozenset()
    parts: tuple[tuple[tuple[str, ...], int], ...] = ()  # (statement ids, failures in a row)


class TargetStates:
    def __init__(self, db: Database):
        self.collection = db[COLLECTION]

    def get(self, name: str) -> TargetState | None:
        doc = self.collection.find_one({"_id": name})
        return None if doc is None else TargetState.from_doc(doc)

    def create(self, name: str, checkpoint: int, now: dt.datetime) -> None:
        """Start a target at `checkpoint` unless it has state already (then nothing changes)."""
        with suppress(DuplicateKeyError):  # another worker created it at the same moment
            self.collection.update_one({"_id": name}, {"$setOnInsert": {
                "checkpoint": checkpoint, "gaps": [], "delivered": 0, "attempts": 0, "created": now,
                "lease": {"owner": None, "until": now}}}, upsert=True)

    def acquire(self, name: str, owner: str, now: dt.datetime, seconds: float) -> TargetState | None:
        """Take or renew the lease if it is free, expired or already ours; None if another holds it."""
        doc = self.collection.find_one_and_update(
            {"_id": name, "$or": [{"lease.owner": {"$in": [owner, None]}}, {"lease.until": {"$lte": now}}]},
            {"$set": {"lease": {"owner": owner, "until": now + dt.timedelta(seconds=seconds)}}},
            return_document=pymongo.ReturnDocument.AFTER)
        return None if doc is None else TargetState.from_doc(doc)

    def renew(self, name: str, owner: str, now: dt.datetime, seconds: float) -> bool:
        result = self.collection.update_one(
            {"_id": name, "lease.owner": owner},
            {"$set": {"lease.until": now + dt.timedelta(seconds=seconds)}})
        return result.matched_count == 1

    def release(self, name: str, owner: str, now: dt.datetime) -> None:
        self.collection.update_one({"_id": name, "lease.owner": owner},
                                   {"$set": {"lease": {"owner": None, "until": now}}})

    def advance(self, state: TargetState, owner: str, checkpoint: int, gaps: list[Gap],
                delivered: int, now: dt.datetime, refusals: Refusals = NO_REFUSALS) -> bool:
        """Record a finished batch; False if the lease or the checkpoint changed meanwhile. The round
        got through, so an earlier failure is past: `last_error` is cleared (alerts read it as "failing
        now"), `last_error_at` keeps its time. `refusals`: what the next round counts on from."""
        update: dict[str, Any] = {"$set": {"checkpoint": checkpoint, "gaps": [g.to_doc() for g in gaps],
                                           "attempts": 0, "next_attempt": None, "progress": None, "probe": False,
                                           "last_error": None, "refusals": refusals.to_doc(),
                                           **_rate(state.doc, delivered, now)},
                                  "$inc": {"delivered": delivered}}
        if delivered:  # the target takes statements: whatever it refused, it does not refuse them all
            update["$set"].update(last_success=now, refusing_since=None)
        result = self.collection.update_one(
            {"_id": state.name, "lease.owner": owner, "checkpoint": state.checkpoint}, update)
        return result.matched_count == 1

    def failed(self, state: TargetState, owner: str, next_attempt: dt.datetime, error: str,
               status: int | None, now: dt.datetime, progress: Progress | None = None, delivered: int = 0,
               probe: bool | str = False, paused: str | None = None, refusals: Refusals | None = None) -> None:
        """Record a failed attempt and, for the round after the checkpoint, its progress. `probe`:
        the target looked down, so a cheap probe may cut the wait short (see the engine's
        `_probe_mode`). `paused`: why time alone will not fix it ("misconfigured", "refusing":
        the target refuses every statement, since `refusing_since`)."""
        update: dict[str, Any] = {"attempts": state.attempts + 1, "next_attempt": next_attempt, "probe": probe,
                                  "last_error": {"at": now, "message": error, "status": status, "paused": paused},
                                  "last_error_at": now, **_rate(state.doc, delivered, now)}
        if paused == "refusing" and not state.doc.get("refusing_since"):
            update["refusing_since"] = now
        if refusals is not None:
            update["refusals"] = refusals.to_doc()
        if progress is not None:
            update["progress"] = {"checkpoint": state.checkpoint, "done": sorted(progress.done),
                                  "parts": [{"ids": list(ids), "failures": failures} for ids, failures in progress.parts]}
        if delivered:
            update["last_success"] = now
        self.collection.update_one({"_id": state.name, "lease.owner": owner, "checkpoint": state.checkpoint},
                                   {"$set": update, "$inc": {"delivered": delivered, "retries": 1}})

    def probing(self, name: str, owner: str, probe: bool) -> None:
        """What a probe found out after a batch went unanswered: the target is down (probe it until
        it answers) or merely slow for that batch (wait out the backoff)."""
        self.collection.update_one({"_id": name, "lease.owner": owner}, {"$set": {"probe": probe}})

    def succeeded(self, name: str, owner: str, delivered: int, now: dt.datetime) -> None:
        """Count statements delivered outside the checkpoint (replayed dead letters, statements set
        aside): the target takes statements, so no error is current."""
        self.collection.update_one({"_id": name, "lease.owner": owner}, {
            "$set": {"attempts": 0, "next_attempt": None, "last_error": None,
                     **({"last_success": now, "refusing_since": None, "refusals": None} if delivered else {})},
            "$inc": {"delivered": delivered}})

    def remember_size(self, name: str, owner: str, limit: dict | None) -> None:
        """What the worker learnt of the target's body limit (see `sizing`), for the next worker."""
        self.collection.update_one({"_id": name, "lease.owner": owner}, {"$set": {"batch_limit": limit}})

    def retry_now(self, name: str, now: dt.datetime) -> dt.datetime | None:
        """Bring a pending attempt forward to now (an operator's "retry now"); when it was due, or
        None if none was pending. Neither the lease nor the checkpoint changes: the lease holder,
        in whichever process, makes the attempt at its next cycle, as it would have when it was due."""
        doc = self.collection.find_one_and_update({"_id": name, "next_attempt": {"$gt": now}},
                                                  {"$set": {"next_attempt": now}},
                                                  return_document=pymongo.ReturnDocument.BEFORE)
        return None if doc is None else aware(doc["next_attempt"])

    def rewind(self, name: str, checkpoint: int, attempts: int = 3) -> bool:
        """Move the checkpoint (backfill); gaps above it are covered by the scan again, and so is an
        interrupted round's record of what it got done: a backfill resends those statements too,
        even to the checkpoint the round started from (the target may have lost them).

        Conditional on the checkpoint read, so a worker finishing a batch meanwhile is not
        overwritten (nor does it overwrite this: its own update is conditional too).
        """
        for _ in range(attempts):
            state = self.get(name)
            if state is None:
                return False
            gaps = [gap.to_doc() for gap in state.gaps if gap.seq <= checkpoint]
            result = self.collection.update_one(
                {"_id": name, "checkpoint": state.checkpoint},
                {"$set": {"checkpoint": checkpoint, "gaps": gaps, "attempts": 0, "next_attempt": None,
                          "progress": None}})
            if result.matched_count == 1:
                return True
        return False

    def all(self) -> dict[str, TargetState]:
        return {doc["_id"]: TargetState.from_doc(doc) for doc in self.collection.find()}


RATE_WINDOW = dt.timedelta(seconds=10)


def _rate(doc: dict, delivered: int, now: dt.datetime) -> dict[str, Any]:
    """Statements delivered per second, over windows of about RATE_WINDOW (`per_second` is the
    last finished window's); written by the lease holder only, so read-modify-write is safe."""
    window = doc.get("rate") or {"since": now, "count": 0, "per_second": 0.0}
    count, elapsed = window["count"] + delivered, now - aware(window["since"])
    if elapsed < RATE_WINDOW:
        return {"rate": {**window, "count": count}}
    return {"rate": {"since": now, "count": 0, "per_second": count / elapsed.total_seconds()}}


def aware(moment: dt.datetime) -> dt.datetime:
    """Stores created without tz_aware hand back naive UTC datetimes."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
