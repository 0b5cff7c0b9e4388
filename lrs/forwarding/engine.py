"""One forwarding cycle for one target: lease, plan, deliver, record.

Every step that matters is a single-document write in MongoDB, in an order that makes a crash at
any point harmless: dead letters and the checkpoint are written only after the target answered,
so a worker killed mid-batch leaves the checkpoint where it was and the next owner of the lease
sends the batch again (at-least-once; the target ignores statement ids it already has).
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from pymongo.database import Database

from lrs.forwarding.backoff import retry_delay
from lrs.forwarding.contract import Outgoing, Target
from lrs.forwarding.dead_letters import DeadLetters
from lrs.forwarding.delivery import LeaseLost, Report, deliver
from lrs.forwarding.scan import Scanner
from lrs.forwarding.state import Progress, TargetState, TargetStates
from lrs.statements import utc_now

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EngineSettings:
    poll: float = 1.0
    lease: float = 60.0
    retry_base: float = 1.0
    retry_max: float = 300.0
    gap_grace: float = 600.0
    confirm_conflict: float = 1.0  # seconds before a 409 for one statement is asked again

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> "EngineSettings":
        return cls(settings["forward_poll_seconds"], settings["forward_lease_seconds"],
                   settings["forward_retry_base_seconds"], settings["forward_retry_max_seconds"],
                   settings["forward_gap_grace_seconds"])


@dataclass(frozen=True)
class Cycle:
    """What one cycle did, and how long the worker should wait before the next one."""

    kind: str  # "delivered" | "idle" | "backoff" | "busy" | "lost"
    wait: float
    delivered: int = 0
    rejected: int = 0


class Forwarder:
    def __init__(self, target: Target, db: Database, statements: Any, attachments: Any,
                 settings: EngineSettings, owner: str, clock: Callable[[], dt.datetime] = utc_now):
        self.target = target
        self.name = target.options.name
        self.states = TargetStates(db)
        self.letters = DeadLetters(db)
        self.scanner = Scanner(statements, settings.gap_grace, attachments)
        self.settings = settings
        self.owner = owner
        self.clock = clock

    def run_once(self) -> Cycle:
        now = self.clock()
        if self.states.get(self.name) is None:
            self.states.create(self.name, self.scanner.seq_at(self.target.options.since), now)
        state = self.states.acquire(self.name, self.owner, now, self.settings.lease)
        if state is None:
            return Cycle("busy", self.settings.poll)
        if state.next_attempt is not None and state.next_attempt > now:
            return Cycle("backoff", (state.next_attempt - now).total_seconds())
        try:
            replays = self.letters.to_replay(self.name, self.target.options.batch_size)
            return self._replay(state, replays) if replays else self._forward(state, now)
        except LeaseLost:
            log.warning("forwarding %s: another worker took the lease, or the checkpoint was moved "
                        "(backfill); this batch is planned again", self.name)
            return Cycle("lost", self.settings.poll)

    def release(self) -> None:
        self.states.release(self.name, self.owner, self.clock())

    def _forward(self, state: TargetState, now: dt.datetime) -> Cycle:
        plan = self.scanner.plan(state, self.target.options, now)
        report = deliver(self.target, _resume(plan.batch, state.progress), self._keep_lease,
                         self.settings.confirm_conflict)
        self._record(report)
        if report.retry is not None:
            done = state.progress.done | {item.id for item in report.delivered} | {i.id for i, _ in report.rejected}
            progress = Progress(done, tuple(tuple(item.id for item in part) for part in report.remaining))
            return self._failed(state, report, progress)
        if not self.states.advance(state, self.owner, plan.checkpoint, plan.gaps, len(report.delivered), self.clock()):
            raise LeaseLost
        moved = plan.batch or plan.checkpoint != state.checkpoint
        return Cycle("delivered" if moved else "idle", 0.0 if moved else self.settings.poll,
                     len(report.delivered), len(report.rejected))

    def _replay(self, state: TargetState, letters: list[dict]) -> Cycle:
        """Send dead letters again that an operator asked for; delivered ones stop being dead."""
        batch = self.scanner.outgoing({"_id": {"$in": [letter["statement_id"] for letter in letters]}}, len(letters))
        report = deliver(self.target, [batch], self._keep_lease, self.settings.confirm_conflict)
        self._record(report)
        if report.retry is not None:
            return self._failed(state, report)
        self.letters.unmark(self.name, [letter["statement_id"] for letter in letters])
        self.states.succeeded(self.name, self.owner, len(report.delivered), self.clock())
        return Cycle("delivered", 0.0, len(report.delivered), len(report.rejected))

    def _record(self, report: Report) -> None:
        """What the target said is a fact even if a later request of the batch failed."""
        now = self.clock()
        for item, outcome in report.rejected:
            log.warning("forwarding %s: statement %s dead-lettered (%s)", self.name, item.id, outcome.detail[:200])
            self.letters.record(self.name, item.id, item.seq, outcome.status, outcome.detail, now)
        self.letters.clear(self.name, [item.id for item in report.delivered])

    def _failed(self, state: TargetState, report: Report, progress: Progress | None = None) -> Cycle:
        outcome = report.retry
        assert outcome is not None
        delay = retry_delay(state.attempts + 1, self.settings.retry_base, self.settings.retry_max, outcome.retry_after)
        now = self.clock()
        log.warning("forwarding %s: attempt %d failed (%s); retrying in %.1f s",
                    self.name, state.attempts + 1, outcome.detail[:200], delay)
        self.states.failed(state, self.owner, now + dt.timedelta(seconds=delay), outcome.detail, outcome.status,
                           now, progress, len(report.delivered))
        return Cycle("backoff", delay)

    def _keep_lease(self) -> None:
        if not self.states.renew(self.name, self.owner, self.clock(), self.settings.lease):
            raise LeaseLost


def _resume(batch: list[Outgoing], progress: Progress) -> list[list[Outgoing]]:
    """The batch as parts: an interrupted attempt's unresolved parts first, then what is new."""
    waiting = {item.id: item for item in batch if item.id not in progress.done}
    parts = [[waiting.pop(i) for i in part if i in waiting] for part in progress.parts]
    return [*parts, list(waiting.values())]
