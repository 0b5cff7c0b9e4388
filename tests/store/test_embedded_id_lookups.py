"""Lookups by `_id` (find_one of an id, find of an `$in` list) skip the query machinery on the
embedded store, and answer what mongomock does."""
from __future__ import annotations

import datetime as dt

import mongomock
import pytest
from bson import ObjectId

from lrs.store.embedded import embedded_database

OID = ObjectId("6b13aeafa19eea2e753e87c6")  # fixed, so every collection (and pytest-xdist worker) names the same tests
MOMENT = dt.datetime(2026, 12, 3, 8, 30, 15, 123000, tzinfo=dt.timezone.utc)
DOCUMENTS = [{"_id": "a", "n": 1, "at": MOMENT, "nested": {"list": [1, {"x": 2}]}},
             {"_id": 7, "n": 2}, {"_id": OID, "n": 3}, {"_id": 2.5, "n": 4}, {"_id": {"k": 1}, "n": 5}, {"_id": 1, "n": 6}]
LOOKUPS = ["a", "b", 7, 7.0, True, 1, OID, 2.5, {"k": 1}, None]
PROJECTIONS = [None, {"_id": 1}, {"n": 1}, {"_id": 0, "n": 1}, {"nested.x": 1}]


@pytest.fixture(scope="module")
def collections():
    embedded = embedded_database("find_one")
    reference = mongomock.MongoClient(tz_aware=True)["find_one"]
    for db in (embedded, reference):
        db["docs"].insert_many([dict(document) for document in DOCUMENTS])
    yield embedded["docs"], reference["docs"]
    embedded.client.close()


@pytest.mark.parametrize("projection", PROJECTIONS)
@pytest.mark.parametrize("identifier", LOOKUPS, ids=repr)
def test_find_one_by_id_answers_what_mongomock_answers(collections, identifier, projection):
    embedded, reference = collections
    for args, kwargs in (((projection,), {}), ((), {"projection": projection})):
        assert embedded.find_one({"_id": identifier}, *args, **kwargs) == reference.find_one(
            {"_id": identifier}, *args, **kwargs)
    if projection is None:
        assert embedded.find_one(identifier) == reference.find_one(identifier)


def test_find_one_by_id_hands_out_a_copy_with_aware_datetimes(collections):
    embedded, _ = collections
    found = embedded.find_one({"_id": "a"})
    assert found["at"] == MOMENT and found["at"].tzinfo is not None
    found["nested"]["list"].append(3)
    found["n"] = 99
    assert embedded.find_one({"_id": "a"})["nested"] == {"list": [1, {"x": 2}]}
    assert embedded.find_one({"_id": "a"}, {"n": 1}) == {"_id": "a", "n": 1}


IN_LISTS = [[], ["a"], ["b", "a", 7], ["a", "a", 1], [7.0, 2.5], [True, 1], [OID, {"k": 1}], ["a", None]]
RESTS = [{}, {"n": {"$gte": 2}}, {"at": {"$exists": False}}, {"at": MOMENT}, {"$or": [{"n": 1}, {"n": 7}]}]


def in_order(documents: list[dict]) -> list[dict]:
    """The documents in one order: MongoDB promises none without a sort."""
    return sorted(documents, key=lambda document: repr(sorted(document.items(), key=repr)))


@pytest.mark.parametrize("rest", RESTS, ids=repr)
@pytest.mark.parametrize("ids", IN_LISTS, ids=repr)
def test_find_by_an_id_list_answers_what_mongomock_answers(collections, ids, rest):
    embedded, reference = collections
    for projection in PROJECTIONS:
        spec = {"_id": {"$in": ids}, **rest}
        assert in_order(embedded.find(spec, projection)) == in_order(reference.find(spec, projection))
    spec = {"_id": {"$in": ids}, **rest}
    assert list(embedded.find(spec).sort("n", -1).limit(2)) == list(reference.find(spec).sort("n", -1).limit(2))
    assert len(list(embedded.find(spec).skip(1))) == max(0, len(list(reference.find(spec))) - 1)


def test_a_found_document_is_a_copy(collections):
    embedded, _ = collections
    [found] = embedded.find({"_id": {"$in": ["a"]}})
    found["nested"]["list"].clear()
    assert found["at"].tzinfo is not None
    assert embedded.find_one({"_id": "a"})["nested"] == {"list": [1, {"x": 2}]}
