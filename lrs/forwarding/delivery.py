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

A target that refuses every statement (a 4xx for a version it does not speak, a content type it
does not take, a tenant header it no longer knows) would have the whole backlog narrowed down
to dead letters, two requests per statement. So when `pause_after` statements in a row are each
refused alone with the same status while nothing was delivered, the statement farthest from them
(the last of the round still to send) is sent alone: refused too (or none left to send), the
target refuses everything, and the round stops as an outage (`refusing`) with the round's
refusals held back, not dead-lettered; delivered, they were bad statements among good ones, and
are dead letters as before. The count carries from round to round (`Refusals`, kept in the
target's state), so a trickle of one statement a round is noticed like a backlog; a delivery or
another status starts it again. 409 and 413 say something about one statement (its id is taken,
it is too large) and never count.

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

PER_STATEMENT = frozenset({409, 413})  # refusals about one statement, never a sign of refusing everything


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


@dataclass(frozen=True)
class Refusals:
    """Statements refused alone in a row with one status while nothing was delivered, carried
    from round to round in the target's state."""

    count: int = 0
    status: int | None = None

    @classmethod
    def from_doc(cls, doc: dict | None) -> "Refusals":
        return cls(doc["count"], doc["status"]) if doc else cls()

    def to_doc(self) -> dict | None:
        return {"count": self.count, "status": self.status} if self.count else None

    def after(self, status: int | None) -> "Refusals":
        return Refusals(self.count + 1 if status == self.status else 1, status)


NO_REFUSALS = Refusals()


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
    refusing: bool = False  # the target refuses every statement: the round's refusals are in `remaining`
    refusals: Refusals = field(default_factory=Refusals)  # what the next round counts on from


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
    pause_after: int = 0  # statements refused alone in a row that make the target suspect (0: never)
    failures_alone: int = 0  # failures while nothing was delivered
    refused: Refusals = field(default_factory=Refusals)  # so far, the rounds before included
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
        if self.report.refusing:
            self._hold_back_refusals()
        self.report.remaining = [*self.report.remaining, *self.queue, *self.waiting]
        self.report.refusals = Refusals() if self.report.delivered else self.refused
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
            self._refused_alone(outcome)
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

    def _refused_alone(self, outcome: Outcome) -> None:
        if not self.pause_after or self.report.delivered or self.report.refusing or outcome.status in PER_STATEMENT:
            return
        self.refused = self.refused.after(outcome.status)
        if self.refused.count < self.pause_after:
            return
        farthest = self._farthest()
        answer = outcome if farthest is None else self._send(Part((farthest,)), self.deadline())
        if answer.kind == DELIVERED:
            self.report.delivered.append(farthest)
            return
        if farthest is not None:
            self.queue.append(Part((farthest,)))  # sent again with the rest, after the backoff
        self.report.refusing, self.stopped = True, True
        last = "" if farthest is None else ", and the last of the round too"
        self.report.retry = Outcome.retry(
            f"the target refuses every statement: {self.refused.count} in a row were each refused alone with HTTP "
            f"{outcome.status}{last}; paused, the statements are kept (not dead-lettered) "
            f"and sent again after the backoff. Its answer: {outcome.detail}", outcome.status, outage=True)

    def _farthest(self) -> Outgoing | None:
        """The last statement of the round still to send, taken out of its part."""
        if not self.queue:
            return None
        last = self.queue.pop()
        if len(last.items) > 1:
            self.queue.append(Part(last.items[:-1], last.failures))
        return last.items[-1]

    def _hold_back_refusals(self) -> None:
        """The round's refusals are the target's, not the statements': back to the parts to send."""
        held = sorted((item for item, outcome in self.report.rejected if outcome.status not in PER_STATEMENT),
                      key=lambda item: item.seq)
        self.report.rejected = [(item, outcome) for item, outcome in self.report.rejected
                                if outcome.status in PER_STATEMENT]
        self.report.remaining.insert(0, Part(tuple(held)))

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
            in_flight: int = 1, confirm_after: float = 1.0, pause_after: int = 0,
            refused: Refusals = NO_REFUSALS) -> Report:
    """Deliver the parts, `in_flight` at a time; `deadline` runs before every request: it renews
    the lease (raising LeaseLost) and returns the request's deadline. `refused`: what the rounds
    before left counted towards `pause_after`."""
    return _Round(target, deadline, split_after, max(1, in_flight), confirm_after, pause_after=pause_after,
                  refused=refused).run(parts)


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
