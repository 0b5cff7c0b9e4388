"""Which processes are alive and may still be writing statement batches.

A batch left pending by a process that died (SIGKILL, power loss) must be recognised at once:
the client resends it, and until the leftovers are gone every resend of those ids waits and
answers 503. Each writing process therefore registers itself in `statement_writers` and a
daemon thread renews its `alive_until` every second; a batch whose writer's registration has
expired (or never existed) belongs to a dead process. Clocks of the LRS hosts are assumed to
agree within a second or so (NTP); the lease is several seconds long for that reason.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
import uuid
import weakref
from typing import Iterable

from pymongo.database import Database

log = logging.getLogger(__name__)

COLLECTION = "statement_writers"
ALIVE_SECONDS = 5.0  # how long a registration lasts without being renewed
BEAT_SECONDS = 1.0


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Writers:
    """This process's writer identity. With `heartbeat` False (the embedded store, which one
    process owns) nothing is registered: every writer it meets is alive, and start-up settles
    what an earlier process left."""

    def __init__(self, db: Database, heartbeat: bool = True):
        self.collection = db[COLLECTION]
        self.heartbeat = heartbeat
        self.id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._beating = False

    def me(self) -> str:
        """This process's writer id, registered and kept alive from the first call on."""
        with self._lock:
            if self.heartbeat and (not self._beating or self._pid != os.getpid()):  # a fork is another writer
                self._pid = os.getpid()
                self.id = f"{socket.gethostname()}:{self._pid}:{uuid.uuid4().hex[:8]}"
                self.beat()
                threading.Thread(target=_keep_alive, args=(weakref.ref(self), self.id), daemon=True,
                                 name="statement-writer").start()
                self._beating = True
        return self.id

    def beat(self) -> None:
        self.collection.update_one({"_id": self.id}, {"$set": {
            "alive_until": _now() + dt.timedelta(seconds=ALIVE_SECONDS)}}, upsert=True)

    def forget_expired(self, before: dt.datetime) -> None:
        """Registrations of processes gone long ago (run at start-up)."""
        self.collection.delete_many({"alive_until": {"$lt": before}})

    def alive(self, writers: Iterable[str], now: dt.datetime | None = None) -> set[str]:
        """The writers among these whose registration has not expired."""
        if not self.heartbeat:
            return set(writers)
        found = self.collection.find({"_id": {"$in": list(set(writers))}, "alive_until": {"$gt": now or _now()}},
                                     {"_id": 1})
        return {doc["_id"] for doc in found}


def _keep_alive(ref: "weakref.ref[Writers]", identity: str) -> None:
    """Renew the registration until the store is gone (an app dropped) or the identity changed."""
    while True:
        time.sleep(BEAT_SECONDS)
        writers = ref()
        if writers is None or writers.id != identity:
            return
        try:
            writers.beat()
        except Exception:  # noqa: BLE001 - the store is unreachable: writes fail too; keep trying
            log.exception("statement writer %s: heartbeat failed", identity)
        del writers
