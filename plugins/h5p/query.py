"""GET /api/xapi/statements: seeds/001's filters turned into one MongoDB query on derived fields.

The query arguments are validated by a marshmallow schema (a 400 names each bad one). Every value
reaching MongoDB is a plain string (query arguments are strings) or a parsed datetime/int, so no
client text can become a query operator.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Mapping

from marshmallow import Schema, ValidationError, fields, pre_load, validate

from lrs import schemas
from lrs.http import params
from lrs.store.statements import StatementStore
from lrs.xapi.errors import XAPIValidationError
from lrs.xapi.timestamps import parse_timestamp
from lrs_plugins.h5p.config import H5PConfig
from lrs_plugins.h5p.submitted import SEED_VERSION, SOURCE

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class _Timestamp(fields.Field):
    """seeds/001 types since and until as ISO 8601, which has a time without a zone and a bare date
    (`since=2026-03-01`); both are read in UTC (the date at midnight), as a 1.0.x statement's
    timestamp is, rather than refused with a 400 that says they are not ISO 8601."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dt.datetime:
        text = value + "T00:00:00Z" if _DATE.fullmatch(value) else value
        try:
            return parse_timestamp(text, SEED_VERSION)
        except XAPIValidationError:
            raise ValidationError(f"must be an ISO 8601 timestamp, got {value!r}") from None


class StatementArgs(Schema):
    """seeds/001's filters (the caller picks them out of the query: others are ignored); an empty
    value is no filter."""

    verb = params.IRI(data_key="verbId", load_default=None)
    object_id = params.IRI(data_key="objectId", load_default=None)
    since = _Timestamp(load_default=None)
    until = _Timestamp(load_default=None)
    limit = params.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(1, MAX_LIMIT))

    @pre_load
    def _without_empty(self, data: Mapping[str, str], **kwargs: Any) -> dict[str, str]:
        return {name: value for name, value in data.items() if value != ""}


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
        loaded = schemas.load(StatementArgs(), args, "query")
        return cls(actor=config.actor_key(actor_id) if actor_id else None, **loaded)

    def mongo_filter(self) -> dict[str, Any]:
        """Only statements stored through this API: the LRS also holds other adapters' and xAPI
        clients' statements, which an H5P credential is not granted."""
        query: dict[str, Any] = {"source": SOURCE}
        if self.actor:
            query.update(agents=self.actor, actor=self.actor)  # `agents` is indexed, `actor` is exact
        if self.verb:
            query["verb"] = self.verb
        if self.object_id:  # `object_id` is exact; the object's Activity id or Agent key is in an indexed field
            query["object_id"] = self.object_id
            query["$or"] = [{"activities": self.object_id}, {"agents": self.object_id}]
        window = {op: value for op, value in (("$gt", self.since), ("$lte", self.until)) if value}
        if window:
            query["timestamp"] = window
        return query

    def statements(self, store: StatementStore) -> list[dict]:
        """Newest first by statement timestamp, as the seeds' index on timestamp DESC suggests."""
        return store.visible(self.mongo_filter(), sort=[("timestamp", -1), ("seq", -1)], limit=self.limit)
