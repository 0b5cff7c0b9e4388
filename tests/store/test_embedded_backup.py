"""`lrs backup` against a real `lrs serve` under write load, restored as docs/embedded-store.md
says: every write acknowledged before the backup began is back, whole, and nothing half-made."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from lrs.server import spawned
from tests.ops.test_failures import lrs_command, one_line
from tests.store.test_embedded_durability import (
    ACTIVITY,
    AGENT,
    AUTH,
    HEADERS,
    Load,
    all_statement_ids,
    server_env,
    wait_for,
    writing,
)
from tests.store.test_embedded_file import post_statements, run_documented, small_disk, stored_ids

pytestmark = pytest.mark.skipif(bool(os.environ.get("LRS_TEST_MONGO_URI")), reason="about the embedded store")


def acknowledged(load: Load) -> tuple[set[str], set[str], set[str]]:
    return set(load.statements_acked), set(load.documents_acked), set(load.attachments_acked)


def new_credential(endpoint: str) -> tuple[str, str]:
    made = requests.post(endpoint.replace("/xapi", "/admin/credentials"), json={"scopes": ["all"]}, auth=AUTH,
                         timeout=30)
    assert made.status_code == 201, made.text
    return made.json()["key"], made.json()["secret"]


def test_lrs_backup_under_write_load_restores_every_write_acknowledged_before_it(tmp_path):
    with spawned(server_env(Path("lrs-data")), cwd=tmp_path) as (endpoint, _):
        load = Load(endpoint)
        with writing(load):
            wait_for(lambda: load.acked() >= 20)
            key, secret = new_credential(endpoint)
            before = acknowledged(load)
            started = time.monotonic()
            done = subprocess.run([sys.executable, "-m", "lrs.cli", "backup", "lrs-backup.sqlite3"], cwd=tmp_path,
                                  env={**os.environ, "LRS_DATA_DIR": "lrs-data"}, capture_output=True, text=True,
                                  timeout=120)
            took = time.monotonic() - started
            wait_for(lambda: load.acked() >= len(before[2]) + 5)  # the server kept writing after it
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("backed up LRS_DATA_DIR='lrs-data' to "), done.stdout
        assert not load.refused
    assert took < 60 and not list(tmp_path.glob("*.partial"))
    (tmp_path / "lrs-data").rename(tmp_path / "replaced")
    run_documented("restore an online backup, lrs serve stopped", tmp_path)
    with spawned(server_env(Path("lrs-data")), cwd=tmp_path) as (endpoint, _):
        check_restored(endpoint, load, before)
        assert requests.get(f"{endpoint}/statements", params={"limit": 1}, auth=(key, secret), headers=HEADERS,
                            timeout=30).status_code == 200


def check_restored(endpoint: str, load: Load, before: tuple[set[str], set[str], set[str]]) -> None:
    """What was acknowledged before the backup is there; whatever else is, was sent whole."""
    statements_before, documents_before, attachments_before = before
    session = requests.Session()
    session.auth, session.headers = AUTH, dict(HEADERS)
    found = set(all_statement_ids(session, endpoint))
    assert statements_before | attachments_before <= found
    assert found <= {i for batch in load.batches.values() for i in batch} | set(load.attachments)
    assert all(len(found & set(batch)) in (0, len(batch)) for batch in load.batches.values())
    for statement_id in found & set(load.attachments):  # every attachment with its statement
        response = session.get(f"{endpoint}/statements", params={"statementId": statement_id, "attachments": "true"},
                               timeout=60)
        assert response.status_code == 200 and load.attachments[statement_id] in response.content
    listed = session.get(f"{endpoint}/activities/state", params={"activityId": ACTIVITY, "agent": json.dumps(AGENT)},
                         timeout=30).json()
    assert documents_before <= set(listed) <= set(load.documents)
    assert len(found) < len(load.statements_acked | load.attachments_acked)  # later writes are not in it


@pytest.mark.parametrize("destination, said", [
    (".", "'.' is a folder: name the backup's file, e.g. 'lrs-backup.sqlite3'"),
    ("lrs-data/copy.sqlite3", "'lrs-data/copy.sqlite3' is in the data folder itself (LRS_DATA_DIR)"),
    ("missing/copy.sqlite3", "'missing/copy.sqlite3': its folder 'missing' does not exist"),
])
def test_lrs_backup_names_a_destination_it_cannot_use(tmp_path, destination, said):
    (tmp_path / "lrs-data").mkdir()
    (tmp_path / "lrs-data" / "store.sqlite3").touch()
    assert said in one_line(lrs_command("backup", destination, cwd=tmp_path))
    assert sorted(path.name for path in tmp_path.rglob("*")) == ["lrs-data", "store.sqlite3"]


@pytest.mark.parametrize("env, said", [
    ({}, "LRS_DATA_DIR='lrs-data': no embedded store to back up there (no store.sqlite3)"),
    ({"LRS_DATA_DIR": ""}, "LRS_DATA_DIR is empty: the memory-only store has nothing on disk for lrs backup"),
    ({"LRS_MONGO_URI": "mongodb://127.0.0.1:1"}, "on MongoDB (LRS_MONGO_URI is set) use mongodump"),
])
def test_lrs_backup_without_an_embedded_store_on_disk_says_so_and_creates_nothing(tmp_path, env, said):
    assert said in one_line(lrs_command("backup", "copy.sqlite3", cwd=tmp_path, **env))
    assert list(tmp_path.iterdir()) == []


def test_lrs_restore_under_a_running_server_is_refused_and_changes_nothing(tmp_path):
    with spawned(server_env(Path("lrs-data")), cwd=tmp_path) as (endpoint, process):
        kept = post_statements(endpoint, 3)
        assert lrs_command("backup", "lrs-backup.sqlite3", cwd=tmp_path).returncode == 0
        post_statements(endpoint, 2)
        refused = one_line(lrs_command("restore", "lrs-backup.sqlite3", cwd=tmp_path))
        assert "another process (pid " in refused and "uses this folder's embedded store" in refused
        assert len(stored_ids(endpoint)) == 5 and set(kept) < stored_ids(endpoint)
    assert sorted(path.name for path in (tmp_path / "lrs-data").iterdir()) == ["lock", "store.sqlite3"]


def test_lrs_restore_of_a_file_that_is_no_backup_leaves_the_store_as_it_was(tmp_path):
    with spawned(server_env(Path("lrs-data")), cwd=tmp_path) as (endpoint, _):
        kept = post_statements(endpoint, 3)
    (tmp_path / "notes.txt").write_text("not a backup\n" * 100)
    said = one_line(lrs_command("restore", "notes.txt", cwd=tmp_path))
    assert said == ("Error: cannot restore 'notes.txt' (the store in LRS_DATA_DIR='lrs-data' is left as it was): "
                    "file is not a database")
    assert "no backup file there" in one_line(lrs_command("restore", "missing.sqlite3", cwd=tmp_path))
    assert one_line(lrs_command("restore", "lrs-data/store.sqlite3", cwd=tmp_path)) == (
        "Error: 'lrs-data/store.sqlite3' is the store of LRS_DATA_DIR='lrs-data' itself, not a backup of it")
    with spawned(server_env(Path("lrs-data")), cwd=tmp_path) as (endpoint, _):
        assert stored_ids(endpoint) == set(kept)


def test_a_backup_disk_that_fills_up_is_said_of_the_backup_not_of_the_store(tmp_path):
    with spawned(server_env(Path("lrs-data")), cwd=tmp_path) as (endpoint, _):
        for _ in range(10):
            post_statements(endpoint, 500)
        store = tmp_path / "lrs-data" / "store.sqlite3"
        wait_for(lambda: store.stat().st_size > 3 * 2**20, 30)  # once the checkpoints moved the log into it
        assert store.stat().st_size > 3 * 2**20
        with small_disk(tmp_path / "small", "3m") as small:
            said = one_line(lrs_command("backup", "small/lrs-backup.sqlite3", cwd=tmp_path))
            assert said == "Error: could not write the backup 'small/lrs-backup.sqlite3': database or disk is full"
            assert list(small.iterdir()) == []
        post_statements(endpoint, 1)  # the server, and its store, untouched


def test_a_store_this_user_cannot_write_is_not_called_damaged(tmp_path):
    """`lrs backup` of a folder on a read-only disk (or owned by the service's user) said the store
    file was damaged and to put back a backup; SQLite only could not open it for its -shm file."""
    with small_disk(tmp_path / "disk", "20m") as disk:
        with spawned(server_env(disk / "data"), cwd=tmp_path) as (endpoint, _):
            post_statements(endpoint, 3)
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        said = one_line(lrs_command("backup", "lrs-backup.sqlite3", cwd=tmp_path, LRS_DATA_DIR=str(disk / "data")))
    assert said == (f"Error: LRS_DATA_DIR={str(disk / 'data')!r}: cannot open the embedded store's file store.sqlite3 "
                    "(unable to open database file): this user must be able to write the folder and its files, even "
                    "to read them (SQLite keeps its -wal and -shm files beside the store)")
    assert not (tmp_path / "lrs-backup.sqlite3").exists()
