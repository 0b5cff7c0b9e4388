"""A target LRS that dies between inserting a batch's pending statements and revealing them.

The target is a real `lrs serve` (gunicorn, two worker processes: several live servers on one
store) on a store shared through the wire protocol (or the MongoDB of LRS_TEST_MONGO_URI); the
worker that takes the first batch the forwarder sends is SIGKILLed right after inserting it, and
gunicorn starts another; the resend may reach either. The resend of those ids must succeed at
once: the dead process's pending batch is recognised by its expired writer registration, not
after the five minutes a batch without a writer is given.
"""
from __future__ import annotations

import datetime as dt
import json
import sys
import time
import uuid
from pathlib import Path

import pymongo

from lrs.forwarding.status import forwarding_status
from lrs.forwarding.worker import Worker
from lrs.server import free_port, spawned
from lrs.statements import utc_now
from tests.conftest import ADMIN_KEY, ADMIN_SECRET
from tests.forwarding.harness import (
    XAPI_HEADERS,
    assert_same_statements,
    statement,
    stored,
    target_config,
    wait_until,
    workers_running,
)

ROOT = Path(__file__).resolve().parents[2]


def test_a_target_killed_mid_write_takes_the_resend_at_once(shared_store, make_app, tmp_path):
    database, port = f"lrs_test_{uuid.uuid4().hex[:12]}", free_port()
    flag = tmp_path / "crash"
    env = {"LRS_MONGO_URI": shared_store, "LRS_MONGO_DB": database, "LRS_WORKERS": "2", "LRS_ADMIN_KEY": ADMIN_KEY,
           "LRS_ADMIN_SECRET": ADMIN_SECRET, "LRS_LOG_LEVEL": "WARNING", "LRS_TEST_CRASH_FLAG": str(flag),
           "PYTHONPATH": str(ROOT)}
    serve = [sys.executable, "-c", "import tests.forwarding.crash_after_insert; from lrs.cli import main; main(['serve'])"]
    with spawned(env, port, timeout=60, own_session=True, command=serve) as (endpoint, _), workers_running() as workers:
        source = make_app(plugins="forward_xapi", forward_xapi_targets=json.dumps([target_config("replica", endpoint)]))
        lrs = source.extensions["lrs"]
        for number in range(5):
            batch = [statement(number * 20 + n) for n in range(20)]
            assert source.test_client().post("/xapi/statements", json=batch, headers=XAPI_HEADERS).status_code == 200
        flag.touch()
        workers.append(Worker(lrs).start())
        wait_until(lambda: not flag.exists(), timeout=30)
        crashed = time.monotonic()
        wait_until(lambda: forwarding_status(lrs)[0]["backlog"] == 0, timeout=90, step=0.1)
        caught_up = time.monotonic() - crashed
        print(f"target crash between insert and reveal: forwarder caught up {caught_up:.1f} s after the crash")
        assert caught_up < 60  # it took about 300 s while a dead writer's batch waited 5 minutes
    store = pymongo.MongoClient(shared_store, tz_aware=True)[database]
    try:
        on_target = {doc["_id"]: json.loads(doc["raw"]) for doc in store["statements"].find()}
        assert store["statement_batches"].count_documents({}) == 0
        assert store["statements"].count_documents({"pending": {"$exists": True}}) == 0
        assert_same_statements(stored(source), on_target)
    finally:
        store.client.drop_database(database)


def test_on_the_embedded_store_start_up_settles_every_batch_left_pending(make_app):
    """One process owns the embedded store: at start-up no earlier writer can still be writing,
    however recently it renewed its registration."""
    app = make_app(mongo_uri="")
    store = app.extensions["lrs"].statement_store
    statement_id = str(uuid.uuid4())
    assert store.writers.alive(["previous-process"]) == {"previous-process"}  # this process alone writes
    store.batches.insert_one({"_id": "left-over", "stored": utc_now(), "ids": [statement_id], "writer": "previous-process"})
    store.collection.insert_one({"_id": statement_id, "raw": "{}", "pending": "left-over", "seq": 0, "stored": utc_now()})
    store.recover(utc_now())
    assert store.collection.count_documents({}) == 0 and store.batches.count_documents({}) == 0
    response = app.test_client().post("/xapi/statements", json=statement(1) | {"id": statement_id}, headers=XAPI_HEADERS)
    assert response.status_code == 200


def test_a_writer_presumed_dead_mid_batch_finds_it_discarded_and_writes_it_again(shared_store, make_app, monkeypatch):
    """A paused writer whose registration expired must not reveal what another request discarded."""
    app = make_app(mongo_uri=shared_store)
    store = app.extensions["lrs"].statement_store
    insert_many = store.collection.insert_many
    interrupted = []

    def insert_then_presumed_dead(documents, *args, **kwargs):
        result = insert_many(documents, *args, **kwargs)
        if not interrupted:
            interrupted.append(documents[0]["pending"])
            store.writers.collection.update_one({"_id": store.writers.id}, {"$set": {"alive_until": utc_now()}})
            store.discard_stale(interrupted, utc_now() + dt.timedelta(seconds=1))
            assert store.collection.count_documents({}) == 0
            store.writers.beat()
        return result

    monkeypatch.setattr(store.collection, "insert_many", insert_then_presumed_dead)
    batch = [statement(n) for n in range(3)]
    assert app.test_client().post("/xapi/statements", json=batch, headers=XAPI_HEADERS).status_code == 200
    assert interrupted and store.collection.count_documents({"pending": {"$exists": False}}) == 3
    assert store.batches.count_documents({}) == 0
