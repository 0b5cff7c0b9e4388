"""Bearer API keys: the `Authorization: Bearer <token>` scheme adapters' clients often use.

An API key is an ordinary LRS credential (`lrs credentials create --scope simple_events`), so it
is revoked, listed and hashed like every other. The token carries its key and secret, either as
`<key>:<secret>` or as the base64 of that text (the same bytes HTTP Basic would send, which is a
valid RFC 6750 token). A base64 text never holds a colon, so the two forms cannot be confused.
RFC 6750's token syntax allows `=` only at its end, so a secret holding `=` travels in base64.
The header is parsed by werkzeug (`request.authorization`).

The xAPI resources take HTTP Basic only; this scheme is for plugins (simple_events, h5p).
"""
from __future__ import annotations

import base64
import binascii

from flask import request
from werkzeug.datastructures import Authorization

from lrs.auth import Credential
from lrs.core import LRS
from lrs.errors import Forbidden, Unauthorized


def token_pair(authorization: Authorization | None) -> tuple[str, str] | None:
    """(key, secret) from a request's Authorization header, or None if it is not a usable Bearer."""
    if authorization is None or authorization.type != "bearer" or not authorization.token:
        return None
    token = authorization.token
    if ":" not in token:
        try:
            token = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
    key, colon, secret = token.partition(":")
    return (key, secret) if colon and key and secret else None


def authenticate(lrs: LRS, authorization: Authorization | None, scopes: frozenset[str]) -> Credential:
    """The active credential named by the header (`request.authorization`), if it holds one of `scopes`.

    401 when the token is missing, malformed, unknown or revoked; 403 when the credential is fine
    but not granted this adapter. Scope `all` is an xAPI scope and does not open adapters.
    """
    pair = token_pair(authorization)
    if pair is None:
        raise Unauthorized(_unusable(authorization))
    credential = lrs.credentials.verify(*pair, request.remote_addr)
    if credential is None:
        raise Unauthorized("unknown API key or wrong secret, or the key was revoked")
    if not credential.allows(scopes):
        raise Forbidden(f"this API key is not allowed here (needs scope: {' or '.join(sorted(scopes))})")
    return credential


def _unusable(authorization: Authorization | None) -> str:
    """Why the Authorization header gives no key and secret: absent, another scheme, or a token
    that is neither `<key>:<secret>` nor its base64 (a client that sent one needs to know which)."""
    if "Authorization" not in request.headers:
        return "an API key is required: Authorization: Bearer <key>:<secret>"
    if authorization is None or authorization.type != "bearer":
        return "the Authorization header must use the Bearer scheme: Authorization: Bearer <key>:<secret>"
    return ("malformed API key: the Bearer token must be <key>:<secret> (both non-empty) or the base64 "
            "of that text")
