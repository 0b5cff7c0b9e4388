"""Where each target stands: what `lrs forward status` prints, the admin endpoint returns and
`forwarding_metrics` hands to a metrics exporter."""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Iterable

from lrs.forwarding.contract import Target, TargetOptions
from lrs.forwarding.dead_letters import DeadLetters
from lrs.forwarding.parked import Parked
from lrs.forwarding.scan import Scanner
from lrs.forwarding.sizing import address_digest, learnt_limit
from lrs.forwarding.state import RATE_WINDOW, TargetState, TargetStates, aware
from lrs.forwarding.targets import forward_targets
from lrs.statements import utc_now
from lrs.xapi.timestamps import format_timestamp

if TYPE_CHECKING:  # pragma: no cover
    from lrs.core import LRS


def forwarding_status(lrs: "LRS", targets: Iterable[Target] | None = None) -> list[dict[str, Any]]:
    """One dict per target: `backlog` (statements it wants and has not received), `lag_seconds`
    (age of the oldest of them; 0 when caught up), `oldest_undelivered`, `delivered`,
    `delivered_per_second`, `retries` (failed attempts, ever), `retrying` (statements set aside
    and retried on their own), `dead_letters`, `last_success`, `last_error` (the failure of the
    moment: None once statements get through again), `paused` (why a failing target needs an
    operator: "misconfigured", "refusing"; None), `last_error_at` (the last failed attempt's
    time, kept after recovery), `attempts` (failed in a row), `next_attempt`, `checkpoint`, `gaps`, `worker` (the lease holder), `in_flight`,
    `filter`, `started`, `caught_up`, `batch_limit` (the statements a request carries at most since
    a 413 taught it, and when: None while the configured batch size holds), `refusals` (statements
    refused alone in a row with one status, counting towards a pause: None when there are none)."""
    targets = forward_targets(lrs) if targets is None else targets
    states = TargetStates(lrs.db).all()
    scanner = Scanner(lrs.statement_store.collection, grace_seconds=0)
    now = utc_now()
    return [_target_status(target, states.get(target.options.name), scanner, lrs, now) for target in targets]


def forwarding_metrics(lrs: "LRS") -> dict[str, dict[str, float]]:
    """Per target name, numbers for a metrics exporter (Prometheus gauges and counters): backlog,
    lag_seconds, delivered_total, delivered_per_second, retries_total, retrying, dead_letters,
    paused (1 while the target is held for a failure only an operator can fix), last_success_timestamp
    and last_error_timestamp (Unix seconds, 0: never)."""
    return {row["target"]: {
        "backlog": row["backlog"], "lag_seconds": row["lag_seconds"], "delivered_total": row["delivered"],
        "delivered_per_second": row["delivered_per_second"], "retries_total": row["retries"],
        "retrying": row["retrying"], "dead_letters": row["dead_letters"], "paused": float(row["paused"] is not None),
        "last_success_timestamp": _unix(row.get("last_success")),
        "last_error_timestamp": _unix(row["last_error_at"])}
        for row in forwarding_status(lrs)}


def _target_status(target: Target, state: TargetState | None, scanner: Scanner, lrs: "LRS",
                   now: dt.datetime) -> dict[str, Any]:
    options = target.options
    parked = Parked(lrs.db)
    status: dict[str, Any] = {"target": options.name, "filter": options.filter.describe(),
                              "in_flight": options.in_flight, "dead_letters": DeadLetters(lrs.db).count(options.name),
                              "retrying": parked.count(options.name)}
    state = state or TargetState(options.name, scanner.seq_at(options.since), (), 0, None, {})
    doc = state.doc
    lease = doc.get("lease") or {}
    leased = lease.get("owner") and lease.get("until") and aware(lease["until"]) > now
    error = doc.get("last_error")
    oldest = scanner.oldest(state, options, parked.seqs(options.name))
    rate = doc.get("rate") or {}
    fresh = rate and now - aware(rate["since"]) < 2 * RATE_WINDOW
    status.update(
        started=bool(doc),
        backlog=scanner.backlog(state, options) + status["retrying"],
        oldest_undelivered=_time(oldest),
        lag_seconds=0.0 if oldest is None else max(0.0, (now - aware(oldest)).total_seconds()),
        delivered=doc.get("delivered", 0),
        delivered_per_second=round(rate.get("per_second", 0.0), 1) if fresh else 0.0,
        retries=doc.get("retries", 0),
        last_success=_time(doc.get("last_success")),
        last_error=None if error is None else {**error, "at": _time(error["at"])},
        paused=(error or {}).get("paused"),
        # a state written before last_error_at was kept has its time in last_error only
        last_error_at=_time(doc.get("last_error_at") or (error or {}).get("at")),
        attempts=state.attempts,
        next_attempt=_time(state.next_attempt),
        checkpoint=state.checkpoint,
        gaps=len(state.gaps),
        worker=lease["owner"] if leased else None,
        batch_limit=_batch_limit(options, doc.get("batch_limit"), now),
        refusals=doc.get("refusals"),
    )
    status["caught_up"] = status["backlog"] == 0
    return status


def _batch_limit(options: TargetOptions, stored: dict | None, now: dt.datetime) -> dict | None:
    """The size a 413 taught, as a worker taking the target up now would use it; None: the configured one."""
    limit = learnt_limit(stored, address_digest(options.address), now)
    if limit is None or limit["size"] >= options.batch_size:
        return None
    return {"statements": limit["size"], "learnt_at": _time(limit["at"])}


def _time(moment: dt.datetime | None) -> str | None:
    return None if moment is None else format_timestamp(aware(moment))


def _unix(moment: str | None) -> float:
    return 0.0 if moment is None else dt.datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp()
