"""Statements posted to /api/xapi/statements: the actor comes from the session, duplicates vanish.

seeds/001: "the actor's account is automatically enriched from the authenticated session", and
"duplicate statements (same id) are silently ignored". So every statement gets the caller as its
actor (a different actor the client sent is kept in a context extension, so nothing is lost), and
statements whose id is already stored, or repeated in the batch, are not stored again, whatever
their content: the client still gets every id back, in order.
"""
from __future__ import annotations

import uuid
from typing import Any

from lrs.core import LRS
from lrs.errors import Conflict, ItemErrors
from lrs.statements import WriteRights
from lrs_plugins.h5p.config import H5PConfig

XAPI_VERSION = "1.0.3"
SOURCE = "h5p"
RACE_RETRIES = 3


def enriched(statement: Any, user_id: str, config: H5PConfig) -> Any:
    """The statement with the caller as actor, an id and (when it has none) version 1.0.3, the
    statement format of seeds/001; non-objects are left for validation. A null id or actor is
    absent."""
    if not isinstance(statement, dict):
        return statement
    actor = config.actor(user_id)
    result = {"version": XAPI_VERSION, **statement, "actor": actor, "id": statement.get("id") or str(uuid.uuid4())}
    submitted = statement.get("actor")
    return result if submitted is None or submitted == actor else _keeping(result, submitted, config)


def _keeping(statement: dict, submitted: Any, config: H5PConfig) -> dict:
    """The statement with the actor the client sent in a context extension; a context or
    extensions that is not an object is left as sent, for validation to name."""
    context = statement.get("context", {})
    extensions = context.get("extensions", {}) if isinstance(context, dict) else None
    if not isinstance(extensions, dict):
        return statement
    extensions = {**extensions, config.extension("submitted-actor"): submitted}
    return {**statement, "context": {**context, "extensions": extensions}}


def store_ignoring_duplicates(lrs: LRS, statements: list, authority: dict, rights: WriteRights) -> list[str]:
    """Validate all, store the ones not stored yet; returns every statement's id in order.

    Raises ItemErrors indexed like `statements`. A concurrent writer storing one of the ids
    between our look-up and our write makes the core answer 409; the look-up is then repeated.
    """
    errors = lrs.statements.check(statements, XAPI_VERSION)
    if errors:
        raise ItemErrors(errors)
    ids = [str(statement["id"]).lower() for statement in statements]
    for _ in range(RACE_RETRIES):
        fresh = _first_of_each_unknown(lrs, statements, ids)
        try:
            lrs.statements.store(fresh, authority=authority, version=XAPI_VERSION, source=SOURCE, rights=rights)
        except Conflict:
            continue
        return ids
    raise Conflict("statements with these ids are being written concurrently; retry")


def _first_of_each_unknown(lrs: LRS, statements: list[dict], ids: list[str]) -> list[dict]:
    known = lrs.statement_store.settled_ids(set(ids))
    fresh = {}
    for statement_id, statement in zip(ids, statements, strict=True):
        if statement_id not in known and statement_id not in fresh:
            fresh[statement_id] = statement
    return list(fresh.values())
