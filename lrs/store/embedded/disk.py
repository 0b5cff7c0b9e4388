"""The embedded store on disk: SQLite underneath, and one process at a time.

Durability rests on SQLite (Python's sqlite3) rather than on a file format of our own: it is
the most widely deployed transactional engine, its write-ahead log survives a killed process by
design, and its file can be inspected with the `sqlite3` tool. SQLite is the log of documents, not
the query engine: every document lives in memory (mongomock with our indexes answers queries),
and SQLite holds the latest state of each one, BSON-encoded, with its collection and `_id`, in
a row whose rowid (its slot) the journal remembers, so that a commit finds the rows it changes
without an index on the random `_id`s to keep on disk.

Every call into the store that changes documents commits one SQLite transaction with the
documents' new state before it returns, so what the LRS has acknowledged is on disk. WAL with
`synchronous=NORMAL` makes a commit survive the death of the process (kill -9, a crash), which is
the promise here; a power cut may lose the last commits, never consistency. At start the whole
file is read back into memory.

A commit can fail (the disk is full, another process holds the file's write lock). The changes
are in memory already, and mongomock cannot take them back; the file can: the journal knows each
changed document and its slot, so `roll_back` reads those documents back from the file (or
removes them when it has none) and memory holds what the file holds again. The requests whose
changes went are refused (`StoreUnwritable`, 503), and none of those changes is written later.

The data is in one process's memory, so a second process on the same folder would see and write
a different store. An exclusive lock on `LOCK_FILE` refuses that, naming the holder's pid.

The file carries the version of its tables (`PRAGMA user_version`, `SCHEMA_VERSION`): a file of
another release is refused at open, in one line, rather than read and then failing every write.
Closing the journal (a clean stop) checkpoints the write-ahead log into the file, so a stopped
store is `store.sqlite3` alone; only after a crash does `store.sqlite3-wal` hold committed data.
"""
from __future__ import annotations

import fcntl
import logging
import os
import shutil
import sqlite3
import tempfile
import threading
from contextlib import closing, contextmanager, suppress
from pathlib import Path
from typing import IO, Any, Callable, Iterator

import bson

from lrs.errors import ServiceUnavailable
from lrs.settings import SettingError
from lrs.store.embedded.engine import IndexedDatabaseStore, IndexedStore, store_key
from lrs.store.embedded.sharing import decoded

log = logging.getLogger(__name__)

STORE_FILE = "store.sqlite3"
CHECKPOINT_SECONDS = 0.5
# The log's size (in pages of 4 KiB: 64 MiB) past which a checkpoint makes it start over (Checkpointer).
LOG_RESTART_PAGES = 16384
# How long a commit waits for SQLite's write lock, which only another process can hold (this one's
# checkpoints never take it): a sqlite3 shell left in a transaction, a tool writing to the file.
# The store's own lock is held meanwhile, so every request waits with it: SQLite's default of 5 s
# stalled the whole server that long per commit, where a short wait and a 503 tell the client at once.
WRITE_LOCK_WAIT_MS = 100
CLOSE_WAIT_MS = 5000  # a clean stop's checkpoint may wait longer, for a backup still reading: nothing else waits
LOCK_FILE = "lock"
# The file's `PRAGMA user_version`: a release that changes the tables below changes it too. Files
# written before it existed have 0, and are version 1 when their tables are version 1's.
SCHEMA_VERSION = 2
INDEXES_COLUMNS = ("collection", "name", "spec")
# The columns of `documents` in each version this release opens (earlier ones are upgraded).
DOCUMENTS_COLUMNS = {0: ("collection", "id", "body"), 1: ("collection", "id", "body"),
                     SCHEMA_VERSION: ("slot", "collection", "id", "body")}
# Each document is one row, found by its `slot` (the rowid), which the journal remembers for every
# document it has written: SQLite keeps no index on (collection, id), whose random ids made each
# commit write a scattered index page per statement, three times the pages of the rows themselves.
# A rowid table: SQLite advises WITHOUT ROWID only for rows far smaller than a page.
DOCUMENTS = ("CREATE TABLE IF NOT EXISTS documents (slot INTEGER PRIMARY KEY, collection TEXT NOT NULL, "
             "id BLOB NOT NULL, body BLOB NOT NULL)")
# Run at every open: the stamp is also a write, so a disk that cannot take one is found at start.
SCHEMA = "BEGIN;" + DOCUMENTS + f""";
CREATE TABLE IF NOT EXISTS indexes (collection TEXT NOT NULL, name TEXT NOT NULL, spec BLOB NOT NULL,
                                    PRIMARY KEY (collection, name)) WITHOUT ROWID;
PRAGMA user_version = {SCHEMA_VERSION};
COMMIT;
"""


class StoreInUse(SettingError):
    """Another process already runs this embedded store: an operator's mistake, told in one line.
    `holder` is that process's pid, for a command that says what to do instead."""

    def __init__(self, message: str, holder: str = "unknown") -> None:
        super().__init__(message)
        self.holder = holder


class StoreUnwritable(ServiceUnavailable):
    """A commit failed: the request is not acknowledged (503) and its changes are undone. The
    client learns only that; the server's log says why (the disk is full, the file locked...)."""

    retry_after_seconds = 5

    def __init__(self) -> None:
        super().__init__("the store could not write this request's changes to disk; nothing of it is "
                         "acknowledged: retry later")


class SqliteJournal:
    """The changes of the current store call, committed to SQLite as one transaction."""

    def __init__(self, path: Path):
        self.path = path
        with unreadable_named(path), _unusable_named(path):
            self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            try:
                _prepare(self.db, path)
                self.db.execute(f"PRAGMA busy_timeout = {WRITE_LOCK_WAIT_MS}")
                self._checkpoints = Checkpointer(path)
            except BaseException:
                self.db.close()
                raise
        self._changed: dict[tuple[str, Any], tuple[IndexedStore, bytes | None]] = {}
        self._dropped: dict[str, IndexedStore] = {}
        self._reindexed: dict[str, IndexedStore] = {}
        # The slot (rowid) of every document on disk, by collection and key; the next one free.
        self._slots: dict[str, dict[Any, int]] = {}
        self._next_slot = 1

    def touch(self, store: IndexedStore, key: Any, encoded: bytes | None = None) -> None:
        """The document changed; `encoded` is its BSON, when the caller has it (a later change of
        the same document touches it again, without)."""
        self._changed[(store.name, key)] = (store, encoded)

    def dropped(self, store: IndexedStore) -> None:
        self._changed = {entry: change for entry, change in self._changed.items() if entry[0] != store.name}
        self._dropped[store.name] = store
        self._reindexed.pop(store.name, None)

    def indexes_changed(self, store: IndexedStore) -> None:
        self._reindexed[store.name] = store

    def pending(self) -> bool:
        """Changes not yet on disk."""
        return bool(self._changed or self._dropped or self._reindexed)

    def commit(self) -> None:
        """Write every change not yet on disk, in one transaction. The changes are forgotten only
        once SQLite has committed them: when it fails (disk full, the file locked by another
        process) they all stay, for `roll_back` to undo."""
        if not self.pending():
            return
        dropped = set(self._dropped)
        emptied = [(slot,) for name in dropped for slot in self._slots.get(name, {}).values()]
        added, updated, deleted, placed = [], [], [], []
        next_slot = self._next_slot
        for (name, key), (store, encoded) in self._changed.items():
            slot = None if name in dropped else self._slots.get(name, {}).get(key)
            if store.get(key) is None:
                if slot is not None:
                    deleted.append((slot,))
                    placed.append((name, key, None))
            elif slot is None:
                added.append((next_slot, name, key, store, encoded))
                placed.append((name, key, next_slot))
                next_slot += 1
            else:
                updated.append((slot, key, store, encoded))
        # encoded one at a time as SQLite takes them: a 200 MB upload is never 200 MB of BSON at once
        db = self.db
        try:
            db.execute("BEGIN")
            db.executemany("DELETE FROM documents WHERE slot = ?", emptied)
            for name in dropped:
                db.execute("DELETE FROM indexes WHERE collection = ?", (name,))
            for name, store in self._reindexed.items():
                db.execute("DELETE FROM indexes WHERE collection = ?", (name,))
                db.executemany("INSERT INTO indexes VALUES (?, ?, ?)",
                               [(name, index, bson.encode(spec)) for index, spec in store.indexes.items()])
            db.executemany("INSERT INTO documents VALUES (?, ?, ?, ?)",
                           ((slot, name, bson.encode({"_id": key}), encoded or bson.encode(store.get(key)))
                            for slot, name, key, store, encoded in added))
            db.executemany("UPDATE documents SET body = ? WHERE slot = ?",
                           ((encoded or bson.encode(store.get(key)), slot) for slot, key, store, encoded in updated))
            db.executemany("DELETE FROM documents WHERE slot = ?", deleted)
            db.execute("COMMIT")
        except BaseException:
            _roll_back(db)
            raise
        self._forget()
        self._place(dropped, placed, next_slot)
        if self._checkpoints.log_full:
            self._finish_checkpoint()

    def _finish_checkpoint(self) -> None:
        """Move the rest of the log into the file while no commit can come in (the caller holds
        the store's lock), so that the next commit starts the log over (see Checkpointer). Done
        by the committer rather than by the checkpoints' thread taking the lock: under load that
        thread could wait for it indefinitely, as request threads took it again first, and the
        log grew meanwhile. A failure is the checkpoints' to report; the commit itself is done."""
        with suppress(sqlite3.Error):
            busy, pages, moved = self.db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            self._checkpoints.log_full = bool(busy) or moved < pages

    def roll_back(self) -> None:
        """Take every change not on disk back out of memory: each changed document read back from
        the file (by its slot) or removed when the file has none, and a collection dropped or
        re-indexed read back whole (its indexes rebuilt). The file is read before memory changes,
        so a read that fails (sqlite3.Error) leaves memory and the changes to write as they were."""
        if self.db.in_transaction:  # the failed commit's own writes would be read back
            raise sqlite3.OperationalError("the failed transaction could not be ended")
        whole = {**self._dropped, **self._reindexed}
        documents = [(store, key, self._stored(name, key))
                     for (name, key), (store, _) in self._changed.items() if name not in whole]
        collections = [(store, *self._stored_collection(name)) for name, store in whole.items()]
        for store, key, document in documents:
            store.restore(key, document)
        for store, stored, indexes in collections:
            store.reload(stored, indexes)
        self._forget()

    def _stored(self, name: str, key: Any) -> dict | None:
        slot = self._slots.get(name, {}).get(key)
        if slot is None:
            return None
        row = self.db.execute("SELECT body FROM documents WHERE slot = ?", (slot,)).fetchone()
        return decoded(row[0]) if row else None

    def _stored_collection(self, name: str) -> tuple[dict[Any, dict], dict[str, dict]]:
        """A collection's documents, by key, and its indexes, by name, as the file holds them."""
        documents = {}
        for (body,) in self.db.execute("SELECT body FROM documents WHERE collection = ? ORDER BY slot", (name,)):
            document = decoded(body)
            documents[store_key(document["_id"])] = document
        indexes = {index: index_spec(spec) for index, spec in
                   self.db.execute("SELECT name, spec FROM indexes WHERE collection = ?", (name,))}
        return documents, indexes

    def _forget(self) -> None:
        self._changed, self._dropped, self._reindexed = {}, {}, {}

    def _place(self, dropped: set[str], placed: list[tuple[str, Any, int | None]], next_slot: int) -> None:
        """Remember the slots of what a commit wrote: the documents it added, not those it deleted
        (None), nor any of the collections it dropped."""
        for name in dropped:
            self._slots.pop(name, None)
        for name, key, slot in placed:
            if slot is None:
                del self._slots[name][key]
            else:
                self._slots.setdefault(name, {})[key] = slot
        self._next_slot = next_slot

    def load(self, database: IndexedDatabaseStore) -> None:
        """Everything the file holds, into the (empty) in-memory store; indexes built once at the end."""
        with unreadable_named(self.path):
            self._load(database)

    def _load(self, database: IndexedDatabaseStore) -> None:
        for slot, name, body in self.db.execute("SELECT slot, collection, body FROM documents"):
            document = decoded(body)
            key = store_key(document["_id"])
            database[name]._documents[key] = document
            self._slots.setdefault(name, {})[key] = slot
            self._next_slot = max(self._next_slot, slot + 1)
        for name, index, spec in self.db.execute("SELECT collection, name, spec FROM indexes"):
            database[name].create_index(index, index_spec(spec))

    def close(self) -> None:
        """Everything into the file itself (a checkpoint), so that the stopped store is
        `store.sqlite3` alone: SQLite then removes the emptied -wal and -shm files. A checkpoint
        that cannot finish (a reader such as an online backup still at work, a disk error) leaves
        the rest in store.sqlite3-wal, which the next open reads as after a crash."""
        self._checkpoints.stop()
        try:
            self.db.execute(f"PRAGMA busy_timeout = {CLOSE_WAIT_MS}")
            busy, _, _ = self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if busy:
                log.warning("%s-wal still holds part of the embedded store (another reader kept the checkpoint "
                            "from finishing): keep it with %s", self.path, self.path.name)
        except sqlite3.Error as error:
            log.warning("could not move the embedded store's log into %s at close: %s", self.path, error)
        self.db.close()


class Checkpointer:
    """Moves the write-ahead log into the file (a checkpoint) from a thread of its own, on a
    connection of its own, every CHECKPOINT_SECONDS. SQLite would run it inside the commit that
    grows the log past 1,000 pages (every 140 batches of 10 statements), and that commit holds
    the store's lock: every request waited for the checkpoint's two syncs (10 ms on an ordinary
    disk). A passive checkpoint never blocks the commits that go on meanwhile, nor waits for them.
    Durability is the log's, unchanged: a commit is in it before it returns, checkpointed or not.

    SQLite starts the log over from its beginning only after a checkpoint that moved all of it,
    and under a steady load commits always land while the checkpoint runs: the log never started
    over and grew without end (395 MB beside a 181 MB file after 40 s of 4 clients posting). So
    once the log holds LOG_RESTART_PAGES, it says so (`log_full`) and the next commit finishes the
    checkpoint holding the store's lock (`SqliteJournal._finish_checkpoint`): no commit comes in
    while it moves the few pages written since this one ran, and the commit after it starts the
    log over, cutting its file back to that size."""

    def __init__(self, path: Path):
        self._path = path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.log_full = False
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="embedded-store-checkpoints", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        failing = False
        while not self._stopping.wait(CHECKPOINT_SECONDS):
            try:
                self._checkpoint()
                failing = False
            except sqlite3.Error as error:
                if not failing:  # once, not twice a second while the disk stays full
                    log.warning("could not move the embedded store's log into %s: %s (it stays in the log, "
                                "and is tried again)", self._path, error)
                failing = True

    def _checkpoint(self) -> None:
        """The log is full once it is long and this checkpoint moved most of it, so the commit that
        finishes the checkpoint under the store's lock has little left to move. While a reader (an
        online backup) holds part of the log back, the log was found full all the same: every
        commit tried to finish the checkpoint, and the first after the reader let go moved the whole
        backlog with every request waiting (a read's p99 at 2,063 ms after a 30 s reader under five
        writers). Now this thread moves that backlog first, holding no lock."""
        _, pages, moved = self._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        self.log_full = pages >= LOG_RESTART_PAGES and pages - moved <= pages // 4

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join()
        self._db.close()


def index_spec(encoded: bytes) -> dict:
    spec = bson.decode(encoded)
    spec["key"] = [tuple(part) for part in spec["key"]]
    return spec


def _prepare(db: sqlite3.Connection, path: Path) -> None:
    """A file of this release's tables, in WAL mode: created, upgraded from an earlier version, or
    refused when another release wrote it."""
    version = version_of(db, path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA wal_autocheckpoint=0")  # the Checkpointer's work
    db.execute(f"PRAGMA journal_size_limit = {LOG_RESTART_PAGES * 4096}")  # the log's file, once it starts over
    if version < SCHEMA_VERSION:
        _move_to_slotted_table(db)
    db.executescript(SCHEMA)


def version_of(db: sqlite3.Connection, path: Path) -> int:
    """The version of the file's tables (0 for a new file), or SettingError when another release
    wrote it: a version this one does not know, or tables other than that version's. Reading such
    a file would work, and every write would then fail (a column more or less), answered as a disk
    problem. Tables we do not use are left alone (`.recover` adds one)."""
    [version] = db.execute("PRAGMA user_version").fetchone()
    tables = {name: tuple(column for (column,) in db.execute("SELECT name FROM pragma_table_info(?)", (name,)))
              for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if version not in DOCUMENTS_COLUMNS:
        found = f"schema version {version}, and this release reads version {SCHEMA_VERSION}"
    elif tables and (tables.get("documents") != DOCUMENTS_COLUMNS[version]
                     or tables.get("indexes", INDEXES_COLUMNS) != INDEXES_COLUMNS):
        found = "tables " + ", ".join(f"{name}({', '.join(columns)})" for name, columns in sorted(tables.items()))
    else:
        return version
    raise SettingError(
        f"LRS_DATA_DIR={str(path.parent)!r}: the embedded store's file {path.name} was written by another "
        f"release ({found}): run the release that wrote it, or put back a backup of this release's "
        "(docs/embedded-store.md, Upgrades)")


def _move_to_slotted_table(db: sqlite3.Connection) -> None:
    """A file of an earlier version keeps its documents in a table keyed by (collection, id) (a
    WITHOUT ROWID one in the first layout): copy them into today's table, in one transaction with
    the new version's stamp, so the upgrade is whole or not at all."""
    if not db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'documents'").fetchone()[0]:
        return
    db.execute("BEGIN")
    try:
        db.execute("ALTER TABLE documents RENAME TO documents_before")
        db.execute(DOCUMENTS)
        db.execute("INSERT INTO documents (collection, id, body) SELECT collection, id, body FROM documents_before")
        db.execute("DROP TABLE documents_before")
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.execute("COMMIT")
    except BaseException:
        _roll_back(db)
        raise


def _roll_back(db: sqlite3.Connection) -> None:
    """End the failed transaction, if SQLite has not already (it rolls back by itself after a full
    disk, for one): a ROLLBACK then would raise an error of its own in place of the real one."""
    if db.in_transaction:
        with suppress(sqlite3.Error):
            db.execute("ROLLBACK")


def open_data_dir(data_dir: str) -> tuple[SqliteJournal, IO]:
    """The journal of the store in `data_dir` (created if missing), and the lock held on it."""
    lock = claim_data_dir(data_dir)
    try:
        return SqliteJournal(Path(data_dir) / STORE_FILE), lock
    except BaseException:
        lock.close()
        raise


def check_data_dir(data_dir: str) -> None:
    """Open the store in `data_dir` and let go, as `lrs serve` does before gunicorn starts: a folder
    in use or unusable, a file of another release, damaged, or on a disk that cannot take a write,
    is one line naming LRS_DATA_DIR rather than a worker that fails to boot."""
    journal, lock = open_data_dir(data_dir)
    journal.close()
    lock.close()


OPEN_REFUSED = ("unable to open database file", "attempt to write a readonly database")  # SQLite's words


@contextmanager
def unreadable_named(path: Path) -> Iterator[None]:
    """A store file SQLite cannot read at start (damaged, truncated, not SQLite at all) is an
    operator's problem, told in one line with the way out, not a traceback."""
    try:
        yield
    except sqlite3.DatabaseError as error:
        if isinstance(error, sqlite3.OperationalError) and str(error) in OPEN_REFUSED:
            raise SettingError(  # a folder or file this user may not write: "damaged" sent them to a backup
                f"LRS_DATA_DIR={str(path.parent)!r}: cannot open the embedded store's file {path.name} ({error}): "
                "this user must be able to write the folder and its files, even to read them (SQLite keeps its "
                "-wal and -shm files beside the store)") from None
        raise SettingError(
            f"LRS_DATA_DIR={str(path.parent)!r}: cannot read the embedded store's file {path.name} ({error}): "
            f"put back a backup of it, or salvage what it holds with `sqlite3 {path.name} .recover` "
            f"(docs/embedded-store.md, A damaged store file)") from None


@contextmanager
def _unusable_named(path: Path) -> Iterator[None]:
    """SQLite's own operational errors at open (the disk full, an I/O error, the file locked) say
    what is wrong with the place, not the file: one line, as for a folder that cannot be used."""
    try:
        yield
    except sqlite3.OperationalError as error:
        raise SettingError(f"LRS_DATA_DIR={str(path.parent)!r}: cannot keep the embedded store there: "
                           f"{error}{_space_left(path.parent, error)}") from None


def _space_left(folder: Path, error: sqlite3.OperationalError) -> str:
    """SQLite does not pass on the OS's error: a full disk reads "disk I/O error" when it fails
    to grow the -shm file, "database or disk is full" when it fails to grow the others."""
    if str(error) not in ("disk I/O error", "database or disk is full"):
        return ""
    return f" ({shutil.disk_usage(folder).free:,} bytes free on its disk)"


def claim_data_dir(data_dir: str) -> IO:
    """The lock on the store in `data_dir`, the folder created if missing."""
    folder = Path(data_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return _claim(folder / LOCK_FILE, lambda holder: _in_use(data_dir, holder))
    except OSError as error:
        # mkdir says "File exists" of a file where the folder should be
        reason = "it is a file, not a folder" if isinstance(error, FileExistsError) else error.strerror or error
        raise SettingError(f"LRS_DATA_DIR={data_dir!r}: cannot keep the embedded store there: {reason} (set "
                           "LRS_DATA_DIR to a folder this user may create and write)") from None


def _in_use(data_dir: str, holder: str) -> str:
    """Why the folder is refused. A sibling worker of the same gunicorn (`gunicorn -w 4
    lrs.wsgi:app`) is named as such: "another process" sent operators looking for a second server."""
    if _sibling_worker(holder):
        return (f"LRS_DATA_DIR={data_dir!r}: gunicorn worker {holder} of this same server holds this folder's "
                "embedded store, which lives in one process: run one worker (gunicorn -w 1, or `lrs serve`); "
                "several gunicorn workers need MongoDB (LRS_MONGO_URI)")
    return (f"LRS_DATA_DIR={data_dir!r}: another process (pid {holder}) uses this folder's embedded store; "
            "give this one another LRS_DATA_DIR, or stop that process (one process per folder: several "
            "gunicorn workers need MongoDB, LRS_MONGO_URI)")


def _sibling_worker(holder: str) -> bool:
    """Whether `holder` is another worker of the gunicorn whose worker this process is (Linux's
    /proc tells a process's parent; elsewhere the general reason stands)."""
    if not os.environ.get("SERVER_SOFTWARE", "").startswith("gunicorn"):
        return False
    try:
        stat = Path(f"/proc/{int(holder)}/stat").read_text()
    except (ValueError, OSError):
        return False
    return int(stat.rsplit(")", 1)[1].split()[1]) == os.getppid()


def read_document(data_dir: str, collection: str, identifier: Any) -> dict | None:
    """One stored document, read from the file (read-only) without loading the store: what `lrs
    serve` checks before gunicorn starts, in a process that must fork with no store open. The
    table has no index by id, so this reads all of it, as the worker's load does right after
    (0.1 s for 100,000 statements)."""
    path = Path(data_dir) / STORE_FILE
    if not path.exists():
        return None
    with unreadable_named(path), closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
        row = db.execute("SELECT body FROM documents WHERE collection = ? AND id = ?",
                         (collection, bson.encode({"_id": identifier}))).fetchone()
    return bson.decode(row[0]) if row else None


def claim_memory_store() -> IO | None:
    """A memory-only store inside a gunicorn worker: refuse when a sibling worker has one too."""
    if not os.environ.get("SERVER_SOFTWARE", "").startswith("gunicorn"):
        return None
    path = Path(tempfile.gettempdir()) / f"lrs-embedded-{os.getppid()}.lock"
    return _claim(path, lambda holder: (
        f"the memory-only embedded store (LRS_DATA_DIR is empty) is already in use by process {holder}. The "
        "embedded store keeps its data in one process's memory, so it runs in exactly one process: start "
        "one worker (`lrs serve` does; not `gunicorn -w 4`), or use MongoDB (LRS_MONGO_URI) for several processes."))


def _claim(path: Path, refusal: Callable[[str], str]) -> IO:
    """An exclusive lock on `path`, holding this process's pid; StoreInUse(refusal(holder's pid))
    if another process has it."""
    handle = open(path, "a+")  # noqa: SIM115 - held open for the process's life: it is the lock
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise StoreInUse(refusal(holder), holder) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle
