"""The embedded store: mongomock with indexes in this process, optionally kept on disk by SQLite.

A real MongoDB makes single-document operations atomic (find_one_and_update, a unique index
check and its insert); mongomock does not promise that under threads, so every call (and every
cursor's reading) runs under one lock, and the call's changes are committed to disk before the
lock is released (see `disk`). The rest of the LRS sees a pymongo-like Database and uses the
plain Collection API, as on MongoDB.
"""
from __future__ import annotations

import atexit
import gc
import logging
import sqlite3
import threading
from contextlib import contextmanager
from typing import IO, Any, Callable, ContextManager, Iterator

import mongomock

from lrs.store.embedded.disk import (
    SqliteJournal,
    StoreInUse,
    StoreUnwritable,
    claim_memory_store,
    open_data_dir,
)
from lrs.store.embedded.engine import IndexedCollection, IndexedDatabaseStore, IndexedServerStore

__all__ = ["EmbeddedDatabase", "StoreInUse", "StoreUnwritable", "embedded_database"]
log = logging.getLogger(__name__)
FULL_COLLECTION_EVERY = 100  # collections of the middle generation (CPython's default: 10)


def embedded_database(name: str, data_dir: str = "") -> "EmbeddedDatabase":
    """The embedded store, kept in `data_dir` (memory only when empty)."""
    journal, lock = open_data_dir(data_dir) if data_dir else (None, claim_memory_store())
    stores = IndexedDatabaseStore()
    if journal:
        journal.load(stores)
        stores.attach(journal)
        # The loaded documents and index entries live as long as the process: out of the cyclic
        # garbage collector's sight, its full collections no longer walk them (1.3 s at 100,000
        # statements, a pause in whichever request triggered it). Refcounting still frees them.
        gc.collect()
        gc.freeze()
        # What is written from now on lives as long, and a full collection walks all of it each
        # time: every 10 collections of the middle generation by default, 0.3-0.45 ms of a batch of
        # 10 statements at 40,000 written (measured), growing with the store. Young garbage (a
        # request's) is still collected as often as before; only what survived two collections
        # waits longer for the full one.
        gc.set_threshold(*gc.get_threshold()[:2], FULL_COLLECTION_EVERY)
    client = mongomock.MongoClient(tz_aware=True, _store=IndexedServerStore(stores))
    guard = _Guard(journal, lock)
    if journal:
        # A worker's clean stop ends in a normal exit: the file is left whole (the log checkpointed
        # into it), so a copy of the stopped folder's store.sqlite3 holds everything. Registered
        # before the forwarding and retention threads' stops, so it runs after them.
        atexit.register(guard.close)
    return EmbeddedDatabase(client[name], guard)


class _Unit:
    """One thread's unit of work, as the guard tracks it."""

    __slots__ = ("holding", "committed")

    def __init__(self) -> None:
        self.holding = False  # it changed something: the store is its own until its commit
        self.committed: list[Callable[[], None]] = []  # to run once its commit succeeded


class _Guard:
    """The one lock of the store, held by `with guard:`. Leaving its outermost hold commits the
    changes made under it, unless the thread is inside a unit of work, which commits once at its
    end instead. Entered and left by methods rather than a generator: every store call and cursor
    read passes here, about 14 times a statement batch.

    A unit of work that has changed something keeps the lock from the end of that store call to
    its commit. Otherwise another thread's commit, between two of its calls, would write its first
    changes and not its last: a request answered 503 would be half stored (some of an Agent's
    State documents deleted, a large document's chunks without their record). So the file only ever
    holds whole units, a failed commit takes back the changes of the unit that made it and no
    other, and no other request ever reads a change that is not on disk. Units that only read
    run side by side as before, and commit nothing."""

    def __init__(self, journal: SqliteJournal | None, lock_file: IO | None):
        self.lock = threading.RLock()
        self.journal = journal
        self.lock_file = lock_file
        self._depth = 0
        self._local = threading.local()

    def __enter__(self) -> None:
        self.lock.acquire()
        self._depth += 1

    def __exit__(self, *exception: object) -> None:
        try:
            self._depth -= 1
            if self._depth == 0:
                unit = getattr(self._local, "unit", None)
                if unit is None:
                    self._commit()
                elif not unit.holding and self.journal is not None and self.journal.pending():
                    unit.holding = True
                    self.lock.acquire()  # released by _end
        finally:
            self.lock.release()

    @contextmanager
    def unit_of_work(self) -> Iterator[None]:
        """A unit that changed nothing commits nothing: there is nothing of its own to write, and
        what it read was on disk."""
        if getattr(self._local, "unit", None) is not None:
            yield  # inside another: that one commits
            return
        unit = self._local.unit = _Unit()
        try:
            yield
        finally:
            self._local.unit = None
            if unit.holding:
                self._end()
            for callback in unit.committed:
                callback()

    @contextmanager
    def on_its_own(self) -> Iterator[None]:
        """Store calls that commit each on its own, as outside a unit of work, unless this
        thread's unit has changed something already (committing then would write half of it)."""
        unit = getattr(self._local, "unit", None)
        if unit is None or unit.holding:
            yield
            return
        self._local.unit = None
        try:
            yield
        finally:
            self._local.unit = unit

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once this thread's changes are on disk: at the end of its unit of work,
        if its commit succeeds (never if it fails); outside a unit at once, each store call having
        committed before it returned."""
        unit = getattr(self._local, "unit", None)
        if unit is None:
            callback()
        else:
            unit.committed.append(callback)

    def _end(self) -> None:
        """Commit the holding unit's changes and let the store go, whatever the commit does."""
        try:
            self._commit()
        finally:
            self.lock.release()

    def _commit(self) -> None:
        """Whatever is uncommitted: the file always holds the store as it was at one instant, so
        a crash between two commits loses the later writes, never half of one. A failed commit
        takes its changes back out of memory and fails the call or unit that made them
        (StoreUnwritable): so no answer ever shows a change that is not on disk, and no change
        refused shows up later."""
        if not self.journal:
            return
        try:
            self.journal.commit()
        except (sqlite3.Error, OSError) as error:
            self._roll_back(error)
            raise StoreUnwritable() from error

    def _roll_back(self, error: BaseException) -> None:
        """Memory back to the file; if the file cannot even be read, the changes stay and wait for
        the next commit instead."""
        journal = self.journal
        try:
            journal.roll_back()
        except (sqlite3.Error, OSError) as reading:
            log.error("the embedded store could not write to %s: %s: %s, nor read it back (%s: %s): its changes "
                      "wait for the next commit", journal.path, type(error).__name__, error,
                      type(reading).__name__, reading)
            return
        log.error("the embedded store could not write to %s: %s: %s (the request's changes are undone)",
                  journal.path, type(error).__name__, error)

    def close(self) -> None:
        atexit.unregister(self.close)
        with self.lock:
            if self.journal:
                self.journal.close()
            if self.lock_file:
                self.lock_file.close()


class _Guarded:
    """Runs every call on the wrapped mongomock object under the guard."""

    def __init__(self, target: Any, guard: _Guard):
        self._target = target
        self._guard = guard

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._target, name)
        if not callable(attribute):
            return attribute

        guard = self._guard

        def call(*args: Any, **kwargs: Any) -> Any:
            with guard:
                result = attribute(*args, **kwargs)
                if isinstance(result, mongomock.command_cursor.CommandCursor):
                    return list(result)
                if isinstance(result, mongomock.collection.Cursor):
                    return GuardedCursor(result, self._guard)
                return result

        return call


class GuardedCollection(_Guarded):
    """A collection whose guarded methods are made once, at first use: the stores keep their
    collections for the life of the LRS and call them on every request."""

    def __getattr__(self, name: str) -> Any:
        attribute = super().__getattr__(name)
        if callable(attribute):
            self.__dict__[name] = attribute
        return attribute


class GuardedCursor(_Guarded):
    """A cursor whose chained calls stay guarded and whose documents are read under the guard."""

    def __getattr__(self, name: str) -> Any:
        attribute = super().__getattr__(name)
        if name in ("sort", "limit", "skip", "batch_size", "max_time_ms", "allow_disk_use"):
            return lambda *args, **kwargs: (attribute(*args, **kwargs), self)[1]
        return attribute

    def __iter__(self) -> Iterator[dict]:
        with self._guard:
            return iter(list(self._target))


class EmbeddedDatabase(_Guarded):
    def __getitem__(self, name: str) -> Any:
        database = self._target
        collection = database._collection_accesses.get(name)
        if not isinstance(collection, IndexedCollection):
            collection = database._collection_accesses[name] = IndexedCollection(
                database, name, _db_store=database._store, codec_options=database.codec_options)
        return GuardedCollection(collection, self._guard)

    def get_collection(self, name: str) -> Any:
        return self[name]

    def unit_of_work(self) -> Any:
        """Store calls made inside (by this thread) reach the disk in one commit at its end; the
        work is acknowledged after that. One HTTP request is one unit of work."""
        return self._guard.unit_of_work()

    def after_commit(self, callback: Callable[[], None]) -> None:
        """`callback` once the changes made so far by this thread are on disk (see _Guard)."""
        self._guard.after_commit(callback)

    def on_its_own(self) -> ContextManager[None]:
        """Changes made inside (by this thread) are committed by the store call that makes them,
        before the unit of work ends and whether or not it is acknowledged: for writes that may
        wait on the network, such as an attachment's content read as it arrives, which would
        otherwise keep every other request's store call waiting (see _Guard)."""
        return self._guard.on_its_own()

    def exclusively(self) -> ContextManager[None]:
        """No other thread's store call runs inside (this thread's may); changes made inside reach
        the disk together, at its end or at the end of the enclosing unit of work."""
        return self._guard

    def close(self) -> None:
        """Release the data folder (its file and lock); the store is unusable afterwards."""
        self._guard.close()
