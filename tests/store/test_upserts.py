"""Upserts by `_id` racing another process's on MongoDB 4.4, which answers the findAndModify that
loses the insert with a DuplicateKeyError instead of retrying it as an update (SERVER-47212).
mongomock runs one call at a time, so the race is staged: the collection below lets the other
writer's document land and answers the first upsert as 4.4 does."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

from pymongo.errors import DuplicateKeyError

from tests.conftest import basic_auth
from tests.xapi.builders import statement


class LosesTheFirstInsert:
    def __init__(self, collection: Any, winner: dict):
        self._collection = collection
        self._winner = winner
        self.lost = False

    def find_one_and_update(self, query: dict, update: dict, **options: Any) -> Any:
        if not self.lost:
            self.lost = True
            self._collection.insert_one(self._winner)
            raise DuplicateKeyError("E11000 duplicate key error collection: counters index: _id_", 11000)
        return self._collection.find_one_and_update(query, update, **options)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._collection, name)


def test_the_first_batches_of_a_new_store_racing_for_the_counter_are_both_stored(app, client, xapi_headers):
    store = app.extensions["lrs"].statement_store
    other_batch = {"_id": "statements", "seq": 5, "stored": dt.datetime.now(dt.timezone.utc)}
    store.counters = LosesTheFirstInsert(store.counters, other_batch)
    sent = statement(id="7c6d35a2-0f3a-4e55-9a3c-6b1d5e7f2a10")
    assert client.post("/xapi/statements", json=sent, headers=xapi_headers).status_code == 200
    assert store.counters.lost and store.collection.find_one({"_id": sent["id"]})["seq"] == 6
    got = client.get("/xapi/statements", query_string={"statementId": sent["id"]}, headers=xapi_headers)
    assert got.status_code == 200


def test_a_credential_saved_twice_at_once_is_saved(app, client):
    lrs = app.extensions["lrs"]
    other = {"_id": "sensor", "secret_hash": "x", "scopes": ["statements/read"], "label": "", "active": True,
             "extra": {}, "authority": lrs.default_authority("sensor"), "updated": dt.datetime.now(dt.timezone.utc)}
    lrs.credentials.collection = LosesTheFirstInsert(lrs.credentials.collection, other)
    saved = lrs.create_credential("sensor", "sensor-secret", ["statements/write"])
    assert saved.scopes == frozenset({"statements/write"})
    listed = client.get("/admin/credentials/sensor", headers={"Authorization": basic_auth()})
    assert json.loads(listed.data)["scopes"] == ["statements/write"]
