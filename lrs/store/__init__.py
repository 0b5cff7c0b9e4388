"""MongoDB persistence. One pymongo `Database` serves every store class, real or embedded."""
from __future__ import annotations

import logging
import threading
from typing import Any

import mongomock
import pymongo
from pymongo.database import Database

log = logging.getLogger(__name__)

EMBEDDED_WARNING = (
    "LRS_MONGO_URI is not set: using the EMBEDDED in-process store. Data is NOT durable and is "
    "lost when the process stops. Set LRS_MONGO_URI=mongodb://... for production."
)


def connect(uri: str, database: str) -> Database:
    """A database on a real MongoDB when `uri` is given, otherwise on the embedded store."""
    if uri:
        return pymongo.MongoClient(uri, tz_aware=True)[database]
    log.warning(EMBEDDED_WARNING)
    return _SerialisedDatabase(mongomock.MongoClient(tz_aware=True)[database])


class _Serialised:
    """Runs every call on the wrapped mongomock object under one lock.

    A real MongoDB makes single-document operations atomic (find_one_and_update, a unique index
    check and insert); mongomock does not promise that under threads, so the embedded store
    serialises its calls to keep the same guarantees.
    """

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

    def __getitem__(self, name: str) -> Any:
        return self.__getattr__("__getitem__")(name)


class _SerialisedDatabase(_Serialised):
    def __init__(self, database: Any):
        super().__init__(database, threading.RLock())

    def __getitem__(self, name: str) -> Any:
        return _Serialised(self._target[name], self._lock)

    def get_collection(self, name: str) -> Any:
        return self[name]
