"""Concurrent writers to one document, with real threads against a live server on each store: the
embedded one, and pymongo's commands over the wire (`either_store_app`), the path a MongoDB takes."""
from __future__ import annotations

import datetime as dt
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from email.utils import format_datetime

import pytest
import requests

from tests.conftest import LiveServer, basic_auth

HEADERS = {"Authorization": basic_auth(), "X-Experience-API-Version": "2.0.0"}
QUERY = {"activityId": "http://example.com/activities/race", "profileId": "race"}
WRITERS = 8


@pytest.fixture
def live_server(either_store_app):
    with LiveServer(either_store_app) as server:
        yield server


def url(live_server) -> str:
    return live_server.url + "/xapi/activities/profile"


def at_once(count: int, call) -> list:
    """Run call(i) in `count` threads released together by a barrier."""
    barrier = threading.Barrier(count)

    def run(i: int):
        barrier.wait(timeout=10)
        return call(i)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def test_if_match_races_have_exactly_one_winner_and_no_mixed_document(live_server):
    session = requests.Session()
    created = session.put(url(live_server), params=QUERY, json={"round": -1},
                          headers={**HEADERS, "If-None-Match": "*"}, timeout=10)
    assert created.status_code == 204
    for round_ in range(5):
        etag = session.get(url(live_server), params=QUERY, headers=HEADERS, timeout=10).headers["ETag"]
        bodies = [{"round": round_, "writer": i, "payload": [i] * 1000} for i in range(WRITERS)]

        def write(i: int, bodies: list = bodies, etag: str = etag) -> int:
            return requests.put(url(live_server), params=QUERY, json=bodies[i],
                                headers={**HEADERS, "If-Match": etag}, timeout=10).status_code

        codes = at_once(WRITERS, write)
        assert sorted(codes) == [204] + [412] * (WRITERS - 1), codes
        stored = session.get(url(live_server), params=QUERY, headers=HEADERS, timeout=10).json()
        assert stored == bodies[codes.index(204)]


def test_concurrent_merges_lose_no_key(live_server):
    session = requests.Session()

    def merge(i: int) -> int:
        return requests.post(url(live_server), params=QUERY, data=json.dumps({f"key{i}": i}),
                             headers={**HEADERS, "Content-Type": "application/json"}, timeout=10).status_code

    assert at_once(WRITERS, merge) == [204] * WRITERS
    stored = session.get(url(live_server), params=QUERY, headers=HEADERS, timeout=10).json()
    assert stored == {f"key{i}": i for i in range(WRITERS)}


@pytest.mark.parametrize("content, later, status", [
    pytest.param(b'{"a": 1}', dt.timedelta(seconds=2), 412, id="the same content two seconds later"),
    pytest.param(b'{"b": 2}', dt.timedelta(milliseconds=500), 204, id="other content within the same second"),
])
def test_a_delete_if_unmodified_since_is_decided_by_the_record_it_deletes(either_store_app, live_server, monkeypatch,
                                                                          content, later, status):
    """Another client's PUT lands between the DELETE's read and its delete. The date is checked on
    the record the delete then removes only if it is still that one: a rewrite of the same content
    after the date (the same ETag) is a 412, not a delete of a document modified since; a write
    within the date's second is not modified after it (RFC 9110 13.1.4, at an HTTP-date's second),
    so the delete goes ahead instead of failing for a change the date cannot tell."""
    clock = [dt.datetime(2026, 1, 5, 10, 0, 0, 100000, tzinfo=dt.timezone.utc)]
    monkeypatch.setattr("lrs.http.documents.utc_now", lambda: clock[0])
    json_headers = {**HEADERS, "Content-Type": "application/json"}
    assert requests.put(url(live_server), params=QUERY, data=b'{"a": 1}', timeout=10,
                        headers={**json_headers, "If-None-Match": "*"}).status_code == 204
    etag = requests.get(url(live_server), params=QUERY, headers=HEADERS, timeout=10).headers["ETag"]
    collection = either_store_app.extensions["lrs"].documents.collection
    read, writes, fired = collection.find_one, [], threading.Event()

    def another_client_writes() -> None:
        writes.append(requests.put(url(live_server), params=QUERY, data=content, timeout=10,
                                   headers={**json_headers, "If-Match": etag}).status_code)

    def read_then_another_client_writes(*args, **kwargs):
        found = read(*args, **kwargs)
        if not fired.is_set():  # the DELETE's first read; the writer's own reads pass through
            fired.set()
            clock[0] += later
            writer = threading.Thread(target=another_client_writes)
            writer.start()
            writer.join(timeout=10)
        return found

    monkeypatch.setattr(collection, "find_one", read_then_another_client_writes)
    response = requests.delete(url(live_server), params=QUERY, timeout=10, headers={
        **HEADERS, "If-Unmodified-Since": format_datetime(dt.datetime(2026, 1, 5, 10, 0, 0, tzinfo=dt.timezone.utc),
                                                          usegmt=True)})
    assert writes == [204]
    assert response.status_code == status, response.text
    after = requests.get(url(live_server), params=QUERY, headers=HEADERS, timeout=10)
    if status == 412:
        assert response.json()["error"]["message"].startswith(
            "If-Unmodified-Since: the document was modified after that date (Last-Modified is now "
            "Mon, 05 Jan 2026 10:00:02 GMT)")
        assert after.content == content and after.headers["Last-Modified"] == "Mon, 05 Jan 2026 10:00:02 GMT"
    else:
        assert after.status_code == 404
