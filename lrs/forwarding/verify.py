"""End-to-end check of a target: does it hold every statement it should, with the same content?

Compares the statements this LRS would send the target (visible, not voided, wanted by its filter,
stored from `since` on, as the target's `expected` prepares them) with what the target returns
from its own statement resource (`read_back`), by id and by a digest of what the xAPI comparison
rule compares (so `stored`, `authority`, `timestamp` format and `version` do not count) after the
provenance extension is taken out. Statements the target holds beyond those are not differences.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lrs.forwarding.contract import Outgoing, Target
from lrs.forwarding.provenance import without_provenance
from lrs.forwarding.scan import OUTGOING_FIELDS
from lrs.store.statements import VISIBLE
from lrs.xapi.equality import statement_digest
from lrs.xapi.timestamps import parse_timestamp

if TYPE_CHECKING:  # pragma: no cover
    from lrs.core import LRS


@dataclass
class Verification:
    checked: int = 0
    missing: list[str] = field(default_factory=list)
    different: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.different


def verify(lrs: "LRS", target: Target, since: str | None = None) -> Verification:
    read_back = getattr(target, "read_back", None)
    if read_back is None:
        raise ValueError(f"target {target.options.name} cannot be read back, so it cannot be verified")
    expected = _expected(lrs, target, since)
    held = {statement["id"]: _digest(statement) for statement in read_back(since)}
    result = Verification(checked=len(expected))
    for statement_id, digest in expected.items():
        if statement_id not in held:
            result.missing.append(statement_id)
        elif held[statement_id] != digest:
            result.different.append(statement_id)
    return result


def _expected(lrs: "LRS", target: Target, since: str | None) -> dict[str, str]:
    query: dict[str, Any] = {**target.options.filter.mongo(), **VISIBLE}
    if since:
        query["stored"] = {"$gte": parse_timestamp(since, "2.0.0")}
    prepare = getattr(target, "expected", lambda item: item.statement)
    digests = {}
    for doc in lrs.statement_store.collection.find(query, OUTGOING_FIELDS):
        statement = prepare(Outgoing(doc["_id"], doc["seq"], doc.get("source", "xapi"), json.loads(doc["raw"])))
        if statement is not None:
            digests[doc["_id"]] = _digest(statement)
    return digests


def _digest(statement: dict) -> str:
    return statement_digest(without_provenance(statement))
