"""The embedded store on disk (LRS_DATA_DIR): `lrs serve` killed with SIGKILL while statements,
documents and attachments are being written keeps every write it acknowledged, and nothing else;
it refuses to run in more than one process; a damaged store file stops it with one line.
"""
from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import bson
import pytest
import requests

import lrs
from lrs.server import free_port, spawned
from lrs.store.embedded import embedded_database
from lrs.store.embedded.disk import STORE_FILE
from tests.ops.test_failures import lrs_command, one_line

AUTH = ("admin", "admin-secret")
HEADERS = {"X-Experience-API-Version": "1.0.3"}
AGENT = {"objectType": "Agent", "mbox": "mailto:durable@example.com"}
ACTIVITY = "http://example.com/durable"
MULTIPART = "multipart/mixed; boundary=b0und"
pytestmark = pytest.mark.skipif(bool(os.environ.get("LRS_TEST_MONGO_URI")), reason="about the embedded store")


def server_env(data_dir: Path) -> dict[str, str]:
    return {"LRS_DATA_DIR": str(data_dir), "LRS_MONGO_URI": "", "LRS_ADMIN_KEY": AUTH[0],
            "LRS_ADMIN_SECRET": AUTH[1], "LRS_LOG_LEVEL": "WARNING"}


def statement(statement_id: str, **extra: object) -> dict:
    return {"id": statement_id, "actor": AGENT, "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
            "object": {"id": ACTIVITY}, **extra}


@dataclass
class Load:
    """Writers of three kinds, each remembering what it sent and what the LRS acknowledged."""

    endpoint: str
    stop: threading.Event = field(default_factory=threading.Event)
    batches: dict[str, list[str]] = field(default_factory=dict)        # first id -> the batch's ids
    statements_acked: set[str] = field(default_factory=set)
    documents: dict[str, str] = field(default_factory=dict)            # stateId -> content sent
    documents_acked: set[str] = field(default_factory=set)
    attachments: dict[str, bytes] = field(default_factory=dict)        # statement id -> content sent
    attachments_acked: set[str] = field(default_factory=set)
    refused: list[requests.Response] = field(default_factory=list)     # answers that acknowledged nothing
    refused_ids: set[str] = field(default_factory=set)                 # what those answers were for

    def acked(self) -> int:
        return min(len(self.statements_acked) // 10, len(self.documents_acked), len(self.attachments_acked))

    def run(self, write) -> None:
        session = requests.Session()
        session.auth, session.headers = AUTH, dict(HEADERS)
        while not self.stop.is_set():
            try:
                write(session)
            except requests.RequestException:
                return  # the server is gone: this write's fate is unknown

    def statements(self, session: requests.Session) -> None:
        ids = [str(uuid.uuid4()) for _ in range(10)]
        self.batches[ids[0]] = ids
        response = session.post(f"{self.endpoint}/statements", json=[statement(i) for i in ids], timeout=120)
        if response.status_code == 200:
            self.statements_acked.update(ids)
        else:
            self.refuse(response, *ids)

    def refuse(self, response: requests.Response, *ids: str) -> None:
        self.refused.append(response)
        self.refused_ids.update(ids)

    def document(self, session: requests.Session) -> None:
        state_id, content = uuid.uuid4().hex, uuid.uuid4().hex * 20
        self.documents[state_id] = content
        response = session.put(f"{self.endpoint}/activities/state", data=content, timeout=120,
                               params={"activityId": ACTIVITY, "agent": json.dumps(AGENT), "stateId": state_id},
                               headers={"Content-Type": "text/plain"})
        if response.status_code == 204:
            self.documents_acked.add(state_id)
        else:
            self.refuse(response, state_id)

    def attachment(self, session: requests.Session) -> None:
        statement_id, content = str(uuid.uuid4()), os.urandom(300 * 1024)  # two GridFS chunks
        self.attachments[statement_id] = content
        response = session.post(f"{self.endpoint}/statements", data=with_attachment(statement_id, content),
                                timeout=120, headers={"Content-Type": MULTIPART})
        if response.status_code == 200:
            self.attachments_acked.add(statement_id)
        else:
            self.refuse(response, statement_id)


def with_attachment(statement_id: str, content: bytes) -> bytes:
    """A multipart body (Content-Type MULTIPART): the statement, then the content it declares."""
    sha2 = hashlib.sha256(content).hexdigest()
    body = statement(statement_id, attachments=[{
        "usageType": "http://example.com/usage", "display": {"en-US": "data"},
        "contentType": "application/octet-stream", "length": len(content), "sha2": sha2}])
    return (b"--b0und\r\nContent-Type: application/json\r\n\r\n" + json.dumps(body).encode()
            + b"\r\n--b0und\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n"
            + f"X-Experience-API-Hash: {sha2}\r\n\r\n".encode() + content + b"\r\n--b0und--\r\n")


def all_statement_ids(session: requests.Session, endpoint: str) -> list[str]:
    ids, url, params = [], f"{endpoint}/statements", {"limit": 500}
    for _ in range(1000):
        page = session.get(url, params=params, timeout=60).json()
        ids += [s["id"] for s in page["statements"]]
        if not page["more"]:
            return ids
        url, params = endpoint.rsplit("/xapi", 1)[0] + page["more"], None
    raise AssertionError("more than 1000 pages")


@contextmanager
def writing(load: Load) -> Iterator[None]:
    """Five writers at work inside the block: two of statements, two of documents, one of attachments."""
    writers = [threading.Thread(target=load.run, args=(write,), daemon=True)
               for write in (load.statements, load.statements, load.document, load.document, load.attachment)]
    for writer in writers:
        writer.start()
    try:
        yield
    finally:
        load.stop.set()
        for writer in writers:
            writer.join(timeout=150)


def wait_for(condition: Callable[[], bool], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_acknowledged_writes_survive_kill_9_and_nothing_else_appears(tmp_path):
    env = server_env(tmp_path / "data")
    with spawned(env, own_session=True) as (endpoint, process):
        load = Load(endpoint)
        with writing(load):
            wait_for(lambda: load.acked() >= 20)
            os.killpg(process.pid, signal.SIGKILL)  # gunicorn and its worker, writers mid-request
    assert load.acked() >= 20
    check_after_restart(env, load)


def check_after_restart(env: dict[str, str], load: Load) -> None:
    """Every write `load` had acknowledged is there, whole, and nothing it did not send, nor
    anything it was refused."""
    with spawned(env) as (endpoint, _):
        session = requests.Session()
        session.auth, session.headers = AUTH, dict(HEADERS)
        found = all_statement_ids(session, endpoint)
        assert len(found) == len(set(found))
        found_ids = set(found)
        assert load.statements_acked | load.attachments_acked <= found_ids
        sent = {i for batch in load.batches.values() for i in batch} | set(load.attachments)
        assert found_ids <= sent and not found_ids & load.refused_ids
        for batch in load.batches.values():  # a batch is stored whole or not at all
            assert len(found_ids & set(batch)) in (0, len(batch))

        listed = session.get(f"{endpoint}/activities/state", timeout=30,
                             params={"activityId": ACTIVITY, "agent": json.dumps(AGENT)}).json()
        assert load.documents_acked <= set(listed) <= set(load.documents) - load.refused_ids
        for state_id in listed:
            response = session.get(f"{endpoint}/activities/state", timeout=30,
                                   params={"activityId": ACTIVITY, "agent": json.dumps(AGENT), "stateId": state_id})
            assert response.text == load.documents[state_id]

        for statement_id in found_ids & set(load.attachments):
            response = session.get(f"{endpoint}/statements", timeout=60,
                                   params={"statementId": statement_id, "attachments": "true"})
            assert response.status_code == 200 and load.attachments[statement_id] in response.content
        print(f"acknowledged before SIGKILL: {len(load.statements_acked)} statements, "
              f"{len(load.documents_acked)} documents, {len(load.attachments_acked)} attachments; found after "
              f"restart: {len(found_ids - set(load.attachments))} statements, {len(listed)} documents, "
              f"{len(found_ids & set(load.attachments))} attachments")


def test_a_second_process_on_the_same_folder_is_refused(tmp_path):
    env = server_env(tmp_path / "data")
    with spawned(env):
        second = subprocess.run([sys.executable, "-m", "lrs.cli", "serve"], capture_output=True, text=True,
                                timeout=60, env={**os.environ, **env, "LRS_PORT": str(free_port())})
    assert second.returncode != 0 and "Traceback" not in second.stderr
    assert "uses this folder's embedded store; give this one another LRS_DATA_DIR" in second.stderr


def test_several_workers_on_the_embedded_store_are_refused_with_the_reason(tmp_path):
    env = {**os.environ, **server_env(tmp_path / "data"), "LRS_WORKERS": "4", "LRS_PORT": str(free_port())}
    result = subprocess.run([sys.executable, "-m", "lrs.cli", "serve"], capture_output=True, text=True,
                            timeout=60, env=env)
    assert result.returncode != 0 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "LRS_WORKERS=4: the embedded store keeps its data in one process's memory" in result.stderr


@pytest.mark.parametrize("data_dir, reason", [("data", "holds this folder's embedded store, which lives in one "
                                                      "process: run one worker (gunicorn -w 1, or `lrs serve`); "
                                                      "several gunicorn workers need MongoDB (LRS_MONGO_URI)"),
                                              ("", "keeps its data in one process's memory")],
                         ids=["on disk", "memory only"])
def test_gunicorn_with_four_workers_on_the_embedded_store_does_not_start(tmp_path, data_dir, reason):
    env = {**os.environ, **server_env(tmp_path / data_dir if data_dir else "")}
    gunicorn = subprocess.Popen([sys.executable, "-m", "gunicorn", "lrs.wsgi:app", "-w", "4", "-b",
                                 f"127.0.0.1:{free_port()}"], env=env, cwd=tmp_path,  # the installed module
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = gunicorn.communicate(timeout=120)
    finally:
        gunicorn.kill()
        gunicorn.wait(timeout=30)
    assert gunicorn.returncode != 0
    assert reason in output
    assert "another process" not in output  # a worker of the same server: no other process to look for
    assert str(Path(lrs.__file__).parent) not in output  # the worker's reason in one line, no traceback of ours


def test_sighup_to_lrs_serve_restarts_its_worker_on_the_same_data(tmp_path):
    """gunicorn's SIGHUP (a reload; logrotate sends it) started the new worker before stopping the
    old one, which held the data folder: the new one was refused and the whole server stopped."""
    log = tmp_path / "serve.log"
    env = {**server_env(tmp_path / "data"), "LRS_LOG_LEVEL": "INFO"}  # gunicorn's "Booting worker" lines
    with open(log, "w") as output, spawned(env, stdout=output) as (endpoint, process):
        session = requests.Session()
        session.auth, session.headers = AUTH, dict(HEADERS)
        stored = str(uuid.uuid4())
        assert session.put(f"{endpoint}/statements", params={"statementId": stored}, json=statement(stored),
                           timeout=30).status_code == 204
        process.send_signal(signal.SIGHUP)
        wait_for(lambda: log.read_text().count("Booting worker") >= 2 or process.poll() is not None, 60)
        wait_for(lambda: _answers(session, f"{endpoint}/statements?statementId={stored}") or process.poll() is not None, 60)
        assert process.poll() is None, log.read_text()
        assert session.get(f"{endpoint}/statements", params={"statementId": stored}, timeout=30).json()["id"] == stored
        assert "another process" not in log.read_text()


def _answers(session: requests.Session, url: str) -> bool:
    try:
        return session.get(url, timeout=5).status_code == 200
    except requests.ConnectionError:
        return False


def test_a_data_folder_of_the_earlier_table_layout_is_upgraded_with_its_documents(tmp_path):
    """Files written before documents moved to a rowid table keep every document."""
    old = sqlite3.connect(tmp_path / "store.sqlite3")
    old.executescript("CREATE TABLE documents (collection TEXT NOT NULL, id BLOB NOT NULL, body BLOB NOT NULL, "
                      "PRIMARY KEY (collection, id)) WITHOUT ROWID;")
    old.execute("INSERT INTO documents VALUES (?, ?, ?)",
                ("things", bson.encode({"_id": "kept"}), bson.encode({"_id": "kept", "n": 1})))
    old.commit()
    old.close()
    database = embedded_database("lrs", str(tmp_path))
    try:
        assert database["things"].find_one({"_id": "kept"}) == {"_id": "kept", "n": 1}
        database["things"].insert_one({"_id": "new", "n": 2})
    finally:
        database.close()
    database = embedded_database("lrs", str(tmp_path))
    try:
        assert sorted(doc["_id"] for doc in database["things"].find()) == ["kept", "new"]
    finally:
        database.close()
    [layout] = sqlite3.connect(tmp_path / "store.sqlite3").execute(
        "SELECT sql FROM sqlite_master WHERE name = 'documents'").fetchone()
    assert "WITHOUT ROWID" not in layout


def damaged_store(data_dir: Path, damage: str) -> None:
    """A store file with documents in it, then damaged: random bytes in its place, or cut to half
    its length (a copy that stopped midway)."""
    database = embedded_database("lrs", str(data_dir))
    try:
        database["things"].insert_many([{"_id": number, "text": "x" * 3000} for number in range(300)])
    finally:
        database.close()
    path = data_dir / STORE_FILE
    with closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the main file, as after a clean stop
    if damage == "random bytes":
        path.write_bytes(os.urandom(path.stat().st_size))
    else:
        os.truncate(path, path.stat().st_size // 2)


@pytest.mark.parametrize("damage, error", [("random bytes", "file is not a database"),
                                           ("cut in half", "database disk image is malformed")])
def test_a_damaged_store_file_stops_lrs_serve_with_one_line_saying_what_to_do(tmp_path, damage, error):
    damaged_store(tmp_path, damage)
    line = one_line(lrs_command("serve", **server_env(tmp_path), LRS_PORT=str(free_port())))
    assert line.startswith(f"Error: LRS_DATA_DIR={str(tmp_path)!r}: cannot read the embedded store's file "
                           f"store.sqlite3 ({error}): put back a backup of it, or salvage what it holds with "
                           "`sqlite3 store.sqlite3 .recover` (docs/embedded-store.md, A damaged store file)"), line


def test_a_store_file_damaged_past_its_first_pages_stops_the_worker_with_the_same_line(tmp_path):
    """Without LRS_ADMIN_KEY `lrs serve` reads nothing before gunicorn: the worker's load finds it."""
    damaged_store(tmp_path, "cut in half")
    env = {name: value for name, value in server_env(tmp_path).items() if not name.startswith("LRS_ADMIN")}
    done = lrs_command("serve", **env, LRS_PORT=str(free_port()), timeout=120)
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
    assert (f"LRS_DATA_DIR={str(tmp_path)!r}: cannot read the embedded store's file store.sqlite3 "
            "(database disk image is malformed): put back a backup") in done.stderr
