"""The embedded store's indexes change how documents are found, never which: every query answers
exactly what mongomock's full scan answers, through inserts, in-place updates and deletes."""
from __future__ import annotations

import datetime as dt
import random
import uuid

import mongomock
import pytest
from mongomock import helpers

from lrs.erasure import _referring_to
from lrs.store.embedded import embedded_database, planner
from lrs.store.embedded.engine import in_order
from tests.nested import every_value
from tests.store.query_shapes import shapes
from tests.xapi.builders import statement

VERBS = ["v0", "v1", "v2", None]
START = dt.datetime(2026, 1, 1)


def document(n: int, rng: random.Random) -> dict:
    doc = {"_id": f"s{n:05d}", "seq": n, "verb": rng.choice(VERBS), "stored": START + dt.timedelta(seconds=n),
           "agents": rng.sample(["a", "b", "c", "d"], rng.randint(0, 2)), "via": [], "n": rng.randint(0, 5)}
    if rng.random() < 0.9:  # mixed kinds, sorted in BSON's order of types
        doc["x"] = rng.choice([1, 2.5, -3, "a", "b", None, True, False, START, START + dt.timedelta(days=1)])
    if rng.random() < 0.3:
        doc["via"] = [{"verb": rng.choice(VERBS), "agents": [rng.choice("abcd")]}]
    if rng.random() < 0.1:
        doc["pending"] = "batch"
    return doc


def queries(rng: random.Random) -> list[tuple[dict, list | None, int]]:
    verb, agent = rng.choice(VERBS), rng.choice("abcde")
    since = START + dt.timedelta(seconds=rng.randint(0, 400))
    match = {"verb": verb}
    return [
        ({"verb": verb}, [("seq", -1)], 7),
        ({"verb": {"$in": ["v0", "v2"]}, "seq": {"$lt": rng.randint(0, 400)}}, [("seq", -1)], 5),
        ({"agents": agent, "pending": {"$exists": False}}, [("seq", 1)], 0),
        ({"$or": [match, {"via": {"$elemMatch": match}}], "pending": {"$exists": False}}, [("seq", -1)], 10),
        ({"$or": [{"agents": agent}, {"via.agents": agent}], "stored": {"$gt": since}}, [("seq", 1)], 3),
        ({"stored": {"$gt": since, "$lte": since + dt.timedelta(seconds=50)}}, [("seq", -1)], 0),
        ({"seq": {"$gte": 100}}, [("seq", 1)], 4),
        ({"pending": {"$exists": False}}, [("seq", -1)], 6),
        ({"_id": {"$in": [f"s{rng.randint(0, 420):05d}" for _ in range(5)]}}, None, 0),
        ({"verb": None}, [("seq", 1)], 0),
        ({"$and": [{"verb": verb}, {"agents": agent}]}, [("stored", -1)], 2),
        ({"verb": verb}, [("stored", -1), ("_id", -1)], 6),
        ({"verb": {"$in": ["v1", "v2"]}}, [("stored", 1), ("_id", 1)], 6),
        # read in `seq` order until that reads more than expected, then sorted in memory
        ({"stored": {"$lte": START + dt.timedelta(seconds=rng.randint(360, 390))}}, [("seq", -1)], 2),
        ({"stored": {"$gte": since}, "verb": verb}, [("seq", 1)], 3),
        # exact plans (no check of their documents, counted from the index) and near misses
        ({"verb": {"$in": ["v0", "v2"]}}, [("seq", 1)], 0),
        ({"verb": {"$in": ["v0", "v2"], "$gt": "v1"}}, [("seq", 1)], 0),
        ({"seq": {"$gt": 10, "$gte": 20, "$lt": 300}}, [("seq", -1)], 0),
        ({"stored": {"$gte": since, "$lt": 5}}, None, 0),
        ({"agents": "a"}, None, 0),
        ({"agents": {"$in": ["a", "b"]}}, None, 0),
        ({"agents": {"$gt": "a", "$lt": "c"}}, None, 0),
        ({"verb": {"$eq": "v1", "$in": ["v2"]}}, None, 0),
        ({"stored": {"$gte": since + dt.timedelta(seconds=60), "$lte": since}}, None, 0),  # empty ranges
        ({"seq": {"$gt": 300, "$lt": 100}}, [("seq", -1)], 0),
        # candidates sorted in memory: plain values, mixed kinds (verb None), arrays (agents)
        ({"agents": agent}, [("stored", -1)], 3),
        ({"agents": agent}, [("verb", 1), ("seq", -1)], 4),
        ({"verb": verb}, [("agents", 1), ("seq", 1)], 5),
        # pages sorted from index entries after a range: (stored, seq), a multikey range, mixed
        # kinds and directions; intersections with an `$or`
        ({"stored": {"$gt": since}}, [("seq", 1)], 5),
        ({"stored": {"$gt": since, "$lte": since + dt.timedelta(seconds=90)}, "pending": {"$exists": False}},
         [("seq", -1)], 7),
        ({"agents": {"$gte": "b"}}, [("seq", -1)], 6),
        ({"verb": {"$gt": "v0"}}, [("stored", -1), ("_id", 1)], 5),
        ({"n": {"$gte": 2}}, [("x", 1), ("seq", -1)], 7),
        ({"n": {"$lt": 3}, "verb": verb}, [("x", -1), ("seq", 1)], 4),
        ({"$or": [match, {"via": {"$elemMatch": match}}], "stored": {"$lte": since}}, [("seq", -1)], 5),
        ({"$or": [{"agents": agent, "verb": verb}, {"via": {"$elemMatch": {"agents": agent, "verb": verb}}}],
          "n": {"$gt": 1}}, [("seq", -1)], 5),
        ({"$or": [{"agents": agent}, {"verb": verb}], "seq": {"$lt": 300}}, [("seq", 1)], 8),
    ]


@pytest.mark.parametrize("seed", range(3))
def test_indexed_queries_answer_what_a_scan_answers(seed):
    rng = random.Random(seed)
    indexed = embedded_database("test")["statements"]
    plain = mongomock.MongoClient()["test"]["statements"]
    docs = fill(indexed, plain, rng)
    for rounds, _ in changes_made(indexed, plain, docs, rng):
        for filter, sort, limit in queries(rng):
            assert found(indexed, filter, sort, limit) == found(plain, filter, sort, limit), (rounds, filter, sort, limit)
            assert indexed.count_documents(filter) == plain.count_documents(filter)


@pytest.mark.parametrize("seed", range(2))
def test_every_plan_the_planner_weighs_answers_what_a_scan_answers(seed, monkeypatch):
    """Not only the cheapest: each candidate plan (intersections, unions in each order, pages
    sorted from entries or from documents) is made to run every query."""
    rng = random.Random(seed)
    indexed = embedded_database("test")["statements"]
    plain = mongomock.MongoClient()["test"]["statements"]
    docs = fill(indexed, plain, rng)
    store = indexed._store
    for rounds, _ in changes_made(indexed, plain, docs, rng):
        for filter, sort, limit in queries(rng):
            patched = helpers.patch_datetime_awareness_in_document(filter)
            expected = found(plain, filter, sort, limit)
            for plan in planner.candidate_plans(patched, store._documents, store.secondary, sort):
                monkeypatch.setattr(store, "plan", lambda *args, plan=plan, **kwargs: plan)
                assert found(indexed, filter, sort, limit) == expected, (rounds, filter, sort, limit, plan)
            monkeypatch.undo()


def fill(indexed, plain, rng: random.Random) -> list[dict]:
    for collection in (indexed, plain):
        collection.create_index([("seq", -1)])
        collection.create_index([("stored", 1), ("seq", -1)])
        collection.create_index([("verb", 1), ("stored", -1), ("_id", -1)])
        collection.create_index([("n", 1), ("x", 1), ("seq", 1)])
        for name in ("verb", "agents"):
            collection.create_index([(name, 1), ("seq", -1)])
            collection.create_index([(f"via.{name}", 1), ("seq", -1)])
    docs = [document(n, rng) for n in range(400)]
    indexed.insert_many([dict(d) for d in docs])
    plain.insert_many([dict(d) for d in docs])
    return docs


def found(collection, filter: dict, sort: list | None, limit: int) -> list:
    cursor = collection.find(filter)
    if sort:
        cursor = cursor.sort(sort)
    ids = [d["_id"] for d in cursor.skip(limit // 3).limit(limit)]  # documents skipped are not copied
    return ids if sort else sorted(ids)


def changes_made(indexed, plain, docs: list[dict], rng: random.Random):
    """The same changes made to both collections, one at a time (none at first)."""
    changes = [
        ("update_many", {"_id": {"$in": [d["_id"] for d in docs[:50]]}}, {"$unset": {"pending": ""}}),
        ("update_many", {"verb": "v1", "seq": {"$lt": 200}}, {"$set": {"verb": "v2"}}),
        ("update_one", {"agents": "a"}, {"$push": {"via": {"verb": "v0", "agents": ["e"]}}}),
        ("delete_many", {"verb": "v0", "seq": {"$gt": 300}}),
        ("insert_one", document(500, rng)),
        ("replace_one", {"_id": "s00010"}, {"seq": 10, "verb": "v0", "agents": ["e"], "stored": START}),
    ]
    for rounds, (method, *args) in enumerate([(None,), *changes]):
        if method:
            getattr(indexed, method)(*[dict(a) for a in args])
            getattr(plain, method)(*[dict(a) for a in args])
        yield rounds, method


def test_every_statement_query_shape_reads_an_index_in_page_order(make_app):
    """The embedded twin of test_mongo_query_plans: each shape is read from an index, in `seq`
    order (so a page stops at its limit) when the narrowest range costs no more."""
    lrs = make_app().extensions["lrs"]
    lrs.statements.store([statement() for _ in range(20)], authority=lrs.default_authority("test"), version="1.0.3")
    store = lrs.statement_store.collection._target._store
    unplanned = []
    for name, query in shapes():
        sort = [("seq", 1 if query.ascending else -1)]
        plan = store.plan(helpers.patch_datetime_awareness_in_document(query.mongo_filter()), sort, query.limit + 1)
        if plan is None or not plan.follows(sort):
            unplanned.append(name)
    assert not unplanned


def test_erasure_finds_referring_statements_from_an_index(make_app):
    """Erasure follows StatementRefs by target id (`ref`): before `ref_referring` no index led
    with `ref`, so each lookup read every statement, here and on MongoDB."""
    lrs = make_app().extensions["lrs"]
    target = statement(id=str(uuid.uuid4()))
    refs = [statement(object={"objectType": "StatementRef", "id": target["id"]}) for _ in range(3)]
    lrs.statements.store([target, *refs, *(statement() for _ in range(20))],
                         authority=lrs.default_authority("test"), version="1.0.3")
    plan = lrs.statement_store.collection._target._store.plan(_referring_to([target["id"]]))
    assert plan is not None and plan.count == 3


def test_documents_sorted_in_memory_are_in_mongomocks_order():
    rng = random.Random(5)
    values = [1, 2.5, -3, "a", "b", None, [2, 1], [], {"x": 1}, True, START, START + dt.timedelta(days=1)]
    documents = [{"_id": n, "seq": n} for n in range(200)]
    for document in documents:
        if rng.random() < 0.9:
            document["x"] = rng.choice(values)
        document["n"] = rng.randint(0, 20)
        document["when"] = START + dt.timedelta(seconds=rng.randint(0, 20))
    plain = mongomock.MongoClient()["test"]["sorted"]
    plain.insert_many([dict(d) for d in documents])
    for sort in ([("n", 1), ("seq", -1)], [("when", -1), ("seq", 1)], [("x", 1), ("seq", 1)], [("x", -1), ("_id", -1)],
                 [("n", -1), ("x", 1), ("seq", 1)]):
        expected = [d["_id"] for d in plain.find().sort(sort)]
        assert [d["_id"] for d in in_order([dict(d) for d in documents], sort)] == expected, sort


def test_an_ordered_read_finding_too_few_goes_on_from_the_narrowest_range_sorted(monkeypatch):
    """An ordered plan whose first documents all match (so its sample promises a page within
    limit x 10 entries) and then finds none for a long stretch goes on from the narrowest plan,
    sorted in memory, without repeating what it found. Sorting is priced high, so the ordered
    plan is chosen over a small data set."""
    monkeypatch.setattr(planner, "SORTED_ENTRY_COST", 10)
    indexed = embedded_database("test")["statements"]
    plain = mongomock.MongoClient()["test"]["statements"]
    docs = [{"_id": f"s{n:04d}", "seq": n, "stored": START + dt.timedelta(seconds=n if n < 968 else 0)}
            for n in range(1000)]  # the newest 32 were stored first
    for collection in (indexed, plain):
        collection.create_index([("seq", -1)])
        collection.create_index([("stored", 1)])
        collection.insert_many([dict(d) for d in docs])
    query = {"stored": {"$lte": START + dt.timedelta(seconds=500)}}
    for limit in (1, 32, 33, 40, 100):
        for direction in (-1, 1):
            found = [[d["_id"] for d in c.find(query).sort("seq", direction).limit(limit)] for c in (indexed, plain)]
            assert found[0] == found[1], (limit, direction)


def test_an_ordered_plan_whose_order_starts_with_a_run_of_others_is_sampled_past_it():
    """Matches can come in runs along an index's order: by timestamp, the newest moment's 30
    statements all of one verb (a client sent them at once), then the verbs mixed. The ordered
    plan reads on past its first SAMPLE documents, none of which match, and is chosen: it reads
    about 40 for a page of 10 where the verb's 1,000 statements sorted in memory cost 700."""
    indexed = embedded_database("test")["statements"]
    plain = mongomock.MongoClient()["test"]["statements"]
    newest = START + dt.timedelta(days=1)
    docs = [{"_id": f"s{n:04d}", "seq": n, "verb": "v0" if n >= 3970 else VERBS[n % 4],
             "timestamp": newest if n >= 3970 else START + dt.timedelta(seconds=n)} for n in range(4000)]
    for collection in (indexed, plain):
        collection.create_index([("verb", 1), ("seq", -1)])
        collection.create_index([("timestamp", -1), ("seq", -1)])
        collection.insert_many([dict(d) for d in docs])
    sort = [("timestamp", -1), ("seq", -1)]
    plan = indexed._store.plan({"verb": "v1"}, sort, 10)
    assert plan.follows(sort) and plan.fields == frozenset(), plan
    found = [[d["_id"] for d in c.find({"verb": "v1"}).sort(sort).limit(10)] for c in (indexed, plain)]
    assert found[0] == found[1]


def test_an_intersection_dearer_than_a_plan_already_priced_is_not_sampled(monkeypatch):
    """The next page of a time window in `seq` order (`more`): the `seq` range reads the page in
    order, but not all of its first documents match (voided ones), so the ordered intersection
    with the `stored` range is weighed too. Its id sets alone cost more than the `seq` range's
    page: it is not sampled, which would build them (30 ms at 100,000 statements, for a 5 ms page)."""
    indexed = embedded_database("test")["statements"]
    plain = mongomock.MongoClient()["test"]["statements"]
    docs = [{"_id": f"s{n:04d}", "seq": n, "stored": START + dt.timedelta(seconds=n), "voided": 300 < n < 306}
            for n in range(400)]
    for collection in (indexed, plain):
        collection.create_index([("seq", -1)])
        collection.create_index([("stored", 1), ("seq", -1)])
        collection.insert_many([dict(d) for d in docs])
    built = []
    allowed = planner.Filtered.allowed
    monkeypatch.setattr(planner.Filtered, "allowed", lambda self: built.append(self) or allowed(self))
    query = {"stored": {"$gt": START + dt.timedelta(seconds=100)}, "seq": {"$gt": 300}, "voided": False}
    found = [[d["_id"] for d in c.find(query).sort("seq", 1).limit(5)] for c in (indexed, plain)]
    assert found[0] == found[1] == ["s0306", "s0307", "s0308", "s0309", "s0310"]
    assert not built


def test_aggregations_answer_what_mongomock_answers():
    """The engine runs a leading $match from its indexes, copies only the fields a following
    $project or $group reads, and does $sort and $group itself: every result, in order, is
    mongomock's."""
    from lrs_plugins.h5p.analytics import CONTRIBUTORS, PER_LEARNER_AND_CONTENT, PROGRESS, TOTALS

    rng = random.Random(3)
    indexed = embedded_database("test")["statements"]
    plain = mongomock.MongoClient()["test"]["statements"]
    verbs = ["http://adlnet.gov/expapi/verbs/" + verb for verb in ("attempted", "completed", "passed", "failed")]
    docs = []
    for n in range(300):
        doc = {"_id": f"s{n:03d}", "seq": n, "verb": rng.choice(verbs), "actor": rng.choice("abcdef"),
               "object_id": rng.choice(["x", "y", "z"]), "activities": [rng.choice(["x", "y", "z"])],
               "stored": START + dt.timedelta(seconds=rng.randint(0, 50)),
               "timestamp": START + dt.timedelta(seconds=rng.randint(0, 5)), "raw": "{}"}
        if rng.random() < 0.6:
            doc["result"] = {"scaled": rng.choice([None, 0.5, 1, rng.random()]), "raw": rng.randint(0, 9),
                             "max": rng.choice([None, 10]), "duration_seconds": rng.choice([None, 30.0, 60])}
        if rng.random() < 0.2:
            doc["mixed"] = rng.choice([1, "one", None, [1, 2], {"a": 1}, True])
        docs.append(doc)
    for collection in (indexed, plain):
        collection.create_index([("activities", 1), ("seq", -1)])
        collection.insert_many([dict(d) for d in docs])
    pipelines = [
        [{"$match": {"activities": "x"}}, {"$group": {"_id": None, **TOTALS, **CONTRIBUTORS}}],
        [{"$match": {"activities": {"$in": ["x", "y"]}}}, *PROGRESS],
        [{"$match": {}}, {"$group": PER_LEARNER_AND_CONTENT}, {"$sort": {"_id.actor": 1, "_id.content": 1}}],
        # group keys of top-level fields: plain values (1 and 1.0 one key), missing ones, and
        # values that are not plain (True is not 1, arrays, documents)
        [{"$match": {}}, {"$group": {"_id": {"m": "$mixed", "a": "$actor"}, "n": {"$sum": 1},
                                     "first": {"$first": "$seq"}, "last": {"$last": "$seq"}}}],
        [{"$match": {}}, {"$group": {"_id": {"r": "$result", "absent": "$absent"}, "n": {"$sum": 1}}}],
        # $cond on a top-level field against a constant: flags, expressions on one side only
        # (a missing field they read leaves the statement out), the dict form, nulls summed
        [{"$match": {}}, {"$group": {
            "_id": "$actor", "ones": {"$sum": {"$cond": [{"$eq": ["$mixed", 1]}, 1, 0]}},
            "raws": {"$push": {"$cond": {"if": {"$eq": ["$verb", verbs[1]]}, "then": "$result.raw", "else": None}}},
            "firsts": {"$first": {"$cond": [{"$eq": ["$mixed", "one"]}, "$absent", "x"]}},
            "scaled": {"$sum": {"$cond": [{"$eq": ["$verb", verbs[0]]}, "$result.scaled", None]}},
            "mixed": {"$sum": {"$cond": [{"$eq": ["$verb", verbs[0]]}, "$mixed", None]}},
            "unset": {"$sum": {"$cond": [{"$eq": ["$absent", None]}, 1, 2]}},
            "nulls": {"$push": {"$cond": [{"$eq": ["$mixed", None]}, "$seq", None]}},
            "which": {"$addToSet": {"$cond": [{"$eq": ["$mixed", True]}, "$actor", "$verb"]}}}},
         {"$sort": {"_id": 1}}],
        [{"$match": {}}, {"$group": {"_id": "$mixed", "n": {"$sum": 1}, "first": {"$first": "$seq"},
                                     "raws": {"$addToSet": "$result.raw"}, "mixed": {"$addToSet": "$mixed"}}}],
        [{"$match": {"activities": "nothing"}}, {"$group": {"_id": None, "n": {"$sum": 1}, "a": {"$addToSet": "$a"}}}],
        [{"$match": {"seq": {"$gte": 0}}}, {"$sort": {"mixed": 1, "seq": -1}}, {"$project": {"mixed": 1}}],
        [{"$match": {"activities": "y"}}, {"$project": {"raw": 0}}, {"$sort": {"stored": -1, "_id": 1}}],
        [{"$match": {"activities": "z"}}, {"$group": {"_id": {"v": "$verb", "r": "$result.max"},
                                                      "docs": {"$push": "$$ROOT"}}}],
        [{"$sort": {"result.scaled": -1, "seq": 1}}, {"$limit": 20}],
        # compiled expressions: missing fields, nulls, dates, the dict form of $cond, documents
        [{"$match": {}}, {"$project": {
            "seq": 1, "absent": 1, "since": {"$subtract": ["$stored", "$timestamp"]},
            "before": {"$subtract": ["$stored", 1000]}, "half": {"$divide": ["$result.raw", 2]},
            "total": {"$add": ["$result.raw", "$result.max", 1]}, "none": {"$multiply": ["$absent", 2]},
            "pick": {"$cond": {"if": {"$gt": ["$result.max", "$result.raw"]}, "then": "$result.raw", "else": "$absent"}},
            "either": {"$ifNull": ["$result.scaled", "$absent"]}, "pair": {"a": "$actor", "b": "$absent"},
            "same": {"$eq": ["$absent", None]}, "low": {"$lte": ["$result.raw", 3]},
            "above": {"$gt": ["$mixed", 1]}, "below": {"$lt": ["$mixed", "$seq"]}, "as": {"$gte": ["$actor", "c"]},
            "flag": {"$cond": [{"$eq": ["$mixed", 1]}, "one", None]}, "set": {"$ne": ["$result.max", None]},
            "unknown": {"$cond": [{"$gt": ["$absent", 1]}, "yes", "no"]}}}],
        [{"$match": {"activities": "x"}}, {"$project": {"result": 1, "stored": 1, "seq": 1}},
         {"$group": {"_id": "$result.max", "all": {"$push": "$result"}, "when": {"$max": "$stored"},
                     "first": {"$first": "$result"}}}, {"$sort": {"_id": 1}}],
        [{"$match": {"seq": {"$lt": 150}}}, {"$group": {
            "_id": {"a": "$actor", "m": "$result.max"}, "raws": {"$push": "$result.raw"},
            "least": {"$min": "$result.raw"}, "mean": {"$avg": "$seq"}, "flags": {"$addToSet": {"$gt": ["$seq", 50]}}}}],
        [{"$match": {}}, {"$addFields": {"first": {"$cond": [{"$eq": ["$verb", verbs[0]]}, 1, 0]},
                                         "gone": "$absent", "pair": {"$ne": ["$actor", "a"]}}},
         {"$sort": {"seq": 1}}, {"$limit": 30}],
    ]
    stored = list(indexed.find())
    for pipeline in pipelines:
        rows = list(indexed.aggregate(pipeline))
        assert naive(rows) == naive(list(plain.aggregate(pipeline))), pipeline
        moments = [value for value in every_value(rows) if isinstance(value, dt.datetime)]
        assert all(moment.tzinfo for moment in moments), pipeline  # as the tz_aware client reads them
        scramble(rows)  # what the caller does with its rows reaches no stored document
    assert list(indexed.find()) == stored


def scramble(value):
    if isinstance(value, dict):
        for name in list(value):
            scramble(value[name])
            value[name] = "changed"
    elif isinstance(value, list):
        for item in value:
            scramble(item)
        value.append("changed")


def naive(value):
    """Datetimes as naive UTC (the embedded store's client is tz_aware, plain mongomock's not)."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, dict):
        return {name: naive(item) for name, item in value.items()}
    if isinstance(value, list):
        return [naive(item) for item in value]
    return value


def test_the_stored_index_becomes_stored_then_seq_and_the_old_one_goes(tmp_path):
    """A data folder (or a MongoDB) indexed by an earlier version keeps one `stored` index, the
    new one: each index costs every write."""
    from lrs.core import LRS

    settings = {"data_dir": str(tmp_path), "mongo_uri": "", "log_level": "WARNING"}
    old = LRS.from_settings(settings)
    old.start()
    old.statement_store.collection.create_index([("stored", 1)])
    assert "stored_1" in old.statement_store.collection.index_information()
    old.db.close()
    new = LRS.from_settings(settings)
    new.start()
    try:
        names = new.statement_store.collection.index_information()
        assert "stored_1_seq_-1" in names and "stored_1" not in names
        fields = [index.fields for index in new.statement_store.collection._target._store.secondary.values()]
        assert fields.count(["stored", "seq"]) == 1 and ["stored"] not in fields
    finally:
        new.db.close()


def test_documents_found_are_copies():
    """A page read with the usual projection shares nothing that can change with the store."""
    indexed = embedded_database("test")["statements"]
    indexed.create_index([("seq", -1)])
    indexed.insert_many([{"_id": f"s{n}", "seq": n, "via": [{"verb": "v", "agents": ["a"]}], "result": {"score": n},
                          "stored": START, "raw": "{}"} for n in range(5)])
    before = list(indexed.find())
    page = list(indexed.find({}, {"via": 1, "result": 1, "stored": 1, "raw": 1}).sort("seq", -1).limit(3))
    assert [document["result"] for document in page] == [{"score": 4}, {"score": 3}, {"score": 2}]
    scramble(page)
    assert list(indexed.find()) == before


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("long_run", [512, 8])
def test_entries_in_runs_keep_the_order_of_one_sorted_list(seed, long_run, monkeypatch):
    """Index entries kept as runs per leading value read, count and change as one sorted list of
    them does: appends at the end of a run (a new `seq`), inserts before its end, removals from
    the middle, runs emptied and made again, long runs turned into SortedLists (with a small
    LONG_RUN, most are), and ranges that start or end inside a run, span several runs, or end
    before they start, read from their start or after skipping some entries (a deep offset)."""
    from sortedcontainers import SortedList

    from lrs.store.embedded import indexes
    from lrs.store.embedded.indexes import TOP, Entries, sort_key

    monkeypatch.setattr(indexes, "LONG_RUN", long_run)
    rng = random.Random(seed)
    def entry(seq: int) -> tuple:
        return (*sort_key(rng.choice(["a", "b", "c", 7, START])), *sort_key(seq), 2, f"s{seq}", f"s{seq}")
    initial = [entry(seq) for seq in range(0, 200, 2)]
    runs, model = Entries(initial, width=2), SortedList(initial)
    for step in range(600):
        if rng.random() < 0.6:
            added = entry(rng.choice([rng.randint(0, 400), 400 + step]))
            runs.add(added)
            model.add(added)
        elif model:
            removed = model[rng.randrange(len(model))] if rng.random() < 0.9 else entry(-1)
            runs.discard(removed)
            model.discard(removed)
        assert len(runs) == len(model)
    assert list(runs) == list(model)
    assert any(type(run) is SortedList for run in runs._runs.values()) == (long_run == 8)
    bounds = [(), (2,), (2, "a"), (2, "b", TOP), (2, "b", 1, 150), (1, 7, 1, 50, TOP), (9,), (TOP,), (2.5,)]
    for low in bounds:
        for high in bounds:
            expected = list(model.irange(low, high))
            assert list(runs.irange(low, high)) == expected, (low, high)
            assert list(runs.irange(low, high, reverse=True)) == expected[::-1], (low, high)
            assert runs.count(low, high) == len(expected), (low, high)
            for skip in {1, 7, len(expected) // 2, max(len(expected) - 1, 0), len(expected), len(expected) + 3}:
                assert list(runs.irange(low, high, skip=skip)) == expected[skip:], (low, high, skip)
                assert list(runs.irange(low, high, reverse=True, skip=skip)) == expected[::-1][skip:], (low, high, skip)
