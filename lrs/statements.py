"""Storing statements: the one path every statement takes, native or from an adapter.

Validation, the LRS-set properties, the same-id comparison rule and all-or-nothing batches live
here, so an adapter's statements are exactly as trustworthy as a client's.
"""
from __future__ import annotations

import datetime as dt
import time
from typing import Callable

from lrs.client_json import UnstorableJSON, check_storable
from lrs.errors import BadRequest, Conflict, ItemErrors, ServiceUnavailable
from lrs.store.statements import DuplicateStatements, StatementStore, UnstorableStatement
from lrs.xapi.equality import same_statement
from lrs.xapi.errors import XAPIValidationError
from lrs.xapi.prepare import prepare_statement
from lrs.xapi.validation import validate_statement

MAX_RACE_ATTEMPTS = 40  # about 6 s of waiting for concurrent writers of the same ids


def utc_now() -> dt.datetime:
    """Now, at the millisecond precision MongoDB keeps, so stored values compare as returned."""
    now = dt.datetime.now(dt.timezone.utc)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class StatementService:
    def __init__(self, store: StatementStore, on_stored: Callable[[list[dict], str, bool], None]):
        self.store_backend = store
        self._on_stored = on_stored

    def check(self, statements: list, version: str, path: str = "statement") -> list[tuple[int, str, str]]:
        """Every invalid item as (index, JSON path, rule); empty when all are valid."""
        errors = []
        for index, statement in enumerate(statements):
            try:
                check_storable(statement, f"{path}[{index}]")
                validate_statement(statement, version, f"{path}[{index}]")
            except (XAPIValidationError, UnstorableJSON) as error:
                errors.append((index, error.path, error.rule))
        return errors

    def store(self, statements: list, *, authority: dict, version: str, source: str = "xapi",
              define: bool = True) -> list[str]:
        """Validate, prepare and store a batch; returns the ids in order. All or nothing.

        `define` False (a credential without the `define` scope) keeps the statements' Activity
        definitions and Agent names out of the canonical ones.

        Raises ItemErrors (400) for invalid statements, BadRequest for a repeated id in the batch,
        Conflict (409) when an id is already stored with a different statement, and
        ServiceUnavailable (503) when concurrent writers of the same ids kept it from settling.
        """
        errors = self.check(statements, version)
        if errors:
            raise ItemErrors(errors)
        stored = utc_now()
        prepared = [prepare_statement(s, authority=authority, stored=stored, version=version) for s in statements]
        ids = [statement["id"] for statement in prepared]
        if len(set(ids)) != len(ids):
            raise BadRequest("statement ids must be unique within a batch")
        for attempt in range(MAX_RACE_ATTEMPTS):
            known, in_flight = self.store_backend.find_settled(ids)
            if in_flight:
                # Another request is writing some of these ids: its batch may still fail, so
                # neither trust nor overwrite it; wait until it is visible or gone.
                self.store_backend.discard_stale(in_flight, utc_now())
                time.sleep(min(0.005 * 2 ** attempt, 0.2))
                continue
            new = self._without_known(prepared, known)
            try:
                self.store_backend.insert_batch(new, stored, source)
            except DuplicateStatements:
                continue  # a concurrent writer got there first: compare again
            except UnstorableStatement as error:
                index = ids.index(new[error.index]["id"])
                raise ItemErrors([(index, f"statement[{index}]", error.rule)]) from None
            if new:
                self._on_stored(new, source, define)
            return ids
        raise ServiceUnavailable("statements with these ids are being written by another request; retry")

    @staticmethod
    def _without_known(prepared: list[dict], known: dict[str, dict]) -> list[dict]:
        """The statements not stored yet; 409 if one is stored with different content."""
        for statement in prepared:
            existing = known.get(statement["id"])
            if existing is not None and not same_statement(existing, statement):
                raise Conflict(f"statement {statement['id']} already exists with different content")
        return [statement for statement in prepared if statement["id"] not in known]
