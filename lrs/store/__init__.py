"""MongoDB persistence. One pymongo `Database` serves every store class, real or embedded."""
from __future__ import annotations

import functools
import logging

import pymongo
from pymongo.database import Database

from lrs.store.embedded import embedded_database

log = logging.getLogger(__name__)

MEMORY_WARNING = (
    "LRS_MONGO_URI and LRS_DATA_DIR are empty: using the EMBEDDED store in memory only. Data is NOT "
    "durable: it is lost when the process stops. Set LRS_DATA_DIR=<folder> to keep it on disk."
)


def connect(uri: str, database: str, data_dir: str = "") -> Database:
    """A database on a real MongoDB when `uri` is given, otherwise on the embedded store
    (kept in `data_dir`, or in memory only when it is empty)."""
    if uri:
        return pymongo.MongoClient(uri, tz_aware=True)[database]
    return embedded_database(database, data_dir)


@functools.cache
def warn_embedded() -> None:
    """Said once per process (at start, when logging is set up), however many stores it opens."""
    log.warning(MEMORY_WARNING)
