"""Forwarding inside the LRS process, for the embedded store that no other process can read."""
from __future__ import annotations

import atexit
import logging
from typing import TYPE_CHECKING

from flask import Flask

from lrs.forwarding.targets import forward_targets
from lrs.forwarding.worker import Worker

if TYPE_CHECKING:  # pragma: no cover
    from lrs.core import LRS

log = logging.getLogger(__name__)


def start_in_process(app: Flask, lrs: "LRS") -> None:
    """With LRS_FORWARD_IN_PROCESS, run a worker beside the app (`app.extensions["forwarding"]`).
    Either way, the targets are checked now, so a misconfigured LRS does not start.

    With a real MongoDB several processes may do this at once (e.g. gunicorn workers); the leases
    keep them from delivering the same target together. Without it, on the embedded store,
    targets would silently get nothing (no `lrs forward` can read this process's store): say so.
    """
    targets = forward_targets(lrs)  # also refuses an inconsistent set of targets at start
    if not lrs.settings["forward_in_process"]:
        if targets and not lrs.settings["mongo_uri"]:
            log.warning("forwarding targets are configured but the embedded store can only be forwarded "
                        "from this process: set LRS_FORWARD_IN_PROCESS=true")
        return
    worker = Worker(lrs, targets).start()
    app.extensions["forwarding"] = worker
    atexit.register(worker.stop, 5.0)
