"""Statements posted to /api/xapi/statements: the actor comes from the session, duplicates vanish.

seeds/001: "the actor's account is automatically enriched from the authenticated session", and
"duplicate statements (same id) are silently ignored". So every statement gets the caller as its
actor (a different actor the client sent is kept in a context extension, so nothing is lost), and
statements whose id is already stored, or repeated in the batch, are not stored again, whatever
their content: the client still gets every id back, in order.

seeds/001's statements are xAPI 1.0.3, so a statement without a version is one. A statement
naming a 2.0.x version is validated as 2.0.0 when the LRS serves 2.0 (LRS_XAPI_VERSIONS), as the
native resource would; a batch is stored whole, so under one version: its statements must all be
1.0 or all 2.0.
"""
from __future__ import annotations

import uuid
from typing import Any

from lrs.core import LRS
from lrs.errors import Conflict, ItemErrors
from lrs.statements import WriteRights
from lrs_plugins.h5p.config import H5PConfig
from lrs_plugins.h5p.scores import without_empty_ranges

SEED_VERSION = "1.0.3"  # seeds/001's statement format
V2 = "2.0.0"
SOURCE = "h5p"
RACE_RETRIES = 3


def enriched(statement: Any, user_id: str, config: H5PConfig) -> Any:
    """The statement with the caller as actor, an id and (when it has none) version 1.0.3, the
    statement format of seeds/001, its scores (its SubStatement's too) without an empty range (see
    scores); non-objects are left for validation. A null id or actor is absent."""
    if not isinstance(statement, dict):
        return statement
    actor = config.actor(user_id)
    result = {"version": SEED_VERSION, **without_empty_ranges(statement), "actor": actor,
              "id": statement.get("id") or str(uuid.uuid4())}
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
    version = _version_of(statements, lrs.settings["xapi_versions"])
    errors = lrs.statements.check(statements, version)
    if errors:
        raise ItemErrors(errors)
    ids = [str(statement["id"]).lower() for statement in statements]
    for _ in range(RACE_RETRIES):
        fresh = _first_of_each_unknown(lrs, statements, ids)
        try:
            lrs.statements.store(fresh, authority=authority, version=version, source=SOURCE, rights=rights)
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


def _version_of(statements: list, served: tuple[str, ...]) -> str:
    """The xAPI version the batch is validated and stored as; ItemErrors naming the `version` of
    each 2.0 statement the LRS does not serve, or of another version than the first statement's."""
    versions = [V2 if _names_2_0(statement) else SEED_VERSION for statement in statements]
    if V2 in versions and V2 not in served:
        raise ItemErrors([(index, "version", "xAPI 2.0 statements are not accepted: this LRS serves xAPI "
                                             f"{', '.join(served)} only (LRS_XAPI_VERSIONS)")
                          for index, version in enumerate(versions) if version == V2])
    others = [(index, "version", f"must be {versions[0][:3]}.x like statement 0's: a request's statements are "
                                 "all xAPI 1.0 (or without a version) or all 2.0; send the others in another request")
              for index, version in enumerate(versions) if version != versions[0]]
    if others:
        raise ItemErrors(others)
    return versions[0] if versions else SEED_VERSION


def _names_2_0(statement: Any) -> bool:
    named = statement.get("version") if isinstance(statement, dict) else None
    return isinstance(named, str) and named.startswith("2.")
