"""The embedded store when its disk commit fails (the disk full, another process holding the
file's write lock): the request is answered 503 in its API's JSON error format, nothing the
store shows is missing from the disk, and the refused changes are written by the next commit,
so that whatever is acknowledged after it survives kill -9.
"""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
import requests

from lrs.server import spawned, stop
from lrs.store.embedded.disk import STORE_FILE
from tests.conftest import basic_auth
from tests.store.test_embedded_durability import (
    AUTH,
    HEADERS,
    Load,
    check_after_restart,
    server_env,
    statement,
    wait_for,
    writing,
)

pytestmark = pytest.mark.skipif(bool(os.environ.get("LRS_TEST_MONGO_URI")), reason="about the embedded store")
REFUSAL = "the store could not write this request's changes to disk"
HOLD_WRITE_LOCK = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
db.execute("ROLLBACK")
"""


@contextmanager
def write_lock_held(path: Path) -> Iterator[None]:
    """Another process holds the SQLite write lock on `path` until the block ends."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD_WRITE_LOCK, str(path)], text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == "locked"  # it exits (empty line) if it cannot lock
        yield
    finally:
        holder.stdin.close()  # its readline ends: it rolls back and exits
        stop(holder)


def assert_refused(response: requests.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Retry-After"] == "5"
    assert response.json()["error"]["status"] == 503
    assert REFUSAL in response.json()["error"]["message"]


def test_a_write_the_disk_refused_is_503_and_written_by_the_next_commit_surviving_kill_9(tmp_path):
    data = tmp_path / "data"
    env = server_env(data)
    ids = {name: str(uuid.uuid4()) for name in ("before", "refused", "after")}
    session = requests.Session()
    session.auth, session.headers = AUTH, dict(HEADERS)

    def put(name: str) -> requests.Response:
        return session.put(f"{endpoint}/statements", params={"statementId": ids[name]},
                           json=statement(ids[name]), timeout=120)

    def get(name: str) -> requests.Response:
        return session.get(f"{endpoint}/statements", params={"statementId": ids[name]}, timeout=120)

    with open(tmp_path / "server.log", "wb") as log, spawned(env, own_session=True, stdout=log) as (endpoint, process):
        assert put("before").status_code == 204
        with write_lock_held(data / STORE_FILE):
            refused, read_meanwhile = put("refused"), get("refused")
        assert_refused(refused)
        assert refused.headers["X-Experience-API-Version"] == "1.0.3"
        assert_refused(read_meanwhile)  # not shown while it is not on disk
        assert get("refused").status_code == 200  # this read's commit wrote it
        assert put("refused").status_code == 204  # the same statement again: acknowledged now
        assert put("after").status_code == 204
        os.killpg(process.pid, signal.SIGKILL)
    logged = (tmp_path / "server.log").read_text()
    assert "OperationalError: database is locked" in logged and "Traceback" not in logged

    with spawned(env) as (endpoint, _):
        for name in ids:
            assert get(name).status_code == 200, name


def test_under_load_a_locked_file_is_503s_and_every_write_acknowledged_around_it_survives_kill_9(tmp_path):
    data = tmp_path / "data"
    env = server_env(data)
    with spawned(env, own_session=True) as (endpoint, process):
        load = Load(endpoint)
        with writing(load):
            wait_for(lambda: load.acked() >= 5)
            with write_lock_held(data / STORE_FILE):
                wait_for(lambda: len(load.refused) >= 3)  # each after SQLite's 5 s wait for the lock
            acked_before = load.acked()
            wait_for(lambda: load.acked() >= acked_before + 5)
            os.killpg(process.pid, signal.SIGKILL)
    assert len(load.refused) >= 3 and load.acked() >= acked_before + 5
    for response in load.refused:
        assert_refused(response)
    check_after_restart(env, load)


@pytest.fixture
def full_disk_app(make_app, tmp_path):
    """An app on a data dir whose file may not grow (SQLite's max_page_count: a full disk's error,
    SQLITE_FULL, after which SQLite has already rolled the transaction back)."""
    app = make_app(data_dir=str(tmp_path), plugins="simple_events")
    lrs = app.extensions["lrs"]
    lrs.create_credential("events", "events-secret", ["simple_events"])
    journal = lrs.db._guard.journal.db
    [pages] = journal.execute("PRAGMA page_count").fetchone()
    journal.execute(f"PRAGMA max_page_count = {pages}")
    yield app
    lrs.db.close()


def test_a_full_disk_is_503_in_each_api_format_with_sqlites_own_error_logged(full_disk_app, make_app, tmp_path,
                                                                            caplog):
    client = full_disk_app.test_client()
    xapi = {"Authorization": basic_auth(), "X-Experience-API-Version": "1.0.3"}
    batch = [statement(str(uuid.uuid4()), result={"response": "x" * 2000}) for _ in range(20)]
    with caplog.at_level(logging.ERROR, "lrs.store.embedded"):
        refused = client.post("/xapi/statements", json=batch, headers=xapi)
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "5"
    assert refused.json["error"]["status"] == 503 and REFUSAL in refused.json["error"]["message"]
    [record] = caplog.records
    assert "OperationalError: database or disk is full" in record.getMessage()
    assert "rollback" not in caplog.text  # SQLite's error, not one of a second ROLLBACK

    event = {"event": "completed", "userId": "12345", "timestamp": "2025-10-10T14:30:00Z"}
    adapter = client.post("/events", json=event, headers={"Authorization": "Bearer events:events-secret"})
    assert adapter.status_code == 503 and adapter.headers["Retry-After"] == "5"
    assert set(adapter.json) == {"error", "request_id", "validation_errors"}  # simple events' own shape
    assert REFUSAL in adapter.json["error"]
    assert client.get("/xapi/statements", query_string={"statementId": batch[0]["id"]},
                      headers=xapi).status_code == 503
    assert client.get("/health/live").status_code == 200  # no store call, nothing to show: not refused

    full_disk_app.extensions["lrs"].db._guard.journal.db.execute("PRAGMA max_page_count = 1073741823")
    assert client.get("/xapi/statements", query_string={"statementId": batch[0]["id"]},
                      headers=xapi).status_code == 200
    full_disk_app.extensions["lrs"].db.close()
    reopened = make_app(data_dir=str(tmp_path)).test_client()
    try:
        stored = reopened.get("/xapi/statements", query_string={"limit": 100}, headers=xapi).json["statements"]
    finally:
        reopened.application.extensions["lrs"].db.close()
    assert {s["id"] for s in batch} <= {s["id"] for s in stored}
    assert len(stored) == len(batch) + 1  # and the event's statement


def test_ready_names_the_store_check_while_the_disk_refuses_commits(full_disk_app):
    """A write the full disk refused waits for the next commit, and the readiness probe's ping
    commits with it: the probe's answer is its own shape, the store check false, until the disk
    takes the write."""
    client = full_disk_app.test_client()
    headers = {"Authorization": basic_auth(), "X-Experience-API-Version": "1.0.3"}
    big = [statement(str(uuid.uuid4()), result={"response": "x" * 2000}) for _ in range(20)]
    assert client.post("/xapi/statements", json=big, headers=headers).status_code == 503
    ready = client.get("/health/ready")
    assert ready.status_code == 503
    assert ready.json == {"status": "unavailable", "checks": {"store": False, "indexes": True, "plugins": True}}
    full_disk_app.extensions["lrs"].db._guard.journal.db.execute("PRAGMA max_page_count = 1073741823")
    assert client.get("/health/ready").json["status"] == "ok"
