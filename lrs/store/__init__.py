"""MongoDB persistence. One pymongo `Database` serves every store class, real or embedded."""
from __future__ import annotations

import functools
import logging
import re
from typing import Any, Mapping

import pymongo
from pymongo.database import Database
from pymongo.errors import ConfigurationError, PyMongoError

from lrs.settings import SettingError, shown_uri, without_password
from lrs.store.embedded import embedded_database
from lrs.store.embedded.disk import read_document

log = logging.getLogger(__name__)
_CONFIGURED_TIMEOUTS = re.compile(r" \(configured timeouts: [^)]*\)")
_NEXT_SERVER = re.compile(r",(?=[^\s,]+:\d+: )")  # the comma before "host:port: reason"

MEMORY_WARNING = (
    "LRS_MONGO_URI and LRS_DATA_DIR are empty: using the EMBEDDED store in memory only. Data is NOT "
    "durable: it is lost when the process stops. Set LRS_DATA_DIR=<folder> to keep it on disk."
)


def connect(uri: str, database: str, data_dir: str = "") -> Database:
    """A database on a real MongoDB when `uri` is given, otherwise on the embedded store
    (kept in `data_dir`, or in memory only when it is empty). A malformed URI is a SettingError
    (it does not show the password); pymongo says so with a ValueError for some (a bad port)."""
    if not uri:
        return embedded_database(database, data_dir)
    try:
        return pymongo.MongoClient(uri, tz_aware=True)[database]
    except (ConfigurationError, ValueError) as error:
        raise _refused(uri, short_reason(error)) from None


def check_reachable(uri: str, timeout_seconds: float) -> None:
    """Ping the server once, waiting at most `timeout_seconds`: an operator whose MongoDB is not
    there hears so at once, in one line, instead of after pymongo's 30 s and a traceback. (The
    client serving requests keeps pymongo's longer wait, which rides out replica set elections.)"""
    try:
        with pymongo.MongoClient(uri, serverSelectionTimeoutMS=int(timeout_seconds * 1000),
                                 connectTimeoutMS=int(timeout_seconds * 1000)) as client:
            client.admin.command("ping")
    except (ConfigurationError, ValueError) as error:
        raise _refused(uri, short_reason(error)) from None
    except PyMongoError as error:
        raise _refused(uri, f"no MongoDB server answered within {timeout_seconds:g} s "
                            f"(LRS_MONGO_TIMEOUT_SECONDS): {short_reason(error)}") from None


def _refused(uri: str, reason: str) -> SettingError:
    """The one line for a URI pymongo refused or could not reach. pymongo reads an unescaped
    password's pieces as hosts or a database and names them in its reason: those are hidden too."""
    return SettingError(f"LRS_MONGO_URI={shown_uri(uri)!r}: {without_password(uri, reason)}")


def short_reason(error: Exception) -> str:
    """pymongo's error without what makes it long: the topology description after ", Timeout:",
    and the configured timeouts repeated after each server's reason. Each server's own reason is
    kept (`127.0.0.1:27017: [Errno 111] Connection refused`), however many there are."""
    text = _CONFIGURED_TIMEOUTS.sub("", str(error)).split(", Timeout:")[0]
    text = _NEXT_SERVER.sub(", ", text)  # pymongo joins the servers' reasons with a bare comma
    return " ".join(text.split())[:300]


def read_before_start(settings: Mapping[str, Any], collection: str, identifier: Any) -> dict | None:
    """One stored document, read without opening the store for good (`lrs serve`'s master process
    forks its workers with no store client): from MongoDB with a short-lived client, from the
    embedded store's file, or None from a memory-only store, which starts empty."""
    uri = settings["mongo_uri"]
    if uri:
        timeout = int(settings["mongo_timeout_seconds"] * 1000)
        try:
            with pymongo.MongoClient(uri, serverSelectionTimeoutMS=timeout, connectTimeoutMS=timeout) as client:
                return client[settings["mongo_db"]][collection].find_one({"_id": identifier})
        except PyMongoError as error:
            raise _refused(uri, short_reason(error)) from None
    return read_document(settings["data_dir"], collection, identifier) if settings["data_dir"] else None


@functools.cache
def warn_embedded() -> None:
    """Said once per process (at start, when logging is set up), however many stores it opens."""
    log.warning(MEMORY_WARNING)
