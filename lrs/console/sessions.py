"""Console sign-in sessions, kept server-side in the LRS's store.

The browser holds only a random token (HttpOnly, SameSite=Strict, Secure over https); the store
holds its SHA-256 digest, the credential's key, the session's CSRF token, two ends and the
credential's count of losses when it signed in (`Credential.losses`). So every worker process sees
the same sessions, signing out ends a session everywhere, and revoking the credential, replacing
its secret (a leaked one: whoever signed in with it is out too) or taking away any of its scopes
ends its sessions on their next request, for good: giving `admin` back revives none.

A session ends LIFETIME after sign-in whatever it does, and sooner when no request comes for
LRS_CONSOLE_IDLE_MINUTES (each request moves that end on): a console left open on a shared or
unattended machine is not an admin's for a working day.

A session also carries the notice an action leaves for the page it redirects to ("2 dead letters
marked for replay"), shown once: a notice in the URL would let anyone's link put their own words
in the console's voice.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Callable

from pymongo.database import Database

from lrs.auth import ADMIN_SCOPE, Credential
from lrs.store.credentials import CredentialStore
from lrs.store.indexing import declare_index
from lrs.xapi.timestamps import utc_now

LIFETIME = dt.timedelta(hours=8)


@dataclass(frozen=True)
class ConsoleSession:
    token: str
    credential: Credential
    csrf: str
    notice: str | None = None

    def csrf_matches(self, sent: str | None) -> bool:
        return bool(sent) and hmac.compare_digest(sent.encode(), self.csrf.encode())


class Sessions:
    def __init__(self, db: Database, credentials: CredentialStore, idle: dt.timedelta,
                 clock: Callable[[], dt.datetime] = utc_now):
        self.collection = db["console_sessions"]
        self.credentials = credentials
        self.idle = idle
        self.clock = clock

    def ensure_indexes(self) -> None:
        declare_index(self.collection, "expires", expireAfterSeconds=0)  # MongoDB removes expired ones

    def open(self, credential: Credential) -> str:
        """A new session for an admin credential; returns the token for the cookie."""
        token, now = secrets.token_urlsafe(32), self.clock()
        # MongoDB's TTL index removes expired sessions; the embedded store has none, so they go here.
        # One ended by inactivity stays until then, for its browser's sign-in page to say why (`ended`).
        self.collection.delete_many({"expires": {"$lte": now}})
        self.collection.insert_one({"_id": _digest(token), "key": credential.key, "csrf": secrets.token_urlsafe(32),
                                    "expires": now + LIFETIME, "idle_until": now + self.idle,
                                    "credential_losses": credential.losses})
        return token

    def find(self, token: str | None) -> ConsoleSession | None:
        """The live session of this token, if its credential is still active, an admin, and has
        lost neither its secret nor a scope since."""
        if not token:
            return None
        now = self.clock()
        document = self.collection.find_one({"_id": _digest(token)})
        if document is None or _why_ended(document, now):
            return None
        credential = self.credentials.get(document["key"])
        if (credential is None or not credential.active or ADMIN_SCOPE not in credential.scopes
                or document.get("credential_losses") != credential.losses):  # one of an earlier release too
            return None
        self.collection.update_one({"_id": document["_id"]}, {"$set": {"idle_until": now + self.idle}})
        return ConsoleSession(token, credential, document["csrf"], document.get("notice"))

    def ended(self, token: str | None) -> str | None:
        """Why the session of this token ran out (inactivity, or its whole lifetime), said once:
        the session is removed, so a second page says nothing; None for any other token."""
        document = self.collection.find_one({"_id": _digest(token)}) if token else None
        why = _why_ended(document, self.clock()) if document else None
        if why is None or not self.collection.delete_one({"_id": document["_id"]}).deleted_count:
            return None
        if why == "idle":
            return (f"Your session ended for inactivity: no request for {_minutes(self.idle)} "
                    "(LRS_CONSOLE_IDLE_MINUTES). Sign in again.")
        return f"Your session ended: a session lasts {_minutes(LIFETIME)} at most. Sign in again."

    def leave_notice(self, token: str, notice: str) -> None:
        """What the next page of this session says once, the outcome of the action just done."""
        self.collection.update_one({"_id": _digest(token)}, {"$set": {"notice": notice}})

    def take_notice(self, session: ConsoleSession) -> str | None:
        """The session's notice, removed so that it shows once (by one page if two ask at once)."""
        if session.notice is None:
            return None
        taken = self.collection.update_one({"_id": _digest(session.token), "notice": session.notice},
                                           {"$unset": {"notice": ""}})
        return session.notice if taken.modified_count else None

    def spend(self, session: ConsoleSession, form: str) -> bool:
        """Whether this is the first time the form of id `form` is sent in this session (the
        check and the record are one atomic update, so of two sends at once one wins)."""
        return self.collection.update_one({"_id": _digest(session.token), "spent": {"$ne": form}},
                                          {"$addToSet": {"spent": form}}).modified_count == 1

    def close(self, token: str) -> None:
        self.collection.delete_one({"_id": _digest(token)})


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _why_ended(document: dict, now: dt.datetime) -> str | None:
    """"lifetime", "idle" or None. A session of an earlier release has no idle end: it gets one
    at its next request."""
    if _aware(document["expires"]) <= now:
        return "lifetime"
    if "idle_until" in document and _aware(document["idle_until"]) <= now:
        return "idle"
    return None


def _minutes(span: dt.timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    if minutes % 60 == 0:
        return f"{minutes // 60} hour{'s' if minutes != 60 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
