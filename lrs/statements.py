"""Storing statements: the one path every statement takes, native or from an adapter.

Validation, the LRS-set properties, the same-id comparison rule and all-or-nothing batches live
here, so an adapter's statements are exactly as trustworthy as a client's.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Literal

from lrs.auth import DEFINE, Credential
from lrs.client_json import UnstorableJSON, check_storable
from lrs.errors import Conflict, ItemErrors, PayloadTooLarge, ServiceUnavailable, VoidingRefused
from lrs.store.statements import DuplicateStatements, StatementStore, UnstorableStatement
from lrs.xapi.agents import ifi_key
from lrs.xapi.equality import same_statement
from lrs.xapi.errors import XAPIValidationError
from lrs.xapi.formats import in_version
from lrs.xapi.prepare import prepare_statement
from lrs.xapi.timestamps import utc_now
from lrs.xapi.validation import VOIDED, validate_statement

MAX_RACE_ATTEMPTS = 40  # about 6 s of waiting for concurrent writers of the same ids


@dataclass(frozen=True)
class WriteRights:
    """What a writer's statements may do beyond being stored. The default is the least, so an
    adapter that forgets to say gets no more than its caller may have.

    - `define`: Activity definitions and Agent names refine the canonical ones (scope `define`).
    - `voids`: whose statements a voiding statement may void: `any` (an xAPI writer that reads
      every statement), `own` (only statements stored earlier, or in the same batch, under the same authority), or
      `none`. With `own`, a voiding statement naming an id not stored yet is refused rather than
      left waiting, or it would void whatever arrives later under that id.
    - `sees_others`: the writer may read every statement, so a stored id may be compared with
      what it sends (the same statement is a no-op). Without it, an id stored under another
      authority is a 409 whatever was sent: the answer says the id is taken, never whether a
      guess at its content was right.
    """

    define: bool = False
    voids: Literal["any", "own", "none"] = "own"
    sees_others: bool = False

    @classmethod
    def adapter(cls, credential: Credential, voids: Literal["own", "none"] = "own") -> "WriteRights":
        """An adapter writing for `credential`: it defines only with scope `define`, voids at most
        its own statements, and never learns what another credential's statements hold."""
        return cls(define=credential.allows(DEFINE), voids=voids)


class StatementService:
    def __init__(self, store: StatementStore, define: Callable[[list[dict]], None],
                 on_stored: Callable[[list[dict], str], None], max_batch: int = 1000):
        """`define` records the Activity definitions and Agent names of a stored batch whose
        writer may define; `on_stored` tells the plugins of every stored batch."""
        self.store_backend = store
        self._define = define
        self._on_stored = on_stored
        self.max_batch = max_batch

    def check(self, statements: list, version: str, path: str = "statement", *,
              read_by_client_json: bool = False) -> list[tuple[int, str, str]]:
        """Every invalid item as (index, JSON path, rule); empty when all are valid.

        A batch over LRS_MAX_STATEMENTS_PER_REQUEST is refused whole first (413): the cost of a
        request must be bounded by the LRS, not by the client.

        `read_by_client_json`: the statements are client JSON as `lrs.client_json.loads` returned
        it, which refused whatever the store cannot hold, so walking every value again for that
        would find nothing (it cost as much as all the xAPI rules). An adapter's statements, built
        by its own code, are checked here.
        """
        self.refuse_too_many(len(statements))
        errors = []
        for index, statement in enumerate(statements):
            try:
                if not read_by_client_json:
                    check_storable(statement, f"{path}[{index}]")
                validate_statement(statement, version, f"{path}[{index}]")
            except (XAPIValidationError, UnstorableJSON) as error:
                errors.append((index, error.path, error.rule))
        return errors

    def refuse_too_many(self, count: int, items: str = "statements", *, sent_in: str = "batches",
                        verb: str = "carry") -> None:
        """413 for more than LRS_MAX_STATEMENTS_PER_REQUEST items, before any is looked at: the LRS,
        not the client, bounds a request's cost, and a client does not fix every fault of a too
        large batch only to get a 413 then. Adapters count their events, and other writes, by it."""
        if count > self.max_batch:
            raise PayloadTooLarge(f"a request may {verb} at most {self.max_batch} {items} "
                                  f"(LRS_MAX_STATEMENTS_PER_REQUEST), not {count}; send smaller {sent_in}")

    def store(self, statements: list, *, authority: dict, version: str, source: str = "xapi",
              rights: WriteRights = WriteRights(), contents: frozenset[str] = frozenset(),
              read_by_client_json: bool = False) -> list[str]:
        """Validate, prepare and store a batch; returns the ids in order. All or nothing.

        `rights` say what the writer's statements may do (see WriteRights). `contents` are the
        sha2s of the attachment contents that came with this request: only those are served back
        with the statements (attachments=true), so declaring another statement's sha2 in a
        fileUrl-only attachment never serves that content. `read_by_client_json`: see `check`.

        Raises ItemErrors (400) for invalid statements, a repeated id in the batch, or voiding
        the rights do not allow,
        Conflict (409) when an id is already stored with a different statement, and
        ServiceUnavailable (503) when concurrent writers of the same ids kept it from settling.
        """
        errors = self.check(statements, version, read_by_client_json=read_by_client_json)
        if errors:
            raise ItemErrors(errors)
        prepared = [prepare_statement(s, authority=authority, version=version) for s in statements]
        ids = [statement["id"] for statement in prepared]
        _require_unique(ids)
        self._check_voiding(prepared, authority, rights.voids)
        for attempt in range(MAX_RACE_ATTEMPTS):
            known, in_flight = self.store_backend.find_settled(ids)
            if in_flight:
                # Another request is writing some of these ids: its batch may still fail, so
                # neither trust nor overwrite it; wait until it is visible or gone.
                self.store_backend.discard_stale(in_flight, utc_now())
                time.sleep(min(0.005 * 2 ** attempt, 0.2))
                continue
            new = self._without_known(prepared, known, authority, rights.sees_others, version)
            try:
                # One commit for the batch and its definitions, or none. In an HTTP request the
                # embedded store already holds its lock from the first change to the commit;
                # outside one (a plugin's thread, the CLI) this keeps a commit from falling between.
                with self.store_backend.atomically():
                    self.store_backend.insert_batch(new, source, contents)  # sets their stored times
                    if new and rights.define:
                        self._define(new)
            except DuplicateStatements:
                continue  # a concurrent writer got there first: compare again
            except UnstorableStatement as error:
                index = ids.index(new[error.index]["id"])
                raise ItemErrors([(index, f"statement[{index}]", error.rule)]) from None
            if new:
                self._on_stored(new, source)
            return ids
        raise ServiceUnavailable("statements with these ids are being written by another request; retry")

    def _check_voiding(self, prepared: list[dict], authority: dict, voids: str) -> None:
        """ItemErrors for voiding statements whose targets the rights do not cover."""
        if voids == "any":
            return
        voiding = {index: s["object"]["id"] for index, s in enumerate(prepared)
                   if s["verb"]["id"] == VOIDED and s["object"].get("objectType") == "StatementRef"}
        if not voiding:
            return
        own = set()
        if voids == "own":
            own = {s["id"] for s in prepared} | self.store_backend.stored_by(voiding.values(), ifi_key(authority))
        rule = ("may only void a statement stored earlier with the same credential" if voids == "own"
                else "this endpoint does not void statements")
        errors = [(index, f"statement[{index}].object.id", rule)
                  for index, target in voiding.items() if target not in own]
        if errors:
            raise VoidingRefused(errors)

    @staticmethod
    def _without_known(prepared: list[dict], known: dict[str, dict], authority: dict,
                       sees_others: bool, version: str) -> list[dict]:
        """The statements not stored yet; 409 if one is stored with different content, or (for a
        writer that cannot read it) stored under another authority. A stored statement is compared
        in the writer's version, as that writer reads it: a 1.0.x client resending a 2.0 statement
        as it got it (without contextAgents/contextGroups) sends the statement it holds."""
        for statement in prepared:
            existing = known.get(statement["id"])
            if existing is None:
                continue
            hidden = not sees_others and not same_authority(existing.get("authority"), authority)
            if hidden or not same_statement(in_version(existing, version), statement):
                unseen = "" if sees_others else ", or was stored by a credential whose statements this one cannot read"
                raise Conflict(f"statement {statement['id']} already exists with different content{unseen}")
        return [statement for statement in prepared if statement["id"] not in known]


def require_unique_ids(statements: list[dict]) -> None:
    """The ids valid statements give are unique: known before the LRS assigns the others, so a
    multipart request is refused on its first part, before its attachments are read."""
    _require_unique([statement["id"].lower() if "id" in statement else None for statement in statements])


def _require_unique(ids: list[str | None]) -> None:
    """A batch is stored whole under its ids, so one id twice is a 400 naming both statements
    (None: an id still to be assigned)."""
    first: dict[str, int] = {}
    for index, statement_id in enumerate(ids):
        if statement_id is None:
            continue
        earlier = first.setdefault(statement_id, index)
        if earlier != index:
            raise ItemErrors([(index, f"statement[{index}].id", f"{statement_id} is also the id of "
                               f"statement[{earlier}]; statement ids must be unique within a batch")])


def same_authority(stored: dict | None, authority: dict) -> bool:
    """Authorities are the same agent when their identifiers are (names may have changed since)."""
    if not isinstance(stored, dict):
        return False
    key = ifi_key(authority)
    return ifi_key(stored) == key if key else stored == authority
