"""The xAPI documents (State, Activity Profile, Agent Profile) in one MongoDB collection.

One record per document: its key (kind, activity id, agent IFI key, registration, document id, under
a unique index), content type, ETag (SHA-1 of the content, as xAPI asks), update time, a revision
id that changes on every write, and the content: inline up to `INLINE_LIMIT`, in GridFS beyond.

Every write is a compare-and-set on one record: read the current record, check the request's
preconditions against it, compute the new content, then insert (when there was none; the unique
index makes a concurrent insert fail) or replace the record only if its revision is still the one
that was read. When the swap loses a race the write starts over with the newer record, where an
If-Match that no longer holds fails. So of two clients updating with the same ETag at once exactly
one wins, and the stored document is always exactly one client's.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import random
import time
from dataclasses import dataclass
from typing import Callable

from bson import Binary, ObjectId
from pymongo import ASCENDING, ReturnDocument
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError
from werkzeug.http import http_date

from lrs.errors import BadRequest, Conflict, PreconditionFailed
from lrs.store.document_files import DocumentFiles
from lrs.store.indexing import declare_index

# Contents up to this size live in the record itself, safely under MongoDB's 16 MB document limit.
INLINE_LIMIT = 15 * 1024 * 1024
MAX_ATTEMPTS = 50
BACKOFF_SECONDS = 0.002  # after the n-th lost race, wait up to n times this (random, to spread writers)
KEY_FIELDS = ("kind", "activity", "agent", "registration", "doc_id")
KEY_ONLY = {field: 1 for field in KEY_FIELDS}
LISTED = {**KEY_ONLY, "updated": 1, "rev": 1}
ANY = "*"  # the wildcard of If-Match / If-None-Match; never an ETag (those are SHA-1 hex)
CHANGING = "the document kept changing while this request was applied to it; retry"


@dataclass(frozen=True)
class DocumentKey:
    """Where a document lives. Fields a resource does not use are None (e.g. agent for profiles)."""

    kind: str
    doc_id: str
    activity: str | None = None
    agent: str | None = None
    registration: str | None = None

    def filter(self) -> dict:
        return {field: getattr(self, field) for field in KEY_FIELDS}


@dataclass(frozen=True)
class Scope:
    """A set of documents of one kind: GET of ids and the State resource's multiple DELETE.

    A registration of None means every registration, as the State resource's list and multiple
    delete do when none is given.
    """

    kind: str
    activity: str | None = None
    agent: str | None = None
    registration: str | None = None

    def filter(self) -> dict:
        query = {"kind": self.kind, "activity": self.activity, "agent": self.agent}
        if self.registration is not None:
            query["registration"] = self.registration
        return query


@dataclass(frozen=True)
class Preconditions:
    """The request's If-Match / If-None-Match ETags (unquoted; ANY for any) and If-Unmodified-Since
    date (None where the request has none to apply), and whether a write without either ETag
    header must not replace an existing document (409) or not even create one (400), per the
    resource, the version and the operator's choice. Writes and deletes check them on the record
    they then replace or remove only if it is still that one, so a write landing in between is
    checked too."""

    if_match: frozenset[str] | None = None
    if_none_match: frozenset[str] | None = None
    refuse_blind_overwrite: bool = False
    refuse_blind_create: bool = False
    unmodified_since: dt.datetime | None = None

    def check(self, current_etag: str | None, updated: dt.datetime | None = None) -> None:
        """`current_etag` and `updated`: the document's ETag and modification time (None: none)."""
        self._check_etags(current_etag)
        require_unmodified(updated, self.unmodified_since, "the document")

    def _check_etags(self, current_etag: str | None) -> None:
        if self.if_match is not None:
            if current_etag is None:
                raise PreconditionFailed("If-Match: there is no document to match")
            if ANY not in self.if_match and current_etag not in self.if_match:
                raise PreconditionFailed(f"If-Match: the document's ETag is now \"{current_etag}\"")
        if (self.if_none_match is not None and current_etag is not None
                and (ANY in self.if_none_match or current_etag in self.if_none_match)):
            raise PreconditionFailed("If-None-Match: the document exists")
        if self.if_match is not None or self.if_none_match is not None:
            return
        if self.refuse_blind_overwrite and current_etag is not None:
            raise Conflict("a document already exists here: GET it to check its current state, then send "
                           "the request again with an If-Match header holding its ETag")
        if self.refuse_blind_create and current_etag is None:
            raise BadRequest("PUT to this resource needs an If-None-Match: * header to create a document "
                             "(xAPI 1.0.3 Communication 3.1; LRS_PROFILE_PUT_REQUIRES_PRECONDITION is on)")


def modified_after(modified: dt.datetime, date: dt.datetime) -> bool:
    """Whether a modification time is later than an HTTP-date, to the second it holds."""
    if modified.tzinfo is None:  # the store's times are UTC
        modified = modified.replace(tzinfo=dt.timezone.utc)
    return modified.replace(microsecond=0) > date


def require_unmodified(modified: dt.datetime | None, since: dt.datetime | None, what: str) -> None:
    """412 when `what`, last modified at `modified` (None: no date, the condition is ignored), was
    modified after the If-Unmodified-Since date `since` (None: no condition)."""
    if since is not None and modified is not None and modified_after(modified, since):
        raise PreconditionFailed(f"If-Unmodified-Since: {what} was modified after that date (Last-Modified is "
                                 f"now {http_date(modified)})")


class ContentReplaced(Exception):
    """A large content's chunks were removed after its record was read: a write replaced it."""


class StoredDocument:
    """A stored document; its content is read (from GridFS if it lives there) on first use.

    A write that replaces a large content removes its chunks once the new record is in place, so a
    reader that read the record before may find them gone, or some of them: that content is not
    returned (it would go out under the ETag of the whole) but ContentReplaced raised, and the
    reader starts over with the new record. Files are never reused, so the length tells."""

    def __init__(self, record: dict, files: DocumentFiles):
        self.content_type: str = record["content_type"]
        self.etag: str = record["etag"]
        self.updated: dt.datetime = record["updated"]
        self._record = record
        self._files = files
        self._content: bytes | None = None

    @property
    def content(self) -> bytes:
        return self.read()

    def read(self) -> bytes:
        """The content, read now if it has not been (ContentReplaced if it is gone)."""
        if self._content is None:
            inline = self._record.get("content")
            content = bytes(inline) if inline is not None else self._files.read(self._record["file_id"])
            if len(content) != self._record["length"]:
                raise ContentReplaced()
            self._content = content
        return self._content


# Computes the new content and content type from the current document (None if there is none).
Compute = Callable[[StoredDocument | None], tuple[bytes, str]]


def etag_of(content: bytes) -> str:
    return hashlib.sha1(content).hexdigest()


class DocumentStore:
    def __init__(self, db: Database, inline_limit: int = INLINE_LIMIT):
        self.collection = db["documents"]
        self.files = DocumentFiles(db)
        self.inline_limit = inline_limit

    def ensure_indexes(self) -> None:
        declare_index(self.collection, [(field, ASCENDING) for field in KEY_FIELDS], unique=True)
        declare_index(self.collection, [("kind", ASCENDING), ("activity", ASCENDING), ("agent", ASCENDING),
                                        ("updated", ASCENDING)])
        # The few records whose content is in GridFS, for the start-up's look for files none uses.
        declare_index(self.collection, [("file_id", ASCENDING)], sparse=True)
        self.files.ensure_indexes()

    def recover(self, now: dt.datetime) -> None:
        self.files.recover(self.collection, now)

    def get(self, key: DocumentKey) -> StoredDocument | None:
        """The document with its content read, so that it is the content of that record."""
        for attempt in range(MAX_ATTEMPTS):
            record = self.collection.find_one(key.filter())
            if record is None:
                return None
            document = StoredDocument(record, self.files)
            try:
                document.read()  # now, while its chunks are there
            except ContentReplaced:
                _back_off(attempt)
                continue
            return document
        raise Conflict(CHANGING)

    def write(self, key: DocumentKey, compute: Compute, preconditions: Preconditions, now: dt.datetime) -> None:
        """Store what `compute` makes of the current document, if the preconditions hold on it."""
        for attempt in range(MAX_ATTEMPTS):
            record = self.collection.find_one(key.filter())
            current = None if record is None else StoredDocument(record, self.files)
            preconditions.check(current and current.etag, current and current.updated)
            try:
                content, content_type = compute(current)
            except ContentReplaced:  # a write got there first: start over with its record
                _back_off(attempt)
                continue
            new = self._new_record(key, content, content_type, now)
            if self._swap(record, new):
                return
            _back_off(attempt)
        raise Conflict(CHANGING)

    def delete(self, key: DocumentKey, preconditions: Preconditions) -> None:
        """Delete one document if the preconditions hold; deleting a missing document is no error."""
        for attempt in range(MAX_ATTEMPTS):
            record = self.collection.find_one(key.filter(), {"content": 0})
            preconditions.check(record and record["etag"], record and record["updated"])
            if record is None:
                return
            if self._remove(_where(record, rev=record["rev"])):
                return
            _back_off(attempt)
        raise Conflict(CHANGING)

    def listing(self, scope: Scope, since: dt.datetime | None = None) -> "Listing":
        """The scope's records updated after `since`, as one read saw them."""
        query = scope.filter()
        if since is not None:
            query["updated"] = {"$gt": since}
        return Listing(list(self.collection.find(query, LISTED)))

    def delete_listed(self, listing: "Listing") -> None:
        """Each record as the listing saw it. One rewritten or added since stays: that write comes
        after this delete, so a DELETE of them all whose conditions were checked on the listing
        removes nothing they were not checked on."""
        for record in listing.records:
            self._remove(_where(record, rev=record["rev"]))

    def _new_record(self, key: DocumentKey, content: bytes, content_type: str, now: dt.datetime) -> dict:
        record = {**key.filter(), "content_type": content_type, "etag": etag_of(content), "updated": now,
                  "rev": ObjectId(), "length": len(content)}
        if len(content) <= self.inline_limit:
            record["content"] = Binary(content)
        else:
            record["file_id"] = self.files.save(content, content_type)
        return record

    def _swap(self, current: dict | None, new: dict) -> bool:
        """Put `new` in place of `current` unless another write got there first."""
        try:
            if current is None:
                self.collection.insert_one(new)
                return True
            replaced = self.collection.find_one_and_replace(
                _where(current, rev=current["rev"]), new,
                projection={"file_id": 1}, return_document=ReturnDocument.BEFORE)
        except DuplicateKeyError:
            replaced = None
        if replaced is None:
            self._drop_file(new)
            return False
        self._drop_file(replaced)
        return True

    def erase_agents(self, agent_keys: list[str]) -> int:
        """Remove every State and Agent Profile document of these agents (erasure); the count."""
        records = list(self.collection.find({"agent": {"$in": agent_keys}}, KEY_ONLY))
        return sum(self._remove(_where(record)) for record in records)

    def _remove(self, query: dict) -> bool:
        removed = self.collection.find_one_and_delete(query, projection={"file_id": 1})
        if removed is None:
            return False
        self._drop_file(removed)
        return True

    def _drop_file(self, record: dict) -> None:
        if record.get("file_id") is not None:
            self.files.delete(record["file_id"])


def _where(record: dict, **conditions: object) -> dict:
    """The filter of a single-record write on `record`: its whole key besides its `_id`, because on
    a sharded `documents` (shard key a prefix of the key, docs/deploying.md) MongoDB before 7.1
    refuses a findAndModify whose filter lacks the shard key by equality."""
    return {**{field: record.get(field) for field in KEY_FIELDS}, "_id": record["_id"], **conditions}


def _back_off(attempt: int) -> None:
    """Writers that keep colliding on one document take turns instead of starving one another."""
    time.sleep(random.uniform(0, BACKOFF_SECONDS * (attempt + 1)))


@dataclass(frozen=True)
class Listing:
    """Records of a scope as one read saw them: the id list a GET answers, and what a DELETE of
    them all removes."""

    records: list[dict]

    @property
    def ids(self) -> list[str]:
        """Sorted here, not by MongoDB: the server's sort would be in memory (no index holds doc_id
        after an equality prefix when no registration is given), its 100 MB limit counted on whole
        records of up to 15 MB each on MongoDB before 6.0. State ids repeat across registrations;
        the list names each once."""
        return list(dict.fromkeys(sorted(record["doc_id"] for record in self.records)))

    @property
    def latest(self) -> dt.datetime | None:
        """When the latest of them was updated; None without any."""
        return max((record["updated"] for record in self.records), default=None)
