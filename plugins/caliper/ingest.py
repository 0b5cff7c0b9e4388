"""Storing valid Caliper events as xAPI statements, idempotently, and keeping described entities.

Events go through the core's `lrs.statements.store` like any statement. Before that, ids already
stored are compared on the Caliper event kept in the statement: the same event again is a no-op
(however the session it was auto-attached to has changed since), a different event under a used
id is refused. All of one request's events are stored in one all-or-nothing batch.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass

from lrs.auth import Credential
from lrs.core import LRS
from lrs.errors import Conflict, ItemErrors, PayloadTooLarge
from lrs.statements import WriteRights, same_authority
from lrs.store.statements import MAX_DOCUMENT_BYTES
from lrs_plugins.caliper.mapping import EVENT_EXTENSION, XAPI_VERSION, Origin, statement
from lrs_plugins.caliper.values import canonical_event_id, derived_id, statement_id

PLUGIN_NAME = "caliper"
# The statement property a core validation error names -> the event property it was made from.
EVENT_FIELDS = {"actor": "actor", "verb": "action", "object": "object", "result": "generated",
                "timestamp": "eventTime"}


@dataclass(frozen=True)
class Item:
    """One event of a request: its index and JSON path there, and where it came from."""

    index: int
    path: str
    event: dict
    origin: Origin


def store_events(lrs: LRS, items: list[Item], credential: Credential) -> int:
    """Store the events not stored yet; how many were new. ItemErrors naming the items if any is refused.

    An id another client stored is refused whatever the event, so a client cannot learn what
    another client's event holds by guessing it. Caliper events never void, and define
    Activities only for a credential with scope `define`.

    Only settled statements count as stored: one in a batch still being written may yet be
    discarded, so its event goes to the core, which waits for that batch to settle. Revealed
    meanwhile with another statement for the same event (sent through another sensor or
    session), the core refuses it as a Conflict; the events are then compared again, as for
    any stored id."""
    try:
        return _store_new(lrs, items, credential)
    except Conflict:
        return _store_new(lrs, items, credential)


def check_events(lrs: LRS, items: list[Item], credential: Credential) -> None:
    """Every check `store_events` makes, storing nothing (POST /caliper/event/validate): the
    envelope's size, its ids against each other and against stored events, and the core's xAPI
    checks of the statements that would be stored."""
    batch = _fresh(lrs, items, credential)
    errors = lrs.statements.check([s for s, _ in batch], XAPI_VERSION)
    if errors:
        raise _as_event_errors(batch, errors)


def _store_new(lrs: LRS, items: list[Item], credential: Credential) -> int:
    batch = _fresh(lrs, items, credential)
    if not batch:
        return 0
    try:
        lrs.statements.store([s for s, _ in batch], authority=credential.authority, version=XAPI_VERSION,
                             source=PLUGIN_NAME, rights=WriteRights.adapter(credential, voids="none"))
    except ItemErrors as error:
        raise _as_event_errors(batch, error.errors) from error
    return len(batch)


def _fresh(lrs: LRS, items: list[Item], credential: Credential) -> list[tuple[dict, Item]]:
    """The statements of the events not stored yet, with their items. PayloadTooLarge for more
    events than LRS_MAX_STATEMENTS_PER_REQUEST (counted before any are found stored: a request's
    cost is bounded whatever the store holds); ItemErrors for an id used for a different event,
    in this request or stored."""
    lrs.statements.refuse_too_many(len(items), "events", sent_in="envelopes")
    known = lrs.statement_store.settled({statement_id(item.event["id"]) for item in items})
    problems, fresh = [], {}
    for item in items:
        sid = statement_id(item.event["id"])
        if sid in known:
            theirs = not same_authority(known[sid].get("authority"), credential.authority)
            earlier = None if theirs else _kept_event(known[sid])
        elif sid in fresh:
            earlier = fresh[sid][1].event
        else:
            fresh[sid] = (statement(item.event, item.origin), item)
            continue
        if not _same_event(earlier, item.event):
            problems.append((item.index, f"{item.path}.id", "this id was already used for a different event"))
    if problems:
        raise ItemErrors(problems)
    return list(fresh.values())


def _same_event(earlier: dict | None, event: dict) -> bool:
    """The same event, whichever spelling of its id each send used (`canonical_event_id`)."""
    return earlier is not None and _canonical(earlier) == _canonical(event)


def _canonical(event: dict) -> dict:
    return {**event, "id": canonical_event_id(event["id"])} if isinstance(event.get("id"), str) else event


def _as_event_errors(batch: list[tuple[dict, Item]], errors: list[tuple[int, str, str]]) -> ItemErrors:
    """The core's errors on the batch's statements, as errors on the events they were made from."""
    return ItemErrors([_event_problem(batch[index][1], path, rule) for index, path, rule in errors])


def _event_problem(item: Item, statement_path: str, rule: str) -> tuple[int, str, str]:
    """A core error on `statement[0].timestamp` -> on `$.data[3].eventTime`, the event property
    the statement property was made from, saying which statement property xAPI refused."""
    inside = re.sub(r"^statement\[\d+\]\.?", "", statement_path)
    field = EVENT_FIELDS.get(re.split(r"[.\[]", inside, maxsplit=1)[0])
    return item.index, f"{item.path}.{field}" if field else item.path, f"as xAPI, {inside or 'statement'}: {rule}"


def _kept_event(stored: dict) -> dict | None:
    extensions = (stored.get("context") or {}).get("extensions") or {}
    return extensions.get(EVENT_EXTENSION)


def check_entities(lrs: LRS, entities: list[dict]) -> None:
    """PayloadTooLarge for more entities described than LRS_MAX_STATEMENTS_PER_REQUEST, as for
    events: each is a write of its own, and only the body size bounded them (18 MB of Person
    describes held the embedded store for 22 s). And for an entity whose JSON one MongoDB
    document cannot hold (16 MB; the body limit allows 20 MB): MongoDB refuses its write,
    after the envelope's events are stored, while the embedded store would keep it."""
    lrs.statements.refuse_too_many(len(entities), "entities", sent_in="envelopes", verb="describe")
    for entity in entities:
        size = len(_entity_text(entity).encode())
        if size > MAX_DOCUMENT_BYTES:
            raise PayloadTooLarge(f"the entity {entity.get('id') or entity.get('type')} described in data is {size} "
                                  f"bytes as JSON; at most {MAX_DOCUMENT_BYTES} fit in one MongoDB document")


def _entity_text(entity: dict) -> str:
    return json.dumps(entity, ensure_ascii=False, separators=(",", ":"))


def keep_entities(lrs: LRS, entities: list[dict], sensor: str, client: str, now: dt.datetime) -> None:
    """Entities described in an envelope, the latest description per client and id, kept as sent
    (JSON text). Each client's descriptions are its own: one sensor's Person must not replace what
    another client said of the same IRI. Id-less typed objects (a SystemIdentifier, a selector)
    are keyed by a name-based id of their text."""
    collection = lrs.plugin_collection(PLUGIN_NAME, "entities")
    for entity in entities:
        raw = _entity_text(entity)
        described = entity.get("id") or derived_id(raw)
        collection.update_one(
            {"_id": entity_key(client, described)},
            {"$set": {"raw": raw, "type": entity["type"], "sensor": sensor, "updated": now},
             "$setOnInsert": {"client": client, "entityId": described, "created": now}},
            upsert=True)


def entity_key(client: str, entity_id: str) -> str:
    """`<client> <entity id>`: a credential key holds no space (lrs.settings.KEY_PATTERN), so the
    pair reads back unambiguously, and the upsert of one description is one document's."""
    return f"{client} {entity_id}"
