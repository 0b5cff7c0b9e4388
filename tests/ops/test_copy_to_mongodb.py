"""`lrs copy-to-mongodb`: an embedded store filled through the HTTP API, copied by the command as
a process, then served from MongoDB (a real one with LRS_TEST_MONGO_URI, else the wire-protocol
fixture) answers every read as the embedded store did; and the command's refusals."""
from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sqlite3
import uuid
from contextlib import closing
from pathlib import Path
from typing import Any, Iterator

import pymongo
import pytest
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument
from click.testing import CliRunner
from pymongo.collection import Collection

from lrs.cli import main
from lrs.server import spawned
from lrs.store.embedded import embedded_database, to_mongodb
from tests.conftest import basic_auth
from tests.http.test_attachments import PHOTO, attachment, multipart, parts_of, post, statement
from tests.ops.test_failures import lrs_command, one_line
from tests.plugins.caliper_support import SEED_002_EVENTS, envelope, fill_placeholders
from tests.store.test_embedded_durability import server_env
from tests.store.test_embedded_file import post_statements, served

XAPI = {"Authorization": basic_auth(), "X-Experience-API-Version": "1.0.3"}
VOIDED = "http://adlnet.gov/expapi/verbs/voided"
ACTIVITY, AGENT = "http://example.com/activities/essay", json.dumps({"mbox": "mailto:ada@example.com"})
SETTINGS = {"plugins": "caliper,h5p", "public_url": "https://lrs.example.org"}
COMPARED_HEADERS = ("Content-Type", "ETag", "Last-Modified", "X-Experience-API-Version")


@pytest.fixture
def database(shared_store: str) -> Iterator[str]:
    """A database name of its own on `shared_store`, dropped afterwards."""
    name = f"lrs_copy_{uuid.uuid4().hex[:12]}"
    yield name
    with pymongo.MongoClient(shared_store) as client:
        client.drop_database(name)


def copy_command(uri: str, database: str, cwd: Path, *args: str, **env: str) -> Any:
    return lrs_command("copy-to-mongodb", uri, *args, cwd=cwd, **{
        "LRS_DATA_DIR": "lrs-data", "LRS_MONGO_DB": database, "LRS_MONGO_TIMEOUT_SECONDS": "5", **env})


def created(client: Any, path: str, body: Any, headers: dict, status: int = 200, **kwargs: Any) -> Any:
    response = client.post(path, json=body, headers=headers, **kwargs)
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def fill(client: Any) -> list[tuple[str, dict, dict]]:
    """Everything the LRS keeps, written through its HTTP API; the reads that show it, with their headers."""
    first, kept = created(client, "/xapi/statements", [statement(), statement(verb={"id": "http://x.org/tried"})], XAPI)
    voiding = statement(verb={"id": VOIDED}, object={"objectType": "StatementRef", "id": first})
    [voided_by] = created(client, "/xapi/statements", voiding, XAPI)
    [refers] = created(client, "/xapi/statements", statement(object={"objectType": "StatementRef", "id": kept}), XAPI)
    [with_photo] = post(client, XAPI, multipart(statement(attachment(PHOTO, "image/png")), PHOTO)).get_json()
    documents = {"activityId": ACTIVITY, "agent": AGENT}
    for path, query, content in (
            ("/xapi/activities/state", {**documents, "stateId": "bookmark"}, b'{"page": 7}'),
            ("/xapi/activities/state", {**documents, "stateId": "essay"}, b'{"text": "%s"}' % (b"long " * 40)),
            ("/xapi/activities/profile", {"activityId": ACTIVITY, "profileId": "p"}, b'{"level": 2}'),
            ("/xapi/agents/profile", {"agent": AGENT, "profileId": "p"}, b"plain text")):
        content_type = "text/plain" if content == b"plain text" else "application/json"
        response = client.put(path, query_string=query, data=content, headers={**XAPI, "Content-Type": content_type})
        assert response.status_code == 204, response.get_data(as_text=True)
    learner = created(client, "/admin/credentials", {"scopes": ["all"], "label": "reporting"}, XAPI, 201)
    caliper = created(client, "/admin/credentials", {"scopes": ["caliper/events.write"]}, XAPI, 201)
    token = created(client, "/oauth/token", None, {}, data={
        "grant_type": "client_credentials", "client_id": caliper["key"], "client_secret": caliper["secret"]})
    caliper_event = fill_placeholders(SEED_002_EVENTS[1])
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    created(client, "/caliper/event", envelope(caliper_event), bearer)
    h5p = created(client, "/admin/credentials", {"key": "ann", "secret": "ann-secret-1", "scopes": ["h5p"]}, XAPI, 201)
    h5p_bearer = {"Authorization": f"Bearer {h5p['key']}:{h5p['secret']}"}
    created(client, "/api/xapi/h5p-event", {"contentId": "abc123", "verb": "completed", "score": {"scaled": 0.85}},
            h5p_bearer)
    return [*((("/xapi/statements", {"statementId": id_}, XAPI) for id_ in (kept, voided_by, refers, with_photo, first))),
            ("/xapi/statements", {"voidedStatementId": first}, XAPI),
            ("/xapi/statements", {"limit": 100, "format": "canonical"}, XAPI),
            ("/xapi/statements", {"verb": VOIDED}, XAPI),
            ("/xapi/activities/state", {**documents, "stateId": "bookmark"}, XAPI),
            ("/xapi/activities/state", {**documents, "stateId": "essay"}, XAPI),
            ("/xapi/activities/state", documents, XAPI),
            ("/xapi/activities/profile", {"activityId": ACTIVITY, "profileId": "p"}, XAPI),
            ("/xapi/agents/profile", {"agent": AGENT, "profileId": "p"}, XAPI),
            ("/xapi/activities", {"activityId": ACTIVITY}, XAPI),
            ("/xapi/agents", {"agent": AGENT}, XAPI),
            ("/xapi/statements", {"verb": "http://x.org/tried"}, {**XAPI, "Authorization": basic_auth(learner["key"], learner["secret"])}),
            ("/admin/credentials", {}, XAPI),
            ("/caliper/events", {}, bearer),
            (f"/caliper/events/{caliper_event['id']}", {}, bearer),
            ("/api/xapi/progress/abc123", {}, h5p_bearer),
            ("/api/xapi/statements", {}, h5p_bearer)]


def answers(client: Any, reads: list[tuple[str, dict, dict]]) -> list[tuple]:
    found = []
    for path, query, headers in reads:
        response = client.get(path, query_string=query, headers=headers)
        assert response.status_code in (200, 404), (path, query, response.get_data(as_text=True))
        shown = {name: response.headers.get(name) for name in COMPARED_HEADERS}
        found.append((path, query, response.status_code, shown, response.get_data()))
    return found


def attachment_parts(client: Any, statement_id: str) -> list[tuple[dict, bytes]]:
    response = client.get("/xapi/statements", query_string={"statementId": statement_id, "attachments": "true"},
                          headers=XAPI)
    return [(dict(headers), content) for headers, content in parts_of(response)]


def stored_bodies(data_dir: Path) -> dict[str, set[bytes]]:
    with closing(sqlite3.connect(data_dir / "store.sqlite3")) as db:
        bodies: dict[str, set[bytes]] = {}
        for collection, body in db.execute("SELECT collection, body FROM documents"):
            bodies.setdefault(collection, set()).add(body)
    return bodies


def copied_bodies(uri: str, database: str) -> dict[str, set[bytes]]:
    with pymongo.MongoClient(uri) as client:
        db = client.get_database(database, codec_options=CodecOptions(document_class=RawBSONDocument))
        return {name: {document.raw for document in db[name].find()} for name in db.list_collection_names()
                if db[name].count_documents({})}


def index_names(uri: str, database: str) -> dict[str, set[str]]:
    with pymongo.MongoClient(uri) as client:
        db = client[database]
        return {name: set(db[name].index_information()) - {"_id_"} for name in db.list_collection_names()}


def test_a_copied_store_is_served_from_mongodb_exactly_as_from_the_embedded_store(tmp_path, shared_store, database,
                                                                                   make_app, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data_dir = tmp_path / "lrs-data"
    source = make_app(mongo_uri="", data_dir=str(data_dir), **SETTINGS)
    source.extensions["lrs"].documents.inline_limit = 64  # the "essay" State document goes to chunks of its own
    client = source.test_client()
    reads = fill(client)
    before = answers(client, reads)
    assert [status for _, _, status, _, _ in before].count(404) == 1  # the voided statement, by statementId
    with_photo = reads[3][1]["statementId"]
    photo_parts = attachment_parts(client, with_photo)
    declared = {name: set(source.extensions["lrs"].db[name].index_information()) - {"_id_"}
                for name in source.extensions["lrs"].db.list_collection_names()}
    source.extensions["lrs"].db.close()
    stored = stored_bodies(data_dir)
    assert {"documents.chunks", "attachments.chunks", "plugin.caliper.events", "plugin.caliper.tokens",
            "credentials", "counters"} <= set(stored)
    files_before = {path.name: path.read_bytes() for path in data_dir.iterdir() if path.name != "lock"}

    done = copy_command(shared_store, database, tmp_path)

    assert done.returncode == 0, done.stderr
    summary = done.stdout.splitlines()[-1]
    assert summary.startswith(f"copied LRS_DATA_DIR='lrs-data' into LRS_MONGO_DB='{database}' on ")
    assert f"{sum(map(len, stored.values())):,} documents (7 statements)" in summary and ", checked, in " in summary
    assert "statements: 7 documents, " in done.stdout and "documents.chunks: " in done.stdout
    assert {path.name: path.read_bytes() for path in data_dir.iterdir() if path.name != "lock"} == files_before
    assert copied_bodies(shared_store, database) == stored  # every document, byte for byte
    copied_indexes = index_names(shared_store, database)
    assert all(names <= copied_indexes.get(name, set()) for name, names in declared.items())

    target = make_app(mongo_uri=shared_store, mongo_db=database, data_dir="", **SETTINGS).test_client()
    assert answers(target, reads) == before
    assert attachment_parts(target, with_photo) == photo_parts
    assert PHOTO in [content for _, content in photo_parts]


def embedded_store_with(data_dir: Path, documents: list[dict]) -> None:
    database = embedded_database("lrs", str(data_dir))
    try:
        database["things"].insert_many(documents)
    finally:
        database.close()


def test_after_kill_9_the_writes_in_the_log_are_copied_too(tmp_path, shared_store, database):
    with served(tmp_path, own_session=True) as (endpoint, process):
        kept = post_statements(endpoint, 40)
        os.killpg(process.pid, signal.SIGKILL)
    log = tmp_path / "lrs-data" / "store.sqlite3-wal"
    assert log.stat().st_size > 0  # the log holds committed writes
    done = copy_command(shared_store, database, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "(40 statements)" in done.stdout.splitlines()[-1]
    with pymongo.MongoClient(shared_store) as client:
        assert {found["_id"] for found in client[database]["statements"].find()} == set(kept)


def test_a_store_a_server_runs_on_is_not_copied(tmp_path, shared_store, database):
    with spawned(server_env(Path("lrs-data")), cwd=tmp_path):
        refused = one_line(copy_command(shared_store, database, tmp_path))
    assert "another process (pid " in refused and "uses this folder's embedded store" in refused
    assert index_names(shared_store, database) == {}


def test_a_target_holding_documents_is_refused_and_left_as_it_was(tmp_path, shared_store, database):
    embedded_store_with(tmp_path / "lrs-data", [{"_id": "mine", "n": 1}])
    with pymongo.MongoClient(shared_store) as client:
        client[database]["statements"].insert_one({"_id": "theirs"})
        refused = one_line(copy_command(shared_store, database, tmp_path))
        assert list(client[database]["statements"].find()) == [{"_id": "theirs"}]
        assert client[database].list_collection_names() == ["statements"]
    assert refused == (
        f"Error: LRS_MONGO_DB='{database}' on '{shared_store}' already holds documents (statements): copied "
        "into it, two stores' ids, seq numbers and counters would collide. Copy into an empty database: set "
        f"LRS_MONGO_DB to a new name, or drop this one if nothing in it is needed (mongosh: use {database}; "
        "db.dropDatabase())")


def test_an_unreachable_mongodb_is_one_line_at_once(tmp_path):
    embedded_store_with(tmp_path / "lrs-data", [{"_id": "mine"}])
    refused = one_line(lrs_command("copy-to-mongodb", "mongodb://127.0.0.1:1", cwd=tmp_path, LRS_DATA_DIR="lrs-data",
                                   LRS_MONGO_TIMEOUT_SECONDS="0.5", timeout=20))
    assert refused.startswith("Error: LRS_MONGO_URI='mongodb://127.0.0.1:1': no MongoDB server answered within 0.5 s")


@pytest.mark.parametrize("env, said", [
    ({}, "Error: LRS_DATA_DIR='lrs-data': no embedded store to copy there (no store.sqlite3)"),
    ({"LRS_DATA_DIR": ""}, "Error: LRS_DATA_DIR is empty: the memory-only store has nothing on disk for lrs "
                           "copy-to-mongodb"),
    ({"LRS_MONGO_URI": "mongodb://127.0.0.1:1"}, "Error: LRS_MONGO_URI is set: lrs copy-to-mongodb copies the "
     "embedded store of LRS_DATA_DIR and takes the MongoDB URI as its argument; run it without LRS_MONGO_URI"),
])
def test_no_store_to_copy_is_said_and_nothing_is_created(tmp_path, shared_store, env, said):
    assert one_line(copy_command(shared_store, "lrs", tmp_path, **env)) == said
    assert list(tmp_path.iterdir()) == []


def test_a_copy_mongodb_refuses_midway_says_the_target_is_partial_and_how_to_clean_it(tmp_path, shared_store,
                                                                                       database):
    embedded_store_with(tmp_path / "lrs-data", [{"_id": 1, "n": 1}, {"_id": 2, "n": 1}])
    with pymongo.MongoClient(shared_store) as client:
        client[database]["things"].create_index("n", unique=True)  # an empty collection: the copy goes ahead
    failed = one_line(copy_command(shared_store, database, tmp_path))
    assert failed.startswith("Error: copying things failed after 1 of its 2 documents: ")
    assert failed.endswith(f". LRS_MONGO_DB='{database}' on '{shared_store}' now holds part of the store: drop it "
                           f"(mongosh: use {database}; db.dropDatabase()) before copying again; the source is unchanged")


def test_a_copy_that_does_not_match_its_source_fails(tmp_path, shared_store, database, monkeypatch):
    embedded_store_with(tmp_path / "lrs-data", [{"_id": n} for n in range(3)])
    insert_many = Collection.insert_many
    monkeypatch.setattr(Collection, "insert_many", lambda self, documents, **kw: insert_many(self, documents[1:], **kw))
    monkeypatch.chdir(tmp_path)
    done = CliRunner().invoke(main, ["copy-to-mongodb", shared_store],
                              env={"LRS_DATA_DIR": "lrs-data", "LRS_MONGO_DB": database, "LRS_MONGO_URI": ""})
    assert done.exit_code == 1
    assert done.output.startswith("Error: the copy of things does not match the store: 2 documents in MongoDB, "
                                  f"3 in the embedded store. LRS_MONGO_DB='{database}' on ")


def test_a_backup_file_is_copied_like_the_store_it_was_made_of(tmp_path, shared_store, database):
    embedded_store_with(tmp_path / "lrs-data", [{"_id": "kept", "n": 1}])
    assert lrs_command("backup", "lrs-backup.sqlite3", cwd=tmp_path, LRS_DATA_DIR="lrs-data").returncode == 0
    done = copy_command(shared_store, database, tmp_path, "--from", "lrs-backup.sqlite3", LRS_DATA_DIR="")
    assert done.returncode == 0, done.stderr
    assert copied_bodies(shared_store, database) == stored_bodies(tmp_path / "lrs-data")
    assert done.stdout.splitlines()[-1].startswith(f"copied 'lrs-backup.sqlite3' into LRS_MONGO_DB='{database}' on ")


def test_a_large_collection_shows_its_progress_on_the_way(tmp_path, shared_store, database, monkeypatch):
    embedded_store_with(tmp_path / "lrs-data", [{"_id": n} for n in range(5)])
    monkeypatch.setattr(to_mongodb, "BATCH_DOCUMENTS", 2)
    monkeypatch.setattr(to_mongodb, "PROGRESS_EVERY", 2)
    monkeypatch.chdir(tmp_path)
    done = CliRunner().invoke(main, ["copy-to-mongodb", shared_store],
                              env={"LRS_DATA_DIR": "lrs-data", "LRS_MONGO_DB": database, "LRS_MONGO_URI": ""})
    assert done.exit_code == 0, done.output
    lines = done.output.splitlines()
    assert lines[:2] == ["things: 2 of 5 documents...", "things: 4 of 5 documents..."]
    assert lines[2].startswith("things: 5 documents, 0 indexes (") and lines[3].startswith("copied ")


def test_documents_a_ttl_index_expires_are_copied_and_counted_before_it_exists(tmp_path, shared_store, database):
    """A stopped store keeps tokens and sessions that expired since; MongoDB's TTL index removes
    them once it exists, which must not be taken for a copy that lost them."""
    database_on_disk = embedded_database("lrs", str(tmp_path / "lrs-data"))
    try:
        database_on_disk["tokens"].create_index("expires", expireAfterSeconds=0)
        database_on_disk["tokens"].insert_many([{"_id": "expired", "expires": dt.datetime(2000, 1, 1)},
                                                {"_id": "valid", "expires": dt.datetime(2100, 1, 1)}])
    finally:
        database_on_disk.close()
    assert len(stored_bodies(tmp_path / "lrs-data")["tokens"]) == 2
    done = copy_command(shared_store, database, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "tokens: 2 documents, 1 indexes (" in done.stdout
