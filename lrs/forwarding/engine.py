"""One forwarding cycle for one target: lease, plan a round, deliver it, record.

Every step that matters is a single-document write in MongoDB, in an order that makes a crash at
any point harmless: dead letters, parked statements and the checkpoint are written only after
the target answered, so a worker killed mid-round leaves the checkpoint where it was and the
next owner of the lease sends the round again (at-least-once; the target ignores statement ids
it already has). A round is up to `in_flight` batches delivered at the same time, in any order;
the checkpoint moves past the round only once all of it is dealt with, and what an interrupted
round got done is kept (`progress`), so nothing is sent twice for lack of a record.

The lease is renewed before every request and by the worker's heartbeat, and each request's
deadline ends before the lease this worker can vouch for, so no request outlives its lease.
"""
from __future__ import annotations

import datetime as dt
import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from pymongo.database import Database

from lrs.forwarding.backoff import retry_delay
from lrs.forwarding.contract import Deadline, Outcome, Outgoing, Target
from lrs.forwarding.dead_letters import DeadLetters
from lrs.forwarding.delivery import NO_REFUSALS, LeaseLost, Part, Refusals, Report, deliver
from lrs.forwarding.parked import Parked
from lrs.forwarding.scan import Scanner
from lrs.forwarding.sizing import BatchSize
from lrs.forwarding.state import Progress, TargetState, TargetStates, aware
from lrs.statements import utc_now

log = logging.getLogger(__name__)

BUSY = frozenset({408, 425, 429})  # outages that say "later", not "wrongly configured"
UNANSWERED = "unanswered"  # the target's `probe` mode after a batch it did not answer in time


@dataclass(frozen=True)
class EngineSettings:
    poll: float = 1.0
    lease: float = 15.0
    retry_base: float = 1.0
    retry_max: float = 300.0
    gap_grace: float = 600.0
    split_after: int = 3  # failures in a row (not outages) before a batch is split
    max_retry_age: float = 86400.0  # seconds a statement may fail on its own before it is dead-lettered
    probe: float = 5.0  # seconds between probes of a target that is down
    confirm_conflict: float = 1.0  # seconds before a 409 for one statement is asked again
    pause_after: int = 10  # statements refused alone in a row before the target is suspected of refusing all

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> "EngineSettings":
        return cls(settings["forward_poll_seconds"], settings["forward_lease_seconds"],
                   settings["forward_retry_base_seconds"], settings["forward_retry_max_seconds"],
                   settings["forward_gap_grace_seconds"], settings["forward_split_after_failures"],
                   settings["forward_max_retry_age_seconds"], settings["forward_probe_seconds"],
                   pause_after=settings["forward_pause_after_refusals"])

    @property
    def margin(self) -> float:
        """How long before its lease runs out a request must be over (clock drift, a slow write)."""
        return min(1.0, self.lease / 4)


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
        self.parked = Parked(db)
        self.scanner = Scanner(statements, settings.gap_grace, attachments)
        self.settings = settings
        self.owner = owner
        self.clock = clock
        self._lease_valid = -math.inf  # monotonic time until which this worker's lease surely holds
        self._last_probe = -math.inf
        self.batch_size = BatchSize(self.name, target.options.batch_size, target.options.address)
        self._stopping = False  # see interrupt()
        self._first_cycle = True  # a target paused for its configuration is retried at once after a restart
        self._deadlines: list[Deadline] = []  # of deliveries in flight
        self._lock = threading.Lock()  # the heartbeat thread reads _deadlines

    def run_once(self) -> Cycle:
        now = self.clock()
        if self.states.get(self.name) is None:
            self.states.create(self.name, self.scanner.seq_at(self.target.options.since), now)
        started = time.monotonic()
        state = self.states.acquire(self.name, self.owner, now, self.settings.lease)
        if state is None:
            self._lease_valid = -math.inf
            return Cycle("busy", self.settings.poll)
        self._lease_valid = started + self.settings.lease - self.settings.margin
        first, self._first_cycle = self._first_cycle, False
        if first and (state.doc.get("last_error") or {}).get("paused"):
            log.info("forwarding %s: paused (%s) before this worker started; retrying now, the configuration may "
                     "have been fixed", self.name, state.doc["last_error"]["paused"])
        elif state.next_attempt is not None and aware(state.next_attempt) > now:
            waiting = self._backoff(state, now)
            if waiting is not None:
                return waiting
        try:
            self._replay(now)
            due = self.parked.due(self.name, now, self.target.options.batch_size)
            return self._resend(due) if due else self._forward(state, now)
        except LeaseLost:
            log.warning("forwarding %s: another worker took the lease, or the checkpoint was moved "
                        "(backfill); this round is planned again", self.name)
            return Cycle("lost", self.settings.poll)

    def heartbeat(self) -> None:
        """Renew a lease this worker holds (the worker's heartbeat thread calls this), unless a
        delivery ignores its deadline: then the lease is let go, as if this worker had died."""
        with self._lock:
            self._deadlines = [deadline for deadline in self._deadlines if not deadline.finished]
            overdue = any(deadline.remaining() < -self.settings.margin for deadline in self._deadlines)
        if self._lease_valid == -math.inf:
            return
        if overdue:
            log.error("forwarding %s: a delivery is past its deadline; letting the lease go", self.name)
            return
        started = time.monotonic()
        if self.states.renew(self.name, self.owner, self.clock(), self.settings.lease):
            self._lease_valid = max(self._lease_valid, started + self.settings.lease - self.settings.margin)
        else:
            self._lease_valid = -math.inf  # deliveries in flight stop at once

    def interrupt(self) -> None:
        """The worker is stopping: deliveries in flight end now, as at a passed deadline, and the
        round records what the target acknowledged while this worker still holds the lease, so a
        restart resends only the rest (waiting them out instead could outlast the stop's patience,
        which then lets the lease go with nothing recorded)."""
        self._stopping = True

    def _vouched(self) -> float:
        """Until when (monotonic) a request may run: the lease this worker can vouch for."""
        return -math.inf if self._stopping else self._lease_valid

    def release(self) -> None:
        self._lease_valid = -math.inf
        self.states.release(self.name, self.owner, self.clock())

    def _backoff(self, state: TargetState, now: dt.datetime) -> Cycle | None:
        """Wait out the backoff, unless the target was down and a probe says it is back."""
        wait = (aware(state.next_attempt) - now).total_seconds()
        probe = getattr(self.target, "probe", None)
        mode = state.doc.get("probe")
        if probe is None or not mode:
            return Cycle("backoff", wait)
        if time.monotonic() - self._last_probe < self.settings.probe:
            return Cycle("backoff", min(wait, self.settings.probe))
        self._last_probe = time.monotonic()
        answers = probe(Deadline(min(self.settings.probe, self.target.options.timeout), self._vouched))
        if answers and mode == UNANSWERED:  # it answers, so it is up: merely slow for that batch
            self.states.probing(self.name, self.owner, False)
            return Cycle("backoff", wait)
        if answers:
            log.info("forwarding %s: the target answers again; retrying now", self.name)
            return None
        if mode == UNANSWERED:
            log.warning("forwarding %s: the target answers no probe either: it is down or hung, not slow; "
                        "probing it every %g s", self.name, self.settings.probe)
            self.states.probing(self.name, self.owner, True)
        return Cycle("backoff", min(wait, self.settings.probe))

    def _forward(self, state: TargetState, now: dt.datetime) -> Cycle:
        options = self.target.options
        self.batch_size.recall(state.doc.get("batch_limit"), now)
        size = self.batch_size.current
        plan = self.scanner.plan(state, options, now, size * options.in_flight)
        pause_after = self._pause_after(state, now)
        report = self._deliver(_resume(plan.batch, state.progress, size), pause_after=pause_after,
                               refused=Refusals.from_doc(state.doc.get("refusals")))
        if self.batch_size.learn(report.too_large, report.largest_delivered, self.clock()):
            self.states.remember_size(self.name, self.owner, self.batch_size.memory())
        if report.rejected and not pause_after and self.settings.pause_after:
            log.warning("forwarding %s: the target has refused every statement for longer than the retry age "
                        "(LRS_FORWARD_MAX_RETRY_AGE_SECONDS, since %s): its refusals are dead letters again",
                        self.name, state.doc["refusing_since"])
        self._record(report)
        if report.remaining:
            resolved = [*report.delivered, *(item for item, _ in report.rejected), *(item for item, _ in report.parked)]
            progress = Progress(state.progress.done | {item.id for item in resolved},
                                tuple((tuple(item.id for item in part.items), part.failures)
                                      for part in report.remaining))
            return self._failed(state, report, progress)
        if not self.states.advance(state, self.owner, plan.checkpoint, plan.gaps, len(report.delivered), self.clock(),
                                   report.refusals):
            raise LeaseLost
        moved = plan.batch or plan.checkpoint != state.checkpoint
        if report.delivered or report.rejected:
            log.info("forwarding %s: delivered %d statements, dead-lettered %d (checkpoint %d)",
                     self.name, len(report.delivered), len(report.rejected), plan.checkpoint)
        return Cycle("delivered" if moved else "idle", 0.0 if moved else self.settings.poll,
                     len(report.delivered), len(report.rejected))

    def _replay(self, now: dt.datetime) -> None:
        """Dead letters an operator asked to send again are parked: due now, retried on their own.
        They stay dead letters until delivered (refused again, their refusal is counted)."""
        for letter in self.letters.to_replay(self.name, self.target.options.batch_size):
            self.parked.park(self.name, letter["statement_id"], letter["seq"], "replayed by an operator", None, now)

    def _resend(self, entries: list[dict]) -> Cycle:
        """Parked statements, each on its own; the ones failing past their retry age become dead letters.
        Those the target's filter no longer wants (it changed since they were set aside) are dropped
        like those no longer stored: a filter applies to every statement not yet forwarded."""
        wanted = {**self.target.options.filter.mongo(), "_id": {"$in": [entry["statement_id"] for entry in entries]}}
        batch = {item.id: item for item in self.scanner.outgoing(wanted, len(entries))}
        self.parked.remove(self.name, [entry["statement_id"] for entry in entries if entry["statement_id"] not in batch])
        report = self._deliver([Part((item,)) for item in batch.values()], split_after=0)
        self._record(report, park=False)
        settled = {item.id for item in report.delivered} | {item.id for item, _ in report.rejected}
        self.parked.remove(self.name, settled)
        now = self.clock()
        for entry in entries:
            if entry["statement_id"] in batch and entry["statement_id"] not in settled:
                self._failed_again(entry, report.retry or Outcome.retry("not attempted"), now)
        self.letters.unmark(self.name, [entry["statement_id"] for entry in entries])
        if report.delivered:
            self.states.succeeded(self.name, self.owner, len(report.delivered), now)
        return Cycle("delivered", 0.0, len(report.delivered), len(report.rejected))

    def _failed_again(self, entry: dict, outcome: Outcome, now: dt.datetime) -> None:
        if not outcome.outage and now - aware(entry["since"]) >= dt.timedelta(seconds=self.settings.max_retry_age):
            log.warning("forwarding %s: statement %s failed for %s; dead-lettered (%s)", self.name,
                        entry["statement_id"], now - aware(entry["since"]), outcome.detail[:200])
            self.letters.record(self.name, entry["statement_id"], entry["seq"], outcome.status,
                                f"failed for longer than the retry age: {outcome.detail}", now)
            self.parked.remove(self.name, [entry["statement_id"]])
            return
        delay = retry_delay(entry["failures"] + 1, self.settings.retry_base, self.settings.retry_max,
                            outcome.retry_after)
        self.parked.failed(entry, outcome.detail, outcome.status, now + dt.timedelta(seconds=delay), now)

    def _pause_after(self, state: TargetState, now: dt.datetime) -> int:
        """Refusals held back while a target refuses everything wait at most the retry age, like a
        statement set aside: statements refused that long are dead letters, as before this rule."""
        since = state.doc.get("refusing_since")
        if since is not None and now - aware(since) >= dt.timedelta(seconds=self.settings.max_retry_age):
            return 0
        return self.settings.pause_after

    def _deliver(self, parts: list[Part], split_after: int | None = None, pause_after: int = 0,
                 refused: Refusals = NO_REFUSALS) -> Report:
        return deliver(self.target, parts, self._deadline,
                       self.settings.split_after if split_after is None else split_after,
                       self.target.options.in_flight, self.settings.confirm_conflict, pause_after, refused)

    def _record(self, report: Report, park: bool = True) -> None:
        """What the target said is a fact even if a later request of the round failed."""
        now = self.clock()
        for item, outcome in report.rejected:
            log.warning("forwarding %s: statement %s dead-lettered (%s)", self.name, item.id, outcome.detail[:200])
            self.letters.record(self.name, item.id, item.seq, outcome.status, outcome.detail, now)
        for item, outcome in report.parked if park else ():
            log.warning("forwarding %s: statement %s fails on its own; set aside to retry alone (%s)",
                        self.name, item.id, outcome.detail[:200])
            self.parked.park(self.name, item.id, item.seq, outcome.detail, outcome.status, now)
        self.letters.clear(self.name, [item.id for item in report.delivered])

    def _failed(self, state: TargetState, report: Report, progress: Progress | None = None) -> Cycle:
        outcome = report.retry
        assert outcome is not None
        if self._stopping:  # the target did not fail: the worker cut the round short
            outcome = Outcome.retry("interrupted: the worker stopped mid-round")
        if report.split and not report.refusing:  # what is sent next differs: no reason to wait long
            delay = retry_delay(1, self.settings.retry_base, self.settings.retry_max, outcome.retry_after)
        else:
            delay = retry_delay(state.attempts + 1, self.settings.retry_base, self.settings.retry_max,
                                outcome.retry_after)
        now = self.clock()
        paused = None if self._stopping else "refusing" if report.refusing else _misconfigured(outcome)
        if paused:  # time will not fix it: an operator must, so it is an error, not a warning
            log.error("forwarding %s: paused (%s), attempt %d; the statements are kept and sent again in %.1f s: %s",
                      self.name, paused, state.attempts + 1, delay, outcome.detail[:500])
        else:
            log.warning("forwarding %s: attempt %d failed (%s); retrying in %.1f s",
                        self.name, state.attempts + 1, outcome.detail[:200], delay)
        probe = _probe_mode(outcome) if hasattr(self.target, "probe") else False
        self.states.failed(state, self.owner, now + dt.timedelta(seconds=delay), outcome.detail, outcome.status,
                           now, progress, len(report.delivered), probe, paused, report.refusals)
        self._last_probe = time.monotonic()
        return Cycle("backoff", min(delay, self.settings.probe) if probe else delay)

    def _deadline(self) -> Deadline:
        """Renew the lease before a request and give the request its deadline."""
        started = time.monotonic()
        if not self.states.renew(self.name, self.owner, self.clock(), self.settings.lease):
            self._lease_valid = -math.inf
            raise LeaseLost
        self._lease_valid = max(self._lease_valid, started + self.settings.lease - self.settings.margin)
        deadline = Deadline(self.target.options.timeout, self._vouched)
        with self._lock:
            self._deadlines.append(deadline)
        return deadline


def _resume(batch: list[Outgoing], progress: Progress, size: int) -> list[Part]:
    """The round as parts: an interrupted round's unresolved parts first, then what is new in
    batches of `size`."""
    waiting = {item.id: item for item in batch if item.id not in progress.done}
    parts = [Part(tuple(waiting.pop(i) for i in ids if i in waiting), failures) for ids, failures in progress.parts]
    fresh = list(waiting.values())
    return [*parts, *(Part(tuple(fresh[n:n + size])) for n in range(0, len(fresh), size))]


def _misconfigured(outcome: Outcome) -> str | None:
    """"misconfigured" for an answer about the request rather than the statements or the target's
    health (401, 403, 404, 405, 407, a redirect, a 2xx without the ids): the endpoint, credentials
    or headers need fixing."""
    status = outcome.status
    return "misconfigured" if outcome.outage and status is not None and status < 500 and status not in BUSY else None


def _probe_mode(outcome: Outcome) -> bool | str:
    """Whether a probe may cut the wait short. True: an outage a probe can see end (no answer, or
    a gateway's 5xx, and no Retry-After). A target that answers (401, a redirect, a 200 without
    ids) also answers the probe while still wrong, and would get every batch again each probe
    interval instead of backing off: False. A batch not answered in time (`late`) may mean a
    target too slow for that many statements, which answers GET /about at once, or one that hangs
    and answers nothing: UNANSWERED, for the next probe to tell (see `_backoff`)."""
    if not outcome.outage or outcome.retry_after is not None:
        return False
    if outcome.late:
        return UNANSWERED
    return outcome.status is None or outcome.status >= 500
