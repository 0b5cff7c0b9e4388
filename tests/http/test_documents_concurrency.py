"""Concurrent writers to one document, with real threads against a live server on each store: the
embedded one, and pymongo's commands over the wire (`either_store_app`), the path a MongoDB takes."""
from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

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
