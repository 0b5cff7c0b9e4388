"""What the engine asks of a forwarding target, and what a target answers.

A target only knows how to send one batch to one external system and to say how that went; the
engine owns everything around it (which statements, in what order, retries, dead letters,
checkpoints). Plugins return targets from the `lrs_forward_targets` hook.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Iterator, Protocol

from lrs.forwarding.filters import StatementFilter

DELIVERED = "delivered"
REJECTED = "rejected"
RETRY = "retry"

# 4xx answers that say nothing about the statements: the request, the credential or the endpoint
# is wrong, or the target is busy. Dead-lettering on them would throw away good statements, so
# they are retried like an outage until an operator fixes the configuration.
NOT_THE_STATEMENTS = frozenset({401, 403, 404, 405, 407, 408, 425, 429})
# Answers of a target that is down, overloaded or unreachable behind a gateway: an outage, which
# never makes the engine split a batch or give up on a statement. Other 5xx may be the content.
OUTAGE = NOT_THE_STATEMENTS | {502, 503, 504}


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
    outage: bool = True  # for `retry`: the target is unreachable or unwell, not this content
    late: bool = False  # for `retry`: sent, and no answer came in time: maybe slow for this many

    @classmethod
    def delivered(cls, status: int | None = None) -> "Outcome":
        return cls(DELIVERED, status)

    @classmethod
    def retry(cls, detail: str, status: int | None = None, retry_after: float | None = None,
              outage: bool | None = None, late: bool = False) -> "Outcome":
        """`outage` defaults to: no answer at all, or an answer in OUTAGE. A failure that is not
        an outage and repeats makes the engine split the batch to isolate the statement. `late`:
        the batch went out and its answer did not come within the timeout; a target that is up
        but takes longer than that for a batch this size would get it again for ever, so the
        engine sends it in halves next, and waits out the backoff unless the target answers no
        probe either (then it is hung or down, and probed until it answers)."""
        return cls(RETRY, status, detail, retry_after,
                   status is None or status in OUTAGE if outage is None else outage, late)

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
    timeout: float = 30.0  # the longest one delivery may take, wall clock (see Deadline)
    in_flight: int = 1  # deliveries to this target at the same time
    # where the target delivers (an endpoint URL), no secrets: what the engine learns about that
    # place, such as a body limit, is forgotten when it changes
    address: str = ""


class Deadline:
    """When one delivery must be over: `seconds` after it started, or earlier if the worker can
    no longer vouch for its lease on the target (`lease_valid` returns the monotonic time until
    which it can). Past it, another worker may be delivering to the target."""

    def __init__(self, seconds: float, lease_valid: Callable[[], float] = lambda: math.inf):
        self.at = time.monotonic() + seconds
        self._lease_valid = lease_valid
        self.finished = False  # set by the engine when the delivery returned

    def remaining(self) -> float:
        return min(self.at, self._lease_valid()) - time.monotonic()

    def passed(self) -> bool:
        return self.remaining() <= 0

    @contextmanager
    def enforced(self, abort: Callable[[], None], poll: float = 0.05) -> Iterator[None]:
        """Run the block; if the deadline passes first, call `abort` (from another thread, again
        every `poll` seconds until the block ends), e.g. to close the connection in use."""
        finished = threading.Event()

        def watch() -> None:
            while not finished.is_set():
                if self.passed():
                    abort()
                    finished.wait(poll)
                else:
                    finished.wait(min(poll, self.remaining()))

        watcher = threading.Thread(target=watch, daemon=True, name="delivery-deadline")
        watcher.start()
        try:
            yield
        finally:
            finished.set()
            watcher.join()


class Target(Protocol):
    options: TargetOptions

    def deliver(self, batch: list[Outgoing], deadline: Deadline) -> Outcome:
        """Send the batch in one request if the system allows it, and be done by `deadline`
        (connect, send and receive included; give up and return Outcome.retry if not). Must not
        raise for an expected failure (return Outcome.retry); an exception is treated as a
        failure of the batch's content (it may be the content: a transformation that raises)."""

    # Optional: `probe(deadline) -> bool`, a cheap request telling whether the target is back
    # (e.g. GET /about). While a target is down the engine probes it every few seconds and tries
    # again at once when it answers, instead of waiting out its backoff.


def classify_http(status: int, body: str, retry_after: str | None = None,
                  now: dt.datetime | None = None, location: str | None = None) -> Outcome:
    """The outcome of an HTTP answer to a batch, for any HTTP-based target. A redirect is not
    followed (a POST must not be resent to an address the target chose) and says nothing about
    the statements: the endpoint moved (http to https, a trailing slash), an outage to fix."""
    if 200 <= status < 300:
        return Outcome.delivered(status)
    if 300 <= status < 400:
        return Outcome.retry(f"HTTP {status}: redirected to {location or '(no Location)'}; redirects are not "
                             "followed: set the target's endpoint to the address it names", status, outage=True)
    detail = f"HTTP {status}: {body[:2000]}"
    if status == 409:
        return Outcome.rejected(409, "conflict: the target already has a statement with this id and "
                                     f"different content. {detail}")
    if 400 <= status < 500 and status not in NOT_THE_STATEMENTS:
        return Outcome.rejected(status, detail)
    return Outcome.retry(detail, status, parse_retry_after(retry_after, now))


def classify_statements_post(status: int, body: str, sent: int, retry_after: str | None = None,
                             location: str | None = None) -> Outcome:
    """`classify_http` for a POST of `sent` statements to an xAPI LRS, which answers with their
    ids (xAPI Communication 2.1.2: 200, the array of ids in order). A 2xx without them is not an
    LRS's answer (a catch-all page, a stub, a wrong path): counted delivered, the statements would
    be lost; it is an outage to fix instead, retried and reported."""
    outcome = classify_http(status, body, retry_after, location=location)
    if outcome.kind != DELIVERED or _statement_ids(body, sent):
        return outcome
    return Outcome.retry(f"HTTP {status} without the statement ids an xAPI LRS answers a POST with (a JSON array "
                         f"of {sent}): {body[:200]!r}; is the endpoint an LRS's xAPI endpoint?", status, outage=True)


def _statement_ids(body: str, count: int) -> bool:
    try:
        ids = json.loads(body)
    except ValueError:
        return False
    return isinstance(ids, list) and len(ids) == count and all(isinstance(i, str) for i in ids)


def parse_retry_after(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # str.isdigit alone takes "²" and "١", which float refuses
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return max(0.0, (when - (now or dt.datetime.now(dt.timezone.utc))).total_seconds())
