"""Real `lrs forward` processes, and a real `lrs serve` forwarding in-process, killed with SIGKILL
mid-batch, then restarted.

The worker process and this test share the source store: the MongoDB of LRS_TEST_MONGO_URI when
it is set, otherwise the embedded store served over the wire protocol from this process
(tests/forwarding/wire_store.py), which outlives the processes it kills.
"""
from __future__ import annotations

import json
import os
import signal
import uuid

import pymongo
import requests

from lrs.forwarding.status import forwarding_status
from lrs.server import free_port, spawned
from tests.conftest import ADMIN_KEY, ADMIN_SECRET
from tests.forwarding.harness import (
    XAPI_HEADERS,
    FaultyProxy,
    RestartableServer,
    assert_same_statements,
    forward_process,
    statement,
    stored,
    target_config,
    wait_until,
)


def test_sigkilled_workers_lose_nothing(shared_store, make_app):
    target_app = make_app()
    with RestartableServer(target_app) as target, FaultyProxy(target.url, ("pass", "slow"), stall_seconds=0.5) as proxy:
        source = make_app(mongo_uri=shared_store, plugins="forward_xapi", forward_xapi_targets=json.dumps(
            [target_config("replica", proxy.url + "/xapi", batch_size=25, timeout=2)]))
        lrs = source.extensions["lrs"]
        client = source.test_client()
        for number in range(8):
            batch = [statement(number * 25 + n) for n in range(25)]
            assert client.post("/xapi/statements", json=batch, headers=XAPI_HEADERS).status_code == 200
        config = json.dumps([target_config("replica", proxy.url + "/xapi", batch_size=25, timeout=1.5)])
        for kills in range(2):
            with forward_process(lrs, config) as worker:
                wait_until(lambda kills=kills: proxy.active and len(proxy.requests) >= 2 * (kills + 1),
                           timeout=30, step=0.01)
                os.kill(worker.pid, signal.SIGKILL)  # mid-batch: the target has it, the worker never heard
                worker.wait(10)
        with forward_process(lrs, config):
            wait_until(lambda: forwarding_status(lrs)[0]["backlog"] == 0, timeout=60)
        assert_same_statements(stored(source), stored(target_app))
        assert forwarding_status(lrs)[0]["dead_letters"] == 0
        sent = [i for request in proxy.requests for i in request["ids"]]
        assert len(sent) > len(set(sent))  # the batches in flight at the kills were sent again


def lrs_env(store_uri: str, database: str, endpoint: str) -> dict[str, str]:
    """`lrs serve` with gunicorn's two worker processes, forwarding in-process to `endpoint`."""
    return {"LRS_MONGO_URI": store_uri, "LRS_MONGO_DB": database, "LRS_WORKERS": "2",
            "LRS_ADMIN_KEY": ADMIN_KEY, "LRS_ADMIN_SECRET": ADMIN_SECRET, "LRS_LOG_LEVEL": "WARNING",
            "LRS_PLUGINS": "forward_xapi", "LRS_FORWARD_IN_PROCESS": "true",
            "LRS_FORWARD_XAPI_TARGETS": json.dumps([target_config("replica", endpoint, batch_size=25, timeout=1.5)]),
            "LRS_FORWARD_LEASE_SECONDS": "3", "LRS_FORWARD_POLL_SECONDS": "0.05",
            "LRS_FORWARD_RETRY_BASE_SECONDS": "0.05", "LRS_FORWARD_RETRY_MAX_SECONDS": "0.5"}


def post_batches(url: str, numbers: range) -> list[str]:
    """POST 20 statements per number; the ids the LRS acknowledged."""
    acknowledged: list[str] = []
    with requests.Session() as session:
        session.headers.update(XAPI_HEADERS)
        for number in numbers:
            response = session.post(f"{url}/statements", json=[statement(number * 20 + n) for n in range(20)],
                                    timeout=30)
            assert response.status_code == 200, response.text
            acknowledged.extend(response.json())
    return acknowledged


def backlog(url: str) -> int:
    admin = url.removesuffix("/xapi") + "/admin/forwarding"
    return requests.get(admin, headers=XAPI_HEADERS, timeout=30).json()["targets"][0]["backlog"]


def test_a_killed_lrs_forwarding_in_process_loses_nothing_it_acknowledged(shared_store, make_app):
    target_app = make_app()
    database, port = f"lrs_test_{uuid.uuid4().hex[:12]}", free_port()
    with RestartableServer(target_app) as target, FaultyProxy(target.url, ("pass", "slow"), stall_seconds=0.5) as proxy:
        env = lrs_env(shared_store, database, proxy.url + "/xapi")
        with spawned(env, port, timeout=60, own_session=True) as (url, first):
            acknowledged = post_batches(url, range(6))
            wait_until(lambda: proxy.active, timeout=30, step=0.01)
            os.killpg(first.pid, signal.SIGKILL)  # the whole LRS (gunicorn and its workers), mid-batch
            first.wait(10)
        with spawned(env, port, timeout=60, own_session=True) as (url, _):
            acknowledged += post_batches(url, range(6, 12))
            wait_until(lambda: backlog(url) == 0, timeout=60)
    source = pymongo.MongoClient(shared_store, tz_aware=True)[database]["statements"]
    source_statements = {doc["_id"]: json.loads(doc["raw"]) for doc in source.find({"pending": {"$exists": False}})}
    assert set(acknowledged) <= set(source_statements)
    assert_same_statements(source_statements, stored(target_app))
    pymongo.MongoClient(shared_store).drop_database(database)
