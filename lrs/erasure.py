"""Erasure: a learner's right to be forgotten, and a retention policy, done the same way.

Both remove a set of statements *and everything that would still show them*: statements that
refer to them by StatementRef (voiding ones included, to any depth), attachment contents no
remaining statement uses, dead letters kept for forwarding targets, and for a person their
State and Agent Profile documents, their Person record and what plugins keep about them
(`lrs_erase_agent`). Each run leaves an audit record that says who, when and how many, never
whom. Copies already forwarded to other LRSs cannot be erased from here: the report names the
targets that may hold them, so the operator can ask those LRSs.

Attachment contents go last, once the statements using them are gone, so a crash in between
must not leave them behind for good: before deleting any statement a run writes down the
contents it will then look at (`attachment_erasures`, with its writer id) and forgets them only
once they are done. A run interrupted by a crash is finished at the next start-up
(`finish_interrupted`) or, on MongoDB, by the next erasure or retention pass of any process once
the writer is dead. A content that an upload holds at that moment (`AttachmentStore`) may be
about to be used by a new statement: it is left in the record for a later pass to look at again.
The embedded store's start-up, when no upload can be in flight, also erases every content no
statement uses: what an upload cut short by a crash saved for statements never stored.
A statements request that ends without storing a statement naming a content it saved (it was
refused, say) erases that content the same way (`erase_unused_contents`) once its response is
made, unless another statement uses it or another request holds it.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
from typing import TYPE_CHECKING, Any, Callable, Iterable

from bson import ObjectId

from lrs.forwarding.dead_letters import DeadLetters
from lrs.forwarding.state import TargetStates
from lrs.statements import utc_now
from lrs.store.statements import REFERRING
from lrs.xapi.agents import IFIS, ifi_key, normalise_mbox
from lrs.xapi.validation import validate_agent

if TYPE_CHECKING:  # pragma: no cover
    from lrs.core import LRS

log = logging.getLogger(__name__)
AUDIT_COLLECTION = "audit"
INTENTS_COLLECTION = "attachment_erasures"
CHUNK = 1000  # statements named in one command (see `_erase_statements`)
ERASED_FIELDS = {"seq": 1, "attachments": 1}
PERSON_DESCRIPTIONS = {"objectType", "name"}  # in an Agent or Person object, naming no one


def person_keys(person: Any) -> list[str]:
    """The IFI keys of everyone `person` names: an Agent, or a Person-like object listing several
    IFIs (`{"mbox": [...], "account": [...]}`). An mbox also matches its mbox_sha1sum.
    Each IFI must be valid as in an xAPI Agent; raises ValueError naming what is wrong."""
    if not isinstance(person, dict):
        raise ValueError("agent: must be a JSON object with at least one of mbox, mbox_sha1sum, openid, account")
    unknown = sorted(set(person) - set(IFIS) - PERSON_DESCRIPTIONS)
    if unknown:  # a misspelt identifier would erase less than asked, and report success
        raise ValueError(f"agent.{unknown[0]}: is not a property of an Agent or Person; identifiers are mbox, "
                         "mbox_sha1sum, openid and account")
    keys: list[str] = []
    for ifi in IFIS:
        values = person.get(ifi)
        for value in values if isinstance(values, list) else [] if values is None else [values]:
            validate_agent({ifi: value}, "agent")
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


def finish_interrupted(lrs: "LRS", everyone: bool = False) -> int:
    """Erase the unused contents of runs that did not finish: those whose writer is dead (all,
    with `everyone`: at the embedded store's start-up), and those left for a later pass.
    Returns how many contents were erased."""
    intents = list(lrs.db[INTENTS_COLLECTION].find())
    writers = [intent["writer"] for intent in intents if intent.get("writer")]
    alive = set() if everyone else lrs.statement_store.writers.alive(writers)
    erased = sum(_erase_contents(lrs, intent) for intent in intents if intent.get("writer") not in alive)
    if everyone:  # no upload can be in flight: a content no statement uses is one a crash cut short
        erased += _erase_unused(lrs, lrs.attachments.files.distinct("filename"), _all_used)[0]
    return erased


def erase_unused_contents(lrs: "LRS", sha2s: Iterable[str]) -> int:
    """Erase those of the contents a statements request saved that no statement uses and no other
    request holds, once it released its own holds: a refused request's, or one whose statements
    were all stored already (the same statement sent again), would otherwise stay with no
    statement to be served or erased with. Returns how many went."""
    return _erase_unused(lrs, sha2s, _used)[0]


def _erase_statements(lrs: "LRS", query: dict) -> dict[str, Any]:
    """Every command names at most CHUNK statements: a retention pass over a large store finds
    hundreds of thousands, whose ids in one `$in` would pass MongoDB's 16 MB command limit
    (pymongo's DocumentTooLarge), and so would the intent listing their contents. Referring
    statements go first, so a run cut short leaves none whose target is gone while it stays:
    running it again finds what is left through the same query."""
    erased = finish_interrupted(lrs)
    collection = lrs.statement_store.collection
    found = {doc["_id"]: doc for doc in collection.find(query, ERASED_FIELDS)}
    frontier = list(found)
    while frontier:  # statements referring to erased ones, to any depth
        referring = [doc for part in _chunks(frontier) for doc in collection.find(_referring_to(part), ERASED_FIELDS)
                     if doc["_id"] not in found]
        found.update((doc["_id"], doc) for doc in referring)
        frontier = [doc["_id"] for doc in referring]
    ids = list(reversed(found))
    for part in _chunks(ids):
        intent = _intend(lrs, {sha2 for statement_id in part for sha2 in found[statement_id].get("attachments") or ()})
        try:
            _delete_statements(lrs, part)
        finally:  # the contents of the statements that went, even if not all of them did
            erased += _erase_contents(lrs, intent)
    seqs = [doc["seq"] for doc in found.values() if "seq" in doc]
    return {"statements": len(ids),
            "attachments": erased,
            "dead_letters": _erase_dead_letters(lrs, ids),
            "forwarded_to": _targets_that_may_hold(lrs, min(seqs)) if seqs else []}


def _referring_to(ids: list[str]) -> dict:
    """The statements referring to these, found through the `ref_referring` index (on MongoDB a
    query must name a partial index's filter to use it)."""
    return {"ref": {"$in": ids, **REFERRING["ref"]}}


def _delete_statements(lrs: "LRS", ids: list[str]) -> None:
    lrs.statement_store.collection.delete_many({"_id": {"$in": ids}})
    lrs.statement_store.waiting_refs.update_many({"referrers.id": {"$in": ids}},
                                                 {"$pull": {"referrers": {"id": {"$in": ids}}}})
    lrs.plugins.hook.lrs_statements_erased(statement_ids=ids, lrs=lrs)
    lrs.statement_store.waiting_refs.delete_many({"referrers": {"$size": 0}})


def _intend(lrs: "LRS", sha2s: set[str]) -> dict[str, Any]:
    """Write down the contents this run will erase if no statement uses them (and their files'
    ids, for chunks a crash might leave): the record that lets a crashed run be finished."""
    files = lrs.attachments.stored(sha2s)
    intent = {"_id": ObjectId(), "writer": lrs.statement_store.writers.me(), "sha2s": sorted(files),
              "files": [content.file_id for content in files.values()]}
    if files:
        lrs.db[INTENTS_COLLECTION].insert_one(intent)
    return intent


def _erase_contents(lrs: "LRS", intent: dict[str, Any]) -> int:
    """Erase the recorded contents no statement uses and no live upload holds, then forget the
    record, or keep in it for a later pass only those an upload held. Returns how many went."""
    if not intent["sha2s"]:
        return 0
    erased, held = _erase_unused(lrs, intent["sha2s"], _used)
    lrs.attachments.drop_orphan_chunks(intent["files"])
    if held:
        lrs.db[INTENTS_COLLECTION].update_one({"_id": intent["_id"]}, {"$set": {
            "sha2s": sorted(held), "files": [], "writer": None}})
    else:
        lrs.db[INTENTS_COLLECTION].delete_one({"_id": intent["_id"]})
    return erased


def _erase_unused(lrs: "LRS", sha2s: Iterable[str],
                  used: Callable[["LRS", Iterable[str]], set[str]]) -> tuple[int, set[str]]:
    """Erase those of these contents that no statement uses and no live upload holds; returns
    how many went, and the held ones."""
    unheld, held = lrs.attachments.claims(sha2s, utc_now())
    in_use = used(lrs, unheld)  # after `claims`: an upload holding them since makes `delete` miss
    erased = sum(lrs.attachments.delete(sha2, holds) for sha2, holds in sorted(unheld.items()) if sha2 not in in_use)
    return erased, held


def _all_used(lrs: "LRS", sha2s: Iterable[str]) -> set[str]:
    """Every sha2 a statement uses (one pass over the statements rather than a long `$in`)."""
    return set(lrs.statement_store.collection.distinct("attachments"))


def _used(lrs: "LRS", sha2s: Iterable[str]) -> set[str]:
    """Those of these (lower-case) sha2s that a statement uses: one lookup each on the statements'
    `attachments` index, which lists them in lower case (those of earlier releases included, since
    `StatementStore.upgrade`), so a content shared by many statements costs no more than any other."""
    collection = lrs.statement_store.collection
    return {sha2 for sha2 in sha2s if collection.find_one({"attachments": sha2}, {"_id": 1}) is not None}


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
