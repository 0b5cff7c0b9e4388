"""Stored data survives hostile input, concurrent writers and a crash in the middle of a batch."""
from __future__ import annotations

import datetime as dt
import threading
import uuid

import pytest
import requests

from lrs.statements import utc_now
from lrs.store.statements import STALE_PENDING
from tests.conftest import ADMIN_KEY, ADMIN_SECRET, basic_auth

VERB = {"id": "http://adlnet.gov/expapi/verbs/completed"}


def statement(activity: str = "http://example.com/a/1", **extra) -> dict:
    return {"actor": {"mbox": "mailto:ada@example.com"}, "verb": VERB, "object": {"id": activity}, **extra}


def test_a_50_mb_body_is_refused_before_it_is_read(app, client, xapi_headers):
    body = b"[" + b" " * (50 * 1024 * 1024) + b"]"
    response = client.post("/xapi/statements", data=body, headers={**xapi_headers, "Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.get_json()["error"]["status"] == 413
    assert app.extensions["lrs"].statement_store.collection.count_documents({}) == 0


def test_concurrent_writers_of_one_id_leave_exactly_one_statement(app, live_server):
    statement_id = str(uuid.uuid4())
    url = f"{live_server.url}/xapi/statements?statementId={statement_id}"
    statuses: list[int] = []
    lock = threading.Lock()

    def put(n: int) -> None:
        response = requests.put(url, json=statement(f"http://example.com/a/{n}"), auth=(ADMIN_KEY, ADMIN_SECRET),
                                headers={"X-Experience-API-Version": "1.0.3"}, timeout=30)
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=put, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [204] + [409] * 7
    got = requests.get(url, auth=(ADMIN_KEY, ADMIN_SECRET), headers={"X-Experience-API-Version": "1.0.3"}, timeout=10)
    assert got.json()["object"]["id"] in {f"http://example.com/a/{n}" for n in range(8)}
    assert app.extensions["lrs"].statement_store.collection.count_documents({}) == 1


def test_a_crash_in_the_middle_of_a_batch_leaves_nothing_visible(either_store_app, xapi_headers, monkeypatch):
    app, client = either_store_app, either_store_app.test_client()
    lrs = app.extensions["lrs"]
    collection = lrs.statement_store.collection
    ids = [str(uuid.uuid4()) for _ in range(3)]
    insert_many = collection.insert_many

    def insert_then_crash(*args, **kwargs):
        insert_many(*args, **kwargs)
        raise SystemExit("killed mid-batch")

    monkeypatch.setattr(collection, "insert_many", insert_then_crash)
    with pytest.raises(SystemExit):
        client.post("/xapi/statements", json=[statement(id=i) for i in ids], headers=xapi_headers)
    monkeypatch.undo()

    assert client.get(f"/xapi/statements?statementId={ids[0]}", headers=xapi_headers).status_code == 404
    assert client.get("/xapi/statements", headers=xapi_headers).get_json()["statements"] == []
    consistent = client.get("/xapi/statements", headers=xapi_headers).headers["X-Experience-API-Consistent-Through"]
    assert dt.datetime.fromisoformat(consistent.replace("Z", "+00:00")) <= utc_now()

    lrs.statement_store.recover(utc_now() + STALE_PENDING + dt.timedelta(seconds=1))
    assert collection.count_documents({}) == 0
    response = client.post("/xapi/statements", json=[statement(id=i) for i in ids], headers=xapi_headers)
    assert response.status_code == 200
    assert len(client.get("/xapi/statements", headers=xapi_headers).get_json()["statements"]) == 3


def test_a_voiding_statement_that_arrives_first_voids_its_target_on_arrival(client, xapi_headers):
    target = str(uuid.uuid4())
    voiding = statement(verb={"id": "http://adlnet.gov/expapi/verbs/voided"},
                        object={"objectType": "StatementRef", "id": target})
    assert client.post("/xapi/statements", json=voiding, headers=xapi_headers).status_code == 200
    assert client.post("/xapi/statements", json=statement(id=target), headers=xapi_headers).status_code == 200
    assert client.get(f"/xapi/statements?statementId={target}", headers=xapi_headers).status_code == 404
    assert client.get(f"/xapi/statements?voidedStatementId={target}", headers=xapi_headers).status_code == 200


def test_a_reference_to_a_later_statement_matches_its_filters_once_it_arrives(client, xapi_headers):
    target = str(uuid.uuid4())
    referrer = statement(object={"objectType": "StatementRef", "id": target})
    [referrer_id] = client.post("/xapi/statements", json=referrer, headers=xapi_headers).get_json()
    client.post("/xapi/statements", json=statement("http://example.com/explosives", id=target), headers=xapi_headers)
    result = client.get("/xapi/statements", query_string={"activity": "http://example.com/explosives"},
                        headers=xapi_headers).get_json()
    assert {s["id"] for s in result["statements"]} == {target, referrer_id}


def _leave_pending(store, statement_id: str, stored: dt.datetime, batch: str) -> None:
    """What another writer's batch looks like between its insert and its reveal."""
    store.batches.insert_one({"_id": batch, "stored": stored, "ids": [statement_id]})
    store.collection.insert_one({"_id": statement_id, "raw": "{}", "pending": batch, "seq": 0, "stored": stored})


def test_a_write_waits_for_a_concurrent_batch_of_the_same_id_to_settle(app, client, xapi_headers):
    store = app.extensions["lrs"].statement_store
    statement_id = str(uuid.uuid4())
    _leave_pending(store, statement_id, utc_now(), "other-batch")
    discard = threading.Timer(0.2, store._discard, args=("other-batch", [statement_id]))
    discard.start()
    response = client.post("/xapi/statements", json=statement(id=statement_id), headers=xapi_headers)
    discard.join()
    assert response.status_code == 200
    got = client.get(f"/xapi/statements?statementId={statement_id}", headers=xapi_headers)
    assert got.status_code == 200 and got.get_json()["object"]["id"] == "http://example.com/a/1"


def test_a_batch_left_pending_by_a_crashed_writer_is_cleared_by_the_next_write(app, client, xapi_headers):
    store = app.extensions["lrs"].statement_store
    statement_id = str(uuid.uuid4())
    _leave_pending(store, statement_id, utc_now() - STALE_PENDING - dt.timedelta(seconds=1), "crashed-batch")
    response = client.post("/xapi/statements", json=statement(id=statement_id), headers=xapi_headers)
    assert response.status_code == 200
    assert store.batches.count_documents({}) == 0
    assert client.get(f"/xapi/statements?statementId={statement_id}", headers=xapi_headers).status_code == 200


def test_a_batch_revealed_after_its_writer_died_keeps_whose_it_is_in_references(make_app, shared_store, monkeypatch):
    """A statement referring to one not stored yet matches through it once it arrives. When the
    target's batch is committed but its writer dies before revealing it, recovery reveals it and
    resolves the reference, which must carry the target's authority: a statements/read/mine reader
    matches a reference only through a target of its own."""
    app = make_app(mongo_uri=shared_store)
    lrs = app.extensions["lrs"]
    lrs.create_credential("mine", "mine-secret", ["statements/write", "statements/read/mine"])
    client = app.test_client()
    mine = {"Authorization": basic_auth("mine", "mine-secret"), "X-Experience-API-Version": "1.0.3"}
    target = str(uuid.uuid4())
    referrer = statement(object={"objectType": "StatementRef", "id": target})
    [referrer_id] = client.post("/xapi/statements", json=referrer, headers=mine).get_json()
    collection = lrs.statement_store.collection

    def die_before_revealing(*args, **kwargs):
        raise SystemExit("killed between commit and reveal")

    monkeypatch.setattr(collection, "update_many", die_before_revealing)
    with pytest.raises(SystemExit):
        client.post("/xapi/statements", json=statement("http://example.com/explosives", id=target), headers=mine)
    monkeypatch.undo()
    lrs.statement_store.recover(utc_now() + STALE_PENDING + dt.timedelta(seconds=1))

    result = client.get("/xapi/statements", query_string={"activity": "http://example.com/explosives"}, headers=mine)
    assert {s["id"] for s in result.get_json()["statements"]} == {target, referrer_id}
