"""Real `lrs forward` processes killed with SIGKILL mid-batch, then restarted.

The worker process and this test share the source store: the MongoDB of LRS_TEST_MONGO_URI when
it is set, otherwise the embedded store served over the wire protocol from this process
(tests/forwarding/wire_store.py), which outlives the worker processes it kills.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import uuid
from typing import Iterator

import pymongo
import pytest
import requests

from lrs.forwarding.status import forwarding_status
from tests.conftest import ADMIN_KEY, ADMIN_SECRET
from tests.forwarding.harness import (XAPI_HEADERS, FaultyProxy, RestartableServer, assert_same_statements,
                                      statement, stored, target_config, wait_until)
from tests.forwarding.wire_store import WireStore



@pytest.fixture
def shared_store() -> Iterator[str]:
    """A store URI other processes can use; requested before make_app, so it outlives its apps."""
    if os.environ.get("LRS_TEST_MONGO_URI"):
        yield os.environ["LRS_TEST_MONGO_URI"]
        return
    with WireStore() as store:
        yield store.uri


def start_worker(source_lrs, endpoint: str) -> subprocess.Popen:
    env = {**os.environ, "LRS_MONGO_URI": source_lrs.settings["mongo_uri"], "LRS_MONGO_DB": source_lrs.db.name,
           "LRS_PLUGINS": "forward_xapi", "LRS_LOG_LEVEL": "WARNING",
           "LRS_FORWARD_XAPI_TARGETS": json.dumps([target_config("replica", endpoint, batch_size=25, timeout=1.5)]),
           "LRS_FORWARD_LEASE_SECONDS": "3", "LRS_FORWARD_POLL_SECONDS": "0.05",
           "LRS_FORWARD_RETRY_BASE_SECONDS": "0.05", "LRS_FORWARD_RETRY_MAX_SECONDS": "0.5"}
    return subprocess.Popen([sys.executable, "-m", "lrs.cli", "forward"], env=env)


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
        endpoint = proxy.url + "/xapi"
        worker = start_worker(lrs, endpoint)
        try:
            for kills in range(2):
                wait_until(lambda: proxy.active and len(proxy.requests) >= 2 * (kills + 1), timeout=30, step=0.01)
                os.kill(worker.pid, signal.SIGKILL)  # mid-batch: the target has it, the worker never heard
                worker.wait(10)
                worker = start_worker(lrs, endpoint)
            wait_until(lambda: forwarding_status(lrs)[0]["backlog"] == 0, timeout=40)
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(20)
        assert_same_statements(stored(source), stored(target_app))
        assert forwarding_status(lrs)[0]["dead_letters"] == 0
        sent = [i for request in proxy.requests for i in request["ids"]]
        assert len(sent) > len(set(sent))  # the batches in flight at the kills were sent again


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_lrs(store_uri: str, database: str, port: int, endpoint: str) -> subprocess.Popen:
    """`lrs serve` (gunicorn, two worker processes) forwarding in-process, in a session of its own."""
    env = {**os.environ, "LRS_MONGO_URI": store_uri, "LRS_MONGO_DB": database, "LRS_PORT": str(port),
           "LRS_WORKERS": "2", "LRS_ADMIN_KEY": ADMIN_KEY, "LRS_ADMIN_SECRET": ADMIN_SECRET,
           "LRS_LOG_LEVEL": "WARNING", "LRS_PLUGINS": "forward_xapi", "LRS_FORWARD_IN_PROCESS": "true",
           "LRS_FORWARD_XAPI_TARGETS": json.dumps([target_config("replica", endpoint, batch_size=25, timeout=1.5)]),
           "LRS_FORWARD_LEASE_SECONDS": "3", "LRS_FORWARD_POLL_SECONDS": "0.05",
           "LRS_FORWARD_RETRY_BASE_SECONDS": "0.05", "LRS_FORWARD_RETRY_MAX_SECONDS": "0.5"}
    process = subprocess.Popen([sys.executable, "-m", "lrs.cli", "serve"], env=env, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: _answers(f"http://127.0.0.1:{port}/xapi/about"), timeout=20, step=0.1)
    return process


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.ConnectionError:
        return False


def test_a_killed_lrs_forwarding_in_process_loses_nothing_it_acknowledged(shared_store, make_app):
    target_app = make_app()
    database, port = f"lrs_test_{uuid.uuid4().hex[:12]}", free_port()
    url = f"http://127.0.0.1:{port}/xapi"
    with RestartableServer(target_app) as target, FaultyProxy(target.url, ("pass", "slow"), stall_seconds=0.5) as proxy:
        lrs_process = start_lrs(shared_store, database, port, proxy.url + "/xapi")
        acknowledged: list[str] = []
        try:
            with requests.Session() as session:
                session.headers.update(XAPI_HEADERS)
                for number in range(12):
                    if number == 6:  # mid-run: SIGKILL the whole LRS (gunicorn and its workers) mid-batch
                        wait_until(lambda: proxy.active, timeout=20, step=0.01)
                        os.killpg(lrs_process.pid, signal.SIGKILL)
                        lrs_process.wait(10)
                        lrs_process = start_lrs(shared_store, database, port, proxy.url + "/xapi")
                    response = session.post(f"{url}/statements", json=[statement(number * 20 + n) for n in range(20)],
                                            timeout=10)
                    assert response.status_code == 200, response.text
                    acknowledged.extend(response.json())
                wait_until(lambda: session.get(f"http://127.0.0.1:{port}/admin/forwarding", timeout=5).json()
                           ["targets"][0]["backlog"] == 0, timeout=30)
        finally:
            os.killpg(lrs_process.pid, signal.SIGTERM)
            lrs_process.wait(20)
    source = pymongo.MongoClient(shared_store, tz_aware=True)[database]["statements"]
    source_statements = {doc["_id"]: json.loads(doc["raw"]) for doc in source.find({"pending": {"$exists": False}})}
    assert set(acknowledged) <= set(source_statements)
    assert_same_statements(source_statements, stored(target_app))
    pymongo.MongoClient(shared_store).drop_database(database)
