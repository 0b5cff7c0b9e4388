"""Caliper reads only settled statements: an event in a batch still being written (pending) is
neither trusted as stored by a re-send nor listed by GET /caliper/events, since that batch may
still be discarded. Another writer's batch is made here from a stored event by putting its
statement back in the state between insert and reveal."""
from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from typing import Any

from lrs.statements import utc_now
from lrs.store.statements import STALE_PENDING
from lrs_plugins.caliper.values import statement_id
from tests.plugins.caliper_support import SEED_002_EVENTS, XAPI_HEADERS, bearer, caliper_app_fixture, envelope, token

app = caliper_app_fixture()


def send(client: Any, access: str, event: dict, sensor: str = "https://alpharead.alpha.school") -> Any:
    return client.post("/caliper/event", data=json.dumps(dict(envelope(event), sensor=sensor)),
                       headers=bearer(access), content_type="application/json")


def make_pending(app: Any, event: dict, stored: dt.datetime) -> tuple[Any, str, str]:
    """The event's statement as a batch of another writer, between its insert and its reveal."""
    store = app.extensions["lrs"].statement_store
    sid, batch = statement_id(event["id"]), uuid.uuid4().hex
    store.collection.update_one({"_id": sid}, {"$set": {"pending": batch}})
    store.batches.insert_one({"_id": batch, "stored": stored, "ids": [sid]})
    return store, sid, batch


def listed(client: Any, access: str) -> list[str]:
    return [event["externalId"] for event in client.get("/caliper/events", headers=bearer(access)).get_json()["events"]]


def test_a_resend_is_stored_when_the_batch_holding_its_id_is_rolled_back(app: Any, client: Any) -> None:
    access, event = token(client), dict(SEED_002_EVENTS[1], id=f"urn:uuid:{uuid.uuid4()}")
    assert send(client, access, event).status_code == 200
    # a writer that crashed before revealing: its batch is discarded by the next write of the id
    store, sid, _ = make_pending(app, event, utc_now() - STALE_PENDING - dt.timedelta(seconds=1))

    body = send(client, access, event).get_json()

    assert (body["stored"], body["alreadyStored"]) == (1, 0)  # not "already stored": it was not, yet
    assert client.get(f"/xapi/statements?statementId={sid}", headers=XAPI_HEADERS).status_code == 200
    assert store.batches.count_documents({}) == 0
    assert listed(client, access) == [event["id"]]


def test_the_listing_never_shows_an_event_of_a_batch_still_being_written(app: Any, client: Any) -> None:
    access, event = token(client), dict(SEED_002_EVENTS[1], id=f"urn:uuid:{uuid.uuid4()}")
    send(client, access, event)
    store, sid, batch = make_pending(app, event, utc_now())

    assert listed(client, access) == []
    assert client.get(f"/caliper/events/{event['id']}", headers=bearer(access)).status_code == 404

    store._reveal(batch, [sid])
    assert listed(client, access) == [event["id"]]
    assert client.get(f"/caliper/events/{event['id']}", headers=bearer(access)).status_code == 200


def test_a_resend_waits_for_the_pending_batch_and_then_is_already_stored(app: Any, client: Any) -> None:
    """Sent again through another sensor, the event maps to another statement: once the pending
    batch is revealed the core sees a different statement under the id, and Caliper, comparing
    events as it does for any stored id, answers that the event was already stored."""
    access, event = token(client), dict(SEED_002_EVENTS[1], id=f"urn:uuid:{uuid.uuid4()}")
    send(client, access, event)
    store, sid, batch = make_pending(app, event, utc_now())
    reveal = threading.Timer(0.2, store._reveal, args=(batch, [sid]))
    reveal.start()
    try:
        response = send(client, access, event, sensor="https://another-sensor.example.com")
    finally:
        reveal.join()

    assert response.status_code == 200, response.get_json()
    assert (response.get_json()["stored"], response.get_json()["alreadyStored"]) == (0, 1)
