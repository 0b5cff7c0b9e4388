"""Delivering a round of batches, up to `in_flight` at a time, narrowed down to the statements at fault.

A target that refuses a batch for its content (a 4xx) says nothing about which statements are at
fault, and xAPI LRSs store all or nothing. So a refused batch is split in halves and each half
sent again, down to single statements: the refused ones become dead letters, every other one is
delivered, at the cost of about 2 log2(n) extra requests per bad statement.

A batch that keeps failing without a refusal (a 500, a transformation that raises) may hold one
statement the target cannot take: once a part has failed `split_after` times it is split the
same way, as long as the target takes other statements meanwhile, and a single statement still
failing is set aside (`parked`: retried on its own, see `parked`) so the rest flows. A target
that takes nothing at all is down, not picky: after `in_flight` failures with nothing delivered
the round stops and is resumed later, its parts kept. An outage (no answer, 429, 503, ...)
stops the round at once and splits nothing, but for a batch sent and not answered in time: a
target slower than the timeout for that many statements would never take it, so its halves are
sent next.

A 409 for a single statement is confirmed once, `confirm_after` seconds later, before it becomes
a dead letter: LRSs (this one included) also answer 409 while another request, for instance one
of ours that timed out but is still being processed there, writes the same statement.
"""
from __future__ import annotations

import logging
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Callable

from lrs.forwarding.contract import DELIVERED, REJECTED, Deadline, Outcome, Outgoing, Target

log = logging.getLogger(__name__)


class LeaseLost(Exception):
    """Another worker owns the target now; this one must stop without recording anything."""


@dataclass(frozen=True)
class Part:
    """Statements sent together, and how many times in a row they failed (not as an outage)."""

    items: tuple[Outgoing, ...]
    failures: int = 0

    def halves(self) -> list["Part"]:
        middle = len(self.items) // 2
        return [Part(self.items[:middle], self.failures), Part(self.items[middle:], self.failures)]


@dataclass
class Report:
    delivered: list[Outgoing] = field(default_factory=list)
    rejected: list[tuple[Outgoing, Outcome]] = field(default_factory=list)
    parked: list[tuple[Outgoing, Outcome]] = field(default_factory=list)  # isolated, failing on their own
    retry: Outcome | None = None  # the last failure, when parts are left
    remaining: list[Part] = field(default_factory=list)  # the parts left when the round stopped
    split: bool = False  # a failing part was split: the next attempt need not wait long
    too_large: int | None = None  # the fewest statements sent together that the target answered 413 for
    largest_delivered: int = 0  # the most statements the target took in one request


@dataclass
class _Round:
    target: Target
    deadline: Callable[[], Deadline]  # renews the lease (raising LeaseLost) and starts a deadline
    split_after: int
    in_flight: int
    confirm_after: float
    report: Report = field(default_factory=Report)
    queue: deque = field(default_factory=deque)
    waiting: list[Part] = field(default_factory=list)  # to narrow once the target takes something
    failures_alone: int = 0  # failures while nothing was delivered
    stopped: bool = False

    def run(self, parts: list[Part]) -> Report:
        self.queue.extend(part for part in parts if part.items)
        running: dict[Future, Part] = {}
        with ThreadPoolExecutor(self.in_flight, thread_name_prefix=f"deliver-{self.target.options.name}") as pool:
            try:
                while self.queue or running:
                    while self.queue and not self.stopped and len(running) < self.in_flight:
                        part = self.queue.popleft()
                        running[pool.submit(self._send, part, self.deadline())] = part
                    if not running:
                        break
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        self._handle(running.pop(future), future.result())
                    if not self.queue and not running and self.report.delivered and self.waiting:
                        self.queue.extend(self.waiting)  # the target takes statements: narrow now
                        self.waiting = []
            except LeaseLost:
                self.stopped = True
                raise
        self.report.remaining = [*self.report.remaining, *self.queue, *self.waiting]
        if not self.report.remaining:
            self.report.retry = None
        return self.report

    def _send(self, part: Part, deadline: Deadline) -> Outcome:
        outcome = _attempt(self.target, list(part.items), deadline)
        if outcome.kind == REJECTED and outcome.status == 409 and len(part.items) == 1 and self.confirm_after >= 0:
            time.sleep(self.confirm_after)
            outcome = _attempt(self.target, list(part.items), self.deadline())
        return outcome

    def _handle(self, part: Part, outcome: Outcome) -> None:
        if outcome.kind == DELIVERED:
            self.report.delivered.extend(part.items)
            self.report.largest_delivered = max(self.report.largest_delivered, len(part.items))
        elif outcome.kind == REJECTED and len(part.items) == 1:
            self.report.rejected.append((part.items[0], outcome))
        elif outcome.kind == REJECTED:
            if outcome.status == 413:
                self.report.too_large = min(self.report.too_large or len(part.items), len(part.items))
            self.queue.extendleft(reversed(part.halves()))
        elif outcome.outage:
            self.report.retry, self.stopped = outcome, True
            late = outcome.late and len(part.items) > 1  # maybe slow for this many: halves next time
            self.report.split = self.report.split or late
            self.report.remaining.extend(part.halves() if late else [part])
        else:
            self._failed(Part(part.items, part.failures + 1), outcome)

    def _failed(self, part: Part, outcome: Outcome) -> None:
        """A failure that is not an outage: isolate the statement once it repeats."""
        self.report.retry = outcome
        taking = bool(self.report.delivered)
        if part.failures < self.split_after:
            self.waiting.append(part)
        elif len(part.items) == 1 and taking:
            self.report.parked.append((part.items[0], outcome))
        elif len(part.items) == 1:
            self.waiting.append(part)
        else:
            self.report.split = True
            (self.queue if taking else self.waiting).extend(part.halves())
        if not taking:
            self.failures_alone += 1
            self.stopped = self.stopped or self.failures_alone >= self.in_flight


def deliver(target: Target, parts: list[Part], deadline: Callable[[], Deadline], split_after: int = 3,
            in_flight: int = 1, confirm_after: float = 1.0) -> Report:
    """Deliver the parts, `in_flight` at a time; `deadline` runs before every request: it renews
    the lease (raising LeaseLost) and returns the request's deadline."""
    return _Round(target, deadline, split_after, max(1, in_flight), confirm_after).run(parts)


def _attempt(target: Target, part: list[Outgoing], deadline: Deadline) -> Outcome:
    """A target that raises has a bug or met something unexpected in these statements: a failure
    of this part, never a refusal (so nothing is dead-lettered on it before its retry age)."""
    try:
        if deadline.passed():  # e.g. the worker is stopping: not a request to start
            return Outcome.retry("no time left before the deadline to send the request")
        return target.deliver(part, deadline)
    except Exception as error:  # noqa: BLE001 - any failure of third-party code must be survivable
        log.exception("forwarding target %s raised", target.options.name)
        return Outcome.retry(f"the target raised {type(error).__name__}: {error}", outage=False)
    finally:
        deadline.finished = True
