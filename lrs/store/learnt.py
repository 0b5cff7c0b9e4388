"""Records the LRS learns from stored statements (canonical Activities, Persons): refined by
compare-and-set, and bounded.

Each record has a `rev` counter every update compares and sets, so concurrent batches refine a
record one after the other and never lose each other's entries (a record from before `rev` has
none, which the filter `rev: None` matches). Records are bounded because every client with the
`define` scope adds to them: unbounded, one client's junk made every later statement, GET and
format=canonical read about the same Activity slow for everyone, and past 16 MB MongoDB refused
the record. When a refinement leaves something out for the bound, the record is marked `full`,
which is logged once, by the update that marks it.
"""
from __future__ import annotations

import json
import logging
from typing import Any, Callable, NamedTuple

from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 16


class Refinement(NamedTuple):
    fields: dict[str, Any] | None  # the record's new fields; None when they do not change
    refused: bool  # something was left out for the bound


def encoded_size(value: Any) -> int:
    """Bytes of `value` as the LRS stores and serves it (compact UTF-8 JSON)."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def refine_record(collection: Collection, key: str, record: dict | None,
                  refine: Callable[[dict | None], Refinement], what: str) -> None:
    """Store `refine(record)` as the record of `key`, re-reading and refining again when another
    batch changed it meanwhile. `what` names the record in the log."""
    for _ in range(MAX_ATTEMPTS):
        fields, refused = refine(record)
        newly_full = refused and not (record or {}).get("full")
        if fields is None and not newly_full:
            return
        update = {**(fields or {}), **({"full": True} if newly_full else {})}
        if _compare_and_set(collection, key, record, update):
            if newly_full:
                log.warning("%s %s reached its bounds: what does not fit them is no longer kept (the statements "
                            "carrying it are stored)", what, key)
            return
        record = collection.find_one({"_id": key})
    # The statements are stored already; failing their request now would only make clients retry.
    log.warning("%s %s: not refined, it kept changing concurrently", what, key)


def _compare_and_set(collection: Collection, key: str, record: dict | None, update: dict) -> bool:
    try:
        if record is None:
            collection.insert_one({"_id": key, **update, "rev": 0})
            return True
        return bool(collection.update_one({"_id": key, "rev": record.get("rev")},
                                          {"$set": update, "$inc": {"rev": 1}}).matched_count)
    except DuplicateKeyError:  # inserted by another batch meanwhile
        return False
