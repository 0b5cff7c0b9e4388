"""The retention policy's periodic job: statements older than LRS_RETENTION_DAYS are erased.

`lrs retention run` does one pass (cron it, with MongoDB); on the embedded store, whose data no
other process can reach, the LRS runs the pass itself in a background thread.
"""
from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from lrs.erasure import erase_older_than

if TYPE_CHECKING:  # pragma: no cover
    from lrs.core import LRS

log = logging.getLogger(__name__)


def interval_seconds(days: float) -> float:
    """Often enough that nothing outlives the policy by more than a tenth of it, at most hourly."""
    return min(3600.0, max(1.0, days * 86400 / 10))


class RetentionThread:
    """Runs a retention pass at once and then every `interval_seconds` until stopped."""

    def __init__(self, lrs: "LRS"):
        self.lrs = lrs
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lrs-retention", daemon=True)

    def start(self) -> "RetentionThread":
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        days = self.lrs.settings["retention_days"]
        while not self._stop.is_set():
            try:
                erase_older_than(self.lrs, days, by="retention (in process)")
            except Exception:  # a failed pass is retried next time; the thread must not die
                log.exception("retention pass failed")
            self._stop.wait(interval_seconds(days))


def start_in_process(lrs: "LRS") -> RetentionThread | None:
    """On the embedded store with a policy set, the LRS process enforces it itself."""
    if lrs.settings["retention_days"] and not lrs.settings["mongo_uri"]:
        return RetentionThread(lrs).start()
    return None
