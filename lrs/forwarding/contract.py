"""What the engine asks of a forwarding target, and what a target answers.

A target only knows how to send one batch to one external system and to say how that went; the
engine owns everything around it (which statements, in what order, retries, dead letters,
checkpoints). Plugins return targets from the `lrs_forward_targets` hook.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

from lrs.forwarding.filters import StatementFilter

DELIVERED = "delivered"
REJECTED = "rejected"
RETRY = "retry"

# 4xx answers that say nothing about the statements: the request, the credential or the endpoint
# is wrong, or the target is busy. Dead-lettering on them would throw away good statements, so
# they are retried like an outage until an operator fixes the configuration.
NOT_THE_STATEMENTS = frozenset({401, 403, 404, 405, 407, 408, 425, 429})


@dataclass(frozen=True)
class Outgoing:
    """One stored statement on its way out, exactly as the LRS returns it, with the stored
    contents of its attachments (`sha2`, `length`, `content_type`, `chunks()`; see `body`)."""

    id: str
    seq: int
    source: str
    statement: dict
    attachments: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Outcome:
    """How one delivery attempt went.

    `delivered`: the target has every statement of the batch. `rejected`: the target refused the
    batch because of its content (a 4xx, including 409 "already there with different content");
    the engine narrows it down to the statements responsible. `retry`: nothing can be concluded
    (connection error, timeout, 429, 5xx, a misconfigured credential); try again later, after
    `retry_after` seconds if the target said so.
    """

    kind: str
    status: int | None = None
    detail: str = ""
    retry_after: float | None = None

    @classmethod
    def delivered(cls, status: int | None = None) -> "Outcome":
        return cls(DELIVERED, status)

    @classmethod
    def retry(cls, detail: str, status: int | None = None, retry_after: float | None = None) -> "Outcome":
        return cls(RETRY, status, detail, retry_after)

    @classmethod
    def rejected(cls, status: int, detail: str) -> "Outcome":
        return cls(REJECTED, status, detail)


@dataclass(frozen=True)
class TargetOptions:
    """The engine's part of a target's configuration."""

    name: str
    batch_size: int = 100
    filter: StatementFilter = field(default_factory=StatementFilter)
    since: str | None = None  # None: from the first statement; "now"; or an RFC 3339 time
    timeout: float = 30.0  # the longest one delivery may take; the lease must outlast it


class Target(Protocol):
    options: TargetOptions

    def deliver(self, batch: list[Outgoing]) -> Outcome:
        """Send the batch in one request if the system allows it. Must not raise for an
        expected failure (return Outcome.retry); an exception is treated as a retry too."""


def classify_http(status: int, body: str, retry_after: str | None = None,
                  now: dt.datetime | None = None) -> Outcome:
    """The outcome of an HTTP answer to a batch, for any HTTP-based target."""
    if 200 <= status < 300:
        return Outcome.delivered(status)
    detail = f"HTTP {status}: {body[:2000]}"
    if status == 409:
        return Outcome.rejected(409, "conflict: the target already has a statement with this id and "
                                     f"different content. {detail}")
    if 400 <= status < 500 and status not in NOT_THE_STATEMENTS:
        return Outcome.rejected(status, detail)
    return Outcome.retry(detail, status, parse_retry_after(retry_after, now))


def parse_retry_after(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return max(0.0, (when - (now or dt.datetime.now(dt.timezone.utc))).total_seconds())
