"""Credentials and scopes: who may call what, independent of HTTP.

Secrets are hashed with scrypt (a deliberately slow password hash, through werkzeug.security) and
never stored in clear; hashes of the format used before werkzeug's (`scrypt$n$r$p$salt$digest`)
still verify.
Because every xAPI request carries the secret, a verified key/secret pair is remembered in
memory (as a SHA-256 digest, not the secret) so the slow hash runs once per pair, not per request;
the credential itself is read from the store on every request, so revocation is immediate.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass, field
from typing import Iterable

from cachetools import TTLCache
from werkzeug.security import check_password_hash, generate_password_hash

XAPI_SCOPES = (
    "statements/write", "statements/read", "statements/read/mine",
    "all/read", "all", "state", "define", "profile",
)

# What each kind of access needs: any one of the listed scopes is enough.
READ_STATEMENTS = frozenset({"statements/read", "statements/read/mine", "all/read", "all"})
WRITE_STATEMENTS = frozenset({"statements/write", "all"})
READ_STATE = frozenset({"state", "all/read", "all"})
WRITE_STATE = frozenset({"state", "all"})
READ_PROFILE = frozenset({"profile", "all/read", "all"})
WRITE_PROFILE = frozenset({"profile", "all"})
READ_DEFINITIONS = frozenset({"define", "profile", "all/read", "all", "statements/read"})
DEFINE = frozenset({"define", "all"})

# scrypt's cost N = 2 ** cost (r=8, p=1). 15 is werkzeug's default; LRS_SECRET_HASH_COST sets it.
DEFAULT_HASH_COST = 15

# Running the LRS (/admin, the console) is not xAPI access: `all` does not include it.
ADMIN_SCOPE = "admin"
ADMIN = frozenset({ADMIN_SCOPE})
# Reading /metrics only, for a monitoring system's credential: with `admin` the scraper could also
# manage credentials and erase people. Neither `all` nor any xAPI scope includes it; `admin` does.
METRICS_SCOPE = "metrics"
READ_METRICS = frozenset({METRICS_SCOPE, ADMIN_SCOPE})
# The scopes of running the LRS, as they are offered beside xAPI's.
OPERATOR_SCOPES = (ADMIN_SCOPE, METRICS_SCOPE)


@dataclass(frozen=True)
class Credential:
    key: str
    scopes: frozenset[str]
    authority: dict
    label: str = ""
    active: bool = True
    extra: dict = field(default_factory=dict)
    # How many times the secret was replaced or a scope taken away: a grant made from the
    # credential, such as a plugin's OAuth token, remembers the count it was made at and ends for
    # good once the count moves, even if the scope is given back later. A count, not a time: a
    # grant made in the same clock tick as a loss is still told apart by its order.
    losses: int = 0

    def allows(self, needed: Iterable[str]) -> bool:
        return bool(self.scopes & frozenset(needed))

    @property
    def reads_only_own(self) -> bool:
        """statements/read/mine without a broader read scope: reads are limited to own statements."""
        return "statements/read/mine" in self.scopes and not self.allows(READ_STATEMENTS - {"statements/read/mine"})


def hash_secret(secret: str, cost: int = DEFAULT_HASH_COST) -> str:
    return generate_password_hash(secret, method=f"scrypt:{2 ** cost}:8:1")


def check_secret(secret: str, hashed: str) -> bool:
    try:
        if not hashed.startswith("scrypt$"):
            return check_password_hash(hashed, secret)
        _, n, r, p, salt, digest = hashed.split("$")  # the format of hashes written before werkzeug's
        computed = hashlib.scrypt(secret.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(computed.hex(), digest)


def new_key() -> str:
    return secrets.token_hex(12)


def new_secret() -> str:
    return secrets.token_urlsafe(24)


class VerifiedPairs:
    """A bounded, expiring memory of key/secret pairs that already passed the slow hash: a
    cachetools TTL cache (least recently used pairs go first when it is full)."""

    def __init__(self, ttl_seconds: float, size: int = 4096):
        self._pairs: TTLCache = TTLCache(maxsize=size, ttl=ttl_seconds)
        self._lock = threading.Lock()

    @staticmethod
    def _entry(key: str, secret: str, hashed: str) -> tuple[str, str]:
        # The stored hash is part of the entry, so a changed secret invalidates it at once.
        return key, hashlib.sha256(f"{secret}\0{hashed}".encode()).hexdigest()

    def seen(self, key: str, secret: str, hashed: str) -> bool:
        with self._lock:
            return self._entry(key, secret, hashed) in self._pairs

    def remember(self, key: str, secret: str, hashed: str) -> None:
        with self._lock:
            self._pairs[self._entry(key, secret, hashed)] = True
