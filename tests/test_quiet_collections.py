"""`lrs serve` runs the garbage collector's full collections at quiet moments and freezes what
survives them (lrs.collector), never while a request is on its way in or being answered: a
request's objects frozen with the rest could never be collected."""
from __future__ import annotations

import json
import re
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests

from lrs.server import spawned
from tests.conftest import basic_auth

AUTH = ("admin", "change-me")
HEADERS = {"X-Experience-API-Version": "1.0.3"}
COLLECTED = re.compile(rb"full garbage collection at a quiet moment: [\d.]+ ms, (\d+) objects frozen")
BATCH = 20
MOST_BATCHES = 1000  # a full collection is due every few hundred statements written


def batch(first: int) -> list[dict]:
    return [{"actor": {"mbox": f"mailto:learner{n}@example.com"}, "verb": {"id": "http://example.com/verbs/did"},
             "object": {"id": f"http://example.com/activities/{n}"}} for n in range(first, first + BATCH)]


def frozen_counts(log: Path) -> list[int]:
    return [int(count) for count in COLLECTED.findall(log.read_bytes())]


def post_until_collected(session: requests.Session, endpoint: str, log: Path, first: int) -> int:
    """Post batches one at a time (the server is quiet between them) until a new quiet collection
    is logged; how many batches it took."""
    seen = len(frozen_counts(log))
    for posted in range(1, MOST_BATCHES + 1):
        session.post(f"{endpoint}/statements", json=batch(first + posted * BATCH), timeout=30).raise_for_status()
        if len(frozen_counts(log)) > seen:
            return posted
    raise AssertionError(f"no full collection at a quiet moment after {MOST_BATCHES} batches")


def serve(tmp_path: Path, log_file):
    env = {"LRS_ADMIN_KEY": AUTH[0], "LRS_ADMIN_SECRET": AUTH[1], "LRS_DATA_DIR": str(tmp_path / "data"),
           "LRS_LOG_LEVEL": "DEBUG", "LRS_READ_TIMEOUT": "300"}
    return spawned(env, stdout=log_file)


def writer() -> requests.Session:
    session = requests.Session()
    session.auth, session.headers = AUTH, HEADERS
    return session


def test_what_the_store_holds_is_frozen_at_quiet_moments_as_it_grows(tmp_path):
    log = tmp_path / "serve.log"
    with open(log, "wb") as out, serve(tmp_path, out) as (endpoint, _):
        session = writer()
        post_until_collected(session, endpoint, log, 0)
        post_until_collected(session, endpoint, log, 10**6)
        first, second = frozen_counts(log)[:2]
        assert second > first  # the statements written in between joined the frozen objects
        stored = session.get(f"{endpoint}/statements", params={"limit": 1}, timeout=30).json()
        assert len(stored["statements"]) == 1


def test_no_collection_runs_while_a_request_is_still_arriving(tmp_path):
    log = tmp_path / "serve.log"
    with open(log, "wb") as out, serve(tmp_path, out) as (endpoint, _):
        session = writer()
        needed = post_until_collected(session, endpoint, log, 0)
        body = json.dumps(batch(10**7)).encode()
        url = urlsplit(endpoint)
        with socket.create_connection((url.hostname, url.port), timeout=30) as arriving:
            arriving.sendall(b"POST /xapi/statements HTTP/1.1\r\nHost: lrs\r\nContent-Type: application/json\r\n"
                             b"Authorization: " + basic_auth(*AUTH).encode() + b"\r\nX-Experience-API-Version: 1.0.3\r\n"
                             b"Content-Length: %d\r\n\r\n" % len(body) + body[:10])
            collections = len(frozen_counts(log))
            for n in range(3 * needed):  # three times what made the last one due
                session.post(f"{endpoint}/statements", json=batch(10**6 + n * BATCH), timeout=30).raise_for_status()
            time.sleep(1)
            assert len(frozen_counts(log)) == collections
            arriving.sendall(body[10:])
            assert arriving.recv(4096).startswith(b"HTTP/1.1 200")
            deadline = time.monotonic() + 30
            while len(frozen_counts(log)) == collections and time.monotonic() < deadline:
                time.sleep(0.1)
            assert len(frozen_counts(log)) > collections  # the collection was due, and ran once it was quiet
