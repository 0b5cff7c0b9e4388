"""Learner sessions of the Events API (seeds/003), kept in MongoDB.

A session is opened by a SessionEvent LoggedIn and closed by LoggedOut or TimedOut. Its id is the
name-based UUID of its Caliper session IRI (`values.session_uuid`), which is also the xAPI
`registration` of every statement made in it, so a retried LoggedIn finds the same session.

Time-outs: a session created with `requiresHeartbeat` must receive a heartbeat at least every
`caliper_heartbeat_timeout` seconds of server time. One that did not is closed as TimedOut, with
`endedAtTime` left at its last heartbeat (or its start), lazily whenever it is touched (heartbeat,
logout, auto-attach) and by `sweep`, which the Events API runs on each session request. Liveness
uses the server's clock, since clients' event times may be late or skewed; durations use the
clients' event times, since those say when the learner was there.

A session belongs to the OAuth client (credential key) that opened it: only that client can
heartbeat, close or auto-attach to it; to every other client it does not exist.

Documents hold only values this module extracted (strings, booleans, datetimes), never client
JSON, so no client text can become a query operator.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pymongo import ASCENDING, DESCENDING
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from lrs.store.indexing import declare_index

ACTIVE, CLOSED = "active", "closed"
SWEEP_BATCH = 500


@dataclass(frozen=True)
class Session:
    id: str
    iri: str
    learner: str
    client: str
    status: str
    requires_heartbeat: bool
    started_at: dt.datetime
    ended_at: dt.datetime | None
    closed_by: str | None
    login_event: str

    @property
    def duration_seconds(self) -> int:
        end = self.ended_at or self.started_at
        return max(0, round((end - self.started_at).total_seconds()))


class SessionStore:
    def __init__(self, collection: Collection, heartbeat_timeout_seconds: float):
        self.collection = collection
        self.timeout = dt.timedelta(seconds=heartbeat_timeout_seconds)

    def ensure_indexes(self) -> None:
        c = self.collection
        declare_index(c, [("learner", ASCENDING), ("client", ASCENDING), ("status", ASCENDING),
                          ("started_at", DESCENDING)])
        declare_index(c, [("status", ASCENDING), ("requires_heartbeat", ASCENDING), ("last_seen", ASCENDING)])
        declare_index(c, [("close_event", ASCENDING)], sparse=True)

    def open(self, session_id: str, iri: str, learner: str, client: str, started_at: dt.datetime,
             requires_heartbeat: bool, login_event: str, now: dt.datetime) -> Session:
        """Create the session, or return it as it is if it exists (a retried or repeated login;
        the caller checks whose it is)."""
        document = {"_id": session_id, "iri": iri, "learner": learner, "client": client, "status": ACTIVE,
                    "requires_heartbeat": requires_heartbeat, "started_at": started_at, "ended_at": None,
                    "closed_by": None, "login_event": login_event, "close_event": None,
                    "last_seen": now, "created": now}
        try:
            self.collection.insert_one(document)
        except DuplicateKeyError:
            return self.get(session_id, now)  # type: ignore[return-value]
        return _session(document)

    def get(self, session_id: str, now: dt.datetime, client: str | None = None) -> Session | None:
        """The session, if it exists and (when `client` is given) belongs to that client."""
        document = self.collection.find_one({"_id": session_id})
        if not document or (client is not None and document.get("client") != client):
            return None
        return self._expired_if_stale(document, now)

    def active_for(self, learner: str, client: str, now: dt.datetime) -> Session | None:
        """The learner's most recently started session opened by this client that is still open."""
        found = self.collection.find({"learner": learner, "client": client, "status": ACTIVE})
        for document in found.sort("started_at", DESCENDING):
            session = self._expired_if_stale(document, now)
            if session.status == ACTIVE:
                return session
        return None

    def closed_by_event(self, event_id: str, client: str) -> Session | None:
        document = self.collection.find_one({"close_event": event_id, "client": client})
        return _session(document) if document else None

    def close(self, session: Session, how: str, ended_at: dt.datetime, event_id: str, now: dt.datetime) -> Session:
        """Close an open session; a session closed meanwhile is returned as it was closed."""
        self.collection.update_one(
            {"_id": session.id, "status": ACTIVE},
            {"$set": {"status": CLOSED, "closed_by": how, "ended_at": max(ended_at, session.started_at),
                      "close_event": event_id, "closed_at": now}})
        return self.get(session.id, now)  # type: ignore[return-value]

    def heartbeat(self, session: Session, at: dt.datetime, now: dt.datetime) -> Session:
        """Extend an open session's endedAtTime to `at` (never backwards) and note it is alive."""
        ended = max(at, session.ended_at or session.started_at)
        self.collection.update_one({"_id": session.id, "status": ACTIVE},
                                   {"$set": {"ended_at": ended, "last_seen": now}})
        return self.get(session.id, now)  # type: ignore[return-value]

    def sweep(self, now: dt.datetime) -> int:
        """Time out every heartbeat session silent for longer than the timeout; returns how many."""
        stale = self.collection.find({"status": ACTIVE, "requires_heartbeat": True,
                                      "last_seen": {"$lt": now - self.timeout}}).limit(SWEEP_BATCH)
        return sum(1 for document in stale if self._expired_if_stale(document, now).status == CLOSED)

    def _expired_if_stale(self, document: dict, now: dt.datetime) -> Session:
        session = _session(document)
        silent_since = _aware(document["last_seen"])
        if session.status != ACTIVE or not session.requires_heartbeat or silent_since >= now - self.timeout:
            return session
        ended = session.ended_at or session.started_at
        self.collection.update_one(
            {"_id": session.id, "status": ACTIVE},
            {"$set": {"status": CLOSED, "closed_by": "TimedOut", "ended_at": ended, "closed_at": now}})
        return _session(self.collection.find_one({"_id": session.id}))


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None or value.tzinfo:
        return value
    return value.replace(tzinfo=dt.timezone.utc)


def _session(document: dict) -> Session:
    return Session(id=document["_id"], iri=document["iri"], learner=document["learner"],
                   client=document.get("client", ""), status=document["status"], requires_heartbeat=document["requires_heartbeat"],
                   started_at=_aware(document["started_at"]), ended_at=_aware(document.get("ended_at")),
                   closed_by=document.get("closed_by"), login_event=document["login_event"])
