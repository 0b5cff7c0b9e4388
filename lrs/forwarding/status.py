"""Where each target stands: what `lrs forward status` prints and the admin endpoint returns."""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Iterable

from lrs.forwarding.contract import Target
from lrs.forwarding.dead_letters import DeadLetters
from lrs.forwarding.scan import Scanner
from lrs.forwarding.state import TargetState, TargetStates
from lrs.forwarding.targets import forward_targets
from lrs.statements import utc_now
from lrs.xapi.timestamps import format_timestamp

if TYPE_CHECKING:  # pragma: no cover
    from lrs.core import LRS


def forwarding_status(lrs: "LRS", targets: Iterable[Target] | None = None) -> list[dict[str, Any]]:
    targets = forward_targets(lrs) if targets is None else targets
    states = TargetStates(lrs.db).all()
    letters = DeadLetters(lrs.db)
    scanner = Scanner(lrs.statement_store.collection, grace_seconds=0)
    now = utc_now()
    return [_target_status(target, states.get(target.options.name), scanner, letters, now) for target in targets]


def _target_status(target: Target, state: TargetState | None, scanner: Scanner, letters: DeadLetters,
                   now: dt.datetime) -> dict[str, Any]:
    options = target.options
    status: dict[str, Any] = {"target": options.name, "filter": options.filter.describe(),
                              "dead_letters": letters.count(options.name)}
    if state is None:
        start = scanner.seq_at(options.since)
        status.update(started=False, backlog=scanner.backlog(_fresh(options.name, start), options), delivered=0)
        return status
    doc = state.doc
    lease = doc.get("lease") or {}
    leased = lease.get("owner") and lease.get("until") and _aware(lease["until"]) > now
    error = doc.get("last_error")
    status.update(
        started=True,
        backlog=scanner.backlog(state, options),
        delivered=doc.get("delivered", 0),
        last_success=_time(doc.get("last_success")),
        last_error=None if error is None else {**error, "at": _time(error["at"])},
        attempts=state.attempts,
        next_attempt=_time(state.next_attempt),
        checkpoint=state.checkpoint,
        gaps=len(state.gaps),
        worker=lease["owner"] if leased else None,
    )
    return status


def _fresh(name: str, checkpoint: int) -> TargetState:
    return TargetState(name, checkpoint, (), 0, None, {})


def _aware(moment: dt.datetime) -> dt.datetime:
    """Stores created without tz_aware hand back naive UTC datetimes."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _time(moment: dt.datetime | None) -> str | None:
    return None if moment is None else format_timestamp(_aware(moment))
