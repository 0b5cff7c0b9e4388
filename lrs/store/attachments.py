"""Attachment contents in MongoDB, stored once per sha2 and always moved in bounded chunks.

The layout is GridFS's (bucket `attachments`: `attachments.files` and `attachments.chunks`, 255 KiB
chunks), so `mongofiles --prefix attachments` and any GridFS driver can read what the LRS wrote. It
is written through the plain Collection API rather than pymongo's `gridfs` package because the
embedded store is a locking proxy around mongomock that `gridfs` refuses (it checks the database's
type), and one code path for both stores is the rule.

An upload writes its chunks under a fresh ObjectId and inserts the files document last, so a
reader never sees half a file. `filename` is the sha2 and carries a unique index: when two clients
upload the same content at once, the second files insert fails and that upload removes its own
chunks. A crash between the chunks and the files document leaves chunks no file points to;
`recover()` removes them at the next start.

Erasure removes contents no statement uses, while uploads may be about to use them: a client
may send content that is already stored (it is then only hashed, not written) for a statement
that is inserted only after the whole request has been read. So every upload *holds* what it
saves until its statements are stored: its request's `holder` id is added to the files
document's `metadata.holders`, and `metadata.holds` counts every hold ever taken. Erasure
(`claims`, then `delete`) skips a content held by a live request, checks that no statement uses
it, and deletes it only if `holds` has not changed since it looked: an upload that held it in
between makes the delete miss, and one that comes after finds it gone and writes it again. All
are single-document atomic updates, so this holds on MongoDB with many processes. A holder
older than STALE_UPLOAD is presumed dead (its process crashed before releasing it).
"""
from __future__ import annotations

import datetime as dt
import hashlib
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Iterable, Iterator

from bson import Binary, ObjectId
from pymongo import ASCENDING
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from lrs.store.embedded import EmbeddedDatabase
from lrs.store.indexing import declare_index

CHUNK_SIZE = 255 * 1024
READ_WINDOW = 8  # chunks fetched per query when reading: about 2 MiB in memory at a time
STALE_UPLOAD = dt.timedelta(hours=1)
HOLDERS, HOLDS = "metadata.holders", "metadata.holds"  # uploads in flight (see the module docstring)
# xAPI's sha2 is any SHA-2 digest in hex; its length tells which one (Data 2.4.11).
HASHES = {56: "sha224", 64: "sha256", 96: "sha384", 128: "sha512"}


class ContentMismatch(ValueError):
    """The bytes received do not hash to the sha2 they were sent under."""


def hash_name(sha2: str) -> str | None:
    """The SHA-2 function whose hex digest has this length, or None if none does."""
    if not all(c in "0123456789abcdefABCDEF" for c in sha2):
        return None
    return HASHES.get(len(sha2))


@dataclass(frozen=True)
class StoredContent:
    """One stored attachment content, readable as a stream of chunks (see `AttachmentStore.open`)."""

    sha2: str
    length: int
    content_type: str
    file_id: ObjectId
    store: "AttachmentStore"

    def chunks(self) -> Iterator[bytes]:
        """The content in order, a few chunks per database round trip."""
        count = -(-self.length // CHUNK_SIZE)
        for first in range(0, count, READ_WINDOW):
            window = self.store.chunks.find(
                {"files_id": self.file_id, "n": {"$gte": first, "$lt": first + READ_WINDOW}}).sort("n", ASCENDING)
            for chunk in window:
                yield bytes(chunk["data"])


class AttachmentStore:
    def __init__(self, db: Database, bucket: str = "attachments"):
        self.files = db[f"{bucket}.files"]
        self.chunks = db[f"{bucket}.chunks"]
        # On the embedded store a content is committed as it is read, not with its request: a
        # request that has changed something keeps the store to itself until its commit, and an
        # upload's content may still be arriving over the network (a server that streams bodies).
        # So a refused request can leave its contents stored, as on MongoDB, where no statement
        # uses them: its own clean-up or the next start erases them.
        self._on_its_own = db.on_its_own if isinstance(db, EmbeddedDatabase) else nullcontext

    def ensure_indexes(self) -> None:
        declare_index(self.chunks, [("files_id", ASCENDING), ("n", ASCENDING)], unique=True)
        declare_index(self.files, [("filename", ASCENDING)], unique=True)

    def recover(self, now: dt.datetime, everyone: bool = False) -> None:
        """Remove the chunks of uploads that never got their files document (a crash mid-upload).
        With `everyone` (the embedded store's start: no request of an earlier process can still
        run) those of any age, and every hold as well, rather than waiting for them to be stale."""
        if everyone:
            self.files.update_many({f"{HOLDERS}.0": {"$exists": True}}, {"$set": {HOLDERS: []}})
        stale = ObjectId.from_datetime(now if everyone else now - STALE_UPLOAD)
        orphans = self.chunks.aggregate([
            {"$match": {"n": 0, "files_id": {"$lt": stale}}},
            {"$lookup": {"from": self.files.name, "localField": "files_id", "foreignField": "_id", "as": "file"}},
            {"$match": {"file": {"$size": 0}}},
            {"$project": {"files_id": 1}},
        ])
        ids = [orphan["files_id"] for orphan in orphans]
        if ids:
            self.chunks.delete_many({"files_id": {"$in": ids}})

    def save(self, sha2: str, content: Iterable[bytes], content_type: str, holder: ObjectId) -> int:
        """Store `content` under `sha2` unless it is stored already, held for `holder` (see the
        module docstring; `release` it once the statements using it are stored); returns its length.

        The content is hashed as it streams by; if it does not match `sha2`, nothing is kept and
        ContentMismatch is raised. Known content is only hashed, never written twice.
        """
        name = hash_name(sha2)
        if name is None:
            raise ContentMismatch(f"{sha2!r} is not a SHA-2 hex digest")
        with self._on_its_own():
            return self._save(name, sha2.lower(), content, content_type, holder)

    def _save(self, name: str, sha2: str, content: Iterable[bytes], content_type: str, holder: ObjectId) -> int:
        if self._hold(sha2, holder):
            digest, length = _hash(name, content)
            _check(sha2, digest)
            return length
        file_id = ObjectId()
        try:
            digest, length = _hash(name, self._write_chunks(file_id, content))
            _check(sha2, digest)
            self._insert_file(file_id, sha2, length, content_type, holder)
        except BaseException:
            self.chunks.delete_many({"files_id": file_id})
            raise
        return length

    def release(self, sha2s: Iterable[str], holder: ObjectId) -> None:
        """`holder`'s request is done: its statements are stored (or it failed)."""
        self.files.update_many({"filename": {"$in": sorted({s.lower() for s in sha2s})}},
                               {"$pull": {HOLDERS: holder}})

    def _hold(self, sha2: str, holder: ObjectId) -> bool:
        """Hold the stored content for `holder`; False if it is not stored."""
        held = self.files.update_one({"filename": sha2}, {"$addToSet": {HOLDERS: holder}, "$inc": {HOLDS: 1}})
        return held.matched_count == 1

    def _insert_file(self, file_id: ObjectId, sha2: str, length: int, content_type: str, holder: ObjectId) -> None:
        """The files document that makes the written chunks a content, held for `holder`."""
        document = {"_id": file_id, "filename": sha2, "length": length, "chunkSize": CHUNK_SIZE,
                    "uploadDate": dt.datetime.now(dt.timezone.utc),
                    "metadata": {"contentType": content_type, "holders": [holder], "holds": 1}}
        try:
            self.files.insert_one(document)
        except DuplicateKeyError:  # a concurrent upload stored it first: hold theirs, drop ours
            if self._hold(sha2, holder):
                self.chunks.delete_many({"files_id": file_id})
            else:  # ... and erasure removed it since: ours is the content again
                self.files.insert_one(document)

    def _write_chunks(self, file_id: ObjectId, content: Iterable[bytes]) -> Iterator[bytes]:
        """Pass `content` through while writing it as fixed-size chunks."""
        pending = bytearray()
        n = 0
        for piece in content:
            yield piece
            pending += piece
            while len(pending) >= CHUNK_SIZE:
                self.chunks.insert_one({"files_id": file_id, "n": n, "data": Binary(bytes(pending[:CHUNK_SIZE]))})
                del pending[:CHUNK_SIZE]
                n += 1
        if pending:
            self.chunks.insert_one({"files_id": file_id, "n": n, "data": Binary(bytes(pending))})

    def claims(self, sha2s: Iterable[str], now: dt.datetime) -> tuple[dict[str, int | None], set[str]]:
        """Of these stored contents, those no live upload holds, with their `holds` count (erasure
        checks that no statement uses them, then `delete`s them with that count), and the others."""
        live = ObjectId.from_datetime(now - STALE_UPLOAD)
        found = self.files.find({"filename": {"$in": sorted({s.lower() for s in sha2s})}},
                                {"filename": 1, HOLDERS: 1, HOLDS: 1})
        metadata = {doc["filename"]: doc.get("metadata") or {} for doc in found}
        held = {sha2 for sha2, meta in metadata.items() if any(holder >= live for holder in meta.get("holders", ()))}
        return {sha2: meta.get("holds") for sha2, meta in metadata.items() if sha2 not in held}, held

    def delete(self, sha2: str, holds: int | None) -> bool:
        """Remove a content (erasure, once no statement uses it) unless an upload held it since
        `claims` counted `holds`; False if it was not removed."""
        removed = self.files.find_one_and_delete({"filename": sha2.lower(), HOLDS: holds}, projection={"_id": 1})
        if removed is None:
            return False
        self.chunks.delete_many({"files_id": removed["_id"]})
        return True

    def drop_orphan_chunks(self, file_ids: list[ObjectId]) -> None:
        """Remove the chunks of these files whose files document is gone (a crash in `delete`)."""
        if file_ids:
            present = {doc["_id"] for doc in self.files.find({"_id": {"$in": file_ids}}, {"_id": 1})}
            self.chunks.delete_many({"files_id": {"$in": [i for i in file_ids if i not in present]}})

    def open(self, sha2: str) -> StoredContent | None:
        """The stored content with this sha2, or None. Forwarding and export read attachments here."""
        if not isinstance(sha2, str):
            return None
        doc = self.files.find_one({"filename": sha2.lower()})
        return None if doc is None else self._content(doc)

    def read(self, sha2: str, limit: int) -> bytes | None:
        """The whole content if it is stored and at most `limit` bytes long (small contents only)."""
        stored = self.open(sha2)
        if stored is None or stored.length > limit:
            return None
        return b"".join(stored.chunks())

    def stored(self, sha2s: Iterable[str]) -> dict[str, StoredContent]:
        """Those of `sha2s` whose content is stored, by sha2."""
        wanted = sorted({s.lower() for s in sha2s if isinstance(s, str)})
        if not wanted:
            return {}
        return {doc["filename"]: self._content(doc) for doc in self.files.find({"filename": {"$in": wanted}})}

    def _content(self, doc: dict) -> StoredContent:
        content_type = (doc.get("metadata") or {}).get("contentType", "")
        return StoredContent(doc["filename"], doc["length"], content_type, doc["_id"], self)


def _hash(name: str, content: Iterable[bytes]) -> tuple[str, int]:
    digest = hashlib.new(name)
    length = 0
    for piece in content:
        digest.update(piece)
        length += len(piece)
    return digest.hexdigest(), length


def _check(sha2: str, digest: str) -> None:
    if digest != sha2:
        raise ContentMismatch(f"the content received under sha2 {sha2} has sha2 {digest}")
