"""An in-memory target for engine tests: records what it receives, refuses or fails on demand."""
from __future__ import annotations

import threading
from typing import Any

from lrs.forwarding.contract import Deadline, Outcome, Outgoing, TargetOptions
from lrs.forwarding.filters import StatementFilter


class RecordingTarget:
    def __init__(self, name: str = "memory", batch_size: int = 10, refuse: dict[str, int] | None = None,
                 failures: list[Outcome] | None = None, filter: StatementFilter | None = None,
                 since: str | None = None, fail_every: int = 0, broken: set[str] | None = None,
                 refuse_all: int | None = None, max_batch: int | None = None, address: str = ""):
        self.options = TargetOptions(name, batch_size, filter or StatementFilter(), since, timeout=0.5, address=address)
        self.refuse = dict(refuse or {})
        self.failures = list(failures or [])
        self.received: dict[str, dict] = {}
        self.requests: list[list[str]] = []
        self.fail_every = fail_every
        self.broken = set(broken or ())  # ids of statements this target fails on (a 500), whatever else
        self.refuse_all = refuse_all  # a status this target refuses every request with, while set
        self.max_batch = max_batch  # a body limit: more statements at once are answered 413
        self.lock = threading.Lock()

    def deliver(self, batch: list[Outgoing], deadline: Deadline) -> Outcome:
        ids = [item.id for item in batch]
        with self.lock:
            self.requests.append(ids)
            if self.fail_every and len(self.requests) % self.fail_every == 0:
                return Outcome.retry("HTTP 429: rate limited", 429)
            if self.failures:
                failure = self.failures.pop(0)
                if isinstance(failure, Exception):
                    raise failure
                return failure
        if self.max_batch is not None and len(ids) > self.max_batch:
            return Outcome.rejected(413, "HTTP 413: too large")
        if self.broken.intersection(ids):
            return Outcome.retry("HTTP 500: internal error", 500)
        refused = [self.refuse_all] if self.refuse_all else [self.refuse[i] for i in ids if i in self.refuse]
        if refused:
            return Outcome.rejected(refused[0], f"HTTP {refused[0]}: refused")
        with self.lock:
            self.received.update({item.id: item.statement for item in batch})
        return Outcome.delivered(200)

    def sent_ids(self) -> list[Any]:
        return [i for request in self.requests for i in request]
