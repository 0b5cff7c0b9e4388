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
from typing import Iterable

from pymongo.database import Database

log = logging.getLogger(__name__)

COLLECTION = "statement_writers"
ALIVE_SECONDS = 5.0  # how long a registration lasts without being renewed
BEAT_SECONDS = 1.0


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Writers:
    def __init__(self, db: Database):
        self.collection = db[COLLECTION]
        self.id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._beating: threading.Thread | None = None

    def me(self) -> str:
        """This process's writer id, registered and kept alive from the first call on."""
        with self._lock:
            if self._beating is None or self._pid != os.getpid():  # a fork gets an identity of its own
                self._pid = os.getpid()
                self.id = f"{socket.gethostname()}:{self._pid}:{uuid.uuid4().hex[:8]}"
                self.beat()
                self._beating = threading.Thread(target=self._keep_alive, daemon=True, name="statement-writer")
                self._beating.start()
        return self.id

    def beat(self) -> None:
        self.collection.update_one({"_id": self.id}, {"$set": {
            "alive_until": _now() + dt.timedelta(seconds=ALIVE_SECONDS)}}, upsert=True)

    def forget_expired(self, before: dt.datetime) -> None:
        """Registrations of processes gone long ago (run at start-up)."""
        self.collection.delete_many({"alive_until": {"$lt": before}})

    def alive(self, writers: Iterable[str], now: dt.datetime | None = None) -> set[str]:
        """The writers among these whose registration has not expired."""
        found = self.collection.find({"_id": {"$in": list(set(writers))}, "alive_until": {"$gt": now or _now()}},
                                     {"_id": 1})
        return {doc["_id"] for doc in found}

    def _keep_alive(self) -> None:
        identity = self.id
        while identity == self.id:
            time.sleep(BEAT_SECONDS)
            try:
                self.beat()
            except Exception:  # noqa: BLE001 - the store is unreachable: writes fail too; keep trying
                log.exception("statement writer %s: heartbeat failed", identity)
