"""The Timeback read side: an index of stored Caliper events, one small document per event, so
that `GET /caliper/events` filters (sensor, time, actor, client) and pages by indexes. The event
itself is read from its statement, where it is kept unchanged; this index holds only what the
filters and the StoredEvent shape need beside it.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.collection import Collection

from lrs.core import LRS
from lrs.store.indexing import declare_index
from lrs_plugins.caliper.mapping import EVENT_EXTENSION
from lrs_plugins.caliper.values import entity_id, format_datetime, parse_datetime, statement_id

CONTEXT_PROPERTIES = ("actor", "object", "generated", "target", "referrer", "edApp", "group", "membership",
                      "session", "federatedSession", "extensions")
NEWEST_FIRST = [("created_at", DESCENDING), ("_id", DESCENDING)]


@dataclass(frozen=True)
class Filters:
    """GET /caliper/events query parameters; dates bound `eventTime` (start inclusive, end exclusive)."""

    client: str
    sensor: str | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    actor_id: str | None = None
    actor_email: str | None = None  # as `email_key` spells it
    event_type: str | None = None

    def query(self) -> dict[str, Any]:
        query: dict[str, Any] = {"client": self.client}
        for field, value in (("sensor", self.sensor), ("actorId", self.actor_id), ("actorEmail", self.actor_email),
                             ("type", self.event_type)):
            if value is not None:
                query[field] = value
        if self.start or self.end:
            query["eventTime"] = {**({"$gte": self.start} if self.start else {}), **({"$lt": self.end} if self.end else {})}
        return query


def numeric_id(sid: str) -> int:
    """The StoredEvent's integer `id`: 52 bits of its statement UUID (exact in JSON and JavaScript)."""
    return int(sid.replace("-", "")[:13], 16)


def actor_email(actor: Any) -> str | None:
    """A TimebackUser's `email`, or `extensions.email` (seeds/002 example 4)."""
    if not isinstance(actor, dict):
        return None
    extensions = actor.get("extensions")
    email = actor.get("email") or (extensions.get("email") if isinstance(extensions, dict) else None)
    return email_key(email) if isinstance(email, str) else None


def email_key(email: str) -> str:
    """The address in lower case, as the listing's `actorEmail` matches it: RFC 5321 lets a mail
    server tell local parts apart by case, but discourages it, and a person's address is typed in
    every case by the people searching for it; two learners whose addresses differ only in case
    are not a case we serve."""
    return email.lower()


class StoredEvents:
    def __init__(self, lrs: LRS, collection: Collection):
        self.lrs = lrs
        self.collection = collection

    def ensure_indexes(self) -> None:
        for field in ("client", "sensor", "actorId", "actorEmail", "type"):
            keys = [("client", ASCENDING)] if field == "client" else [("client", ASCENDING), (field, ASCENDING)]
            declare_index(self.collection, [*keys, *NEWEST_FIRST])
        # A date range's page: its entries (not its events) sorted newest first, the index holding
        # created_at and _id after eventTime. It replaces (client, eventTime), which had them read and sorted.
        declare_index(self.collection, [("client", ASCENDING), ("eventTime", ASCENDING), *NEWEST_FIRST])
        if "client_1_eventTime_1" in self.collection.index_information():
            self.collection.drop_index("client_1_eventTime_1")
        declare_index(self.collection, [("actorId", ASCENDING)])  # erasure of a person

    def record(self, events: list[dict], sensor: str, send_time: str, client: str, now: dt.datetime) -> None:
        """Index events just stored (or found stored already: a re-send heals a missing entry).
        The sensor and sendTime listed stay those of the first send, which its statement keeps."""
        for event in events:
            sid = statement_id(event["id"])
            self.collection.update_one({"_id": sid}, {
                "$set": {"client": client, "eventTime": parse_datetime(event["eventTime"]),
                         "actorId": entity_id(event["actor"]), "actorEmail": actor_email(event["actor"]),
                         "type": event["type"], "updated_at": now},
                "$setOnInsert": {"externalId": event["id"], "sensor": sensor, "sendTime": send_time,
                                 "created_at": now}}, upsert=True)

    def page(self, filters: Filters, limit: int, offset: int) -> tuple[list[dict], int]:
        """One page of StoredEvents, newest first, and the total matching."""
        query = filters.query()
        total = self.collection.count_documents(query)
        entries = list(self.collection.find(query).sort(NEWEST_FIRST).skip(offset).limit(limit))
        return self._stored(entries), total

    def get(self, external_id: str, client: str) -> dict | None:
        entry = self.collection.find_one({"_id": statement_id(external_id), "client": client})
        stored = self._stored([entry]) if entry else []
        return stored[0] if stored else None

    def _stored(self, entries: list[dict]) -> list[dict]:
        # settled only: an event whose batch is still being written is not listed (it may be discarded)
        statements = self.lrs.statement_store.settled(entry["_id"] for entry in entries)
        return [_stored_event(entry, statements[entry["_id"]]) for entry in entries if entry["_id"] in statements]


def kept_event(statement: dict | None) -> dict | None:
    """The Caliper event a statement keeps, as sent."""
    return statement["context"]["extensions"][EVENT_EXTENSION] if statement else None


def _stored_event(entry: dict, statement: dict) -> dict:
    """The StoredEvent shape of the Timeback client, from the kept event and its index entry."""
    event = kept_event(statement)
    stored = {"id": numeric_id(entry["_id"]), "externalId": event["id"], "sensor": entry["sensor"],
              "type": event["type"], "profile": event.get("profile"), "action": event["action"],
              "eventTime": event["eventTime"], "sendTime": entry["sendTime"], "clientAppId": entry["client"],
              "created_at": format_datetime(entry["created_at"]), "updated_at": format_datetime(entry["updated_at"])}
    stored.update({name: event[name] for name in CONTEXT_PROPERTIES if name in event})
    return stored
