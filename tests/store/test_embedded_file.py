"""The embedded store's file as an operator handles it: after a clean stop `store.sqlite3` alone
holds the store; the backup and restore steps of docs/embedded-store.md, run as written, bring
back what was acknowledged; a file of another release, and a disk that is full at start, stop
`lrs serve` with one line.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Iterator

import bson
import pytest
import requests

from lrs.server import free_port, spawned
from lrs.store.embedded import disk, embedded_database
from lrs.store.embedded.disk import SCHEMA_VERSION, STORE_FILE
from tests.ops.test_failures import lrs_command, one_line
from tests.store.test_embedded_durability import AUTH, HEADERS, server_env, statement, wait_for
from tests.test_docs_run import ROOT, blocks

pytestmark = pytest.mark.skipif(bool(os.environ.get("LRS_TEST_MONGO_URI")), reason="about the embedded store")
GUIDE = ROOT / "docs" / "embedded-store.md"


def post_statements(endpoint: str, count: int) -> list[str]:
    ids = [str(uuid.uuid4()) for _ in range(count)]
    response = requests.post(f"{endpoint}/statements", json=[statement(i) for i in ids], auth=AUTH, headers=HEADERS,
                             timeout=60)
    assert response.status_code == 200, response.text
    return ids


def stored_ids(endpoint: str) -> set[str]:
    response = requests.get(f"{endpoint}/statements", params={"limit": 1000}, auth=AUTH, headers=HEADERS, timeout=60)
    assert response.status_code == 200 and not response.json()["more"]
    return {found["id"] for found in response.json()["statements"]}


def test_after_a_clean_stop_a_copy_of_store_sqlite3_alone_holds_every_statement(tmp_path):
    with spawned(server_env(tmp_path / "data")) as (endpoint, _):
        ids = post_statements(endpoint, 3) + post_statements(endpoint, 50)
    # spawned stopped it with SIGTERM, as an operator's `kill` or Ctrl-C does
    copy = tmp_path / "copy.sqlite3"
    shutil.copy(tmp_path / "data" / STORE_FILE, copy)
    with closing(sqlite3.connect(copy)) as db:
        bodies = [body for (body,) in db.execute("SELECT body FROM documents")]
        [version] = db.execute("PRAGMA user_version").fetchone()
    assert [i for i in ids if not any(i.encode() in body for body in bodies)] == []
    assert version == SCHEMA_VERSION
    assert not (tmp_path / "data" / f"{STORE_FILE}-wal").exists()


def documented(first_line: str) -> str:
    """The shell block of docs/embedded-store.md that starts with this comment line."""
    [text] = [block.text for block in blocks(GUIDE) if block.text.startswith(f"# {first_line}\n")]
    return text


def run_documented(first_line: str, cwd: Path) -> None:
    """With this Python's `lrs` first on PATH, as in the virtualenv an operator runs it from."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    subprocess.run(["bash", "-euo", "pipefail", "-c", documented(first_line)], cwd=cwd, check=True, timeout=120,
                   env={**os.environ, "PATH": path})


@contextmanager
def served(cwd: Path, own_session: bool = False) -> Iterator[tuple[str, subprocess.Popen]]:
    """`lrs serve` on the folder the docs name, lrs-data of `cwd`."""
    with spawned(server_env(Path("lrs-data")), cwd=cwd, own_session=own_session) as running:
        yield running


def test_the_documented_folder_copy_taken_after_kill_9_restores_every_acknowledged_statement(tmp_path):
    with served(tmp_path, own_session=True) as (endpoint, process):
        kept = post_statements(endpoint, 40)
        os.killpg(process.pid, signal.SIGKILL)
    assert (tmp_path / "lrs-data" / f"{STORE_FILE}-wal").stat().st_size > 0  # the log holds committed writes
    run_documented("back up with lrs serve stopped", tmp_path)
    with served(tmp_path) as (endpoint, _):
        post_statements(endpoint, 5)  # after the backup: the restore drops these
    run_documented("restore a folder copy, lrs serve stopped", tmp_path)
    with served(tmp_path) as (endpoint, _):
        assert stored_ids(endpoint) == set(kept)


@pytest.mark.parametrize("backup", ["back up while lrs serve runs", "back up while lrs serve runs, with Python",
                                    "back up while lrs serve runs, with the sqlite3 tool"])
def test_a_documented_online_backup_restores_what_was_acknowledged_before_it(tmp_path, backup):
    if "sqlite3 tool" in backup and not shutil.which("sqlite3"):
        pytest.skip("no sqlite3 tool")
    with served(tmp_path) as (endpoint, _):
        kept = post_statements(endpoint, 40)
        run_documented(backup, tmp_path)
        post_statements(endpoint, 5)  # after the backup: the restore drops these
    with served(tmp_path, own_session=True) as (endpoint, process):
        post_statements(endpoint, 5)
        os.killpg(process.pid, signal.SIGKILL)  # a log of the replaced store left in the folder
    run_documented("restore an online backup, lrs serve stopped", tmp_path)
    with served(tmp_path) as (endpoint, _):
        assert stored_ids(endpoint) == set(kept)


def store_file(data_dir: Path) -> Path:
    """A store file with a document in it, closed as after a clean stop."""
    database = embedded_database("lrs", str(data_dir))
    try:
        database["things"].insert_one({"_id": "kept", "n": 1})
    finally:
        database.close()
    return data_dir / STORE_FILE


def newer_release(path: Path) -> None:
    """What the audit made of a valid file to stand for a newer release's: a column more, a table
    of its own, and a version."""
    with closing(sqlite3.connect(path)) as db:
        db.executescript("ALTER TABLE documents ADD COLUMN stored_at INTEGER NOT NULL DEFAULT 0;"
                         "CREATE TABLE meta (schema_version INTEGER); INSERT INTO meta VALUES (3);"
                         f"PRAGMA user_version = {SCHEMA_VERSION + 1};")


def unstamped_other_columns(path: Path) -> None:
    with closing(sqlite3.connect(path)) as db:
        db.executescript("ALTER TABLE documents ADD COLUMN stored_at INTEGER NOT NULL DEFAULT 0;"
                         "PRAGMA user_version = 0;")


def unstamped_without_documents(path: Path) -> None:
    with closing(sqlite3.connect(path)) as db:
        db.executescript("DROP TABLE documents; CREATE TABLE notes (text TEXT); PRAGMA user_version = 0;")


@pytest.mark.parametrize("change, found", [
    (newer_release, f"schema version {SCHEMA_VERSION + 1}, and this release reads version {SCHEMA_VERSION}"),
    (unstamped_other_columns, "tables documents(slot, collection, id, body, stored_at), indexes(collection, name, spec)"),
    (unstamped_without_documents, "tables indexes(collection, name, spec), notes(text)"),
], ids=["newer release", "unstamped, a column more", "unstamped, no documents table"])
@pytest.mark.parametrize("admin", [True, False], ids=["LRS_ADMIN_KEY", "no LRS_ADMIN_KEY"])
def test_a_file_of_another_release_stops_lrs_serve_with_one_line_and_is_left_as_it_was(tmp_path, change, found, admin):
    path = store_file(tmp_path)
    change(path)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    env = {name: value for name, value in server_env(tmp_path).items() if admin or not name.startswith("LRS_ADMIN")}
    line = one_line(lrs_command("serve", **env, LRS_PORT=str(free_port()), timeout=30))
    assert line == (f"Error: LRS_DATA_DIR={str(tmp_path)!r}: the embedded store's file store.sqlite3 was written by "
                    f"another release ({found}): run the release that wrote it, or put back a backup of this "
                    "release's (docs/embedded-store.md, Upgrades)")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def documents_of(data_dir: Path) -> dict[str, list[dict]]:
    """Every document of the store in `data_dir`, by collection, as a reopened store has them."""
    database = embedded_database("lrs", str(data_dir))
    try:
        return {name: sorted(database[name].find(), key=lambda document: str(document["_id"]))
                for name in database.list_collection_names()}
    finally:
        database.close()


@pytest.mark.parametrize("version", [0, 1], ids=["before the version stamp", "version 1"])
def test_a_file_of_an_earlier_version_opens_with_its_documents_and_takes_changes_to_them(tmp_path, version):
    with closing(sqlite3.connect(tmp_path / STORE_FILE)) as db:  # what the releases before slots wrote
        db.executescript(
            "PRAGMA journal_mode=WAL;"
            "CREATE TABLE documents (collection TEXT NOT NULL, id BLOB NOT NULL, body BLOB NOT NULL, "
            "PRIMARY KEY (collection, id));"
            "CREATE TABLE indexes (collection TEXT NOT NULL, name TEXT NOT NULL, spec BLOB NOT NULL, "
            f"PRIMARY KEY (collection, name)) WITHOUT ROWID; PRAGMA user_version = {version};")
        db.executemany("INSERT INTO documents VALUES (?, ?, ?)",
                       [("things", bson.encode({"_id": name}), bson.encode({"_id": name, "n": 1}))
                        for name in ("kept", "changed", "deleted")])
        db.commit()
    database = embedded_database("lrs", str(tmp_path))
    try:
        assert database["things"].find_one({"_id": "kept"}) == {"_id": "kept", "n": 1}
        database["things"].update_one({"_id": "changed"}, {"$set": {"n": 2}})
        database["things"].delete_one({"_id": "deleted"})
        database["things"].insert_one({"_id": "new", "n": 3})
    finally:
        database.close()
    assert documents_of(tmp_path) == {"things": [{"_id": "changed", "n": 2}, {"_id": "kept", "n": 1},
                                                 {"_id": "new", "n": 3}]}
    with closing(sqlite3.connect(tmp_path / STORE_FILE)) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        assert db.execute("SELECT count(*) FROM documents").fetchone() == (3,)
        assert [column for (column,) in db.execute("SELECT name FROM pragma_table_info('documents')")] == [
            "slot", "collection", "id", "body"]


def test_documents_deleted_dropped_and_written_again_are_on_disk_as_the_store_left_them(tmp_path):
    database = embedded_database("lrs", str(tmp_path))
    try:
        database["gone"].insert_many([{"_id": n} for n in range(3)])
        database["things"].insert_many([{"_id": n, "v": "first"} for n in range(3)])
        database["things"].delete_one({"_id": 1})
        database["gone"].drop()
        database["back"].insert_many([{"_id": "x", "v": "before the drop"}, {"_id": "w", "v": "before the drop"}])
        with database.exclusively():  # one commit: dropped, then written again
            database["back"].drop()
            database["back"].insert_one({"_id": "x", "v": "after the drop"})
            database["things"].insert_one({"_id": 1, "v": "again"})
            database["things"].delete_one({"_id": 2})
        database["back"].insert_one({"_id": "w", "v": "after the drop"})
    finally:
        database.close()
    expected = {"back": [{"_id": "w", "v": "after the drop"}, {"_id": "x", "v": "after the drop"}],
                "things": [{"_id": 0, "v": "first"}, {"_id": 1, "v": "again"}]}
    assert documents_of(tmp_path) == expected
    database = embedded_database("lrs", str(tmp_path))  # the slots read back at start are the ones written
    try:
        database["things"].update_many({}, {"$set": {"v": "reopened"}})
        database["back"].drop()
    finally:
        database.close()
    assert documents_of(tmp_path) == {"things": [{"_id": 0, "v": "reopened"}, {"_id": 1, "v": "reopened"}]}
    with closing(sqlite3.connect(tmp_path / STORE_FILE)) as db:
        assert db.execute("SELECT count(*) FROM documents").fetchone() == (2,)


def write_past_a_thousand_pages(data_dir: Path, checkpoint_seconds: float, wait: float, monkeypatch) -> int:
    """Commits of 1,200 documents of 4 KB (SQLite's own commit would checkpoint after 1,000 pages
    of log), then the size of store.sqlite3 itself once it holds them or after `wait` seconds,
    the store still open."""
    monkeypatch.setattr(disk, "CHECKPOINT_SECONDS", checkpoint_seconds)
    database = embedded_database("lrs", str(data_dir))
    try:
        for number in range(1200):
            database["things"].insert_one({"_id": number, "text": "x" * 4000})
        wait_for(lambda: (data_dir / STORE_FILE).stat().st_size > 4_800_000, seconds=wait)
        return (data_dir / STORE_FILE).stat().st_size
    finally:
        database.close()


def test_commits_leave_checkpoints_to_a_thread_that_moves_the_log_into_the_file_as_the_store_runs(
        tmp_path, monkeypatch):
    assert write_past_a_thousand_pages(tmp_path / "rarely", 3600, 0.5, monkeypatch) < 100_000  # all still in the log
    assert write_past_a_thousand_pages(tmp_path / "often", 0.05, 30, monkeypatch) > 4_800_000
    for folder in ("rarely", "often"):  # a clean stop checkpoints the rest either way
        assert [document["_id"] for document in documents_of(tmp_path / folder)["things"]] == sorted(
            range(1200), key=str)


def test_under_steady_commits_the_log_starts_over_instead_of_growing_without_end(tmp_path, monkeypatch):
    """Commits land while every checkpoint runs: SQLite never started the log over, and it grew
    as long as the load lasted (395 MB beside a 181 MB file after 40 s of 4 clients)."""
    monkeypatch.setattr(disk, "CHECKPOINT_SECONDS", 0.02)
    monkeypatch.setattr(disk, "LOG_RESTART_PAGES", 100)  # 400 KiB
    database = embedded_database("lrs", str(tmp_path))
    log, largest = tmp_path / f"{STORE_FILE}-wal", 0
    try:
        for number in range(5000):  # 20 MB of documents, each in a commit of its own: as much log at least
            database["things"].insert_one({"_id": number, "text": "x" * 4000})
            time.sleep(0)  # other threads run between commits, as between requests
            if number % 100 == 0:
                largest = max(largest, log.stat().st_size)
    finally:
        database.close()
    assert largest < 10_000_000, largest
    assert len(documents_of(tmp_path)["things"]) == 5000


def test_starting_the_log_over_waits_for_no_lock_the_busy_store_would_not_give_up(tmp_path, monkeypatch):
    """The checkpoints' thread used to take the store's lock to finish a checkpoint, and on a
    busy server request threads always had it again first: the log grew past 26 MB of a 20 MB
    load beside 4 writers. Now it only finds the log full; the next commit, which holds the lock
    anyway, finishes the checkpoint, and the commit after it starts the log over."""
    monkeypatch.setattr(disk, "CHECKPOINT_SECONDS", 3600)  # the thread's own rounds never come
    monkeypatch.setattr(disk, "LOG_RESTART_PAGES", 100)  # 400 KiB
    database = embedded_database("lrs", str(tmp_path))
    log = tmp_path / f"{STORE_FILE}-wal"
    try:
        for number in range(300):  # 1.2 MB of log
            database["things"].insert_one({"_id": number, "text": "x" * 4000})
        checkpoints = database._guard.journal._checkpoints
        with database._guard.lock:  # a request holding the store while the checkpoint runs
            checking = threading.Thread(target=checkpoints._checkpoint, daemon=True)
            checking.start()
            checking.join(10)
            assert not checking.is_alive(), "the checkpoint waited for the store's lock"
        assert checkpoints.log_full
        database["things"].insert_one({"_id": "finishes the checkpoint"})
        database["things"].insert_one({"_id": "starts the log over"})
        assert not checkpoints.log_full
        assert log.stat().st_size <= 100 * 4096 + 65536, log.stat().st_size
    finally:
        database.close()
    assert len(documents_of(tmp_path)["things"]) == 302


def test_the_log_a_backup_held_back_is_moved_by_the_thread_not_by_commits_holding_the_store(tmp_path, monkeypatch):
    """An online backup reads one snapshot: the log cannot be moved past it meanwhile. The log was
    found full all the same, each commit then tried to finish the checkpoint under the store's
    lock, and the first commit after the backup moved the whole backlog there, every request
    waiting (a read's p99 went to 2,063 ms after a 30 s reader under five writers)."""
    monkeypatch.setattr(disk, "CHECKPOINT_SECONDS", 3600)  # the thread's rounds are run below
    monkeypatch.setattr(disk, "LOG_RESTART_PAGES", 100)  # 400 KiB
    database = embedded_database("lrs", str(tmp_path))
    journal = database._guard.journal
    under_the_store_lock: list[str] = []
    journal.db.set_trace_callback(lambda sql: under_the_store_lock.append(sql) if "checkpoint" in sql else None)
    try:
        with closing(sqlite3.connect(tmp_path / STORE_FILE)) as backup:
            backup.execute("BEGIN")
            backup.execute("SELECT count(*) FROM documents").fetchone()  # its snapshot, as a backup's
            for number in range(300):  # 1.2 MB of log behind the backup's snapshot
                database["things"].insert_one({"_id": number, "text": "x" * 4000})
            journal._checkpoints._checkpoint()
            database["things"].insert_one({"_id": "while the backup reads"})
            backup.execute("COMMIT")
        database["things"].insert_one({"_id": "after the backup"})
        assert under_the_store_lock == []
        journal._checkpoints._checkpoint()  # the thread's round moves the backlog, holding no lock
        database["things"].insert_one({"_id": "finishes the checkpoint"})
        database["things"].insert_one({"_id": "starts the log over"})
        assert under_the_store_lock == ["PRAGMA wal_checkpoint(PASSIVE)"]
        assert (tmp_path / f"{STORE_FILE}-wal").stat().st_size <= 100 * 4096 + 65536
    finally:
        database.close()
    assert len(documents_of(tmp_path)["things"]) == 304


def test_the_store_closes_while_a_checkpoint_waits_to_start_the_log_over(tmp_path, monkeypatch):
    """Closing holds the store's lock while it waits for the checkpoint thread to end, and that
    thread may be waiting for the same lock to start the log over."""
    monkeypatch.setattr(disk, "CHECKPOINT_SECONDS", 0.01)
    monkeypatch.setattr(disk, "LOG_RESTART_PAGES", 0)  # every checkpoint takes the lock
    database = embedded_database("lrs", str(tmp_path))
    database["things"].insert_one({"_id": 1})

    def close_holding_the_lock() -> None:
        with database._guard.lock:
            time.sleep(0.2)  # the checkpoint thread is waiting for it now
            database.close()

    closing_thread = threading.Thread(target=close_holding_the_lock, daemon=True)
    closing_thread.start()
    closing_thread.join(10)
    assert not closing_thread.is_alive()
    assert documents_of(tmp_path) == {"things": [{"_id": 1}]}


@contextmanager
def small_disk(folder: Path, size: str = "3m") -> Iterator[Path]:
    """A tmpfs of `size` mounted on `folder` for the block (skipped where mounting is not allowed)."""
    folder.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a small tmpfs needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "--lazy", str(folder)], check=True)  # a killed server may still hold a file


def fill(folder: Path) -> None:
    with open(folder / "filler", "wb") as filler:
        try:
            while True:
                filler.write(b"\0" * 65536)
                filler.flush()
        except OSError:
            pass


@pytest.mark.parametrize("admin", [True, False], ids=["LRS_ADMIN_KEY", "no LRS_ADMIN_KEY"])
def test_a_full_disk_at_start_stops_lrs_serve_with_one_line_naming_the_folder(tmp_path, admin):
    with small_disk(tmp_path / "small") as disk:
        data = disk / "data"
        with spawned(server_env(data)) as (endpoint, _):
            post_statements(endpoint, 20)
        fill(disk)
        env = {name: value for name, value in server_env(data).items() if admin or not name.startswith("LRS_ADMIN")}
        line = one_line(lrs_command("serve", **env, LRS_PORT=str(free_port()), timeout=60))
        # SQLite says "disk I/O error" when it cannot grow its -shm file, "database or disk is full"
        # for the others: which one depends on the files left in the folder
        said = re.fullmatch(f"Error: LRS_DATA_DIR={re.escape(repr(str(data)))}: cannot keep the embedded store there: "
                            r"(disk I/O error|database or disk is full) \((?P<free>[\d,]+) bytes free on its disk\)",
                            line)
        assert said and int(said["free"].replace(",", "")) < 65536, line
        os.remove(disk / "filler")
        with spawned(server_env(data)) as (endpoint, _):
            assert len(stored_ids(endpoint)) == 20


def test_a_data_dir_that_is_a_file_stops_lrs_serve_with_one_line_saying_so(tmp_path):
    """mkdir's own word for it was "File exists", as if the folder were in the way."""
    (tmp_path / "data").write_text("not a folder")
    line = one_line(lrs_command("serve", **server_env(tmp_path / "data"), LRS_PORT=str(free_port()), timeout=30))
    assert line == (f"Error: LRS_DATA_DIR={str(tmp_path / 'data')!r}: cannot keep the embedded store there: "
                    "it is a file, not a folder (set LRS_DATA_DIR to a folder this user may create and write)"), line
    assert (tmp_path / "data").read_text() == "not a folder"
