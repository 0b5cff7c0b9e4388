"""The forwarding worker: one thread per target, each looping over engine cycles, and a heartbeat.

Threads keep a slow or failing target from delaying the others. Several workers (threads of one
process or separate `lrs forward` processes on one MongoDB) may run at once: the per-target lease
makes sure only one of them delivers to a target at a time.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from typing import TYPE_CHECKING, Iterable

from lrs.forwarding.contract import Target
from lrs.forwarding.dead_letters import DeadLetters
from lrs.forwarding.engine import EngineSettings, Forwarder
from lrs.forwarding.parked import Parked
from lrs.forwarding.targets import forward_targets

if TYPE_CHECKING:  # pragma: no cover
    from lrs.core import LRS

log = logging.getLogger(__name__)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Worker:
    def __init__(self, lrs: "LRS", targets: Iterable[Target] | None = None, owner: str | None = None,
                 settings: EngineSettings | None = None):
        settings = settings or EngineSettings.from_settings(lrs.settings)
        targets = forward_targets(lrs) if targets is None else list(targets)
        self.settings = settings
        self.owner = owner or worker_id()
        self.db = lrs.db
        self.forwarders = [Forwarder(target, lrs.db, lrs.statement_store.collection, lrs.attachments,
                                     settings, self.owner)
                           for target in targets]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> "Worker":
        DeadLetters(self.db).ensure_indexes()
        Parked(self.db).ensure_indexes()
        for forwarder in self.forwarders:
            thread = threading.Thread(target=self._loop, args=(forwarder,), daemon=True,
                                      name=f"forward-{forwarder.name}")
            thread.start()
            self._threads.append(thread)
        heartbeat = threading.Thread(target=self._heartbeat, daemon=True, name="forward-heartbeat")
        heartbeat.start()
        self._threads.append(heartbeat)
        log.info("forwarding worker %s started for: %s", self.owner,
                 ", ".join(f.name for f in self.forwarders) or "no targets")
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """End the current cycles, deliveries in flight cut short and what they got done recorded,
        then hand the leases back so another worker can go on at once."""
        self._stop.set()
        for forwarder in self.forwarders:
            forwarder.interrupt()
        for thread in self._threads:
            thread.join(timeout)
        for forwarder in self.forwarders:
            forwarder.release()

    def _heartbeat(self) -> None:
        """Renew the leases this worker holds a few times per lease, so that the lease can be
        short (a crashed worker's targets are taken over soon) however long a delivery takes."""
        while not self._stop.wait(self.settings.lease / 5):
            for forwarder in self.forwarders:
                try:
                    forwarder.heartbeat()
                except Exception:  # noqa: BLE001 - MongoDB unreachable: deliveries stop at their lease's end
                    log.exception("forwarding %s: heartbeat failed", forwarder.name)

    def _loop(self, forwarder: Forwarder) -> None:
        """Cycle after cycle. A target waiting out its backoff is looked at again every poll, not
        only once its wait is over: an operator may bring its next attempt forward (`lrs forward
        retry`, from any process), and that is in the store. Such a cycle costs what an idle one
        does: a read, and the lease renewed."""
        while not self._stop.is_set():
            try:
                wait = min(forwarder.run_once().wait, self.settings.poll)
            except Exception:  # noqa: BLE001 - e.g. MongoDB unreachable: keep trying, loudly
                log.exception("forwarding %s: cycle failed", forwarder.name)
                wait = forwarder.settings.retry_max / 10
            self._stop.wait(wait)
