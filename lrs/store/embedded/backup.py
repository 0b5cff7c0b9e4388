"""`lrs backup` and `lrs restore`: a copy of the embedded store, consistent while the server
writes, and put back whole while it is stopped.

SQLite's online backup copies the file page by page. Copied in steps, as the `sqlite3` tool's
`.backup` does (100 pages a step, letting go of the file in between), it starts over whenever
the server commits between two steps: under a steady write load it never ends (a 73 MB store
with five clients writing: unfinished after 120 s). Copied in one step, it reads one snapshot
under one read transaction, which the server's commits neither disturb nor wait for (in WAL mode
a reader and the writer do not block each other): 0.5-0.9 s for that store, under that load. The
snapshot holds every commit made before it began, and each commit is a whole request, so the copy
holds whole requests only. While it is read, the server's log cannot start over past it: the log
grows by what the server writes meanwhile, and is cut back by the checkpoints after.

The copy is written beside its destination and renamed into place once it is whole, checked and
on disk: an interrupted backup never leaves a file that looks like one, nor spoils an earlier one
of the same name.

A restore must not leave the replaced store's log (`store.sqlite3-wal`) beside the restored file:
SQLite cannot tell whose log it is, applies it at the next open, and the file is damaged. So
`restore` removes the log files before the checked copy takes the store's place, under the data
folder's lock, which a running server holds: a restore under a running server is refused.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import time
from contextlib import closing, suppress
from dataclasses import dataclass
from pathlib import Path

from lrs.settings import SettingError
from lrs.store.embedded.disk import STORE_FILE, claim_data_dir, unreadable_named, version_of

READ_WAIT_MS = 5000  # a reader waits only while the server starts its log over: a moment


@dataclass(frozen=True)
class Backup:
    path: Path
    size: int
    statements: int
    seconds: float


def back_up(data_dir: str, destination: str) -> Backup:
    """Copy the store of `data_dir` (a server may be running on it) to the file `destination`."""
    started = time.monotonic()
    source = store_file(data_dir, "back up")
    target = _destination(Path(destination), source.parent)
    partial = target.with_name(target.name + ".partial")
    try:
        _copy(source, partial)
        statements = _checked(partial)
        _sync(partial)
        os.replace(partial, target)
        _sync(target.parent)
    except (sqlite3.Error, OSError) as error:
        raise SettingError(f"could not write the backup {str(target)!r}: {error}") from None
    finally:
        _remove(partial)
    return Backup(target, target.stat().st_size, statements, time.monotonic() - started)


def restore(backup: str, data_dir: str) -> Backup:
    """Make the file `backup` the store of `data_dir` (created if missing), no server running on it."""
    started = time.monotonic()
    source = Path(backup)
    store = Path(data_dir) / STORE_FILE
    if not source.is_file():
        raise SettingError(f"{backup!r}: no backup file there")
    if source.resolve() == store.resolve():  # its log, which holds its latest writes, would be removed
        raise SettingError(f"{backup!r} is the store of LRS_DATA_DIR={data_dir!r} itself, not a backup of it")
    lock = claim_data_dir(data_dir)
    partial = store.with_name(store.name + ".partial")
    try:
        shutil.copyfile(source, partial)
        statements = _checked(partial)
        _sync(partial)
        for log in ("-wal", "-shm"):  # first: a crash after this leaves the old store whole, without its log
            with suppress(FileNotFoundError):
                store.with_name(store.name + log).unlink()
        os.replace(partial, store)
        _sync(store.parent)
    except (sqlite3.Error, OSError, SettingError) as error:
        raise SettingError(f"cannot restore {backup!r} (the store in LRS_DATA_DIR={data_dir!r} is left as it "
                           f"was): {error}") from None
    finally:
        _remove(partial)
        lock.close()
    return Backup(store, store.stat().st_size, statements, time.monotonic() - started)


def store_file(data_dir: str, to: str) -> Path:
    """The store's file in `data_dir`, which must exist: a command reading it (`to` back up, to
    copy) names the folder rather than creating an empty store there."""
    source = Path(data_dir) / STORE_FILE
    if not source.is_file():
        raise SettingError(f"LRS_DATA_DIR={data_dir!r}: no embedded store to {to} there (no {STORE_FILE})")
    return source


def _destination(target: Path, store_folder: Path) -> Path:
    """The backup's file: a new or existing file (replaced once the copy is whole), outside the
    data folder, which a restore replaces with everything in it."""
    if target.is_dir():
        raise SettingError(f"{str(target)!r} is a folder: name the backup's file, e.g. {str(target / 'lrs-backup.sqlite3')!r}")
    if not target.parent.is_dir():
        raise SettingError(f"{str(target)!r}: its folder {str(target.parent)!r} does not exist")
    if target.parent.resolve() == store_folder.resolve():
        raise SettingError(f"{str(target)!r} is in the data folder itself (LRS_DATA_DIR): a restore replaces that "
                           "folder, and the store's own files are there; write the backup elsewhere")
    return target


def _copy(source: Path, partial: Path) -> None:
    """All pages in one step (pages=-1): one snapshot, never started over by the server's commits.
    The source is opened read-write but never created (mode=rw): SQLite's WAL readers need to write
    the -shm index, and a missing file is an error rather than a new empty store."""
    _remove(partial)
    with unreadable_named(source):
        store = sqlite3.connect(f"{source.resolve().as_uri()}?mode=rw", uri=True)
    with closing(store):
        with unreadable_named(source):  # of the store, in one line: not the backup's errors (its disk full)
            store.execute(f"PRAGMA busy_timeout = {READ_WAIT_MS}")
            version_of(store, source)
        with closing(sqlite3.connect(partial)) as copy:
            store.backup(copy, pages=-1)


def _checked(copy_path: Path) -> int:
    """SQLite's own check of the copy (every page, every row well formed), and that this release
    reads its tables; its statement count."""
    with closing(sqlite3.connect(copy_path)) as copy:
        version_of(copy, copy_path)
        [verdict] = copy.execute("PRAGMA quick_check").fetchone()
        if verdict != "ok":
            raise sqlite3.DatabaseError(f"the copy fails SQLite's check: {verdict}")
        [statements] = copy.execute("SELECT count(*) FROM documents WHERE collection = 'statements'").fetchone()
    return statements


def _remove(partial: Path) -> None:
    """A partial copy, with the journal SQLite leaves beside it when writing it failed (disk full)."""
    for suffix in ("", "-journal", "-wal", "-shm"):
        with suppress(FileNotFoundError):
            partial.with_name(partial.name + suffix).unlink()


def _sync(path: Path) -> None:
    """A file's contents, or a folder's entries, on disk: the backup survives a power cut once reported."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
