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

from flask import request
from pymongo import ASCENDING
from pymongo.collection import Collection
from werkzeug.datastructures import Authorization

from lrs.auth import Credential
from lrs.core import LRS
from lrs.errors import Forbidden, Unauthorized
from lrs.http.bearer import token_pair
from lrs.store.indexing import declare_index

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
        declare_index(self.collection, [("expires_at", ASCENDING)], expireAfterSeconds=0)

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


class TokenRefused(Unauthorized):
    """A 401 whose RFC 6750 challenge (section 3) says why: no error code when the request sent no
    token (section 3.1), else `invalid_token` or `insufficient_scope`."""

    def __init__(self, message: str, error: str | None):
        super().__init__(message)
        self.error = error

    def challenge(self) -> str:
        return 'Bearer realm="caliper"' + (f', error="{self.error}"' if self.error else "")


def authorize(lrs: LRS, tokens: TokenStore, authorization: Authorization | None, needed: frozenset[str],
              now: dt.datetime, caliper_endpoint: bool = False) -> Credential:
    """The credential behind the request's Bearer token, if the token grants one of `needed`.

    401 for a missing, unknown, expired or revoked token. A live token without the scope: 403
    (RFC 6750 section 3.1), but 401 on a Caliper 1.2 endpoint (`caliper_endpoint`), whose
    section 6.1 answers a sensor that lacks the privilege to send there 401 (a MUST once an
    endpoint answers anything but 2xx), and whose sensors take a configuration ping's status
    other than 200 or 401 for an endpoint out of service (section 6.2).
    """
    token = authorization.token if authorization is not None and authorization.type == "bearer" else None
    if not token:
        raise TokenRefused("a Bearer token is required: one from POST /oauth/token, or an API key "
                           "<key>:<secret>", None)
    grant = tokens.verify(lrs, token, now) or _api_key_grant(lrs, authorization)
    if grant is None:
        raise TokenRefused("the Bearer token is unknown, expired or revoked (or, as an API key, has a wrong "
                           "secret)", "invalid_token")
    if not grant.scopes & needed:
        message = f"the token lacks the scope this endpoint needs ({' or '.join(sorted(needed))})"
        raise TokenRefused(message, "insufficient_scope") if caliper_endpoint else Forbidden(message)
    return grant.credential


def _api_key_grant(lrs: LRS, authorization: Authorization) -> Grant | None:
    """A sensor configured once with a fixed credential (caliper-python's `api_key`, caliper-js's
    Authorization header) sends it on every request and never asks /oauth/token: the Bearer
    `<key>:<secret>` or its base64, as the other adapters take it (`lrs.http.bearer`). It grants
    what a token of that credential could, and is checked, throttled and revoked like HTTP Basic."""
    pair = token_pair(authorization)
    credential = None if pair is None else lrs.credentials.verify(*pair, request.remote_addr)
    return None if credential is None else Grant(credential, grantable(credential))
