"""What the Events API does with sessions: SessionEvents, auto-attach and heartbeats (seeds/003).

Every SessionEvent is also stored as a statement (registration = the session id). The statement
is stored before the session changes, and both steps are idempotent, so a client that retries
after a failure between them ends with both done once.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from lrs.auth import Credential
from lrs.core import LRS
from lrs.errors import BadRequest, Conflict, NotFound
from lrs_plugins.caliper.ingest import Item, store_events
from lrs_plugins.caliper.mapping import Origin
from lrs_plugins.caliper.sessions import ACTIVE, Session, SessionStore
from lrs_plugins.caliper.values import (
    AUTO_ATTACH,
    canonical_event_id,
    entity_id,
    format_datetime,
    parse_datetime,
    session_iri,
    session_uuid,
    statement_id,
)
from lrs_plugins.caliper.vocabulary import canonical_action


@dataclass(frozen=True)
class Request:
    """One valid event of the Events API and what came with it."""

    path: str
    event: dict
    sensor: str | None
    credential: Credential
    now: dt.datetime


def learner(event: dict) -> str:
    """Whose session an event belongs to: the assignee of an Attempt (a GradeEvent's learner,
    whose actor is the grading application), otherwise the actor."""
    target = event.get("object")
    assignee = entity_id(target.get("assignee")) if isinstance(target, dict) else None
    return assignee or entity_id(event["actor"]) or ""


class SessionEvents:
    def __init__(self, lrs: LRS, sessions: SessionStore, home_page: str):
        self.lrs = lrs
        self.sessions = sessions
        self.home_page = home_page

    def origin(self, request: Request, attached: str | None = None) -> Origin:
        return Origin(sensor=request.sensor, session_iri=attached, home_page=self.home_page)

    def attached_session(self, request: Request) -> str | None:
        """The IRI of the learner's active session, for `session: urn:tag:auto-attach`."""
        if entity_id(request.event.get("session")) != AUTO_ATTACH:
            return None
        session = self.sessions.active_for(learner(request.event), request.credential.key, request.now)
        return session.iri if session else None

    def handle(self, request: Request) -> dict:
        """The response body for a SessionEvent; raises NotFound/BadRequest."""
        action = canonical_action(request.event["action"])
        if action == "LoggedIn":
            return self._login(request)
        return self._close(request, action)

    def _store(self, request: Request, session_iri_: str) -> None:
        item = Item(0, request.path, request.event, self.origin(request, session_iri_))
        store_events(self.lrs, [item], request.credential)

    def _login(self, request: Request) -> dict:
        event, event_id = request.event, canonical_event_id(request.event["id"])
        iri = session_iri(event) or f"urn:uuid:{statement_id(event['id'])}"
        session_id = session_uuid(iri)
        existing = self.sessions.get(session_id, request.now)
        _check_owner(existing, request, iri)
        if existing and existing.status != ACTIVE and existing.login_event != event_id:
            raise BadRequest(f"session {session_id} ({iri}) has already ended; start a new session")
        self._store(request, iri)
        details = event.get("session") if isinstance(event.get("session"), dict) else {}
        started = parse_datetime(details.get("startedAtTime")) or parse_datetime(event["eventTime"])
        extensions = details.get("extensions") if isinstance(details.get("extensions"), dict) else {}
        opened = self.sessions.open(session_id, iri, learner(event), request.credential.key, started,
                                    extensions.get("requiresHeartbeat") is True, event_id, request.now)
        _check_owner(opened, request, iri)  # another client may have opened it meanwhile
        return {"status": "created", "sessionId": session_id}

    def _close(self, request: Request, action: str) -> dict:
        event, event_id = request.event, canonical_event_id(request.event["id"])
        session = (self.sessions.closed_by_event(event_id, request.credential.key)
                   or self._session_to_close(request, action))
        self._store(request, session.iri)
        if session.status == ACTIVE:
            session = self.sessions.close(session, action, self._ended_at(event, action), event_id, request.now)
        return {"status": "closed", "sessionId": session.id, "durationInSeconds": session.duration_seconds}

    def _session_to_close(self, request: Request, action: str) -> Session:
        """TimedOut names the Session as its object; LoggedOut names it, or means the active one."""
        event = request.event
        named = entity_id(event["object"]) if action == "TimedOut" else session_iri(event)
        if named:
            session = self.sessions.get(session_uuid(named), request.now, request.credential.key)
            if session is None:
                raise NotFound(f"session {named} is not known to this LRS (no LoggedIn was received for it)")
            return session
        session = self.sessions.active_for(learner(event), request.credential.key, request.now)
        if session is None:
            raise NotFound(f"no active session for {learner(event)}")
        return session

    @staticmethod
    def _ended_at(event: dict, action: str) -> dt.datetime:
        target = event.get("object")
        if action == "TimedOut" and isinstance(target, dict):
            ended = parse_datetime(target.get("endedAtTime"))
            if ended:
                return ended
        return parse_datetime(event["eventTime"])  # type: ignore[return-value]

    def heartbeat(self, session_id: str, client: str, at: dt.datetime, now: dt.datetime) -> dict:
        """Only the client that opened the session may extend it; to others it is not found."""
        session = self.sessions.get(session_id, now, client)
        if session is None:
            raise NotFound(f"session {session_id} not found")
        if not session.requires_heartbeat:
            raise BadRequest(f"session {session_id} was not created with requiresHeartbeat: true")
        if session.status != ACTIVE:
            raise BadRequest(f"session {session_id} is closed ({session.closed_by})")
        session = self.sessions.heartbeat(session, at, now)
        return {"status": "ok", "sessionId": session.id, "endedAtTime": format_datetime(session.ended_at or at)}


def _check_owner(session: Session | None, request: Request, iri: str) -> None:
    """A LoggedIn for a session another client opened is refused (the ids are derived from the
    IRI, so the session cannot simply be a different one)."""
    if session is not None and session.client != request.credential.key:
        raise Conflict(f"session {iri} was opened by another client; start a session with an IRI of your own")
