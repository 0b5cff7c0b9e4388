"""An upgrade whose release declares an index with other options than the one before still
starts: MongoDB (IndexOptionsConflict) and mongomock refuse such a declaration under the old
index's name, so the old index is built again as declared."""
from __future__ import annotations

import uuid

import pymongo
import pytest

from lrs.store.embedded import embedded_database
from lrs.store.indexing import declare_index


def test_a_store_with_the_unique_seq_index_of_an_earlier_release_starts(shared_store, make_app):
    """Releases before 289efcb declared `seq_-1` unique; this one does not."""
    name = f"lrs_test_{uuid.uuid4().hex[:12]}"
    with pymongo.MongoClient(shared_store) as client:
        client[name]["statements"].create_index([("seq", pymongo.DESCENDING)], unique=True)
    lrs = make_app(mongo_uri=shared_store, mongo_db=name).extensions["lrs"]
    assert not lrs.statement_store.collection.index_information()["seq_-1"].get("unique")


def test_a_changed_ttl_is_rebuilt_and_other_failures_still_raise():
    collection = embedded_database(f"x{uuid.uuid4().hex}", "")["sessions"]
    declare_index(collection, "expires", expireAfterSeconds=60)
    assert declare_index(collection, "expires", expireAfterSeconds=0) == "expires_1"
    assert collection.index_information()["expires_1"]["expireAfterSeconds"] == 0
    collection.insert_many([{"n": 1}, {"n": 1}])
    with pytest.raises(pymongo.errors.DuplicateKeyError):
        declare_index(collection, [("n", 1)], unique=True)


def test_an_index_another_process_dropped_first_is_built_all_the_same(monkeypatch):
    """Several `lrs serve` workers start at once: each meets the conflict, one drops the index."""
    collection = embedded_database(f"x{uuid.uuid4().hex}", "")["sessions"]
    declare_index(collection, "expires", expireAfterSeconds=60)
    create = collection.create_index

    def raced(*args, **kwargs):
        try:
            return create(*args, **kwargs)
        finally:
            if collection.index_information().get("expires_1", {}).get("expireAfterSeconds") == 60:
                collection.drop_index("expires_1")  # the other worker, between our attempt and our drop

    monkeypatch.setattr(collection, "create_index", raced)
    assert declare_index(collection, "expires", expireAfterSeconds=0) == "expires_1"
    assert collection.index_information()["expires_1"]["expireAfterSeconds"] == 0
