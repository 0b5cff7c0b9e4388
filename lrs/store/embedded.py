"""The embedded store: mongomock in this process, made safe for threads and quick by id.

A real MongoDB makes single-document operations atomic (find_one_and_update, a unique index
check and its insert); mongomock does not promise that under threads, so every call runs under
one lock. mongomock also answers every query by scanning the whole collection; lookups by `_id`
(how statements, documents and credentials are found) are served from its id map instead, so
writing a batch costs the batch, not the store's size. Its `aggregate` copies the whole
collection before the first stage; a leading `$match` is run as a query first instead.
"""
from __future__ import annotations

import threading
from typing import Any, Callable, Iterable

import mongomock
from mongomock.aggregate import process_pipeline
from mongomock.filtering import filter_applies


def embedded_database(name: str) -> Any:
    return _SerialisedDatabase(mongomock.MongoClient(tz_aware=True)[name])


class _Serialised:
    """Runs every call on the wrapped mongomock object under one lock."""

    def __init__(self, target: Any, lock: threading.RLock):
        self._target = target
        self._lock = lock

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._target, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                result = attribute(*args, **kwargs)
                return list(result) if isinstance(result, mongomock.command_cursor.CommandCursor) else result

        return call


class _SerialisedDatabase(_Serialised):
    def __init__(self, database: Any):
        super().__init__(database, threading.RLock())

    def __getitem__(self, name: str) -> Any:
        collection = self._target[name]
        if "_iter_documents" not in vars(collection):
            collection._iter_documents = _by_id_first(collection)
            collection.aggregate = _matching_first(collection)
        return _Serialised(collection, self._lock)

    def get_collection(self, name: str) -> Any:
        return self[name]


def _by_id_first(collection: Any) -> Callable[[dict], Iterable[dict]]:
    """mongomock's document scan, short-cut when the filter pins `_id` to a value or a list."""
    scan = collection._iter_documents

    def iter_documents(filter: dict | None) -> Iterable[dict]:
        ids = _pinned_ids(filter)
        if ids is None:
            return scan(filter)
        store = collection._store
        try:
            candidates = [store[i] for i in ids if i in store]
        except TypeError:  # an unhashable value (a list or document as _id): let mongomock decide
            return scan(filter)
        return (document for document in candidates if filter_applies(filter, document))

    return iter_documents


def _matching_first(collection: Any) -> Callable[..., Any]:
    """mongomock's aggregate, fed only the documents a leading `$match` selects."""
    def aggregate(pipeline: list[dict], session: Any = None, **kwargs: Any) -> Any:
        if pipeline and set(pipeline[0]) == {"$match"}:
            documents = list(collection.find(pipeline[0]["$match"]))
            return process_pipeline(documents, collection.database, pipeline[1:], session)
        return process_pipeline(list(collection.find()), collection.database, pipeline, session)

    return aggregate


def _pinned_ids(filter: dict | None) -> list | None:
    if not isinstance(filter, dict) or "_id" not in filter:
        return None
    condition = filter["_id"]
    if not isinstance(condition, dict):
        return [condition]
    if set(condition) == {"$in"} and isinstance(condition["$in"], list):
        return list(dict.fromkeys(condition["$in"]))
    return None
