"""X-Experience-API-Consistent-Through and stored order hold while writers store concurrently.

xAPI 1.0.3 Communication 2.1.3: the header is a time before which every statement that has or
will have a `stored` time is available, and pages are in order of `stored`. A client may use the
header as a sync cursor (`since`), so a statement stored before it but shown only later is lost
to that client for good. Both ways of writing a batch are tested (embedded lock, MongoDB's
announced batches), through real HTTP.
"""
from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from typing import Iterator

import pytest
import requests

from tests.conftest import ADMIN_KEY, ADMIN_SECRET, LiveServer

WRITERS, BATCHES, BATCH = 4, 25, 2
HEADERS = {"X-Experience-API-Version": "1.0.3"}


def parse(timestamp: str) -> dt.datetime:
    return dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


@pytest.fixture
def endpoint(either_store_app) -> Iterator[str]:
    with LiveServer(either_store_app) as server:
        yield server.url


def session() -> requests.Session:
    client = requests.Session()
    client.auth, client.headers = (ADMIN_KEY, ADMIN_SECRET), dict(HEADERS)
    return client


def listing(client: requests.Session, endpoint: str, params: dict) -> tuple[list[dict], dt.datetime]:
    """Every page of a GET, in order, and the Consistent-Through of its last page."""
    statements, url = [], f"{endpoint}/xapi/statements"
    while True:
        response = client.get(url, params=params, timeout=60)
        response.raise_for_status()
        body = response.json()
        statements += body["statements"]
        if not body["more"]:
            return statements, parse(response.headers["X-Experience-API-Consistent-Through"])
        url, params = endpoint + body["more"], None


def write_concurrently(endpoint: str, verb: str, while_writing=None) -> None:
    """WRITERS clients each POST BATCHES batches; `while_writing(done)` runs meanwhile."""
    done = threading.Event()
    failures: list[Exception] = []

    def write() -> None:
        client = session()
        try:
            for _ in range(BATCHES):
                batch = [{"actor": {"mbox": "mailto:ada@example.com"}, "verb": {"id": verb},
                          "object": {"id": "http://example.com/a/1"}} for _ in range(BATCH)]
                client.post(f"{endpoint}/xapi/statements", json=batch, timeout=60).raise_for_status()
        except Exception as error:  # reported below, in the test's thread
            failures.append(error)

    writers = [threading.Thread(target=write) for _ in range(WRITERS)]
    reader = threading.Thread(target=while_writing, args=(done,)) if while_writing else None
    for thread in writers + ([reader] if reader else []):
        thread.start()
    for thread in writers:
        thread.join(120)
    done.set()
    if reader:
        reader.join(120)
    assert not failures and not any(thread.is_alive() for thread in writers)


def test_a_client_syncing_by_consistent_through_misses_no_statement(endpoint):
    verb = f"http://example.com/verbs/{uuid.uuid4()}"
    rounds: list[tuple[dt.datetime, dt.datetime, set[str]]] = []  # (since, consistent-through, ids seen)

    def sync(done: threading.Event) -> None:
        client, cursor = session(), dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
        for _ in range(10_000):  # bounded; ends with one round after the writers are done
            last = done.is_set()
            statements, through = listing(client, endpoint, {"verb": verb, "since": cursor.isoformat(), "limit": 3,
                                                             "ascending": "true"})
            rounds.append((cursor, through, {s["id"] for s in statements}))
            cursor = through - dt.timedelta(milliseconds=1)  # re-reads nothing stored before the header
            if last:
                return

    write_concurrently(endpoint, verb, sync)
    stored = {s["id"]: parse(s["stored"]) for s in listing(session(), endpoint, {"verb": verb})[0]}
    assert len(stored) == WRITERS * BATCHES * BATCH and rounds[-1][1] > max(stored.values())
    for since, through, seen in rounds:
        missing = {i for i, moment in stored.items() if since < moment < through and i not in seen}
        assert not missing, f"stored between {since} and Consistent-Through {through}, not in that answer"
    assert set(stored) == set().union(*(seen for _, _, seen in rounds))


@pytest.mark.parametrize("ascending", [True, False])
def test_pages_are_in_stored_order_after_concurrent_writes(endpoint, ascending):
    verb = f"http://example.com/verbs/{uuid.uuid4()}"
    write_concurrently(endpoint, verb)
    statements, _ = listing(session(), endpoint, {"verb": verb, "limit": 7, "ascending": str(ascending).lower()})
    assert len({s["id"] for s in statements}) == len(statements) == WRITERS * BATCHES * BATCH
    times = [parse(s["stored"]) for s in statements]
    assert times == sorted(times, reverse=not ascending)


def test_a_later_page_claims_no_more_than_the_first(either_store_app, xapi_headers):
    """A statement stored while a client follows `more` is in no page of that listing when it
    sorts before the pages still to come (newest first), so the last page's header must not
    claim it: each page answers no later than the pages before it."""
    client, verb = either_store_app.test_client(), f"http://example.com/verbs/{uuid.uuid4()}"

    def post(count: int) -> None:
        batch = [{"actor": {"mbox": "mailto:ada@example.com"}, "verb": {"id": verb},
                  "object": {"id": "http://example.com/a/1"}} for _ in range(count)]
        assert client.post("/xapi/statements", json=batch, headers=xapi_headers).status_code == 200

    post(2)
    page = client.get("/xapi/statements", query_string={"verb": verb, "limit": 1}, headers=xapi_headers)
    listed = page.get_json()["statements"]
    post(1)  # stored after the first page's query, newer than all its pages
    time.sleep(0.01)  # so the next page's own time is past it
    while page.get_json()["more"]:
        page = client.get(page.get_json()["more"], headers=xapi_headers)
        listed += page.get_json()["statements"]
    through = parse(page.headers["X-Experience-API-Consistent-Through"])
    every = client.get("/xapi/statements", query_string={"verb": verb}, headers=xapi_headers).get_json()["statements"]
    assert len(every) == 3
    claimed = {s["id"] for s in every if parse(s["stored"]) < through}
    assert claimed <= {s["id"] for s in listed}


def test_stored_times_never_fall_when_the_clock_steps_back(either_store_app, xapi_headers, monkeypatch):
    """An NTP step back (or another server's clock behind this one's) must not put a later batch
    before an earlier one: a batch is stored no earlier than the batch numbered before it."""
    client, verb = either_store_app.test_client(), f"http://example.com/verbs/{uuid.uuid4()}"
    body = {"actor": {"mbox": "mailto:ada@example.com"}, "verb": {"id": verb}, "object": {"id": "http://example.com/a/1"}}
    [first] = client.post("/xapi/statements", json=body, headers=xapi_headers).get_json()
    monkeypatch.setattr("lrs.store.statements.utc_now", lambda: dt.datetime(2001, 1, 1, tzinfo=dt.timezone.utc))
    [second] = client.post("/xapi/statements", json=body, headers=xapi_headers).get_json()
    listed = client.get("/xapi/statements", query_string={"verb": verb, "ascending": "true"},
                        headers=xapi_headers).get_json()["statements"]
    assert [s["id"] for s in listed] == [first, second]
    assert listed[0]["stored"] == listed[1]["stored"] == listed[1]["timestamp"]
