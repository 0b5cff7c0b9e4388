"""Statements in MongoDB: one document per statement, written in all-or-nothing batches.

A batch is announced in `statement_batches` (with its writer, see `writers`), inserted with a
`pending` marker, committed on its announcement, made visible by one `update_many` that removes
the marker, and then un-announced. Readers never see pending documents, so a crash mid-batch
leaves nothing visible. A batch whose writer is dead is settled at once by whoever meets it (a
resend of its ids, or `recover()` at start): discarded if it was not committed, revealed if it
was. The commit is a conditional update of the announcement, and so is the discard, so a
writer that was only presumed dead (paused, partitioned) finds its batch discarded and retries
it rather than revealing half of it. `recover()` also re-applies voiding and late references;
every step is idempotent.

A StatementRef may name a statement that arrives later. Such references wait in
`statement_refs` (keyed by the missing target) until the target arrives, so a new batch looks
up only the few references waiting for it instead of searching every statement. So do the
statements referring to a waiting one, to any depth: each gains the filter fields of a chain's
statements (`via`) however late they arrive.

`seq` is a monotonic sort key handed out by an atomic counter; `more` cursors continue from it.
The same update gives the batch its stored time, never below the previous batch's, so pages in
`seq` order are in stored order; it is read after the announcement (see `consistent_through`).

The embedded store needs none of the marker protocol: it can hold its one lock over a whole batch
(`EmbeddedDatabase.exclusively`), so readers see all of it or nothing, and its disk commit at the
end of the request is all or nothing too. There a batch is checked for taken ids and inserted
visible, under the lock.
"""
from __future__ import annotations

import datetime as dt
import json
import uuid
from contextlib import nullcontext
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, ContextManager, Iterable

import bson
import pymongo
from bson.errors import BSONError
from pymongo import ASCENDING, DESCENDING
from pymongo.database import Database
from pymongo.errors import BulkWriteError

from lrs.store.derived import CONTEXT_ONLY_AGENTS, derived_fields
from lrs.store.embedded import EmbeddedDatabase
from lrs.store.indexing import declare_index
from lrs.store.upserts import find_one_and_upsert
from lrs.store.writers import Writers
from lrs.xapi.prepare import stored_times
from lrs.xapi.timestamps import utc_now
from lrs.xapi.validation import VOIDED

STALE_PENDING = dt.timedelta(minutes=5)  # batches announced without a writer (older versions)
# MongoDB's document limit, less room for what is added later (`via`, `seq`, `pending`, stored time).
MAX_DOCUMENT_BYTES = 16 * 1024 * 1024 - 256 * 1024
FILTER_FIELDS = ("agents", "related_agents", "verb", "activities", "related_activities", "registration")
# What a referring statement keeps of each statement down its chain (`via`): the filters, and
# `authority`: the authority the referring statement and every statement down to this one share,
# None where the chain passed through another's (see `_owned`).
PART_FIELDS = (*FILTER_FIELDS, CONTEXT_ONLY_AGENTS, "authority")
# How many statements down its chain a referring statement keeps (`via`), the nearest first. Each
# keeps a part per statement below it, so a chain of n statements stores n * n / 2 parts: a client
# sending one 3,000 deep made each new statement 1.2 MB and a batch of 100 take 20 s (and past
# about 40,000 one document would pass MongoDB's 16 MB). Chains people make (comments on
# comments, corrections of corrections) are a few statements deep.
MAX_CHAIN_DEPTH = 100
# Statements no batch is still writing (voided ones included), and those a reader may see.
SETTLED: dict[str, Any] = {"pending": {"$exists": False}}
# Statements a batch is still writing, as a condition an index answers (their `pending` is the
# batch's id, a string): counting SETTLED ones checks every statement counted; counting all less
# these reads index entries only.
BEING_WRITTEN: dict[str, Any] = {"pending": {"$gte": ""}}
VISIBLE: dict[str, Any] = {**SETTLED, "voided": False}
# Statements referring to another (StatementRef objects, voiding ones included): the only entries
# of the index erasure follows references by, a query naming it to use it on MongoDB.
REFERRING: dict[str, Any] = {"ref": {"$type": "string"}}
LOWER_CASE_SHA2 = "attachments-lower-case"  # upgrade steps (see `upgrade`)
CONTEXT_ONLY_MARKED = "context-only-agents"
CHAINS_COMPLETED = "statement-ref-chains"
CHAINS_OWNED = "statement-ref-chain-authorities"


class DuplicateStatements(Exception):
    """Another writer stored statements with these ids between our check and our insert."""

    def __init__(self, ids: list[str]):
        super().__init__(", ".join(ids))
        self.ids = ids


class UnstorableStatement(ValueError):
    """The statement at `index` of a batch cannot be stored (checked before anything is written)."""

    def __init__(self, index: int, rule: str):
        super().__init__(f"statement {index} {rule}")
        self.index = index
        self.rule = rule


@dataclass
class StatementQuery:
    """A validated GET /statements filter. Values are plain strings, never client JSON."""

    agent: str | None = None
    related_agents: bool = False
    reader_1_0: bool = False  # related_agents as 1.0.x has it: without 2.0's contextAgents/contextGroups
    verb: str | None = None
    activity: str | None = None
    related_activities: bool = False
    registration: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    authority: str | None = None
    ascending: bool = False
    after_seq: int | None = None
    limit: int = 100
    extra: dict = field(default_factory=dict)

    def match(self) -> dict[str, Any]:
        """The filter of everything but time and sequence, applied via StatementRefs too."""
        conditions: dict[str, Any] = {}
        if self.agent:
            conditions["related_agents" if self.related_agents else "agents"] = self.agent
            if self.related_agents and self.reader_1_0:
                conditions[CONTEXT_ONLY_AGENTS] = {"$ne": self.agent}
        if self.verb:
            conditions["verb"] = self.verb
        if self.activity:
            conditions["related_activities" if self.related_activities else "activities"] = self.activity
        if self.registration:
            conditions["registration"] = self.registration
        return conditions

    def mongo_filter(self) -> dict[str, Any]:
        match = self.match()
        query: dict[str, Any] = dict(VISIBLE)
        if match:
            # a reader of its own statements matches only through parts its own all the way down (`_owned`)
            via = {**match, "authority": self.authority} if self.authority else match
            query["$or"] = [match, {"via": {"$elemMatch": via}}]
        stored: dict[str, Any] = {}
        if self.since:
            stored["$gt"] = self.since
        if self.until:
            stored["$lte"] = self.until
        if stored:
            query["stored"] = stored
        if self.authority:
            query["authority"] = self.authority
        if self.after_seq is not None:
            query["seq"] = {"$gt" if self.ascending else "$lt": self.after_seq}
        return query


class StatementStore:
    def __init__(self, db: Database):
        self.collection = db["statements"]
        # The embedded store lives in this process alone: at start-up no other writer can exist.
        self.exclusive = not isinstance(db, Database)
        self.writers = Writers(db, heartbeat=not self.exclusive)
        self.counters = db["counters"]
        self.batches = db["statement_batches"]
        self.waiting_refs = db["statement_refs"]
        self.upgrades = db["store_upgrades"]
        self._exclusively = db.exclusively if isinstance(db, EmbeddedDatabase) else None

    def atomically(self) -> ContextManager[None]:
        """On the embedded store, the store's lock held throughout: what is written inside
        reaches the disk in one commit, no other request's falling in between. On MongoDB each
        write is its own, as elsewhere."""
        return self._exclusively() if self._exclusively is not None else nullcontext()

    def ensure_indexes(self) -> None:
        c = self.collection
        declare_index(c, [("seq", DESCENDING)])
        for name in FILTER_FIELDS:  # each filter and its StatementRef twin, in page order (no sort)
            declare_index(c, [(name, ASCENDING), ("seq", DESCENDING)])
            declare_index(c, [(f"via.{name}", ASCENDING), ("seq", DESCENDING)])
        declare_index(c, [("stored", ASCENDING), ("seq", DESCENDING)])  # time windows, and their pages
        if "stored_1" in c.index_information():
            c.drop_index("stored_1")  # what the index above replaces (one index less to keep on writes)
        declare_index(c, [("verb", ASCENDING), ("ref", ASCENDING)])
        declare_index(c, [("ref", ASCENDING)], name="ref_referring", partialFilterExpression=REFERRING)
        declare_index(c, [("source", ASCENDING), ("seq", DESCENDING)])
        # An adapter's statements newest first by their own timestamp (h5p's GET /statements):
        # a page read in index order, not every statement of the source sorted in memory.
        declare_index(c, [("source", ASCENDING), ("timestamp", DESCENDING), ("seq", DESCENDING)])
        # Which statements use an attachment content: erasure removes a content only when none does.
        declare_index(c, [("attachments", ASCENDING)])
        declare_index(c, [("pending", ASCENDING)], sparse=True)  # BEING_WRITTEN: the few statements holding it
        declare_index(self.batches, [("stored", ASCENDING)])
        declare_index(self.waiting_refs, [("referrers.id", ASCENDING)])  # what a stored statement waits for

    def upgrade(self) -> None:
        """Bring what earlier releases wrote to this release's form, once per store: each step is
        recorded in `store_upgrades` when done (a start with nothing to do reads only those
        records), and is idempotent, so a crash mid-way is resumed at the next start."""
        for step, run in ((LOWER_CASE_SHA2, self._lower_case_sha2s),
                          (CONTEXT_ONLY_MARKED, self._mark_context_only_agents),
                          (CHAINS_COMPLETED, self._refresh_via_parts),
                          (CHAINS_OWNED, self._refresh_via_parts)):
            if self.upgrades.find_one({"_id": step}) is None:
                run()
                self.upgrades.update_one({"_id": step}, {"$set": {"at": utc_now()}}, upsert=True)

    def _lower_case_sha2s(self) -> None:
        """Statements stored before attachment sha2s were normalised list them as their clients
        wrote them, upper or mixed case hex: a lookup of a content by its (lower-case) sha2
        would miss them, and erasure would take a content such a statement still uses."""
        for doc in self.collection.find({"attachments": {"$regex": "[A-F]"}}, {"attachments": 1}):
            lowered = sorted({sha2.lower() for sha2 in doc["attachments"]})
            self.collection.update_one({"_id": doc["_id"]}, {"$set": {"attachments": lowered}})

    def _mark_context_only_agents(self) -> None:
        """Statements stored before `context_only_agents` existed lack it, so a 1.0.x reader's
        related_agents would still match them (and statements referring to them) through 2.0
        context agents and groups. Only statements whose JSON names contextAgents or
        contextGroups can have such agents; the referring statements' `via` parts follow."""
        named = self.collection.find({"raw": {"$regex": '"context(Agents|Groups)"'}}, {"raw": 1, CONTEXT_ONLY_AGENTS: 1})
        for doc in named:
            context_only = derived_fields(json.loads(doc["raw"])).get(CONTEXT_ONLY_AGENTS)
            if context_only and doc.get(CONTEXT_ONLY_AGENTS) != context_only:
                self.collection.update_one({"_id": doc["_id"]}, {"$set": {CONTEXT_ONLY_AGENTS: context_only}})
        self._refresh_via_parts()

    def _refresh_via_parts(self) -> None:
        """Rewrite each referring statement's `via` from the statements down its chain as they are
        now, and have it wait for the statement its chain is cut at, if that is not stored. Parts
        an earlier release wrote lack `context_only_agents`; those its recovery of a dead writer's
        batch wrote have no `authority` (a credential reading only its own statements missed its
        statements referring to its own); and releases before chains were followed kept only one
        link of a chain whose statements arrived out of order, or kept in each part whose statement
        it was, not whether the chain down to it is one authority's (`_owned`). A `via` that changed since it was
        read (another process resolving a wait) is left to that process."""
        # one iterator: the embedded store's cursor starts again at each iter()
        referring = iter(self.collection.find({"ref": {"$ne": None}, **SETTLED},
                                              {"ref": 1, "via": 1, "verb": 1, "authority": 1}))
        for chunk in iter(lambda: list(islice(referring, 500)), []):
            known = self._chains_of(chunk)
            for doc in chunk:
                via, cut = _chain_parts(doc, known)
                if via != doc.get("via"):
                    self.collection.update_one({"_id": doc["_id"], "via": doc.get("via")}, {"$set": {"via": via}})
                if cut is not None and cut != doc["_id"]:
                    referrer = {"id": doc["_id"], "voiding": doc["verb"] == VOIDED and cut == doc["ref"]}
                    self.waiting_refs.update_one({"_id": cut}, {"$addToSet": {"referrers": referrer}}, upsert=True)

    def _chains_of(self, documents: list[dict]) -> dict[str, dict]:
        """The stored statements down these statements' chains, by id, read a link at a time."""
        known: dict[str, dict] = {}
        wanted = {doc["ref"] for doc in documents}
        while wanted:
            found = {doc["_id"]: doc for doc in self.collection.find(
                {"_id": {"$in": list(wanted)}, **SETTLED}, {name: 1 for name in (*PART_FIELDS, "ref")})}
            known.update(found)
            wanted = {target for doc in found.values() if (target := _target(doc)) and target not in known}
        return known

    # -- writing -------------------------------------------------------------------------------

    def find_settled(self, ids: Iterable[str]) -> tuple[dict[str, dict], set[str]]:
        """Visible statements by id as parsed JSON, and the batches still writing any of the ids."""
        found = list(self.collection.find({"_id": {"$in": list(ids)}}, {"raw": 1, "pending": 1}))
        visible = {doc["_id"]: json.loads(doc["raw"]) for doc in found if "pending" not in doc}
        return visible, {doc["pending"] for doc in found if "pending" in doc}

    def discard_stale(self, batches: Iterable[str], now: dt.datetime) -> None:
        """Settle these batches if their writers are dead (see the module docstring)."""
        self._settle_dead(list(self.batches.find({"_id": {"$in": list(batches)}})), now)

    def _settle_dead(self, batches: list[dict], now: dt.datetime, everyone: bool = False) -> None:
        """Discard the uncommitted, reveal the committed batches among these whose writer is dead
        (all of them with `everyone`); a batch without a writer counts as dead when stale."""
        alive = set() if everyone else self.writers.alive([b["writer"] for b in batches if "writer" in b], now)
        for batch in batches:
            if "writer" in batch and batch["writer"] in alive:
                continue
            if "writer" not in batch and not everyone and _aware(batch["stored"]) >= now - STALE_PENDING:
                continue
            if batch.get("committed"):
                self._reveal(batch["_id"], batch["ids"])
            elif self.batches.find_one_and_update({"_id": batch["_id"], "committed": {"$exists": False}},
                                                  {"$set": {"discarded": True}}) is not None:
                self._discard(batch["_id"], batch["ids"])

    def allocate_seq(self, count: int, now: dt.datetime) -> tuple[int, dt.datetime]:
        """Reserve `count` consecutive sequence numbers; returns the first, and the stored time of
        their batch: `now`, or the last batch's if the clock is behind it (one atomic update, so
        stored times never fall as `seq` rises, whoever writes)."""
        counter = find_one_and_upsert(self.counters, {"_id": "statements"},
                                      {"$inc": {"seq": count}, "$max": {"stored": now}},
                                      return_document=pymongo.ReturnDocument.AFTER)
        return counter["seq"] - count + 1, _aware(counter["stored"])

    def stored_by(self, ids: Iterable[str], authority: str | None) -> set[str]:
        """Those of `ids` that are stored (visible) under this authority's identifier."""
        if authority is None:
            return set()
        found = self.collection.find({"_id": {"$in": list(ids)}, "authority": authority, **SETTLED}, {"_id": 1})
        return {doc["_id"] for doc in found}

    def insert_batch(self, statements: list[dict], source: str, contents: frozenset[str] = frozenset()) -> None:
        """Store the batch whole, visible at once to readers; raises DuplicateStatements, leaving nothing behind.

        The statements (prepared, see lrs.xapi.prepare) get their stored time here, where the
        batch is numbered (`_number`). `contents`: sha2s of the attachment contents received with
        the batch (see `_document`)."""
        if not statements:
            return
        documents = [self._document(statement, source, contents) for statement in statements]
        _check_storable(documents)
        if self._exclusively is None:
            self._insert_announced(documents, statements)
            return
        with self._exclusively():
            self._insert_exclusively(documents, statements)

    def _insert_exclusively(self, documents: list[dict], statements: list[dict]) -> None:
        """The batch inserted visible while no other call can run (see the module docstring)."""
        ids = [doc["_id"] for doc in documents]
        taken = [doc["_id"] for doc in self.collection.find({"_id": {"$in": ids}}, {"_id": 1})]
        if taken:
            raise DuplicateStatements(taken)
        self._number(documents, statements)
        try:
            awaited = self._attach_via(documents)  # may leave waits in statement_refs: withdrawn below on failure
            self.collection.insert_many(documents)
            self._apply_references(documents, awaited)
        except BaseException:  # even an exit mid-batch: a later commit of this process must not keep half
            self.collection.delete_many({"_id": {"$in": ids}})  # none of them was there before
            self._withdraw_waits(ids)
            raise

    def _number(self, documents: list[dict], statements: list[dict]) -> None:
        """Give the batch its `seq` numbers and its stored time, read from the clock only now
        (after the batch is announced, or under the lock): see `consistent_through`."""
        first, stored = self.allocate_seq(len(documents), utc_now())
        for offset, (document, statement) in enumerate(zip(documents, statements, strict=True)):
            document["seq"] = first + offset
            _stamp(document, statement, stored)

    def _insert_announced(self, documents: list[dict], statements: list[dict]) -> None:
        """The batch announced, inserted pending, committed and revealed (see the module docstring)."""
        batch = uuid.uuid4().hex
        ids = [doc["_id"] for doc in documents]
        self.batches.insert_one({"_id": batch, "stored": utc_now(), "ids": ids, "writer": self.writers.me()})
        try:
            self._number(documents, statements)
            for document in documents:
                document["pending"] = batch
            awaited = self._attach_via(documents)
            self.collection.insert_many(documents, ordered=False)
            if self.batches.update_one({"_id": batch, "discarded": {"$exists": False}},
                                       {"$set": {"committed": True}}).matched_count == 0:
                raise DuplicateStatements(ids)  # presumed dead meanwhile: another request may now write these ids
            self.collection.update_many({"_id": {"$in": ids}, "pending": batch}, {"$unset": {"pending": ""}})
        except Exception as error:
            # Whatever failed, the batch must not stay pending: it would hide its ids and hold
            # X-Experience-API-Consistent-Through back until the next start.
            self._discard(batch, ids)
            duplicates = [e["op"]["_id"] for e in error.details.get("writeErrors", []) if e.get("code") == 11000] \
                if isinstance(error, BulkWriteError) else []
            if duplicates:
                raise DuplicateStatements(duplicates) from error
            raise
        self._apply_references(documents, awaited)
        self.batches.delete_one({"_id": batch})

    def _reveal(self, batch: str, ids: list[str]) -> None:
        """Make a committed batch of a dead writer visible and apply its references."""
        self.collection.update_many({"_id": {"$in": ids}, "pending": batch}, {"$unset": {"pending": ""}})
        documents = list(self.collection.find({"_id": {"$in": ids}}, {name: 1 for name in (*PART_FIELDS, "ref", "via")}))
        self._apply_references(documents)
        self.batches.delete_one({"_id": batch})

    def _discard(self, batch: str, ids: list[str]) -> None:
        """Delete the batch's pending statements and withdraw the waits their references left in
        `statement_refs`, or a discarded voiding statement would void its target when it arrives."""
        self.collection.delete_many({"_id": {"$in": ids}, "pending": batch})
        kept = {doc["_id"] for doc in self.collection.find({"_id": {"$in": ids}}, {"_id": 1})}
        self._withdraw_waits([statement_id for statement_id in ids if statement_id not in kept])  # not another batch's
        self.batches.delete_one({"_id": batch})

    def _withdraw_waits(self, gone: list[str]) -> None:
        """Withdraw the waits these removed statements' references left in `statement_refs`."""
        if gone:
            self.waiting_refs.update_many({"referrers.id": {"$in": gone}},
                                          {"$pull": {"referrers": {"id": {"$in": gone}}}})
            self.waiting_refs.delete_many({"referrers": {"$size": 0}})

    @staticmethod
    def _document(statement: dict, source: str, contents: frozenset[str]) -> dict:
        """The statement's document, but its `seq`, stored time (`_stamp`) and `pending` marker
        (set once it is known storable). Its `attachments` (the contents GET attachments=true serves) are only those that
        came with the statement: a sha2 merely declared is never served."""
        derived = derived_fields(statement)
        derived["attachments"] = [sha2 for sha2 in derived["attachments"] if sha2 in contents]
        return {
            "_id": statement["id"],
            "raw": _json_text(statement),
            "source": source,
            "voided": False,
            "via": [],
            **derived,
        }

    def _attach_via(self, documents: list[dict]) -> set[str]:
        """Copy the filter fields of each referenced statement (and of its own targets, to any
        depth) into `via`. A chain cut at a statement not stored yet waits in `statement_refs`
        for it: the statement referring to the missing one, and every statement referring to
        that one, directly or through others, so all of them gain the missing part on arrival.
        Returns the ids waited for."""
        batch = {doc["_id"]: doc for doc in documents}
        referring = [doc for doc in documents if _target(doc)]
        if not referring:
            return set()
        stored = {doc["_id"]: doc for doc in self.collection.find(
            {"_id": {"$in": [doc["ref"] for doc in referring if doc["ref"] not in batch]}, **SETTLED},
            {name: 1 for name in (*PART_FIELDS, "via")})}
        waits = self._waits_of(list(stored))
        for doc in referring:
            self._chain(doc, batch, stored, waits)
        awaited = set()
        for doc in referring:
            for missing in waits[doc["_id"]] - {doc["_id"]}:
                voiding = doc["verb"] == VOIDED and missing == doc["ref"]
                self.waiting_refs.update_one({"_id": missing},
                                             {"$addToSet": {"referrers": {"id": doc["_id"], "voiding": voiding}}},
                                             upsert=True)
                awaited.add(missing)
        return awaited

    @staticmethod
    def _chain(doc: dict, batch: dict[str, dict], stored: dict[str, dict], waits: dict[str, set[str]]) -> None:
        """Set the `via` of a statement of the batch, after its target's when that is in the batch
        too, and note in `waits` the statements not stored yet that its chain is cut at. A cycle of
        references (ids chosen by clients) stops where it comes back. The chain is walked, not
        recursed into: a batch may be a chain of LRS_MAX_STATEMENTS_PER_REQUEST statements, and
        1000 nested calls were past Python's stack (a 500)."""
        links: list[tuple[dict, str, dict]] = []  # (statement, its target's id, the target), first to last
        visiting: set[str] = set()
        while True:
            target_id = _target(doc)
            if target_id is None or doc["_id"] in waits or doc["_id"] in visiting:
                waits.setdefault(doc["_id"], set())
                break
            visiting.add(doc["_id"])
            target = batch.get(target_id) or stored.get(target_id)
            if target is None:
                waits[doc["_id"]] = {target_id}
                break
            links.append((doc, target_id, target))
            if target_id not in batch:
                break
            doc = target
        for referrer, target_id, target in reversed(links):
            parts = [_filter_part(target), *target.get("via", [])][:MAX_CHAIN_DEPTH]
            referrer["via"] = _owned(parts, referrer.get("authority"))
            waits[referrer["_id"]] = set(waits.get(target_id, ()))

    def _waits_of(self, ids: list[str]) -> dict[str, set[str]]:
        """The statements not stored yet that each of these stored statements waits for."""
        waits: dict[str, set[str]] = {}
        if ids:
            wanted = set(ids)
            for entry in self.waiting_refs.find({"referrers.id": {"$in": ids}}):
                for referrer in entry["referrers"]:
                    if referrer["id"] in wanted:
                        waits.setdefault(referrer["id"], set()).add(entry["_id"])
        return waits

    def _apply_references(self, documents: list[dict], awaited: frozenset[str] | set[str] = frozenset()) -> None:
        """Void the targets of voiding statements, and resolve references that waited for these,
        and for those of `awaited` (what the batch waits for) that another process stored
        meanwhile: its batch may have looked for waits before this one's were written."""
        self._void([doc["ref"] for doc in documents if doc["verb"] == VOIDED and doc["ref"]])
        targets = {doc["_id"]: doc for doc in self.collection.find(
            {"_id": {"$in": list(awaited)}, **SETTLED}, {name: 1 for name in (*PART_FIELDS, "via")})} if awaited else {}
        targets.update((doc["_id"], doc) for doc in documents)
        for entry in self.waiting_refs.find({"_id": {"$in": list(targets)}}):
            self._resolve(entry, targets[entry["_id"]])

    def _resolve(self, entry: dict, target: dict) -> None:
        """Give the statements waiting for `target` its part and its own chain's, and have those
        with room left in their `via` wait for what its chain still waits for. The wait is
        withdrawn only for the referrers handled, so one another process adds meanwhile is
        resolved by `recover()`."""
        referrers = [r["id"] for r in entry["referrers"]]
        parts = [_filter_part(target), *target.get("via", [])][:MAX_CHAIN_DEPTH]
        chains = self._chains_so_far(referrers)
        for owner, ids in _grouped({id_: owner for id_, (owner, _) in chains.items()}).items():
            self.collection.update_many({"_id": {"$in": ids}}, {"$push": {"via": {
                "$each": _owned(parts, owner), "$slice": MAX_CHAIN_DEPTH}}})
        if any(r["voiding"] for r in entry["referrers"]):
            self._void([entry["_id"]])
        # A referrer whose `via` is full keeps nothing of what lies further down: it waits no
        # longer, so a chain sent from its top down costs each arrival MAX_CHAIN_DEPTH referrers
        # at most, not every statement above it.
        deeper = [r for r in referrers if r in chains and chains[r][1] + len(parts) < MAX_CHAIN_DEPTH]
        for missing in self._waits_of([target["_id"]]).get(target["_id"], ()):
            inherited = [{"id": r, "voiding": False} for r in deeper if r != missing]
            if inherited:
                self.waiting_refs.update_one({"_id": missing}, {"$addToSet": {"referrers": {"$each": inherited}}},
                                             upsert=True)
        self.waiting_refs.update_one({"_id": entry["_id"]}, {"$pull": {"referrers": {"id": {"$in": referrers}}}})
        self.waiting_refs.delete_one({"_id": entry["_id"], "referrers": {"$size": 0}})

    def _chains_so_far(self, ids: list[str]) -> dict[str, tuple[str | None, int]]:
        """Each of these statements' chain as it stands: the authority it is whole for so far (see
        `_owned`: its own if its `via` is empty, else its last part's), and how many parts it has."""
        chains = {}
        for doc in self.collection.find({"_id": {"$in": ids}}, {"authority": 1, "via": 1}):
            via = doc.get("via") or []
            chains[doc["_id"]] = (via[-1].get("authority") if via else doc.get("authority"), len(via))
        return chains

    def _void(self, targets: list[str]) -> None:
        """A voiding statement cannot itself be voided, so those are left alone."""
        if targets:
            self.collection.update_many({"_id": {"$in": targets}, "verb": {"$ne": VOIDED}},
                                        {"$set": {"voided": True}})

    def recover(self, now: dt.datetime) -> None:
        """Undo batches a crash left pending, finish their references, re-apply voiding.

        Every step is idempotent, so a crash during recovery is recovered at the next start.
        """
        self._settle_dead(list(self.batches.find()), now, everyone=self.exclusive)
        self.writers.forget_expired(now - dt.timedelta(days=1))
        for entry in self.waiting_refs.find():
            target = self.collection.find_one({"_id": entry["_id"], **SETTLED}, {name: 1 for name in (*PART_FIELDS, "via")})
            if target is not None:
                self._resolve(entry, target)
        voiding = self.collection.find({"verb": VOIDED, **SETTLED}, {"ref": 1})
        self._void([doc["ref"] for doc in voiding if doc.get("ref")])

    # -- reading -------------------------------------------------------------------------------

    def get(self, statement_id: str) -> dict | None:
        """The visible stored document with this id (voided or not)."""
        return self.collection.find_one({"_id": statement_id, **SETTLED},
                                        {"raw": 1, "voided": 1, "stored": 1, "authority": 1, "attachments": 1,
                                         "source": 1})

    def query(self, query: StatementQuery) -> tuple[list[dict], int | None]:
        """One page of matching documents, and the seq to continue after (None: no more)."""
        documents = list(self.page_cursor(query))
        if len(documents) > query.limit:
            return documents[:query.limit], documents[query.limit - 1]["seq"]
        return documents, None

    def daily_counts(self, by: str, since: dt.datetime, until: dt.datetime) -> list[dict]:
        """Statements stored in [since, until) per UTC day and `by` (a derived field such as `verb`
        or `source`), voided ones too (the console's chart shows what was stored), as
        {"_id": {"day": "YYYY-MM-DD", "key": ...}, "count": n}: one aggregation over the `stored` index."""
        return list(self.collection.aggregate([
            {"$match": {"stored": {"$gte": since, "$lt": until}, **SETTLED}},
            {"$group": {"_id": {"day": {"$dateToString": {"format": "%Y-%m-%d", "date": "$stored"}},
                                "key": f"${by}"},
                        "count": {"$sum": 1}}},
        ]))

    # -- reading, for plugins (lrs/hooks.py lists the derived fields they may match on) --------

    def visible(self, match: dict[str, Any], sort: list[tuple[str, int]] | None = None,
                limit: int = 0) -> list[dict]:
        """Visible statements (not voided, in no batch still being written) that match `match` on
        derived fields, as parsed statements; `limit` 0 is no limit. A `sort` no index holds is
        done in the server's memory, on whole statements: up to 100 MB on MongoDB 4.4 and 5.0
        unless it may spill to disk (6.0 allows that by default), or the query fails."""
        cursor = self.collection.find({**match, **VISIBLE}, {"raw": 1}, sort=sort, limit=limit,
                                      allow_disk_use=bool(sort))
        return [json.loads(document["raw"]) for document in cursor]

    def aggregate_visible(self, match: dict[str, Any], pipeline: list[dict]) -> list[dict]:
        """The aggregation `pipeline` over the visible statements that match `match` (its $match
        comes first, so indexes on the matched derived fields are used)."""
        return list(self.collection.aggregate([{"$match": {**match, **VISIBLE}}, *pipeline], allowDiskUse=True))

    def settled_ids(self, ids: Iterable[str]) -> set[str]:
        """Those of `ids` that are stored and in no batch still being written (voided or not)."""
        return {document["_id"] for document in self.collection.find({"_id": {"$in": list(ids)}, **SETTLED}, {"_id": 1})}

    def settled(self, ids: Iterable[str]) -> dict[str, dict]:
        """The statements of `ids` that are stored and in no batch still being written (voided or
        not), parsed, by id: what a re-sent statement can be compared with. One still being
        written is left out, as its batch may yet be discarded."""
        found = self.collection.find({"_id": {"$in": list(ids)}, **SETTLED}, {"raw": 1})
        return {document["_id"]: json.loads(document["raw"]) for document in found}

    def page_cursor(self, query: StatementQuery) -> Any:
        """The find behind `query()`: one index range in `seq` order, no sort in memory (a test
        explains it on MongoDB for every filter combination)."""
        order = ASCENDING if query.ascending else DESCENDING
        return (self.collection.find(query.mongo_filter(), {"raw": 1, "seq": 1, "stored": 1, "attachments": 1,
                                                        "source": 1})
                .sort("seq", order).limit(query.limit + 1))

    def consistent_through(self, now: dt.datetime) -> dt.datetime:
        """The X-Experience-API-Consistent-Through of a query that starts after this call, `now`
        being read before it: every statement stored before the answer is visible to that query.

        A batch reads its stored time from the clock where it is numbered (`_number`). On the
        embedded store that is under the lock it holds until the batch is visible whole, so a
        batch stored before `now` is visible to any later call: the answer is `now`. On MongoDB a
        batch is numbered after its announcement is written: one not announced yet here gets a
        stored time after `now`, and one announced holds the answer back to just before its
        announcement's time, which is no later than its stored time."""
        if self._exclusively is not None:
            return now
        pending = self.batches.find_one({}, {"stored": 1}, sort=[("stored", ASCENDING)])
        if pending is None:
            return now
        return min(now, _aware(pending["stored"]) - dt.timedelta(milliseconds=1))


def _check_storable(documents: list[dict]) -> None:
    """Encode each document as the server will, so what BSON cannot hold fails before any write."""
    for index, document in enumerate(documents):
        try:
            size = len(bson.encode(document))
        except (BSONError, OverflowError, UnicodeError, ValueError) as error:
            raise UnstorableStatement(index, f"cannot be stored ({error})") from None
        if size > MAX_DOCUMENT_BYTES:
            raise UnstorableStatement(index, f"is {size} bytes once stored; at most {MAX_DOCUMENT_BYTES} fit "
                                             "in one MongoDB document")


# One encoder for every statement's text: json.dumps with these options builds a new one per call.
_JSON_TEXT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _json_text(value: Any) -> str:
    return _JSON_TEXT.encode(value)


def _stamp(document: dict, statement: dict, stored: dt.datetime) -> None:
    """Give a document and its prepared statement the batch's stored time. The statement's text
    gains the new properties at its end rather than being written again."""
    times = stored_times(statement, stored)
    statement.update(times)
    document["raw"] = f'{document["raw"][:-1]},{_json_text(times)[1:]}'
    document["stored"] = stored
    if document["timestamp"] is None:
        document["timestamp"] = stored


def _aware(moment: dt.datetime) -> dt.datetime:
    """In UTC: stores created without tz_aware hand back naive UTC datetimes, mongomock its own zone."""
    return moment.astimezone(dt.timezone.utc) if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _target(doc: dict) -> str | None:
    """The id of the statement this one refers to (a StatementRef object), if another."""
    return doc["ref"] if doc["ref"] and doc["ref"] != doc["_id"] else None


def _chain_parts(doc: dict, known: dict[str, dict]) -> tuple[list[dict], str | None]:
    """The parts of the statements down a statement's chain (`via`), and the id of the statement
    it is cut at, not stored yet (None: the chain is whole). A cycle ends where it comes back."""
    parts, seen, current = [], {doc["_id"]}, doc
    while (target_id := _target(current)) is not None and len(parts) < MAX_CHAIN_DEPTH:
        target = known.get(target_id)
        if target is None:
            return _owned(parts, doc.get("authority")), target_id
        parts.append(_filter_part(target))
        if target_id in seen:
            break
        seen.add(target_id)
        current = target
    return _owned(parts, doc.get("authority")), None


def _grouped(values: dict[str, Any]) -> dict[Any, list[str]]:
    """The keys of `values` grouped by their value."""
    groups: dict[Any, list[str]] = {}
    for key, value in values.items():
        groups.setdefault(value, []).append(key)
    return groups


def _filter_part(doc: dict) -> dict:
    """What a referring statement keeps of its target (PART_FIELDS): its filters, and whose it is
    (narrowed to the whole chain's by `_owned`)."""
    return {name: doc.get(name) for name in PART_FIELDS}


def _owned(parts: list[dict], owner: str | None) -> list[dict]:
    """The parts of a chain as a statement keeps them whose chain down to them is `owner`'s
    alone (None: it passed through another's): each part's `authority` is the one every
    statement from that statement down to the part shares, None from the first statement of
    another authority on. A credential that reads only its own statements is matched through a
    part only when it is its own, so a statement of another in the middle of its chain (a refers
    to b, another's, which refers to c) neither shows nor lets c's filters match a."""
    owned = []
    for part in parts:
        owner = owner if part.get("authority") == owner else None
        owned.append({**part, "authority": owner})
    return owned
