"""Slow clients cannot stall `lrs serve`: 200 connections that send part of a request and stop
neither keep other requests from being answered nor stay open past LRS_READ_TIMEOUT."""
from __future__ import annotations

import signal
import socket
import time
from contextlib import ExitStack
from urllib.parse import urlsplit

import requests

from lrs.server import spawned

STALLED = 200
READ_TIMEOUT = 3
AUTH = ("admin", "change-me")
HEADERS = {"X-Experience-API-Version": "1.0.3"}
# Half a request line, and a request whose announced body never comes (one byte of it does).
PARTIAL_REQUESTS = [
    b"GET /xapi/ab",
    b"POST /xapi/statements HTTP/1.1\r\nHost: lrs\r\nContent-Type: application/json\r\n"
    b"Content-Length: 1000\r\n\r\n[",
]


def stall(address: tuple[str, int], count: int, stack: ExitStack) -> list[socket.socket]:
    sockets = []
    for n in range(count):
        sock = stack.enter_context(socket.create_connection(address, timeout=10))
        sock.sendall(PARTIAL_REQUESTS[n % len(PARTIAL_REQUESTS)])
        sockets.append(sock)
    return sockets


def closed_by_server(sock: socket.socket, within: float) -> bool:
    sock.settimeout(within)
    try:
        return sock.recv(4096) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_stalled_connections_stall_nothing_and_are_dropped_after_the_read_timeout():
    env = {"LRS_ADMIN_KEY": AUTH[0], "LRS_ADMIN_SECRET": AUTH[1], "LRS_READ_TIMEOUT": str(READ_TIMEOUT),
           "LRS_LOG_LEVEL": "WARNING"}
    with spawned(env) as (endpoint, _), ExitStack() as stack:
        url = urlsplit(endpoint)
        stalled = stall((url.hostname, url.port), STALLED, stack)
        statement = {"actor": {"mbox": "mailto:ada@example.com"}, "verb": {"id": "http://example.com/v"},
                     "object": {"id": "http://example.com/a"}}
        for _ in range(10):  # each would wait behind the stalled ones forever with a thread per connection
            assert requests.get(f"{endpoint}/about", timeout=10).status_code == 200
            posted = requests.post(f"{endpoint}/statements", json=statement, auth=AUTH, headers=HEADERS, timeout=10)
            assert posted.status_code == 200
            assert requests.get(f"{endpoint}/statements", auth=AUTH, headers=HEADERS, timeout=10).status_code == 200
        deadline = time.monotonic() + READ_TIMEOUT + 30
        for sock in stalled:
            assert closed_by_server(sock, max(0.1, deadline - time.monotonic()))


def test_the_worker_leaves_forwarded_headers_to_the_application():
    """The buffering worker must not strip X-Forwarded-For: LRS_PROXY_HOPS decides whom to trust."""
    env = {"LRS_ADMIN_KEY": AUTH[0], "LRS_ADMIN_SECRET": AUTH[1], "LRS_PROXY_HOPS": "1",
           "LRS_AUTH_MAX_FAILURES_PER_ADDRESS": "2", "LRS_AUTH_MAX_FAILURES_PER_KEY": "0", "LRS_LOG_LEVEL": "WARNING"}
    with spawned(env) as (endpoint, _):
        def wrong_secret(address: str) -> int:
            return requests.get(f"{endpoint}/statements", auth=("nobody", "wrong"), timeout=30,
                                headers={**HEADERS, "X-Forwarded-For": address}).status_code

        assert [wrong_secret("203.0.113.7") for _ in range(3)] == [401, 401, 429]
        assert wrong_secret("198.51.100.9") == 401  # another client behind the same proxy


def test_a_download_in_flight_when_the_server_stops_is_finished_with_no_error_logged(tmp_path):
    """gunicorn's graceful stop: the worker accepts nothing new but keeps its loop running until
    what its threads answer is sent. (It used to stop the loop at once and close waitress's
    trigger under a thread still answering: the answer was cut off and a traceback logged.)"""
    log = tmp_path / "lrs.log"
    env = {"LRS_ADMIN_KEY": AUTH[0], "LRS_ADMIN_SECRET": AUTH[1], "LRS_LOG_LEVEL": "INFO"}
    document = b"x" * (12 * 1024 * 1024)  # three times what the loop buffers for a client: the thread waits on it
    with open(log, "wb") as output, spawned(env, stdout=output) as (endpoint, process):
        state = (f"{endpoint}/activities/state?activityId=http://example.com/a&stateId=big"
                 '&agent={"mbox":"mailto:ada@example.com"}')
        assert requests.put(state, data=document, auth=AUTH, headers=HEADERS, timeout=60).status_code == 204
        with requests.get(state, auth=AUTH, headers=HEADERS, timeout=60, stream=True) as download:
            chunks = download.iter_content(256 * 1024)
            received = len(next(chunks))
            process.send_signal(signal.SIGTERM)
            for chunk in chunks:
                received += len(chunk)
                time.sleep(0.01)  # a slow reader: the answer outlasts the loop's 1 s poll
        assert download.status_code == 200 and received == len(document)
        process.wait(60)
    assert "Traceback" not in log.read_text(errors="replace")
