"""HTTP Basic authentication for the xAPI resources, and per-route scope checks."""
from __future__ import annotations

from typing import Iterable

from flask import g, request

from lrs.auth import Credential
from lrs.errors import Forbidden, Unauthorized
from lrs.http.context import current_lrs


def authenticate() -> None:
    """Every xAPI resource but /about needs a valid, active credential."""
    if request.method == "OPTIONS":
        return
    authorization = request.authorization
    if authorization is None or authorization.type != "basic":
        raise Unauthorized("this resource requires HTTP Basic authentication")
    credential = current_lrs().credentials.verify(authorization.username or "", authorization.password or "",
                                                  request.remote_addr)
    if credential is None:
        raise Unauthorized("unknown key or wrong secret, or the credential was revoked")
    g.credential = credential


def acting() -> str:
    """Who makes this request, as the audit log lines and records of admin actions name them."""
    return f"credential {g.credential.key}"


def require(scopes: Iterable[str]) -> Credential:
    """The request's credential, if it holds one of `scopes`; 403 otherwise."""
    credential: Credential = g.credential
    scopes = frozenset(scopes)
    if not credential.allows(scopes):
        raise Forbidden(f"the credential's scopes do not allow this request (needs one of: {', '.join(sorted(scopes))})")
    return credential
