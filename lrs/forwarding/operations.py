"""What an operator does to forwarding, shared by `lrs forward ...` and the admin endpoint."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lrs.errors import Conflict, NotFound
from lrs.forwarding.contract import Target
from lrs.forwarding.dead_letters import DeadLetters
from lrs.forwarding.scan import Scanner, parse_since
from lrs.forwarding.state import TargetStates
from lrs.forwarding.targets import forward_targets
from lrs.statements import utc_now
from lrs.xapi.timestamps import format_timestamp

if TYPE_CHECKING:  # pragma: no cover
    from lrs.core import LRS


def target_named(lrs: "LRS", name: str) -> Target:
    for target in forward_targets(lrs):
        if target.options.name == name:
            return target
    raise NotFound(f"no forwarding target named {name!r} is configured")


def dead_letters(lrs: "LRS", name: str, after_seq: int = -1, limit: int = 100) -> list[dict[str, Any]]:
    target_named(lrs, name)
    letters = DeadLetters(lrs.db).page(name, after_seq, limit)
    return [{**letter, "at": format_timestamp(letter["at"])} for letter in letters]


def replay(lrs: "LRS", name: str, statement_ids: list[str] | None = None) -> int:
    """Mark dead letters for the worker to send again; returns how many were marked."""
    target_named(lrs, name)
    return DeadLetters(lrs.db).mark_for_replay(name, statement_ids)


def backfill(lrs: "LRS", name: str, since: str) -> int:
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
    return checkpoint
