"""mongomock with indexes: its collections, stores and cursors, extended where queries and writes pass.

mongomock keeps each collection's documents in a `CollectionStore` and changes them in three ways:
setting or deleting an entry (inserts, replacements, deletes, rollbacks) and updating a document
in place (`_update`). `IndexedStore` sees all three, keeps the secondary indexes in step and tells
the journal (if any) which documents changed. `IndexedCollection` asks the planner for candidates
instead of scanning, and its cursor stops reading at the page's limit when the plan already yields
documents in the requested order.
"""
from __future__ import annotations

import copy
import datetime as dt
import functools
import inspect
import itertools
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator, Mapping, Protocol

import bson
import mongomock
from bson import ObjectId
from bson.errors import InvalidDocument
from mongomock import DuplicateKeyError, OperationFailure, helpers
from mongomock.aggregate import _GROUPING_OPERATOR_MAP as GROUPING_OPERATORS
from mongomock.aggregate import _accumulate_group as accumulate_group
from mongomock.aggregate import _parse_expression as parse_expression
from mongomock.aggregate import process_pipeline
from mongomock.collection import Cursor, _copy_field, validate_is_mapping
from mongomock.command_cursor import CommandCursor
from mongomock.filtering import BsonComparable, filter_applies, resolve_key, resolve_sort_key
from mongomock.store import CollectionStore, DatabaseStore, ServerStore

from lrs.store.embedded.expressions import Unsupported, compile_expression, field_condition, field_name
from lrs.store.embedded.filters import compile_filter
from lrs.store.embedded.indexes import MISSING, Index
from lrs.store.embedded.planner import Plan, best_plan
from lrs.store.embedded.sharing import decoded


class Journal(Protocol):
    def touch(self, store: "IndexedStore", key: Any, encoded: bytes | None = None) -> None: ...
    def dropped(self, store: "IndexedStore") -> None: ...
    def indexes_changed(self, store: "IndexedStore") -> None: ...


def store_key(identifier: Any) -> Any:
    """mongomock's key for an `_id` (documents as ids are kept as hashable dicts)."""
    return helpers.hashdict(identifier) if isinstance(identifier, dict) else identifier


class IndexedStore(CollectionStore):
    """A collection's documents, its secondary indexes, and word to the journal of every change."""

    def __init__(self, name: str, journal: Journal | None = None):
        super().__init__(name)
        self.journal = journal
        self.secondary: dict[str, Index] = {}
        self._held: set = set()

    def create_index(self, index_name: str, index_dict: dict) -> None:
        if self.indexes.get(index_name) == index_dict:
            return  # declared again at start: it is there, built
        super().create_index(index_name, index_dict)
        fields = [name for name, direction in index_dict["key"] if direction in (1, -1)]
        if len(fields) == len(index_dict["key"]) and fields != ["_id"]:
            index = Index(fields)
            index.build(self._documents.values())
            self.secondary[index_name] = index
        if self.journal:
            self.journal.indexes_changed(self)

    def drop_index(self, index_name: str) -> None:
        super().drop_index(index_name)
        self.secondary.pop(index_name, None)
        if self.journal:
            self.journal.indexes_changed(self)

    def drop(self) -> None:
        super().drop()
        self.secondary = {}
        if self.journal:
            self.journal.dropped(self)

    def __setitem__(self, key: Any, document: dict) -> None:
        before = self._documents.get(key)
        self._documents[key] = document  # see `insert`
        if key not in self._held:
            self._reindex(before, document)
        self._touch(key)

    def insert(self, key: Any, document: dict, encoded: bytes) -> None:
        """A new document, with its BSON (which the journal then need not encode again). Put in
        place directly: the store's one lock already keeps every other call out, which is all
        mongomock's per-collection reader-writer lock (a Condition per write) is for."""
        self._documents[key] = document
        self._reindex(None, document)
        if self.journal:
            self.journal.touch(self, key, encoded)

    def __delitem__(self, key: Any) -> None:
        before = self._documents.pop(key)  # see `insert`
        self._reindex(before, None)
        self._touch(key)

    def get(self, key: Any) -> dict | None:
        return self._documents.get(key)

    def restore(self, key: Any, document: dict | None) -> None:
        """Put back the document as the file holds it (None: the file has none), its index
        entries with it; the journal is not told (it is forgetting its changes)."""
        before = self._documents.pop(key, None) if document is None else self._documents.get(key)
        if document is not None:
            self._documents[key] = document
        self._reindex(before, document)

    def reload(self, documents: dict[Any, dict], indexes: dict[str, dict]) -> None:
        """Put back the whole collection as the file holds it: its documents, its indexes built
        (the journal, told of them, forgets that with the rest of its changes)."""
        CollectionStore.drop(self)
        self.secondary = {}
        self._documents.update(documents)
        for name, spec in indexes.items():
            self.create_index(name, spec)

    @contextmanager
    def changing(self, documents: Iterable[dict], fields: set[str] | None) -> Iterator[None]:
        """Documents about to be changed in place, in these top-level fields (None: any): re-index
        them, for the indexes on those fields, from their state before."""
        keys = [store_key(document["_id"]) for document in documents]
        affected = {name: index for name, index in self.secondary.items()
                    if fields is None or any(path.split(".", 1)[0] in fields for path in index.fields)}
        before = {key: _keys_of(self._documents[key], affected) for key in keys}
        self._held.update(keys)
        try:
            yield
        finally:
            self._held.difference_update(keys)
            for key in keys:
                current = self._documents.get(key)
                after = _keys_of(current, affected) if current else {}
                for name, index in affected.items():
                    index.replace(before[key][name], after.get(name, []))
                self._touch(key)

    def unique_fields(self) -> set[str]:
        """Top-level fields of the unique indexes (besides `_id`)."""
        return {name.split(".", 1)[0] for index in self.indexes.values() if index.get("unique")
                for name, _ in index["key"]}

    def plan(self, filter: Mapping, sort: list | None = None, limit: int | None = None) -> Plan | None:
        return best_plan(filter, self._documents, self.secondary, sort, limit, _final_check(filter))

    def candidates(self, plan: Plan, reverse: bool = False, skip: int = 0) -> Iterator[dict]:
        """The plan's documents in its order, after its first `skip` ids (no document read for those)."""
        for key in plan.ids(reverse, skip):
            document = self._documents.get(key)
            if document is not None:
                yield document

    def in_sort_order(self, plan: Plan, sort: list) -> Iterator[dict]:
        """The plan's documents in `sort` order: its index entries sorted when they hold the sort
        fields (no document read to sort), else its documents."""
        if plan.sorts_from_entries(sort):
            return (document for document in map(self._documents.get, plan.sorted_ids(sort)) if document is not None)
        return iter(in_order(self.every_candidate(plan), sort))

    def every_candidate(self, plan: Plan) -> list[dict]:
        """The plan's documents, in no particular order."""
        return [document for document in map(self._documents.get, plan.every_id()) if document is not None]

    def _reindex(self, before: dict | None, after: dict | None) -> None:
        seen_before: dict = {}
        seen_after: dict = {}
        if before is None and after is not None:
            for index in self.secondary.values():
                index.add(index.keys(after, seen_after))
            return
        for index in self.secondary.values():
            index.replace(index.keys(before, seen_before) if before else [], index.keys(after, seen_after) if after else [])

    def _touch(self, key: Any) -> None:
        if self.journal:
            self.journal.touch(self, key)


def naive_filter(value: Any) -> Any:
    """mongomock's `patch_datetime_awareness_in_document` (datetimes as MongoDB keeps them: naive
    UTC, milliseconds), returning strings, numbers and lists of them as they are instead of
    copying them (a batch's id lookups carry lists of ids, every query a few values)."""
    kind = type(value)
    if kind in PLAIN_TYPES:
        return value
    if kind is dict:
        return {key: naive_filter(item) for key, item in value.items()}
    if kind is list and all(type(item) in PLAIN_TYPES for item in value):
        return value
    return helpers.patch_datetime_awareness_in_document(value)


def _listed_ids(spec: Mapping) -> list | None:
    """The ids of a filter `{"_id": {"$in": [...]}, ...}` when each is of a type whose Python
    equality is MongoDB's (see ID_TYPES); None otherwise."""
    condition = spec.get("_id")
    if not isinstance(condition, Mapping) or list(condition) != ["$in"] or not isinstance(condition["$in"], list):
        return None
    ids = condition["$in"]
    return ids if all(type(identifier) in ID_TYPES for identifier in ids) else None


def _keys_of(document: dict, indexes: dict[str, Index]) -> dict[str, list]:
    """The document's entries in each of these indexes, by index name."""
    seen: dict = {}
    return {name: index.keys(document, seen) for name, index in indexes.items()}


class IndexedDatabaseStore(DatabaseStore):
    def __init__(self, journal: Journal | None = None):
        super().__init__()
        self.journal = journal

    def __getitem__(self, name: str) -> IndexedStore:
        if name not in self._collections:
            self._collections[name] = IndexedStore(name, self.journal)
        return self._collections[name]

    def attach(self, journal: Journal) -> None:
        """Report changes from now on (after loading what the journal held)."""
        self.journal = journal
        for store in self._collections.values():
            store.journal = journal


class IndexedServerStore(ServerStore):
    def __init__(self, database: IndexedDatabaseStore):
        super().__init__()
        self.database = database

    def __getitem__(self, name: str) -> IndexedDatabaseStore:
        self._databases.setdefault(name, self.database)
        return self._databases[name]


class IndexedCursor(Cursor):
    """A cursor that reads only as far as its skip and limit need, when the plan allows."""

    def __init__(self, collection: "IndexedCollection", spec: Mapping, sort: Any, projection: Any, skip: int,
                 limit: int, **kwargs: Any):
        super().__init__(collection, {}, sort, projection, skip, limit, **kwargs)
        self._spec = naive_filter(spec)  # mongomock's own pass copies every `$in` list element by element
        self._factory = functools.partial(collection._get_dataset, self._spec, sort, projection, dict)
        self._page_key: tuple | None = None
        self._page: list = []

    def _compute_results(self, with_limit_and_skip: bool = False) -> list:
        if not (with_limit_and_skip and self._limit):
            return super()._compute_results(with_limit_and_skip)
        key = (self._factory, self._skip, self._limit)
        if self._page_key != key:
            wanted = self._skip + abs(self._limit)
            documents = itertools.islice(self.collection._get_dataset(
                self._spec, self._sort, self._projection, dict, wanted, self._skip), abs(self._limit))
            if self.collection.codec_options.tz_aware:
                documents = map(helpers.make_datetime_timezone_aware_in_document, documents)
            self._page, self._page_key = list(documents), key
        return self._page


# `_id` types whose Python equality and hash are MongoDB's equality (not bool: True == 1 in Python).
ID_TYPES = (str, int, ObjectId)
# What pymongo's find accepts besides filter, projection, skip, limit, sort and collation: mongomock
# ignores these (max_time_ms, allow_disk_use and the rest change nothing in memory).
FIND_OPTIONS = frozenset(inspect.signature(mongomock.Collection.find).parameters) - {"self", "kwargs"}


class IndexedCollection(mongomock.Collection):
    """A mongomock collection whose queries start from its indexes."""

    def _insert(self, data: Any, session: Any = None, ordered: bool = True) -> Any:
        """mongomock's insert of one document, with one BSON round trip in C doing the work of its
        checks and copies in Python: encoding refuses what MongoDB would, and decoding makes the
        stored copy with datetimes as mongomock keeps them (naive UTC, milliseconds)."""
        if session or not isinstance(data, Mapping):
            return super()._insert(data, session, ordered)  # a list: mongomock calls back here per document
        for name in data:
            if not isinstance(name, str):
                raise ValueError("Document keys must be strings")
            if name[:1] == "$":
                raise InvalidDocument(f'Top-level field names cannot start with the "$" sign (found: {list(data)})')
        if "_id" not in data:
            data["_id"] = ObjectId()
        encoded = bson.encode(data)
        key = store_key(data["_id"])
        if self._store.get(key) is not None:
            raise DuplicateKeyError("E11000 Duplicate Key Error", 11000)
        document = decoded(encoded)
        if type(key) is str:
            document["_id"] = key  # the id map keeps this string as its key: one copy of it, not two
        self._store.insert(key, document, encoded)
        try:
            self._ensure_uniques(document)
        except DuplicateKeyError:
            del self._store[key]
            raise
        return data["_id"]

    def find(self, filter: Mapping | None = None, projection: Any = None, skip: int = 0, limit: int = 0,
             sort: Any = None, collation: Any = None, **kwargs: Any) -> IndexedCursor:
        """mongomock's find, making one cursor (an IndexedCursor) rather than two."""
        spec = {} if filter is None else filter
        validate_is_mapping("filter", spec)
        unknown = [name for name, value in kwargs.items() if value and name not in FIND_OPTIONS]
        if unknown:
            raise OperationFailure(f"Unrecognized field '{unknown[0]}'")
        cursor = IndexedCursor(self, spec, sort, projection, skip, limit, collation=collation)
        ids = None if sort or skip or limit or collation else _listed_ids(spec)
        if ids is not None:
            cursor._factory = functools.partial(self._listed, ids, cursor._spec, projection)
        return cursor

    def _listed(self, ids: list, spec: Mapping, projection: Any) -> Iterator[dict]:
        """The documents of `{"_id": {"$in": ids}, ...}` straight from the id map, the rest of the
        filter checked on each: what every batch written asks several times (are these ids stored?
        these Activities, these Agents?) for ids that mostly are not there."""
        applies = _final_check({name: condition for name, condition in spec.items() if name != "_id"})
        store = self._store
        for identifier in dict.fromkeys(ids):
            document = store.get(identifier)
            if document is not None and applies(document):
                yield self._copy_only_fields(document, projection, dict)

    def find_one(self, filter: Any = None, *args: Any, **kwargs: Any) -> dict | None:
        if filter is None:
            filter = {}
        if not isinstance(filter, Mapping):
            filter = {"_id": filter}
        if "sort" in kwargs and kwargs["sort"] is None:
            del kwargs["sort"]  # as mongomock's find_one_and_update asks: the same as no sort
        if len(filter) == 1 and type(filter.get("_id")) in ID_TYPES and len(args) + len(kwargs) <= 1 \
                and set(kwargs) <= {"projection"}:
            return self._by_id(filter["_id"], (args or tuple(kwargs.values()) or (None,))[0])
        return next(iter(self.find(filter, *args, **kwargs).limit(1)), None)

    def _by_id(self, identifier: Any, projection: Any) -> dict | None:
        """find_one by `_id` (a type whose equality is MongoDB's) straight from the id map: the
        credential of every request, the counters of every batch."""
        document = self._store.get(identifier)
        if document is None:
            return None
        copied = self._copy_only_fields(document, projection, dict)
        return helpers.make_datetime_timezone_aware_in_document(copied) if self.codec_options.tz_aware else copied

    def distinct(self, key: Any, filter: Mapping | None = None, session: Any = None) -> list:
        """mongomock's distinct, with only the field copied out of each matching document: it
        copied them whole, and the store's start asks for the attachments of every statement,
        which at 100,000 statements raised the start's peak by 0.2 GB and left 75 MB behind."""
        if not isinstance(key, str):
            return super().distinct(key, filter, session)  # its TypeError
        return self.find(filter, {key.split(".", 1)[0]: 1}).distinct(key, session)

    def count_documents(self, filter: Mapping, **kwargs: Any) -> int:
        """An exact plan counts its index entries (each document's one), reading no document."""
        if not kwargs and isinstance(filter, Mapping):
            plan = self._store.plan(naive_filter(filter))
            if plan is not None and plan.exact:
                return plan.count
        return super().count_documents(filter, **kwargs)

    def aggregate(self, pipeline: list[dict], session: Any = None, **kwargs: Any) -> Any:
        """A leading `$match` is a query (using the indexes), not a filter over a copy of all.
        When the engine runs every later stage with compiled expressions (which change nothing
        they read), they read the stored documents themselves and only the result is copied
        out; else, when a `$project` or `$group` follows, only the fields it reads are copied."""
        if pipeline and set(pipeline[0]) == {"$match"}:
            rest = pipeline[1:]
            if rest and all(map(_in_engine, rest)) and not _holds_datetime(rest):
                match = naive_filter(pipeline[0]["$match"])
                rows = run_pipeline(list(self._iter_documents(match)), self.database, rest, session)
                aware = self.codec_options.tz_aware
                return CommandCursor(_aware(rows) if aware else copy.deepcopy(rows))
            fields = fields_read(pipeline[1]) if len(pipeline) > 1 else None
            projection = {name: 1 for name in fields or ["_id"]} if fields is not None else None
            documents = list(self.find(pipeline[0]["$match"], projection))
            return CommandCursor(run_pipeline(documents, self.database, rest, session))
        return CommandCursor(run_pipeline(list(self.find()), self.database, pipeline, session))

    def _copy_only_fields(self, doc: dict, fields: Any, container: Any) -> dict:
        """No projection (the whole document) and the usual one, `{"a": 1, "b": 1}` or `{"_id": 1}`,
        copied directly (mongomock re-reads the projection for every document, and copies every
        string and number of it)."""
        if fields is None:
            return _copied(doc, container)
        if isinstance(fields, dict) and fields and all(
                value in (1, True) and "." not in name and not name.startswith("$") for name, value in fields.items()):
            copied = container(_id=doc["_id"])
            for name in fields:
                if name in doc:
                    copied[name] = _copied(doc[name], container)
            return copied
        return super()._copy_only_fields(doc, fields, container)

    def _iter_documents(self, filter: Mapping) -> Iterator[dict]:
        plan = self._store.plan(filter)
        if plan is None and self._store.is_empty:
            return super()._iter_documents(filter)  # which validates the filter
        candidates = list(self._store.documents) if plan is None else self._store.every_candidate(plan)
        applies = _final_check(filter, plan)
        return (document for document in candidates if applies(document))

    def _get_dataset(self, spec: Mapping, sort: Any, fields: Any, as_class: Any,
                     limit: int | None = None, skip: int = 0) -> Iterator[dict]:
        """The matching documents, sorted, from the `skip`th on (those before are not copied);
        `limit` counts from the first."""
        sort = list(sort.items()) if isinstance(sort, dict) else sort
        plan = self._store.plan(spec, sort, limit)
        if plan is None or not sort or any(str(name).startswith("$") for name, _ in sort):
            yield from itertools.islice(super()._get_dataset(spec, sort, fields, as_class), skip, None)
            return
        applies = _final_check(spec, plan)
        if plan.follows(sort) and plan.exact:  # each entry is one match: those skipped are not read
            documents, skip = self._store.candidates(plan, reverse=sort[0][1] < 0, skip=skip), 0
        elif plan.follows(sort):
            documents = self._in_plan_order(plan, spec, sort, limit, applies)
        else:
            documents = filter(applies, self._store.in_sort_order(plan, sort))
        for document in itertools.islice(documents, skip, None):
            yield self._copy_only_fields(document, fields, as_class)

    def _in_plan_order(self, plan: Plan, spec: Mapping, sort: list, limit: int | None,
                       applies: Callable[[dict], bool]) -> Iterator[dict]:
        """The matching documents as an ordered plan reads them, until it has read several times
        what its sample promised without finding `limit`: the filter then matches less often
        further along this order than at its start. The rest comes from the narrowest plan,
        sorted in memory."""
        found: set = set()
        for read, document in enumerate(self._store.candidates(plan, reverse=sort[0][1] < 0), 1):
            if applies(document):
                found.add(store_key(document["_id"]))
                yield document
            if limit and read == plan.read_budget(limit) and len(found) < limit and not plan.exact:
                narrow = self._store.plan(spec)
                if narrow is not None and narrow.count < plan.count - read:
                    rest = self._store.in_sort_order(narrow, sort)
                    yield from (document for document in rest
                                if store_key(document["_id"]) not in found and applies(document))
                    return

    def _update(self, spec: Mapping, document: Any, upsert: bool = False, manipulate: bool = False,
                multi: bool = False, **kwargs: Any) -> dict:
        spec = helpers.patch_datetime_awareness_in_document(spec)
        targets = self._by_own_id(spec)
        if targets is None:
            targets = list(itertools.islice(self._iter_documents(spec), None if multi else 1))
        fields = updated_fields(document)
        with self._store.changing(targets, fields):
            if targets and fields and "_id" not in fields and not any(kwargs.values()) \
                    and not fields & self._store.unique_fields():
                return self._update_fields(targets, spec, helpers.patch_datetime_awareness_in_document(document),
                                           fields)
            return super()._update(spec, document, upsert, manipulate, multi, **kwargs)

    def _by_own_id(self, spec: Mapping) -> list[dict] | None:
        """The target of `{"_id": value}` straight from the id map (a counter's update, every
        batch); None for any other filter."""
        if len(spec) != 1 or type(spec.get("_id")) not in ID_TYPES:
            return None
        document = self._store.get(spec["_id"])
        return [] if document is None else [document]

    def _update_fields(self, targets: list[dict], spec: Mapping, update: Mapping, fields: set[str]) -> dict:
        """mongomock's update of existing documents, without its deep copy of each whole document
        (kept to undo a unique index violation, which cannot happen here): only the fields the
        update names are copied, to count the documents it modified."""
        modified = 0
        for target in targets:
            before = {name: copy.deepcopy(target[name]) for name in fields if name in target}
            self._apply_update_document(target, spec, update, False)
            modified += any(target.get(name, MISSING) != before.get(name, MISSING) for name in fields)
        return {"connectionId": self.database.client._id, "err": None, "n": len(targets), "nModified": modified,
                "ok": 1, "upserted": None, "updatedExisting": True}


IMMUTABLE = frozenset({str, int, float, bool, bytes, type(None), dt.datetime, ObjectId})
PLAIN_TYPES = IMMUTABLE - {dt.datetime}  # values that hold no datetime, whatever their nesting


def _copied(value: Any, container: Any) -> Any:
    """mongomock's `_copy_field` (documents and arrays copied, the rest `copy.copy`), values that
    cannot change (most of a document) kept as they are rather than copied."""
    kind = type(value)
    if kind in IMMUTABLE:
        return value
    if kind is list:
        return [_copied(item, container) for item in value]
    if kind is dict:
        new = container()
        for name, item in value.items():
            new[name] = _copied(item, container)
        return new
    return _copy_field(value, container)


def _aware(value: Any) -> Any:
    """mongomock's `make_datetime_timezone_aware_in_document`, a copy with every datetime in UTC,
    without its three type tests of every value: a result's rows are mostly plain values."""
    kind = type(value)
    if kind is dict:
        return {name: _aware(item) for name, item in value.items()}
    if kind is list:
        return [_aware(item) for item in value]
    if kind in PLAIN_TYPES:
        return value
    return helpers.make_datetime_timezone_aware_in_document(value)


def run_pipeline(documents: list[dict], database: Any, pipeline: list[dict], session: Any) -> list[dict]:
    """mongomock's aggregation, but for `$sort` and `$group` (by a key), done here in the order
    mongomock gives: both sort with a key object compared in Python (a `$group` to gather equal
    keys), which costs more than every other stage together on thousands of documents; and
    `$project`/`$addFields` of top-level fields, their expressions compiled."""
    for stage in pipeline:
        runner = _engine_runner(stage)
        documents = runner(list(documents)) if runner else list(process_pipeline(documents, database, [stage], session))
    return documents


def _engine_runner(stage: Mapping) -> Callable[[list[dict]], list[dict]] | None:
    """The engine's own run of a stage, or None for mongomock's."""
    [(operator, options)] = stage.items() if len(stage) == 1 else [(None, None)]
    if operator == "$sort" and isinstance(options, Mapping) and all(
            isinstance(direction, int) and not str(name).startswith("$") for name, direction in options.items()):
        return lambda documents: in_order(documents, list(options.items()))
    if operator == "$group" and isinstance(options, Mapping) and "_id" in options and (
            options["_id"] is None or options["_id"]):
        return lambda documents: _grouped(documents, options)
    if operator in ("$project", "$addFields") and _plain_fields(options, operator == "$project"):
        return lambda documents: _with_fields(documents, options, operator == "$project")
    return None


def _in_engine(stage: Mapping) -> bool:
    """The engine runs the stage, every expression compiled (so it reads documents without
    changing them, and whatever mongomock would do with the datetimes' time zones never comes in)."""
    if _engine_runner(stage) is None:
        return False
    [(operator, options)] = stage.items()
    if operator == "$sort":
        return True
    if operator == "$group":
        accumulators = [spec for name, spec in options.items() if name != "_id"]
        if not all(isinstance(spec, Mapping) and len(spec) == 1 and
                   next(iter(spec)) in {*GROUPING_OPERATORS, "$addToSet", "$push"} for spec in accumulators):
            return False
        expressions = [options["_id"], *(next(iter(spec.values())) for spec in accumulators)]
    else:
        expressions = [value for value in options.values() if operator == "$addFields" or _inclusion(value) is None]
    return all(map(_compiles, expressions))


def _compiles(expression: Any) -> bool:
    try:
        compile_expression(expression, True)
    except Unsupported:
        return False
    return True


def _holds_datetime(value: Any) -> bool:
    if isinstance(value, Mapping):
        return any(map(_holds_datetime, value.values()))
    if isinstance(value, (list, tuple)):
        return any(map(_holds_datetime, value))
    return isinstance(value, dt.datetime)


def _evaluator(expression: Any, ignore_missing: bool) -> Callable[[dict], Any]:
    """The expression compiled, or else mongomock's parser for each document."""
    try:
        return compile_expression(expression, ignore_missing)
    except Unsupported:
        return lambda document: parse_expression(expression, document, ignore_missing_keys=ignore_missing)


def _plain_fields(options: Any, projecting: bool) -> bool:
    """A `$project` of top-level inclusions and computed fields (no exclusion, no `_id` rule),
    or an `$addFields` of top-level fields."""
    if not isinstance(options, Mapping) or not options or "_id" in options:
        return False
    if any("." in str(name) or str(name).startswith("$") for name in options):
        return False
    return not projecting or all(_inclusion(value) is not False for value in options.values())


def _inclusion(value: Any) -> bool | None:
    """True or False for a $project inclusion or exclusion flag, None for an expression."""
    if isinstance(value, (dict, str, list)) or value not in (0, 1, True, False):
        return None
    return bool(value)


def _with_fields(documents: list[dict], options: Mapping, projecting: bool) -> list[dict]:
    """mongomock's `$project` (inclusions, `_id`, computed fields) or `$addFields` (every field,
    computed ones set), each expression compiled once; a missing field leaves its key out."""
    computed = {name: _evaluator(value, True) for name, value in options.items()
                if not projecting or _inclusion(value) is None}
    included = [name for name in options if name not in computed] + ["_id"]
    shaped = []
    for document in documents:
        out = {name: document[name] for name in included if name in document} if projecting else dict(document)
        for name, evaluate in computed.items():
            try:
                out[name] = evaluate(document)
            except KeyError:
                continue
        shaped.append(out)
    return shaped


def _grouped(documents: list[dict], options: Mapping) -> list[dict]:
    """mongomock's `$group`: groups in the order of their keys, each document's accumulated in
    the order received; gathered by a hashable twin of the key instead of by sorting them all."""
    groups: dict[Any, tuple[Any, list[dict]]] = {None: (None, [])} if options["_id"] is None else {}
    key_of = _evaluator(options["_id"], True)
    fields = _key_fields(options["_id"])
    for document in documents:
        if options["_id"] is None:  # one group of all (also of none, as mongomock)
            groups[None][1].append(document)
            continue
        if fields:
            values = tuple(map(document.get, fields.values(), itertools.repeat(MISSING, len(fields))))
            if KEY_TYPES.issuperset(map(type, values)):  # its own hashable twin (see _key_fields)
                group = groups.get(values)
                if group is None:
                    group = groups[values] = ({name: value for name, value in zip(fields, values, strict=True)
                                               if value is not MISSING}, [])
                group[1].append(document)
                continue
        try:
            key = key_of(document)
        except KeyError:
            key = None
        groups.setdefault(_hashable(key), (key, []))[1].append(document)
    accumulators = {name: _accumulator(name, spec) for name, spec in options.items() if name != "_id"}
    rows = []
    for key, members in _by_key(list(groups.values())):
        row = {name: accumulate(members) for name, accumulate in accumulators.items()}
        row["_id"] = key
        rows.append(row)
    return rows


def _key_fields(key: Any) -> dict[str, str] | None:
    """The top-level field each part of a group key `{"a": "$a", ...}` reads, by part. A document
    whose values there are all plain (KEY_TYPES) is grouped by their tuple, missing ones as
    MISSING, with no key built and made hashable for it (several µs): equal tuples are equal
    keys, as their `_hashable` twins are, and no tuple of plain values equals a twin."""
    if not isinstance(key, dict) or not key or any(str(name).startswith("$") for name in key):
        return None
    fields = {name: field_name(expression) for name, expression in key.items()}
    return None if None in fields.values() else fields


def _accumulator(name: str, spec: Any) -> Callable[[list[dict]], Any]:
    """mongomock's accumulation of one output field over a group's documents (values of missing
    fields left out), its expression compiled; `$addToSet` keeps values by hashing rather than
    comparing each with every one kept."""
    if not (isinstance(spec, Mapping) and len(spec) == 1):
        return lambda members: accumulate_group({name: spec}, members).get(name)
    [(operator, expression)] = spec.items()
    if operator not in GROUPING_OPERATORS and operator not in ("$addToSet", "$push"):
        return lambda members: accumulate_group({name: spec}, members).get(name)
    values_of = _values_of(expression)
    if operator == "$sum" and _counted(expression):
        return lambda members: sum(values_of(members))
    condition = field_condition(expression) if operator == "$sum" else None
    if condition is not None and condition[3] is None and not _constant(condition[2]):
        return _sum_where(*condition[:3], fallback=lambda members: GROUPING_OPERATORS["$sum"](values_of(members)))

    def accumulate(members: list[dict]) -> Any:
        values = values_of(members)
        if operator == "$push":
            return values
        kinds = set(map(type, values))
        if operator == "$addToSet":  # falsy values as null, in the order first met
            if kinds <= {str, type(None)}:  # their own hashable twins
                return list(dict.fromkeys([value or None for value in values]))
            kept: dict = {}
            for value in values:
                kept.setdefault(_hashable(value or None), value or None)
            return list(kept.values())
        if operator == "$sum" and kinds <= {int, float}:
            return sum(values)
        return GROUPING_OPERATORS[operator](values)
    return accumulate


def _sum_where(name: str, value: Any, then: Any, fallback: Callable[[list[dict]], Any]) -> Callable[[list[dict]], Any]:
    """The `$sum` of `{"$cond": [{"$eq": ["$name", value]}, then, None]}` (a score of completions
    only, say): `then` evaluated for the documents that take it, its numbers added in order as
    mongomock adds them, nulls and missing values left out; `fallback` (mongomock's own) when a
    value is of any other kind."""
    evaluate = _evaluator(then, False)

    def summed(members: list[dict]) -> Any:
        total = 0
        for document in members:
            if document.get(name, MISSING) != value:
                continue
            try:
                found = evaluate(document)
            except KeyError:
                continue
            kind = type(found)
            if kind is int or kind is float:
                total += found
            elif found is not None:
                return fallback(members)
        return total
    return summed


def _counted(expression: Any) -> bool:
    """A `$cond` on a top-level field whose outcomes are both numbers (a flag): every value is
    one, and their `$sum` is Python's."""
    condition = field_condition(expression)
    return condition is not None and {type(condition[2]), type(condition[3])} <= {int, float}


def _values_of(expression: Any) -> Callable[[list[dict]], list]:
    """The expression's value in each document where it has one (mongomock leaves out those
    where a field it reads is missing); a top-level field read without a call per document."""
    name = field_name(expression)
    if name is not None:
        return lambda members: [document[name] for document in members if name in document]
    condition = field_condition(expression)
    if condition is not None:
        return _branch_values(*condition)
    value_of = _evaluator(expression, False)

    def values(members: list[dict]) -> list:
        found = []
        for document in members:
            try:
                found.append(value_of(document))
            except KeyError:
                continue
        return found
    return values


def _branch_values(name: str, value: Any, then: Any, otherwise: Any) -> Callable[[list[dict]], list]:
    """`_values_of` a `$cond` testing a top-level field against a constant: the test is a lookup
    (a missing field takes the else branch, as the compiled `$cond` does), a constant outcome is
    taken as it is, and only an outcome that is an expression is evaluated, for the documents
    that take it (one where a field it reads is missing is left out)."""
    outcomes = [(outcome, None) if _constant(outcome) else (None, _evaluator(outcome, False))
                for outcome in (then, otherwise)]
    if outcomes[0][1] is None and outcomes[1][1] is None:
        return lambda members: [then if document.get(name, MISSING) == value else otherwise for document in members]

    def values(members: list[dict]) -> list:
        found = []
        for document in members:
            constant, evaluate = outcomes[0] if document.get(name, MISSING) == value else outcomes[1]
            if evaluate is None:
                found.append(constant)
                continue
            try:
                found.append(evaluate(document))
            except KeyError:
                continue
        return found
    return values


def _constant(expression: Any) -> bool:
    """An outcome that is its own value: no field path, operator, document or array."""
    return expression is None or isinstance(expression, (bool, int, float)) or (
        isinstance(expression, str) and not expression.startswith("$"))


def _hashable(value: Any) -> Any:
    """Equal for the values BSON holds equal (1 and 1.0), different for the others (True and 1)."""
    if type(value) in PLAIN_HASHABLE:
        return value
    if isinstance(value, Mapping):
        return ("document", tuple((name, _hashable(item)) for name, item in value.items()))
    if isinstance(value, (list, tuple)):
        return ("array", tuple(_hashable(item) for item in value))
    if isinstance(value, bool):
        return ("bool", value)
    try:
        hash(value)
    except TypeError:
        return ("other", repr(value))
    return value


def _by_key(groups: list[tuple[Any, list]]) -> list[tuple[Any, list]]:
    """Groups sorted by key as mongomock sorts them; keys that are documents with the same fields
    are sorted on their values' tuples, when each field holds plain values of one kind."""
    keys = [key for key, _ in groups]
    if keys and all(isinstance(key, Mapping) for key in keys) and len({tuple(key) for key in keys}) == 1:
        columns = [[key[name] for key in keys] for name in keys[0]]
        if all(_plain_order(column, False) is not None for column in columns):
            tuples = list(zip(*columns, strict=True))
            return [groups[position] for position in sorted(range(len(groups)), key=tuples.__getitem__)]
    order = _plain_order(keys, False)
    if order is None:
        order = sorted(range(len(groups)), key=lambda position: BsonComparable(keys[position]))
    return [groups[position] for position in order]


def fields_read(stage: Mapping) -> set[str] | None:
    """The top-level fields a `$project` (inclusion) or `$group` stage reads, the only ones the
    rest of a pipeline can see; None for any other stage, or one that may read the whole document."""
    if len(stage) != 1:
        return None
    [(name, spec)] = stage.items()
    if name not in ("$project", "$group") or not isinstance(spec, Mapping):
        return None
    fields: set[str] = set()
    for key, value in spec.items():
        if name == "$project" and (value is True or value is False or value in (0, 1)) and not isinstance(value, float):
            if not value and key != "_id":
                return None  # exclusion: every other field goes on
            fields.add(str(key).split(".", 1)[0])
        elif not _references(value, fields):
            return None
    return fields


def _references(expression: Any, fields: set[str]) -> bool:
    """Add the top-level fields an aggregation expression reads; False if it may read any."""
    if isinstance(expression, str):
        if expression.startswith("$$"):
            return expression.split(".", 1)[0] not in ("$$ROOT", "$$CURRENT")
        if expression.startswith("$"):
            fields.add(expression[1:].split(".", 1)[0])
        return True
    if isinstance(expression, Mapping):
        return "$getField" not in expression and all(_references(value, fields) for value in expression.values())
    if isinstance(expression, (list, tuple)):
        return all(_references(value, fields) for value in expression)
    return True


def updated_fields(update: Any) -> set[str] | None:
    """The top-level fields an update document changes; None for a replacement or a pipeline."""
    if not isinstance(update, dict) or not update or not all(str(op).startswith("$") for op in update):
        return None
    fields = set()
    for operator, changes in update.items():
        if not isinstance(changes, dict):
            return None
        fields.update(str(path).split(".", 1)[0] for path in changes)
        if operator == "$rename":
            fields.update(str(path).split(".", 1)[0] for path in changes.values())
    return fields


def in_order(documents: list[dict], sort: list[tuple[str, int]]) -> list[dict]:
    """The documents in mongomock's order for `sort`. A field whose values are all numbers, all
    strings or all datetimes is sorted on the values themselves (mongomock's own key wraps each
    value in an object compared in Python, many times slower); any other by mongomock's key."""
    for name, direction in reversed(sort):
        values = (list(map(dict.get, documents, itertools.repeat(name))) if "." not in name
                  else [resolve_key(name, document) for document in documents])
        order = _plain_order(values, direction < 0)
        if order is None:
            keys = [resolve_sort_key(name, document) for document in documents]
            order = sorted(range(len(keys)), key=keys.__getitem__, reverse=direction < 0)
        documents = [documents[position] for position in order]
    return documents


PLAIN_HASHABLE = frozenset({str, int, float, dt.datetime, type(None)})
KEY_TYPES = PLAIN_HASHABLE | {type(MISSING)}  # a group key's plain values, and a missing one
_PLAIN_KINDS = {int: "number", float: "number", str: "string", dt.datetime: "datetime"}


def _plain_order(values: list, reverse: bool) -> list[int] | None:
    """Positions of the values in their order, when they are plain values of one kind."""
    types = set(map(type, values))
    kinds = {_PLAIN_KINDS.get(kind) for kind in types}
    if len(kinds) != 1 or None in kinds or (float in types and any(value != value for value in values)):  # NaN
        return None
    try:
        return sorted(range(len(values)), key=values.__getitem__, reverse=reverse)
    except TypeError:  # naive and aware datetimes together
        return None


def _final_check(filter: Mapping, plan: Plan | None = None) -> Callable[[dict], bool]:
    """The filter's test of a candidate: nothing for the documents of an exact plan; else the
    filter compiled (filters.py), or mongomock's filter_applies for what is not compiled, with
    an `_id` `$in` list of strings tested as a set (mongomock walks the list for every document:
    checking a batch's ids cost the square of the batch)."""
    if plan is not None and plan.exact:
        return lambda document: True
    try:
        return compile_filter(filter)
    except Unsupported:
        pass
    ids = filter.get("_id") if isinstance(filter, Mapping) else None
    if not (isinstance(ids, Mapping) and set(ids) == {"$in"} and isinstance(ids["$in"], list)
            and all(isinstance(i, str) for i in ids["$in"])):
        return lambda document: filter_applies(filter, document)
    wanted = set(ids["$in"])
    rest = {name: condition for name, condition in filter.items() if name != "_id"}
    return lambda document: document.get("_id") in wanted and filter_applies(rest, document)
