"""`lrs copy-to-mongodb`: the embedded store, whole, into a MongoDB database, for `lrs serve` with
LRS_MONGO_URI to serve the same LRS.

Forwarding statements to an LRS on MongoDB moves statements only, and stores each anew (its own
`stored` time and authority). This copies what the store holds instead: every collection's
documents as their BSON bodies (`RawBSONDocument`, never decoded and encoded again), so ids, `seq`
numbers, counters, the GridFS-layout chunks of attachments and large documents, pending-batch
markers (which the MongoDB start settles, as after a crash), credentials, plugin records and
forwarding checkpoints arrive as they are; then the indexes the file declares, as `lrs serve`
declares them. Every body has its `_id` first (mongomock puts it there, as MongoDB does on
insert), so the server keeps exactly the bytes sent, and the check below compares bytes.

Safety: a data folder is copied under its lock (a running `lrs serve` holds it, so nothing it
writes after the copy can be lost), read from one snapshot of a connection that cannot write.
The target database must hold no documents at all: merged into another store, ids, `seq` numbers
and counters would collide, and nothing here offers to merge or to overwrite; dropping a database
is left to the operator, deliberately. Documents go in batches (BATCH_DOCUMENTS or BATCH_BYTES),
so memory holds one batch whatever the store's size. Afterwards every collection's count is
compared, and a sample of its documents (SAMPLE, spread over it) read back and compared byte for
byte; any difference, or a MongoDB error on the way, says the target is partial and how to clean it.
"""
from __future__ import annotations

import hashlib
import sqlite3
import time
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pymongo
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import BulkWriteError, PyMongoError

from lrs.settings import SettingError, shown_uri, without_password
from lrs.store import check_reachable, short_reason
from lrs.store.embedded.backup import store_file
from lrs.store.embedded.disk import claim_data_dir, index_spec, unreadable_named, version_of
from lrs.store.indexing import declare_index

BATCH_DOCUMENTS = 1000
BATCH_BYTES = 8 * 2**20  # an insert_many's bodies: 32 attachment chunks of 255 KiB
SAMPLE = 1000  # documents per collection read back and compared
PROGRESS_EVERY = 100_000  # documents of one collection between two lines of progress
RAW = CodecOptions(document_class=RawBSONDocument)


@dataclass(frozen=True)
class Target:
    uri: str
    database: str
    timeout_seconds: float

    def named(self) -> str:
        return f"LRS_MONGO_DB={self.database!r} on {shown_uri(self.uri)!r}"

    def reason(self, error: Exception) -> str:
        return without_password(self.uri, short_reason(error))


@dataclass(frozen=True)
class Copied:
    collections: int
    documents: int
    statements: int
    indexes: int
    seconds: float


def copy_data_dir(data_dir: str, target: Target, said: Callable[[str], None]) -> Copied:
    """Copy the store of `data_dir`, which no server may be running on, into `target`."""
    source = store_file(data_dir, "copy")
    lock = claim_data_dir(data_dir)
    try:
        return copy_file(source, target, said)
    finally:
        lock.close()


def copy_backup(backup: str, target: Target, said: Callable[[str], None]) -> Copied:
    """Copy a backup file made by `lrs backup` into `target`."""
    source = Path(backup)
    if not source.is_file():
        raise SettingError(f"{backup!r}: no backup file there")
    return copy_file(source, target, said)


def copy_file(source: Path, target: Target, said: Callable[[str], None]) -> Copied:
    started = time.monotonic()
    with _snapshot(source) as store:
        counts = dict(store.execute("SELECT collection, count(*) FROM documents GROUP BY collection"))
        indexes = store.execute("SELECT collection, name, spec FROM indexes ORDER BY collection, name").fetchall()
        check_reachable(target.uri, target.timeout_seconds)
        # pymongo's own waits from here on, as `lrs serve` keeps them: a copy of minutes rides out
        # a replica set's election, and a server busy building an index is not taken for gone
        with pymongo.MongoClient(target.uri) as client:
            database = client[target.database]
            _refuse_documents_in(database, target)
            names = sorted(set(counts) | {name for name, _, _ in indexes})
            for name in names:
                declared = [(index, index_spec(spec)) for collection, index, spec in indexes if collection == name]
                _copy_collection(store, database[name], counts.get(name, 0), declared, target, said)
    return Copied(len(names), sum(counts.values()), counts.get("statements", 0), len(indexes),
                  time.monotonic() - started)


@contextmanager
def _snapshot(path: Path) -> Iterator[sqlite3.Connection]:
    """The file opened read-only (mode=ro: nothing of the source changes, not even a checkpoint of
    its log at close), of a release whose tables this one reads, inside one read transaction.
    Without a log beside it (a clean stop, a backup), as immutable too: a read-only reader of a
    WAL-mode file otherwise leaves an empty log and its index in the folder. Nothing writes the file
    meanwhile (the data folder's lock is held, or it is a backup). After a crash the log holds
    acknowledged writes and is read, leaving the folder's files as SQLite's readers do."""
    immutable = "" if path.with_name(path.name + "-wal").exists() else "&immutable=1"
    with unreadable_named(path):
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro{immutable}", uri=True, isolation_level=None)
    with closing(connection), unreadable_named(path):
        version_of(connection, path)
        connection.execute("BEGIN")
        yield connection


def _refuse_documents_in(database: Database, target: Target) -> None:
    try:
        held = [name for name in sorted(database.list_collection_names())
                if not name.startswith("system.") and database[name].find_one({}, {"_id": 1}) is not None]
    except PyMongoError as error:
        raise SettingError(f"cannot read {target.named()}: {target.reason(error)}") from None
    if held:
        shown = ", ".join(held[:10]) + (f" and {len(held) - 10} more" if len(held) > 10 else "")
        raise SettingError(
            f"{target.named()} already holds documents ({shown}): copied into it, two stores' ids, seq numbers "
            f"and counters would collide. Copy into an empty database: set LRS_MONGO_DB to a new name, or drop "
            f"this one if nothing in it is needed (mongosh: use {target.database}; db.dropDatabase())")


def _copy_collection(store: sqlite3.Connection, collection: Collection, total: int,
                     indexes: list[tuple[str, dict]], target: Target, said: Callable[[str], None]) -> None:
    started = time.monotonic()
    copied = 0
    try:
        sample: dict[bytes, Any] = {}
        for batch, sampled in _batches(store, collection.name, total):
            collection.insert_many(batch, ordered=True)
            if (copied + len(batch)) // PROGRESS_EVERY > copied // PROGRESS_EVERY:
                said(f"{collection.name}: {copied + len(batch):,} of {total:,} documents...")
            copied += len(batch)
            sample.update(sampled)
        _check_documents(collection, total, sample)
        _declare_indexes(collection, indexes)  # after the check: a TTL index may remove expired documents at once
    except PyMongoError as error:
        copied += error.details.get("nInserted", 0) if isinstance(error, BulkWriteError) else 0
        raise _partial(target, f"copying {collection.name} failed after {copied:,} of its {total:,} documents: "
                               f"{target.reason(error)}") from None
    except _Mismatch as mismatch:
        raise _partial(target, f"the copy of {collection.name} does not match the store: {mismatch}") from None
    said(f"{collection.name}: {copied:,} documents, {len(indexes)} indexes ({time.monotonic() - started:.1f} s)")


def _partial(target: Target, what: str) -> SettingError:
    return SettingError(f"{what}. {target.named()} now holds part of the store: drop it (mongosh: use "
                        f"{target.database}; db.dropDatabase()) before copying again; the source is unchanged")


def _batches(store: sqlite3.Connection, name: str, total: int) -> Iterator[tuple[list[RawBSONDocument], dict]]:
    """The collection's documents in batches, each with its documents of the sample: their ids
    by the digest of their bodies."""
    step = max(1, total // SAMPLE)
    batch: list[RawBSONDocument] = []
    sampled: dict[bytes, Any] = {}
    size = 0
    for position, (body,) in enumerate(store.execute("SELECT body FROM documents WHERE collection = ?", (name,))):
        document = RawBSONDocument(body)
        if position % step == 0:
            sampled[_digest(document)] = document["_id"]
        batch.append(document)
        size += len(body)
        if len(batch) >= BATCH_DOCUMENTS or size >= BATCH_BYTES:
            yield batch, sampled
            batch, sampled, size = [], {}, 0
    if batch:
        yield batch, sampled


def _digest(document: RawBSONDocument) -> bytes:
    return hashlib.sha256(document.raw).digest()


class _Mismatch(Exception):
    pass


def _declare_indexes(collection: Collection, indexes: list[tuple[str, dict]]) -> None:
    for name, spec in indexes:
        declare_index(collection, spec.pop("key"), name=name, **spec)
    missing = {name for name, _ in indexes} - set(collection.index_information())
    if missing:
        raise _Mismatch(f"indexes missing: {', '.join(sorted(missing))}")


def _check_documents(collection: Collection, total: int, sample: dict[bytes, Any]) -> None:
    """The count, and the sampled documents byte for byte."""
    found = collection.count_documents({})
    if found != total:
        raise _Mismatch(f"{found:,} documents in MongoDB, {total:,} in the embedded store")
    if sample:
        read_back = collection.with_options(codec_options=RAW).find({"_id": {"$in": list(sample.values())}})
        differing = set(sample) - {_digest(document) for document in read_back}
        if differing:
            raise _Mismatch(f"{len(differing)} of {len(sample)} documents read back differ from the store's")
