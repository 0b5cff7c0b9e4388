"""Credentials in MongoDB: key, hashed secret, scopes, authority, label, active flag.

Checking a secret costs the same whether the key exists or not (an unknown or revoked key is
checked against a stand-in hash of the same cost), so answers and their timing never tell which
keys exist; repeated failures are throttled by `lrs.throttle.FailedChecks`.
"""
from __future__ import annotations

import datetime as dt
from typing import Iterable, Sequence

from pymongo import ReturnDocument
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from lrs.auth import Credential, VerifiedPairs, check_secret, hash_secret, new_secret
from lrs.store.upserts import find_one_and_upsert
from lrs.throttle import FailedChecks

COLLECTION = "credentials"


def revoked(document: dict | None) -> bool:
    """Whether a stored credential document is one that was revoked (a missing one is not)."""
    return document is not None and not document.get("active", True)


class CredentialStore:
    def __init__(self, db: Database, verified: VerifiedPairs, hash_cost: int, failures: FailedChecks):
        self.collection = db[COLLECTION]
        self._verified = verified
        self._hash_cost = hash_cost
        self._failures = failures
        self._stand_in: str | None = None

    def save(self, key: str, secret: str, scopes: Iterable[str], authority: dict,
             label: str = "", extra: dict | None = None) -> Credential:
        """Create the credential, or replace the secret and scopes of an existing key. The
        authority is set only when the key is new: statements keep the authority they were stored
        with, and a credential whose authority moved would lose them (statements/read/mine, voiding).
        So is the label: LRS_ADMIN_KEY's is saved at every start, and one an operator gave it since
        (through the API or the console) is theirs to keep.
        A changed secret or a scope taken away counts as a loss (Credential.losses), as through the
        admin API: what was granted before (sessions, tokens) ends."""
        current = self.collection.find_one({"_id": key})
        lost = current is not None and not (set(current["scopes"]) <= set(scopes)
                                            and check_secret(secret, current["secret_hash"]))
        document = self._document(secret, scopes, label, extra)
        first = {"created": document["updated"], "authority": authority, "label": document.pop("label")}
        saved = find_one_and_upsert(
            self.collection, {"_id": key},
            {"$set": document, "$setOnInsert": first, **({"$inc": {"losses": 1}} if lost else {})},
            return_document=ReturnDocument.AFTER,
        )
        return _credential(saved)

    def insert(self, key: str, secret: str, scopes: Iterable[str], authority: dict,
               label: str = "") -> Credential | None:
        """Create a new credential; None (and nothing changed) if the key exists already."""
        document = {**self._document(secret, scopes, label, None), "authority": authority}
        try:
            self.collection.insert_one({"_id": key, **document, "created": document["updated"]})
        except DuplicateKeyError:
            return None
        return _credential({"_id": key, **document})

    def update(self, key: str, changes: dict, scopes_reduced: bool = False) -> Credential | None:
        """Set `label` and/or `scopes` of an active credential; None if there is no active such key
        (one revoked meanwhile stays as revoked). `scopes_reduced`: the change takes a scope away
        (see Credential.losses)."""
        now = dt.datetime.now(dt.timezone.utc)
        fields = {name: sorted(set(value)) if name == "scopes" else value for name, value in changes.items()}
        fields["updated"] = now
        document = self.collection.find_one_and_update(
            {"_id": key, "active": True}, {"$set": fields, **({"$inc": {"losses": 1}} if scopes_reduced else {})},
            return_document=ReturnDocument.AFTER)
        return _credential(document) if document else None

    def replace_secret(self, key: str, secret: str) -> Credential | None:
        """Give an active credential a new secret at once; None if there is no active such key.
        Pairs remembered as verified hold the old hash, so they stop matching on the next request."""
        now = dt.datetime.now(dt.timezone.utc)
        document = self.collection.find_one_and_update(
            {"_id": key, "active": True},
            {"$set": {"secret_hash": hash_secret(secret, self._hash_cost), "updated": now}, "$inc": {"losses": 1}},
            return_document=ReturnDocument.AFTER)
        return _credential(document) if document else None

    def count_active(self, scope: str | None = None) -> int:
        """How many active credentials there are (holding `scope`, if given)."""
        query: dict = {"active": True}
        if scope is not None:
            query["scopes"] = scope
        return self.collection.count_documents(query)

    def _document(self, secret: str, scopes: Iterable[str], label: str, extra: dict | None) -> dict:
        return {
            "secret_hash": hash_secret(secret, self._hash_cost),
            "scopes": sorted(set(scopes)),
            "label": label,
            "active": True,
            "extra": extra or {},
            "updated": dt.datetime.now(dt.timezone.utc),
        }

    def verify(self, key: str, secret: str, address: str | None = None) -> Credential | None:
        """The active credential for this key and secret, or None; `address` is the client's.

        A pair verified recently is answered from memory. Otherwise TooManyRequests (429) if the
        key or the address failed too often lately, else one slow hash check, for unknown and
        revoked keys too."""
        return self.verify_any([(key, secret)], address)

    def verify_any(self, pairs: Sequence[tuple[str, str]], address: str | None = None) -> Credential | None:
        """`verify` of the forms one client's key and secret may take (e.g. HTTP Basic credentials
        form-encoded or not, RFC 6749 section 2.3.1): the credential of the first that matches.
        One slow hash check per form; a client failing with every form fails once, not once per
        form, so a working client is never pushed towards 429 by the form it does not use."""
        forms = list(dict.fromkeys((key, secret) for key, secret in pairs
                                   if isinstance(key, str) and isinstance(secret, str)))
        active = {key: self._active(key) for key, _ in forms}
        for key, secret in forms:
            if active[key] is not None and self._verified.seen(key, secret, active[key]["secret_hash"]):
                self._failures.succeeded(key, address)
                return _credential(active[key])
        for key in active:
            self._failures.check(key, address)
        for key, secret in forms:
            hashed = active[key]["secret_hash"] if active[key] is not None else self._stand_in_hash()
            if check_secret(secret, hashed) and active[key] is not None:
                self._verified.remember(key, secret, hashed)
                self._failures.succeeded(key, address)
                return _credential(active[key])
        for index, key in enumerate(active):
            self._failures.failed(key, address if index == 0 else None)  # the address fails once
        return None

    def _active(self, key: str) -> dict | None:
        document = self.collection.find_one({"_id": key})
        return document if document is not None and document.get("active") else None

    def _stand_in_hash(self) -> str:
        """A hash of a random secret at the current cost, checked in place of a missing one."""
        if self._stand_in is None:
            self._stand_in = hash_secret(new_secret(), self._hash_cost)
        return self._stand_in

    def get(self, key: str) -> Credential | None:
        document = self.collection.find_one({"_id": key})
        return _credential(document) if document else None

    def all(self) -> list[Credential]:
        return [_credential(document) for document in self.collection.find().sort("_id")]

    def page(self, start: str | None, limit: int, active: bool | None = None, scope: str | None = None,
             backwards: bool = False) -> list[Credential]:
        """Up to `limit` credentials by key from after `start` (or, `backwards`, from before it,
        the nearest first), active or revoked only and holding `scope` if given; read along the
        `_id` index, however many credentials there are."""
        query: dict = {} if start is None else {"_id": {"$lt" if backwards else "$gt": start}}
        if active is not None:
            query["active"] = active
        if scope is not None:
            query["scopes"] = scope
        found = self.collection.find(query).sort("_id", -1 if backwards else 1).limit(limit)
        return [_credential(document) for document in found]

    def revoke(self, key: str) -> bool:
        return self.collection.update_one({"_id": key}, {"$set": {"active": False}}).matched_count == 1

    def undo_revoke(self, key: str) -> None:
        """Only for a revoke refused after it was written (lrs.credentials keeps the last admin):
        a revoke that was answered as done is never undone."""
        self.collection.update_one({"_id": key}, {"$set": {"active": True}})


def _credential(document: dict) -> Credential:
    return Credential(
        key=document["_id"],
        scopes=frozenset(document["scopes"]),
        authority=document["authority"],
        label=document.get("label", ""),
        active=document.get("active", True),
        extra=document.get("extra", {}),
        losses=document.get("losses", 0),
    )
