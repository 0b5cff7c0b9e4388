"""What an operator does to forwarding, shared by `lrs forward ...` and the admin endpoint."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from lrs.errors import Conflict, NotFound
from lrs.forwarding.contract import Target
from lrs.forwarding.dead_letters import DeadLetters
from lrs.forwarding.parked import Parked
from lrs.forwarding.scan import Scanner, parse_since
from lrs.forwarding.state import TargetStates
from lrs.forwarding.targets import forward_targets
from lrs.logs import clipped
from lrs.statements import utc_now
from lrs.xapi.timestamps import format_timestamp

if TYPE_CHECKING:  # pragma: no cover
    from lrs.core import LRS

log = logging.getLogger(__name__)


def target_named(lrs: "LRS", name: str) -> Target:
    for target in forward_targets(lrs):
        if target.options.name == name:
            return target
    raise NotFound(f"no forwarding target named {clipped(name)!r} is configured")  # a path may hold any length


def dead_letters(lrs: "LRS", name: str, after_seq: int = -1, limit: int = 100) -> list[dict[str, Any]]:
    target_named(lrs, name)
    letters = DeadLetters(lrs.db).page(name, after_seq, limit)
    return [{**letter, "at": format_timestamp(letter["at"])} for letter in letters]


def replay(lrs: "LRS", name: str, statement_ids: list[str] | None = None, *, by: str) -> int:
    """Mark dead letters for the worker to send again; returns how many were marked. `by` names
    who acts, for the log line (the operator's audit trail)."""
    target_named(lrs, name)
    marked = DeadLetters(lrs.db).mark_for_replay(name, statement_ids)
    log.info("%s marked %d dead letter(s) of target %s for replay", by, marked, name)
    return marked


def backfill(lrs: "LRS", name: str, since: str, *, by: str) -> int:
    """Send the target everything stored from `since` on again (or skip to it); returns the new
    checkpoint. Statements the target already has are no-ops there."""
    target = target_named(lrs, name)
    parse_since(since)
    states = TargetStates(lrs.db)
    checkpoint = Scanner(lrs.statement_store.collection, grace_seconds=0).seq_at(since)
    if states.get(name) is None:
        states.create(name, checkpoint, utc_now())
    elif not states.rewind(target.options.name, checkpoint):
        raise Conflict(f"target {name}: the checkpoint kept moving (the worker advanced it three times "
                       "meanwhile); try again")
    log.info("%s set target %s back to sequence %d (backfill since %s)", by, name, checkpoint, since)
    return checkpoint


def retry(lrs: "LRS", name: str, *, by: str) -> dict[str, Any]:
    """Retry now a target waiting for its next attempt (paused, or backing off after a failure)
    and its statements set aside, for an operator who fixed the cause on the target's side.

    Only the times of the next attempts move, in the store: the worker holding the target's lease,
    in this process or a `lrs forward` elsewhere, makes the attempt at its next cycle (within
    LRS_FORWARD_POLL_SECONDS), under its lease, from its checkpoint, as it would have when it was due."""
    target_named(lrs, name)
    now = utc_now()
    was_due = TargetStates(lrs.db).retry_now(name, now)
    set_aside = Parked(lrs.db).due_now(name, now)
    details = ([f"the next attempt was due at {format_timestamp(was_due)}"] if was_due else []) + (
        [f"{set_aside} statement(s) set aside retried too"] if set_aside else [])
    if details:
        message = f"{name}: retried at the worker's next cycle ({'; '.join(details)})"
        log.info("%s asked to retry target %s now (%s)", by, name, "; ".join(details))
    else:
        message = f"{name}: nothing was waiting (no retry pending), nothing changed"
    return {"target": name, "waiting": bool(details), "was_due": None if was_due is None else format_timestamp(was_due),
            "set_aside": set_aside, "message": message}
