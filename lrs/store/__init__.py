"""MongoDB persistence. One pymongo `Database` serves every store class, real or embedded."""
from __future__ import annotations

import functools
import logging

import pymongo
from pymongo.database import Database

from lrs.store.embedded import embedded_database

log = logging.getLogger(__name__)

EMBEDDED_WARNING = (
    "LRS_MONGO_URI is not set: using the EMBEDDED in-process store. Data is NOT durable and is "
    "lost when the process stops. Set LRS_MONGO_URI=mongodb://... for production."
)


def connect(uri: str, database: str) -> Database:
    """A database on a real MongoDB when `uri` is given, otherwise on the embedded store."""
    if uri:
        return pymongo.MongoClient(uri, tz_aware=True)[database]
    return embedded_database(database)


@functools.cache
def warn_embedded() -> None:
    """Said once per process (at start, when logging is set up), however many stores it opens."""
    log.warning(EMBEDDED_WARNING)
