"""The embedded store when its disk commit fails (the disk full, another process holding the
file's write lock): the request is answered 503 in its API's JSON error format, and its changes,
all of them however many store calls made them, are taken back out of memory (the file is the
truth). So memory never keeps what the disk refused, nothing refused is stored later, and
everything acknowledged stays.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import uuid
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import bson
import pytest
import requests
from bson.codec_options import CodecOptions
from flask import Blueprint, request

from lrs.hooks import hookimpl
from lrs.server import spawned, stop
from lrs.store.document_files import DocumentFiles
from lrs.store.documents import DocumentStore
from lrs.store.embedded import StoreUnwritable, embedded_database
from lrs.store.embedded.disk import STORE_FILE
from tests.conftest import basic_auth
from tests.store.test_embedded_durability import (
    ACTIVITY,
    AGENT,
    AUTH,
    HEADERS,
    MULTIPART,
    Load,
    check_after_restart,
    server_env,
    statement,
    wait_for,
    with_attachment,
    writing,
)

pytestmark = pytest.mark.skipif(bool(os.environ.get("LRS_TEST_MONGO_URI")), reason="about the embedded store")
REFUSAL = "the store could not write this request's changes to disk"
XAPI = {"Authorization": basic_auth(), "X-Experience-API-Version": "1.0.3"}
STATE = {"activityId": ACTIVITY, "agent": json.dumps(AGENT)}
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
    """Another process holds the SQLite write lock on `path` until the block ends: every commit
    is refused, whatever it writes."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD_WRITE_LOCK, str(path)], text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == "locked"  # it exits (empty line) if it cannot lock
        yield
    finally:
        holder.stdin.close()  # its readline ends: it rolls back and exits
        stop(holder)


def assert_refused(response: Any) -> None:
    """A 503 of the xAPI, from a live server (requests) or the test client (werkzeug)."""
    assert response.status_code == 503, response.text
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Retry-After"] == "5"
    error = (response.json() if callable(response.json) else response.json)["error"]
    assert error["status"] == 503 and REFUSAL in error["message"]


def test_a_locked_file_refuses_a_write_at_once_and_it_is_never_stored_surviving_kill_9(tmp_path):
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
            refused, read_meanwhile, before_meanwhile = put("refused"), get("refused"), get("before")
        assert_refused(refused)
        assert refused.headers["X-Experience-API-Version"] == "1.0.3"
        assert refused.elapsed.total_seconds() < 2  # a short wait for the lock, not SQLite's 5 s
        assert read_meanwhile.status_code == 404  # reads go on, showing what the file holds
        assert before_meanwhile.status_code == 200
        assert get("refused").status_code == 404  # the lock gone: still not stored
        assert put("refused").status_code == 204  # the same statement again: acknowledged now
        assert put("after").status_code == 204
        os.killpg(process.pid, signal.SIGKILL)
    logged = (tmp_path / "server.log").read_text()
    assert "OperationalError: database is locked" in logged and "Traceback" not in logged

    with spawned(env) as (endpoint, _):
        for name in ids:
            assert get(name).status_code == 200, name


def test_under_load_a_locked_file_is_503s_none_of_them_stored_and_every_write_acknowledged_survives_kill_9(
        tmp_path):
    data = tmp_path / "data"
    env = server_env(data)
    with spawned(env, own_session=True) as (endpoint, process):
        load = Load(endpoint)
        with writing(load):
            wait_for(lambda: load.acked() >= 5)
            with write_lock_held(data / STORE_FILE):
                wait_for(lambda: len(load.refused) >= 20)
            acked_before = load.acked()
            wait_for(lambda: load.acked() >= acked_before + 5)
            os.killpg(process.pid, signal.SIGKILL)
    assert len(load.refused) >= 20 and load.acked() >= acked_before + 5
    for response in load.refused:
        assert_refused(response)
    check_after_restart(env, load)  # the refused writes included: none of them is there


def memory_and_file(app: Any, data_dir: Path) -> tuple[dict, dict]:
    """Every document the store holds in memory, and every one its file holds, by collection and id."""
    db = app.extensions["lrs"].db
    memory = {(name, bson.encode({"_id": document["_id"]})): document
              for name in db.list_collection_names() for document in db[name].find()}
    with closing(sqlite3.connect(data_dir / STORE_FILE)) as file:
        on_disk = {(name, key): bson.decode(body, CodecOptions(tz_aware=True))
                   for name, key, body in file.execute("SELECT collection, id, body FROM documents")}
    return memory, on_disk


def assert_memory_is_the_file(app: Any, data_dir: Path) -> None:
    memory, on_disk = memory_and_file(app, data_dir)
    assert memory.keys() == on_disk.keys()
    assert memory == on_disk


def listed(client: Any) -> list[dict]:
    return client.get("/xapi/statements", query_string={"limit": 100}, headers=XAPI).json["statements"]


def test_writes_the_disk_refused_are_503_gone_from_memory_and_never_stored_and_a_retry_is_stored_once(
        make_app, tmp_path):
    data = tmp_path / "data"
    app = make_app(data_dir=str(data))
    client = app.test_client()
    before = str(uuid.uuid4())
    assert client.put("/xapi/statements", query_string={"statementId": before}, json=statement(before),
                      headers=XAPI).status_code == 204
    marker = uuid.uuid4().hex
    without_id = {key: value for key, value in statement("", result={"response": marker}).items() if key != "id"}
    batch = [statement(str(uuid.uuid4())) for _ in range(3)]
    attached = str(uuid.uuid4())
    payload = with_attachment(attached, os.urandom(300 * 1024))  # two GridFS chunks
    state = {**STATE, "stateId": "refused"}

    with write_lock_held(data / STORE_FILE):
        assert_refused(client.post("/xapi/statements", json=without_id, headers=XAPI))
        assert_refused(client.post("/xapi/statements", json=batch, headers=XAPI))
        assert_refused(client.put("/xapi/statements", query_string={"statementId": attached}, data=payload,
                                  headers={**XAPI, "Content-Type": MULTIPART}))
        assert_refused(client.put("/xapi/activities/state", query_string=state, data="text",
                                  headers={**XAPI, "Content-Type": "text/plain"}))
        assert_refused(client.post("/xapi/activities/state", query_string={**state, "stateId": "merged"},
                                   json={"page": 1}, headers=XAPI))
        assert_memory_is_the_file(app, data)  # memory keeps nothing the disk refused
        assert [s["id"] for s in listed(client)] == [before]  # reads go on meanwhile

    for refused in [*batch, {"id": attached}]:
        assert client.get("/xapi/statements", query_string={"statementId": refused["id"]},
                          headers=XAPI).status_code == 404
    for state_id in ("refused", "merged"):
        assert client.get("/xapi/activities/state", query_string={**state, "stateId": state_id},
                          headers=XAPI).status_code == 404
    assert [s["id"] for s in listed(client)] == [before]
    retried = client.post("/xapi/statements", json=without_id, headers=XAPI)
    assert retried.status_code == 200
    assert [s["result"]["response"] for s in listed(client) if "result" in s] == [marker]  # stored once
    assert_memory_is_the_file(app, data)

    app.extensions["lrs"].db.close()
    restarted = make_app(data_dir=str(data))
    try:
        assert [s["id"] for s in listed(restarted.test_client())] == [*retried.json, before]
        assert restarted.test_client().get("/xapi/activities/state", query_string=STATE,
                                           headers=XAPI).json == []
        assert_memory_is_the_file(restarted, data)
    finally:
        restarted.extensions["lrs"].db.close()


class Paused:
    """`owner.method` wrapped to stop after its first call returns (its request's first changes
    made, its unit of work unfinished) until `go_on` is set."""

    def __init__(self, monkeypatch: Any, owner: type, method: str):
        self.stopped = threading.Event()
        self.go_on = threading.Event()
        original = getattr(owner, method)

        def paused(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs)
            if not self.stopped.is_set():
                self.stopped.set()
                assert self.go_on.wait(60)
            return result

        monkeypatch.setattr(owner, method, paused)


def _file(data: Path) -> dict:
    with closing(sqlite3.connect(data / STORE_FILE)) as file:
        return {(name, key): body for name, key, body in file.execute("SELECT collection, id, body FROM documents")}


def in_thread(call: Callable[[], Any]) -> tuple[threading.Thread, list]:
    answer: list = []
    thread = threading.Thread(target=lambda: answer.append(call()))
    thread.start()
    return thread, answer


def state_documents(client: Any, count: int) -> None:
    for number in range(count):
        assert client.put("/xapi/activities/state", query_string={**STATE, "stateId": f"s{number}"}, data="text",
                          headers={**XAPI, "Content-Type": "text/plain"}).status_code == 204


def large_document_put(client: Any) -> Any:
    client.application.extensions["lrs"].documents.inline_limit = 1000  # kept in chunks of its own
    return client.put("/xapi/activities/state", query_string={**STATE, "stateId": "s0"}, data="x" * 300_000,
                      headers={**XAPI, "Content-Type": "text/plain"})


def delete_every_state(client: Any) -> Any:
    return client.delete("/xapi/activities/state", query_string=STATE, headers=XAPI)


@pytest.mark.parametrize(("paused_at", "request_"), [
    ((DocumentStore, "_remove"), delete_every_state),  # one State document after another
    ((DocumentFiles, "save"), large_document_put),  # the chunks, then the record, then the old chunks gone
], ids=["every-state", "large-document"])
def test_a_request_writing_in_several_store_calls_is_stored_whole_or_not_at_all(
        make_app, tmp_path, monkeypatch, paused_at, request_):
    """Another request's store call between two of its calls waits for its commit (before, the
    waiting request's commit wrote the first changes, and the refused commit took back only the
    rest: a 503 half stored). What that request reads is what the file holds."""
    data = tmp_path / "data"
    app = make_app(data_dir=str(data))
    state_documents(app.test_client(), 3)
    before = _file(data)
    pause = Paused(monkeypatch, *paused_at)
    writer, written = in_thread(lambda: request_(app.test_client()))
    try:
        assert pause.stopped.wait(60)
        reader, read = in_thread(lambda: app.test_client().get(
            "/xapi/activities/state", query_string={**STATE, "stateId": "s1"}, headers=XAPI))
        reader.join(0.5)
        with write_lock_held(data / STORE_FILE):
            pause.go_on.set()
            writer.join(60)
            reader.join(60)
    finally:
        pause.go_on.set()
        writer.join(60)
    assert_refused(written[0])
    assert read[0].status_code == 200 and read[0].data == b"text"  # it waited, and read what is on disk
    assert _file(data) == before
    assert_memory_is_the_file(app, data)
    app.extensions["lrs"].db.close()


class PausedWriter:
    """A plugin whose route stores a statement, as an adapter does, then holds its request (its
    unit of work unfinished) until `go_on` is set; `told` has the ids its lrs_statements_stored
    hook was called with."""

    PLUGIN_NAME = "paused"

    def __init__(self) -> None:
        self.stored = threading.Event()
        self.go_on = threading.Event()
        self.told: list[str] = []

    @hookimpl
    def lrs_register_routes(self, app: Any, lrs: Any) -> None:
        blueprint = Blueprint("paused", __name__)

        @blueprint.post("/paused")
        def paused() -> dict:
            ids = lrs.statements.store([request.get_json()], authority=lrs.default_authority("paused"),
                                       version="1.0.3", source=self.PLUGIN_NAME)
            self.stored.set()
            assert self.go_on.wait(60)
            return {"ids": ids}

        app.register_blueprint(blueprint)

    @hookimpl
    def lrs_statements_stored(self, statements: list[dict], source: str, lrs: Any) -> None:
        self.told += [statement["id"] for statement in statements]


def test_the_plugins_never_hear_of_statements_a_refused_commit_took_back(make_app, tmp_path):
    data = tmp_path / "data"
    writer = PausedWriter()
    app = make_app(data_dir=str(data), extra_plugins=(writer,))
    paused = str(uuid.uuid4())
    poster, answer = in_thread(lambda: app.test_client().post("/paused", json=statement(paused)))
    try:
        assert writer.stored.wait(60)
        with write_lock_held(data / STORE_FILE):
            writer.go_on.set()
            poster.join(60)
    finally:
        writer.go_on.set()
        poster.join(60)
    assert answer[0].status_code == 503
    assert not stored(app, paused)
    assert writer.told == []
    assert_memory_is_the_file(app, data)
    app.extensions["lrs"].db.close()


def stored(app: Any, statement_id: str) -> bool:
    return app.test_client().get("/xapi/statements", query_string={"statementId": statement_id},
                                 headers=XAPI).status_code == 200


def test_a_refused_commit_puts_back_documents_changed_deleted_and_dropped_with_their_indexes(tmp_path):
    db = embedded_database("lrs", str(tmp_path))
    things = db["things"]
    try:
        things.create_index([("n", 1)], name="n_1")
        things.insert_many([{"_id": number, "n": number} for number in range(5)])
        with write_lock_held(tmp_path / STORE_FILE):
            for change in (lambda: things.update_one({"_id": 1}, {"$set": {"n": 100}}),
                           lambda: things.delete_one({"_id": 2}),
                           lambda: things.insert_one({"_id": 5, "n": 5})):
                with pytest.raises(StoreUnwritable):
                    change()
            with pytest.raises(StoreUnwritable), db.exclusively():
                things.drop()
                things.insert_one({"_id": 6, "n": 6})
                things.create_index([("m", 1)], name="m_1")
            assert [d["_id"] for d in things.find({"n": {"$gte": 0}}).sort("n", 1)] == [0, 1, 2, 3, 4]
            assert things.find_one({"n": 1}) == {"_id": 1, "n": 1} and things.find_one({"n": 100}) is None
            assert set(things.index_information()) == {"_id_", "n_1"}
        things.insert_one({"_id": 7, "n": 7})  # a later commit writes this alone
    finally:
        db.close()
    reopened = embedded_database("lrs", str(tmp_path))
    try:
        assert list(reopened["things"].find().sort("n", 1)) == [{"_id": n, "n": n} for n in (0, 1, 2, 3, 4, 7)]
        assert set(reopened["things"].index_information()) == {"_id_", "n_1"}
    finally:
        reopened.close()


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
    batch = [statement(str(uuid.uuid4()), result={"response": "x" * 2000}) for _ in range(20)]
    with caplog.at_level(logging.ERROR, "lrs.store.embedded"):
        refused = client.post("/xapi/statements", json=batch, headers=XAPI)
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "5"
    assert refused.json["error"]["status"] == 503 and REFUSAL in refused.json["error"]["message"]
    [record] = caplog.records
    assert "OperationalError: database or disk is full" in record.getMessage()
    assert "rollback" not in caplog.text  # SQLite's error, not one of a second ROLLBACK

    event = {"event": "completed", "userId": "12345", "timestamp": "2025-10-10T14:30:00Z",
             "traits": {"padding": "x" * 8000}}  # its statement needs pages of its own
    adapter = client.post("/events", json=event, headers={"Authorization": "Bearer events:events-secret"})
    assert adapter.status_code == 503 and adapter.headers["Retry-After"] == "5"
    assert set(adapter.json) == {"error", "request_id", "validation_errors"}  # simple events' own shape
    assert REFUSAL in adapter.json["error"]
    assert client.get("/xapi/statements", query_string={"statementId": batch[0]["id"]},
                      headers=XAPI).status_code == 404
    assert client.get("/health/live").status_code == 200

    full_disk_app.extensions["lrs"].db._guard.journal.db.execute("PRAGMA max_page_count = 1073741823")
    assert client.get("/xapi/statements", query_string={"statementId": batch[0]["id"]},
                      headers=XAPI).status_code == 404
    assert client.post("/xapi/statements", json=batch, headers=XAPI).status_code == 200
    full_disk_app.extensions["lrs"].db.close()
    reopened = make_app(data_dir=str(tmp_path)).test_client()
    try:
        stored_ids = [s["id"] for s in listed(reopened)]
    finally:
        reopened.application.extensions["lrs"].db.close()
    assert sorted(stored_ids) == sorted(s["id"] for s in batch)  # the batch once, the event not at all


def test_ready_stays_ok_while_the_disk_refuses_commits_the_store_answering_from_what_is_on_disk(full_disk_app):
    client = full_disk_app.test_client()
    big = [statement(str(uuid.uuid4()), result={"response": "x" * 2000}) for _ in range(20)]
    assert client.post("/xapi/statements", json=big, headers=XAPI).status_code == 503
    ready = client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json == {"status": "ok", "checks": {"store": True, "indexes": True, "plugins": True}}

