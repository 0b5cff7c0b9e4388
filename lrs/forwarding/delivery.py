"""Delivering one batch, narrowed down to the statements a target refuses.

A target that refuses a batch for its content (a 4xx) says nothing about which statements are at
fault, and xAPI LRSs store all or nothing. So a refused batch is split in halves and each half
sent again, down to single statements: the refused ones become dead letters, every other one is
delivered, at the cost of about 2 log2(n) extra requests per bad statement.

A 409 for a single statement is confirmed once, `confirm_after` seconds later, before it becomes
a dead letter: LRSs (this one included) also answer 409 while another request, for instance one
of ours that timed out but is still being processed there, writes the same statement.

A failure that may pass (an outage, a 429) can interrupt the narrowing; the parts not resolved yet
are reported so that the next attempt resumes there. Restarting from the whole batch instead
would never finish against a target that rate-limits every few requests.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Callable

from lrs.forwarding.contract import DELIVERED, REJECTED, Outcome, Outgoing, Target

log = logging.getLogger(__name__)


class LeaseLost(Exception):
    """Another worker owns the target now; this one must stop without recording anything."""


@dataclass
class Report:
    delivered: list[Outgoing] = field(default_factory=list)
    rejected: list[tuple[Outgoing, Outcome]] = field(default_factory=list)
    retry: Outcome | None = None  # set when a failure that may pass stopped the delivery
    remaining: list[list[Outgoing]] = field(default_factory=list)  # the parts left when it stopped


def deliver(target: Target, parts: list[list[Outgoing]], keep_lease: Callable[[], None],
            confirm_after: float = 1.0) -> Report:
    """Deliver the parts in order, each in one request if the target takes it; `keep_lease` runs
    before every request and raises LeaseLost."""
    report = Report()
    parts = [part for part in parts if part]
    while parts:
        part = parts[0]
        keep_lease()
        outcome = _attempt(target, part)
        if outcome.kind == REJECTED and outcome.status == 409 and len(part) == 1:
            time.sleep(confirm_after)
            keep_lease()
            outcome = _attempt(target, part)
        if outcome.kind == DELIVERED:
            report.delivered.extend(part)
        elif outcome.kind == REJECTED and len(part) == 1:
            report.rejected.append((part[0], outcome))
        elif outcome.kind == REJECTED:
            middle = len(part) // 2
            parts[1:1] = [part[:middle], part[middle:]]
        else:
            report.retry, report.remaining = outcome, parts
            break
        parts.pop(0)
    return report


def _attempt(target: Target, part: list[Outgoing]) -> Outcome:
    """A target that raises has a bug or met the unexpected: retry, never dead-letter on it."""
    try:
        return target.deliver(part)
    except Exception as error:  # noqa: BLE001 - any failure of third-party code must be survivable
        log.exception("forwarding target %s raised", target.options.name)
        return Outcome.retry(f"the target raised {type(error).__name__}: {error}")
