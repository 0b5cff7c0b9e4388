"""GET /api/xapi/statements: seeds/001's filters turned into one MongoDB query on derived fields.

Every value reaching MongoDB is a plain string (query arguments are strings) or a parsed
datetime/int, so no client text can become a query operator.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Mapping

from lrs.errors import BadRequest
from lrs.store.statements import StatementStore
from lrs.xapi.errors import XAPIValidationError
from lrs.xapi.timestamps import parse_timestamp
from plugins.h5p.config import H5PConfig

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


@dataclass(frozen=True)
class StatementFilter:
    actor: str | None
    verb: str | None
    object_id: str | None
    since: dt.datetime | None
    until: dt.datetime | None
    limit: int

    @classmethod
    def from_args(cls, args: Mapping[str, str], actor_id: str | None, config: H5PConfig) -> "StatementFilter":
        """`actor_id` is the already authorised actorId (the caller's own id for learners)."""
        return cls(
            actor=config.actor_key(actor_id) if actor_id else None,
            verb=args.get("verbId") or None,
            object_id=args.get("objectId") or None,
            since=_timestamp(args, "since"),
            until=_timestamp(args, "until"),
            limit=_limit(args.get("limit")),
        )

    def mongo_filter(self) -> dict[str, Any]:
        query: dict[str, Any] = {}
        if self.actor:
            query.update(agents=self.actor, actor=self.actor)  # `agents` is indexed, `actor` is exact
        if self.verb:
            query["verb"] = self.verb
        if self.object_id:
            query["object_id"] = self.object_id
        window = {op: value for op, value in (("$gt", self.since), ("$lte", self.until)) if value}
        if window:
            query["timestamp"] = window
        return query

    def statements(self, store: StatementStore) -> list[dict]:
        """Newest first by statement timestamp, as the seeds' index on timestamp DESC suggests."""
        return store.visible(self.mongo_filter(), sort=[("timestamp", -1), ("seq", -1)], limit=self.limit)


def _timestamp(args: Mapping[str, str], name: str) -> dt.datetime | None:
    if not args.get(name):
        return None
    try:
        return parse_timestamp(args[name], "2.0.0")
    except XAPIValidationError:
        raise BadRequest(f"{name} must be an ISO 8601 timestamp, got {args[name]!r}") from None


def _limit(value: str | None) -> int:
    if value is None or value == "":
        return DEFAULT_LIMIT
    if not re.fullmatch("[0-9]{1,9}", value) or not 1 <= int(value) <= MAX_LIMIT:
        raise BadRequest(f"limit must be a whole number from 1 to {MAX_LIMIT}, got {value!r}")
    return int(value)
