"""OAuth 2.0 client credentials (RFC 6749 section 4.4) for the clients of seeds/002 and seeds/003.

The client id and secret are an ordinary LRS credential holding the scope `caliper/events.write`
(`lrs credentials create --scope caliper/events.write`), so they are hashed, listed and revoked
like every other. The Bearer tokens issued for them are opaque random strings; only their SHA-256
digest is stored, with the client, the granted OAuth scopes and an expiry. A token stops working
when it expires, or at once when its credential is revoked, gets a new secret or loses a scope:
for good, even if the scope is given back (the credential records when a scope was last taken
away, so every process, on any store, compares the token's issue time with it).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Iterable

from pymongo import ASCENDING
from pymongo.collection import Collection
from werkzeug.datastructures import Authorization

from lrs.auth import Credential
from lrs.core import LRS
from lrs.errors import Forbidden, Unauthorized

LRS_SCOPE = "caliper/events.write"
EVENTS_WRITE = "events.write"  # seeds/003
EVENT_CREATE = "https://purl.imsglobal.org/spec/caliper/v1p1/scope/event.create"  # seeds/002
V1P2_EVENTS_WRITE = "https://purl.imsglobal.org/spec/caliper/v1p2/scope/events.write"  # timeback-caliper, LearnWith.AI
# OAuth scopes a credential's LRS scope lets a client request.
OAUTH_SCOPES = {LRS_SCOPE: (EVENTS_WRITE, EVENT_CREATE, V1P2_EVENTS_WRITE)}


@dataclass(frozen=True)
class Grant:
    credential: Credential
    scopes: frozenset[str]


def grantable(credential: Credential) -> frozenset[str]:
    """The OAuth scopes this credential may hold."""
    return frozenset(scope for lrs_scope in credential.scopes for scope in OAUTH_SCOPES.get(lrs_scope, ()))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenStore:
    def __init__(self, collection: Collection, lifetime_seconds: int):
        self.collection = collection
        self.lifetime = dt.timedelta(seconds=lifetime_seconds)

    def ensure_indexes(self) -> None:
        # A real MongoDB deletes expired tokens by itself; `verify` checks the expiry regardless.
        self.collection.create_index([("expires_at", ASCENDING)], expireAfterSeconds=0)

    def issue(self, credential: Credential, scopes: Iterable[str], now: dt.datetime) -> str:
        token = secrets.token_urlsafe(32)
        self.collection.insert_one({"_id": _digest(token), "client": credential.key, "scopes": sorted(scopes),
                                    "issued_at": now, "expires_at": now + self.lifetime,
                                    "client_losses": credential.losses})
        return token

    def verify(self, lrs: LRS, token: str, now: dt.datetime) -> Grant | None:
        """The live grant behind a token: unexpired, and its credential still active and entitled."""
        document = self.collection.find_one({"_id": _digest(token)})
        if document is None or _aware(document["expires_at"]) <= now:
            return None
        credential = lrs.credentials.get(document["client"])
        # Issued before its client's secret was replaced, it came from the old secret; before its
        # client lost a scope, it grants rights lost since: both refused (Credential.losses). A
        # token of an earlier release, which has no count, ends too: its client asks for another.
        if credential is None or not credential.active or document.get("client_losses") != credential.losses:
            return None
        return Grant(credential, frozenset(document["scopes"]) & grantable(credential))


def _aware(value: dt.datetime) -> dt.datetime:
    """Stored datetimes come back naive from some drivers' settings; they are UTC."""
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def authorize(lrs: LRS, tokens: TokenStore, authorization: Authorization | None, needed: frozenset[str],
              now: dt.datetime) -> Credential:
    """The credential behind the request's Bearer token, if the token grants one of `needed`.

    401 for a missing, unknown, expired or revoked token; 403 for a live token without the scope.
    """
    token = authorization.token if authorization is not None and authorization.type == "bearer" else None
    if not token:
        raise Unauthorized("a Bearer token is required: get one from POST /oauth/token")
    grant = tokens.verify(lrs, token, now)
    if grant is None:
        raise Unauthorized("the Bearer token is unknown, expired or revoked")
    if not grant.scopes & needed:
        raise Forbidden(f"the token lacks the scope this endpoint needs ({' or '.join(sorted(needed))})")
    return grant.credential
