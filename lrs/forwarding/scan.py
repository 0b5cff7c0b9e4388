"""Choosing a target's next batch from the statement store, without ever skipping a statement.

Sequence numbers are allocated before a batch is inserted, and batches are revealed (their
`pending` marker removed) in whatever order their writes finish, so a statement with a lower seq
can become visible after one with a higher seq, even while a scan is reading. The scan therefore
never trusts "everything up to the highest seq I saw": every seq it passes without taking it into
the batch is remembered as a gap, unless it is visible and the target's filter does not want it.
Gaps are looked at again on every later scan, until they are visible (and then delivered if the
filter wants them) or clearly abandoned (no document at all for longer than the grace period: a
write that failed after allocating its numbers, whose statements were never acknowledged).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.collection import Collection

from lrs.forwarding.contract import Outgoing, TargetOptions
from lrs.forwarding.state import Gap, TargetState
from lrs.store.statements import BEING_WRITTEN, SETTLED
from lrs.xapi.errors import XAPIValidationError
from lrs.xapi.timestamps import parse_timestamp

log = logging.getLogger(__name__)

OUTGOING_FIELDS = {"raw": 1, "seq": 1, "source": 1, "attachments": 1}
SCAN_WINDOW = 10_000  # the most seqs one scan steps over, so a sparse filter keeps scans small


@dataclass(frozen=True)
class Plan:
    """A batch to deliver and the target's checkpoint and gaps once it is dealt with."""

    batch: list[Outgoing]
    checkpoint: int
    gaps: list[Gap]


def parse_since(value: str | None) -> str | None:
    """Check a target's `since` option: None, "now" or an RFC 3339 time."""
    if value is None or value == "now":
        return value
    try:
        parse_timestamp(value, "2.0.0")
    except XAPIValidationError:
        raise ValueError(f"since: expected \"now\" or an RFC 3339 time, got {value!r}") from None
    return value


class Scanner:
    def __init__(self, statements: Collection, grace_seconds: float, attachments: Any = None,
                 window: int = SCAN_WINDOW):
        self.statements = statements
        self.attachments = attachments  # the AttachmentStore, where outgoing contents are read
        self.grace = dt.timedelta(seconds=grace_seconds)
        self.window = window

    def plan(self, state: TargetState, options: TargetOptions, now: dt.datetime, size: int | None = None) -> Plan:
        """The next `size` (default: a batch) statements to deliver, gaps that became visible first."""
        wanted, size = options.filter.mongo(), size or options.batch_size
        due, kept_gaps = self._from_gaps(state.gaps, wanted, size, now)
        ahead, checkpoint, new_gaps = self._ahead(state.checkpoint, wanted, size - len(due), now)
        return Plan(due + ahead, checkpoint, kept_gaps + new_gaps)

    def _from_gaps(self, gaps: tuple[Gap, ...], wanted: dict, limit: int,
                   now: dt.datetime) -> tuple[list[Outgoing], list[Gap]]:
        """Gaps that became visible (at most `limit` of them) are resolved; the rest are kept
        unless nothing was ever written for them for longer than the grace period."""
        if not gaps:
            return [], []
        found = self.statements.find({"seq": {"$in": [gap.seq for gap in gaps]}}, {"seq": 1, "pending": 1})
        states = {doc["seq"]: "pending" in doc for doc in found}
        resolved = sorted(seq for seq, pending in states.items() if not pending)[:limit]
        due = self.outgoing({**wanted, "seq": {"$in": resolved}}, limit) if resolved else []
        kept = []
        for gap in gaps:
            if gap.seq in resolved:
                continue
            if gap.seq not in states and now - gap.seen > self.grace:
                log.warning("forwarding: seq %d never became visible in %s; its write failed", gap.seq, self.grace)
                continue
            kept.append(gap)
        return due, kept

    def _ahead(self, checkpoint: int, wanted: dict, room: int,
               now: dt.datetime) -> tuple[list[Outgoing], int, list[Gap]]:
        """The next wanted statements after the checkpoint, up to the highest visible seq."""
        if room <= 0:
            return [], checkpoint, []
        found = self.outgoing({**wanted, "seq": {"$gt": checkpoint}}, room)
        if len(found) == room:
            upper = found[-1].seq
        else:
            top = self.statements.find_one({**SETTLED, "seq": {"$gt": checkpoint}}, {"seq": 1},
                                           sort=[("seq", DESCENDING)])
            if top is None:
                return [], checkpoint, []
            upper = top["seq"]
        upper = min(upper, checkpoint + self.window)
        batch = [item for item in found if item.seq <= upper]
        return batch, upper, self._gaps(checkpoint, upper, {item.seq for item in batch}, wanted, now)

    def _gaps(self, checkpoint: int, upper: int, taken: set[int], wanted: dict, now: dt.datetime) -> list[Gap]:
        """Every seq in (checkpoint, upper] not taken into the batch is a gap, unless it is visible
        and the filter does not want it. Statements are never assumed seen just because they are
        visible now: one that became visible after the batch was read is a gap, sent next time."""
        missing = set(range(checkpoint + 1, upper + 1)) - taken
        if missing and wanted:
            unwanted = self.statements.find({**SETTLED, "seq": {"$gt": checkpoint, "$lte": upper}, "$nor": [wanted]},
                                            {"seq": 1, "_id": 0})
            missing -= {doc["seq"] for doc in unwanted}
        return [Gap(seq, now) for seq in sorted(missing)]

    def outgoing(self, query: dict[str, Any], limit: int) -> list[Outgoing]:
        """Visible statements matching `query`, in seq order, with their stored attachments."""
        docs = list(self.statements.find({**query, **SETTLED}, OUTGOING_FIELDS).sort("seq", ASCENDING).limit(limit))
        wanted = [sha2 for doc in docs for sha2 in doc.get("attachments") or ()]
        stored = self.attachments.stored(wanted) if wanted and self.attachments is not None else {}
        return [Outgoing(doc["_id"], doc["seq"], doc.get("source", "xapi"), json.loads(doc["raw"]),
                         tuple(stored[sha2.lower()] for sha2 in doc.get("attachments") or () if sha2.lower() in stored))
                for doc in docs]

    def backlog(self, state: TargetState, options: TargetOptions) -> int:
        """Statements the target wants that it has not received yet: all those after the
        checkpoint, less those still being written. Counting only SETTLED ones checked each
        statement for its `pending` marker: 0.1-0.3 s at 100,000 waiting on the embedded store,
        under its lock, at every /metrics scrape and console page, while writes waited."""
        after = {**options.filter.mongo(), "seq": {"$gt": state.checkpoint}}
        ahead = self.statements.count_documents(after) - self.statements.count_documents({**after, **BEING_WRITTEN})
        if not state.gaps:
            return max(0, ahead)  # a batch settled between the two counts
        wanted = {**options.filter.mongo(), **SETTLED}
        return max(0, ahead) + self.statements.count_documents({**wanted, "seq": {"$in": [g.seq for g in state.gaps]}})

    def oldest(self, state: TargetState, options: TargetOptions, parked: list[int]) -> dt.datetime | None:
        """When the oldest statement the target wants and has not received was stored."""
        candidates = [{"seq": {"$gt": state.checkpoint}}, {"seq": {"$in": [g.seq for g in state.gaps] + parked}}]
        first = self.statements.find_one({**options.filter.mongo(), **SETTLED, "$and": [{"$or": candidates}]},
                                         {"stored": 1}, sort=[("seq", ASCENDING)])
        return None if first is None else first["stored"]

    def seq_at(self, since: str | None) -> int:
        """The checkpoint that makes a target start at `since` (see `parse_since`)."""
        if since is None:
            return 0
        if since != "now":
            first = self.statements.find_one({**SETTLED, "stored": {"$gte": parse_timestamp(since, "2.0.0")}},
                                             {"seq": 1}, sort=[("seq", ASCENDING)])
            if first is not None:
                return first["seq"] - 1
        last = self.statements.find_one({}, {"seq": 1}, sort=[("seq", DESCENDING)])
        return last["seq"] if last else 0
