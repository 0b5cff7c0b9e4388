"""Erasure: a learner's right to be forgotten, and a retention policy, done the same way.

Both remove a set of statements *and everything that would still show them*: statements that
refer to them by StatementRef (voiding ones included, to any depth), attachment contents no
remaining statement uses, dead letters kept for forwarding targets, and for a person their
State and Agent Profile documents, their Person record and what plugins keep about them
(`lrs_erase_agent`). Each run leaves an audit record that says who, when and how many, never
whom. Copies already forwarded to other LRSs cannot be erased from here: the report names the
targets that may hold them, so the operator can ask those LRSs.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
from typing import TYPE_CHECKING, Any, Iterable

from lrs.forwarding.dead_letters import DeadLetters
from lrs.forwarding.state import TargetStates
from lrs.statements import utc_now
from lrs.xapi.agents import IFIS, ifi_key, normalise_mbox
from lrs.xapi.validation import validate_agent

if TYPE_CHECKING:  # pragma: no cover
    from lrs.core import LRS

log = logging.getLogger(__name__)
AUDIT_COLLECTION = "audit"
CHUNK = 1000


def person_keys(person: Any) -> list[str]:
    """The IFI keys of everyone `person` names: an Agent, or a Person-like object listing several
    IFIs (`{"mbox": [...], "account": [...]}`). An mbox also matches its mbox_sha1sum.
    Each IFI must be valid as in an xAPI Agent; raises ValueError naming what is wrong."""
    if not isinstance(person, dict):
        raise ValueError("agent: must be a JSON object with at least one of mbox, mbox_sha1sum, openid, account")
    keys: list[str] = []
    for ifi in IFIS:
        values = person.get(ifi)
        for value in values if isinstance(values, list) else [] if values is None else [values]:
            validate_agent({ifi: value}, "agent", "2.0.0")
            keys.append(ifi_key({ifi: value}))  # type: ignore[arg-type]
            if ifi == "mbox":
                digest = hashlib.sha1(normalise_mbox(value).encode()).hexdigest()
                keys.append(ifi_key({"mbox_sha1sum": digest}))  # type: ignore[arg-type]
    if not keys:
        raise ValueError("agent: must name at least one of mbox, mbox_sha1sum, openid, account")
    return list(dict.fromkeys(keys))


def erase_agent(lrs: "LRS", person: Any, by: str) -> dict[str, Any]:
    """Erase everything about the person; returns the counts (also kept in the audit record)."""
    keys = person_keys(person)
    report = _erase_statements(lrs, {"related_agents": {"$in": keys}})
    report["documents"] = lrs.documents.erase_agents(keys)
    report["agents"] = lrs.agents.collection.delete_many({"_id": {"$in": keys}}).deleted_count
    report["plugin_records"] = sum(lrs.plugins.hook.lrs_erase_agent(lrs=lrs, agent_keys=keys))
    return _audited(lrs, "erase-agent", by, report)


def erase_older_than(lrs: "LRS", days: float, by: str, now: dt.datetime | None = None) -> dict[str, Any]:
    """The retention policy: erase statements stored more than `days` ago (and what shows them)."""
    cutoff = (now or utc_now()) - dt.timedelta(days=days)
    report = _erase_statements(lrs, {"stored": {"$lt": cutoff}})
    report["cutoff"] = cutoff.isoformat()
    return _audited(lrs, "retention", by, report)


def _erase_statements(lrs: "LRS", query: dict) -> dict[str, Any]:
    collection = lrs.statement_store.collection
    found = {doc["_id"]: doc for doc in collection.find(query, {"seq": 1, "attachments": 1})}
    frontier = list(found)
    while frontier:  # statements referring to erased ones, to any depth
        referring = [doc for doc in collection.find({"ref": {"$in": frontier}}, {"seq": 1, "attachments": 1})
                     if doc["_id"] not in found]
        found.update((doc["_id"], doc) for doc in referring)
        frontier = [doc["_id"] for doc in referring]
    ids = list(found)
    for part in _chunks(ids):
        collection.delete_many({"_id": {"$in": part}})
        lrs.statement_store.waiting_refs.update_many({}, {"$pull": {"referrers": {"id": {"$in": part}}}})
        lrs.plugins.hook.lrs_statements_erased(statement_ids=part, lrs=lrs)
    lrs.statement_store.waiting_refs.delete_many({"referrers": {"$size": 0}})
    seqs = [doc["seq"] for doc in found.values() if "seq" in doc]
    return {"statements": len(ids),
            "attachments": _erase_unused_attachments(lrs, {sha for doc in found.values()
                                                          for sha in doc.get("attachments") or ()}),
            "dead_letters": _erase_dead_letters(lrs, ids),
            "forwarded_to": _targets_that_may_hold(lrs, min(seqs)) if seqs else []}


def _erase_unused_attachments(lrs: "LRS", sha2s: set[str]) -> int:
    if not sha2s:
        return 0
    used = set(lrs.statement_store.collection.distinct("attachments", {"attachments": {"$in": sorted(sha2s)}}))
    return sum(lrs.attachments.delete(sha2) for sha2 in sorted(sha2s - used))


def _erase_dead_letters(lrs: "LRS", ids: list[str]) -> int:
    letters = DeadLetters(lrs.db).collection
    return sum(letters.delete_many({"statement_id": {"$in": part}}).deleted_count for part in _chunks(ids))


def _targets_that_may_hold(lrs: "LRS", first_seq: int) -> list[str]:
    """Targets whose checkpoint passed one of the statements: they may have received copies."""
    return sorted(name for name, state in TargetStates(lrs.db).all().items() if state.checkpoint >= first_seq)


def _audited(lrs: "LRS", action: str, by: str, report: dict[str, Any]) -> dict[str, Any]:
    record = {"action": action, "by": by, "at": utc_now(), **report}
    lrs.db[AUDIT_COLLECTION].insert_one(record)
    log.info("%s by %s: %s", action, by, {k: v for k, v in report.items()})
    if report.get("forwarded_to"):
        log.warning("%s: copies may remain at forwarding targets %s; erase them there",
                    action, ", ".join(report["forwarded_to"]))
    return {"action": action, "by": by, "at": record["at"].isoformat(), **report}


def _chunks(values: list[str]) -> Iterable[list[str]]:
    return (values[start:start + CHUNK] for start in range(0, len(values), CHUNK))
