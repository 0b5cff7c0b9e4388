"""Upserts by `_id` that lose their insert to a concurrent one.

Two processes upserting the same new `_id` at once: one inserts, the other's insert fails on the
unique `_id` index. MongoDB retries that itself for `update` (from 4.2) and for `findAndModify`
from 5.0, but 4.4, which the README supports, answers the findAndModify with a DuplicateKeyError
(SERVER-47212). The document exists by then, so the same upsert once more updates it.
"""
from __future__ import annotations

from typing import Any, Mapping

from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError


def find_one_and_upsert(collection: Collection, query: Mapping[str, Any], update: Mapping[str, Any],
                        **options: Any) -> Any:
    """`find_one_and_update(query, update, upsert=True, **options)`, again after a lost race."""
    try:
        return collection.find_one_and_update(query, update, upsert=True, **options)
    except DuplicateKeyError:
        return collection.find_one_and_update(query, update, upsert=True, **options)
