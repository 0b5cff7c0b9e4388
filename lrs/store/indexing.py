"""Indexes as this release declares them, created at every start whatever an earlier one left.

`create_index` is idempotent only for an identical declaration. An index whose options changed
between releases (`seq_-1` was unique once) keeps its generated name, and MongoDB then refuses
the new declaration (IndexOptionsConflict, code 85, or IndexKeySpecsConflict, 86, from 5.0),
as does mongomock: the store would not start after the upgrade. Such an index is dropped and
built again as declared.
"""
from __future__ import annotations

import logging
from typing import Any, Sequence

from pymongo.collection import Collection
from pymongo.errors import OperationFailure

log = logging.getLogger(__name__)

CONFLICT_CODES = {85, 86}
MONGOMOCK_CONFLICT = "already exists with different options"
INDEX_NOT_FOUND, MONGOMOCK_NOT_FOUND = 27, "index not found"


def declare_index(collection: Collection, keys: str | Sequence[tuple[str, Any]], **options: Any) -> str:
    """`collection.create_index(keys, **options)`, replacing an index of the same name declared
    otherwise by an earlier release."""
    try:
        return collection.create_index(keys, **options)
    except OperationFailure as error:
        if error.code not in CONFLICT_CODES and MONGOMOCK_CONFLICT not in str(error):
            raise
    name = options.get("name") or _generated_name(keys)
    log.warning("index %s of %s was declared with other options by an earlier release: building it again",
                name, collection.name)
    try:
        collection.drop_index(name)
    except OperationFailure as error:  # another process starting beside this one dropped it first
        if error.code != INDEX_NOT_FOUND and MONGOMOCK_NOT_FOUND not in str(error):
            raise
    return collection.create_index(keys, **options)


def _generated_name(keys: str | Sequence[tuple[str, Any]]) -> str:
    """The name pymongo gives an index of these keys."""
    pairs = [(keys, 1)] if isinstance(keys, str) else keys
    return "_".join(f"{field}_{direction}" for field, direction in pairs)
