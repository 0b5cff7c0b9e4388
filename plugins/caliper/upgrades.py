"""Bringing what earlier releases of the plugin stored to this release's form, once per store.

As the core's `StatementStore.upgrade`: each step is recorded when done (in the plugin's own
`plugin.caliper.upgrades`; a start with nothing to do reads only those records) and is
idempotent, so a crash or a second process starting beside this one mid-way is harmless.
"""
from __future__ import annotations

from itertools import islice
from typing import Callable, Iterable, Iterator, TypeVar

from lrs.core import LRS
from lrs.xapi.timestamps import utc_now
from lrs_plugins.caliper.ingest import PLUGIN_NAME, entity_key
from lrs_plugins.caliper.stored_events import actor_email, kept_event
from lrs_plugins.caliper.values import canonical_event_id

ENTITIES_BY_CLIENT = "entities-by-client"
EVENTS_TYPE_AND_EMAIL = "events-index-type-and-email"
SESSION_EVENT_IDS = "session-event-ids-canonical"
SESSION_EVENTS = ("login_event", "close_event")
UNKNOWN_CLIENT = ""  # no credential key is empty (lrs.settings.KEY_PATTERN): no client's own
T = TypeVar("T")


def upgrade(lrs: LRS) -> None:
    steps: tuple[tuple[str, Callable[[LRS], None]], ...] = (
        (ENTITIES_BY_CLIENT, _entities_by_client), (EVENTS_TYPE_AND_EMAIL, _events_type_and_email),
        (SESSION_EVENT_IDS, _session_event_ids))
    done = lrs.plugin_collection(PLUGIN_NAME, "upgrades")
    for step, run in steps:
        if done.find_one({"_id": step}) is None:
            run(lrs)
            done.update_one({"_id": step}, {"$set": {"at": utc_now()}}, upsert=True)


def _entities_by_client(lrs: LRS) -> None:
    """Entities kept by id alone (releases before entities were kept per client) move to the key of
    the client that described them. The store never recorded that client; the events index did
    record which clients sent events through each sensor, so an entity described through a sensor
    only one client ever used is that client's. Any other is kept under no client's key: no
    client's description replaces it, none reads it, and erasing the person still removes it."""
    entities = lrs.plugin_collection(PLUGIN_NAME, "entities")
    if entities.find_one({"client": {"$exists": False}}, {"_id": 1}) is None:
        return  # nothing kept by an earlier release: the events index is not read
    owners = _clients_by_sensor(lrs)
    for chunk in _chunks(entities.find({"client": {"$exists": False}})):
        for old in chunk:
            clients = owners.get(old.get("sensor"), set())
            client = next(iter(clients)) if len(clients) == 1 else UNKNOWN_CLIENT
            fields = {name: value for name, value in old.items() if name != "_id"}
            entities.update_one({"_id": entity_key(client, old["_id"])},
                                {"$setOnInsert": {**fields, "client": client, "entityId": old["_id"]}}, upsert=True)
            entities.delete_one({"_id": old["_id"], "client": {"$exists": False}})


def _clients_by_sensor(lrs: LRS) -> dict[str, set[str]]:
    owners: dict[str, set[str]] = {}
    for entry in lrs.plugin_collection(PLUGIN_NAME, "events").find({}, {"sensor": 1, "client": 1}):
        owners.setdefault(entry.get("sensor"), set()).add(entry.get("client"))
    return owners


def _events_type_and_email(lrs: LRS) -> None:
    """Index entries an earlier release wrote lack the event's `type` (the `eventType` filter) and
    hold `actorEmail` as sent: both are read again from the events their statements keep. An entry
    whose statement is gone gets type None, so that it is not read again."""
    index = lrs.plugin_collection(PLUGIN_NAME, "events")
    for chunk in _chunks(index.find({"type": {"$exists": False}}, {"_id": 1})):
        statements = lrs.statement_store.settled(entry["_id"] for entry in chunk)
        for entry in chunk:
            event = kept_event(statements.get(entry["_id"]))
            fields = {"type": event.get("type"), "actorEmail": actor_email(event.get("actor"))} if event \
                else {"type": None}
            index.update_one({"_id": entry["_id"]}, {"$set": fields})


def _session_event_ids(lrs: LRS) -> None:
    """Sessions written before event ids had one spelling keep their LoggedIn and closing events'
    ids as the client spelled them (`urn:uuid:C515...`), where a retried logout looks the closing
    event up by `canonical_event_id`: a retry spelled in another case then found no session to
    answer from. Each takes its canonical spelling; one that has it already is not written again."""
    sessions = lrs.plugin_collection(PLUGIN_NAME, "sessions")
    for chunk in _chunks(sessions.find({}, {name: 1 for name in SESSION_EVENTS})):
        for session in chunk:
            spelled = {name: canonical_event_id(session[name]) for name in SESSION_EVENTS if session.get(name)}
            changed = {name: value for name, value in spelled.items() if value != session[name]}
            if changed:
                sessions.update_one({"_id": session["_id"]}, {"$set": changed})


def _chunks(items: Iterable[T], size: int = 500) -> Iterator[list[T]]:
    """One iterator read in lists of `size`: the embedded store's cursor starts again at each iter()."""
    cursor = iter(items)
    return iter(lambda: list(islice(cursor, size)), [])
