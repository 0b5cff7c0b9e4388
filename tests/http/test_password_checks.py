"""Password checks: an unknown key costs what a wrong secret costs (no key-existence oracle), and
repeated failures for one key or one client address are answered 429 without hashing, while a
client that proved its secret recently keeps working. Over real HTTP against live servers.
"""
from __future__ import annotations

import statistics
import time
from typing import Any, Iterator

import pytest
import requests

from tests.conftest import LiveServer, basic_auth

TIMEOUT = 30


def status(server: LiveServer, key: str, secret: str, address: str | None = None) -> requests.Response:
    headers = {"Authorization": basic_auth(key, secret), "X-Experience-API-Version": "1.0.3"}
    if address:
        headers["X-Forwarded-For"] = address
    return requests.get(server.url + "/xapi/statements", params={"limit": "1"}, headers=headers, timeout=TIMEOUT)


@pytest.fixture
def serve(make_app: Any) -> Iterator[Any]:
    servers = []

    def start(**settings: Any) -> LiveServer:
        app = make_app(**settings)
        for key in ("known", "fresh", "other"):
            app.extensions["lrs"].create_credential(key, f"{key}-secret", ["statements/read"])
        server = LiveServer(app).__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__(None, None, None)


def median_seconds(server: LiveServer, key: str, secret: str, rounds: int = 7) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        assert status(server, key, secret).status_code == 401
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def test_an_unknown_key_costs_what_a_wrong_secret_costs(serve: Any) -> None:
    """At the production hash cost a wrong secret takes tens of milliseconds; an unknown key used
    to answer in a few (a ratio near 0.05). Generous bound: the same work, whatever the noise."""
    server = serve(secret_hash_cost=15, auth_max_failures_per_key=0, auth_max_failures_per_address=0)
    wrong = median_seconds(server, "known", "not-the-secret")
    unknown = median_seconds(server, "no-such-key", "not-the-secret")
    assert unknown > 0.4 * wrong, (unknown, wrong)
    assert status(server, "known", "known-secret").status_code == 200


def test_repeated_failures_for_one_key_are_429_but_a_proven_client_keeps_working(serve: Any) -> None:
    server = serve(auth_max_failures_per_key=3, auth_max_failures_per_address=0)
    assert status(server, "known", "known-secret").status_code == 200  # proven before the attack
    for key in ("known", "fresh"):
        for _ in range(3):
            assert status(server, key, "guess").status_code == 401
    refused = status(server, "fresh", "fresh-secret")  # right, but not proven lately
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "too many failed authentications for this key" in refused.json()["error"]["message"]
    assert status(server, "fresh", "guess").status_code == 429  # no more guesses either
    assert status(server, "known", "known-secret").status_code == 200
    assert status(server, "other", "other-secret").status_code == 200


def test_a_guesser_cannot_lock_a_client_out_at_the_address_it_works_from(serve: Any) -> None:
    """Once its pair's memory (LRS_AUTH_CACHE_SECONDS, none here) ended, a client whose key a
    guesser failed a few times a window got 429 for good, and an admin signing in to the console
    daily always: a key's count does not hold where the key succeeded lately."""
    server = serve(proxy_hops=1, auth_max_failures_per_key=3, auth_max_failures_per_address=0,
                   auth_cache_seconds=0)
    lms, guesser = "198.51.100.9", "203.0.113.7"
    assert status(server, "known", "known-secret", address=lms).status_code == 200
    assert [status(server, "known", "guess", address=guesser).status_code for _ in range(4)] == [401] * 3 + [429]
    assert status(server, "known", "known-secret", address=lms).status_code == 200
    assert status(server, "known", "known-secret", address=guesser).status_code == 429
    assert status(server, "known", "guess", address="192.0.2.1").status_code == 429  # guessing elsewhere stays stopped


def test_repeated_failures_from_one_address_are_429_for_that_address_only(serve: Any) -> None:
    server = serve(proxy_hops=1, auth_max_failures_per_key=0, auth_max_failures_per_address=3,
                   auth_failure_window_seconds=2.0)
    for key in ("known", "fresh", "other"):
        assert status(server, key, "guess", address="203.0.113.7").status_code == 401
    assert status(server, "fresh", "fresh-secret", address="203.0.113.7").status_code == 429
    assert status(server, "fresh", "fresh-secret", address="203.0.113.8").status_code == 200
    deadline = time.monotonic() + 20
    while status(server, "other", "other-secret", address="203.0.113.7").status_code == 429:
        assert time.monotonic() < deadline, "the window never ended"
        time.sleep(0.5)


def test_adapters_bearer_keys_are_throttled_too(serve: Any) -> None:
    server = serve(plugins="simple_events", auth_max_failures_per_key=2, auth_max_failures_per_address=0)
    server.server.app.extensions["lrs"].create_credential("events", "events-secret", ["simple_events"])

    def post(token: str) -> requests.Response:
        return requests.post(server.url + "/events", json={"event": "completed", "userId": "u"},
                             headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT)

    assert [post("events:guess").status_code for _ in range(2)] == [401, 401]
    assert post("events:events-secret").status_code == 429
