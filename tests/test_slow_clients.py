"""Slow clients cannot stall `lrs serve`: 200 connections that send part of a request and stop
neither keep other requests from being answered nor stay open past LRS_READ_TIMEOUT."""
from __future__ import annotations

import resource
import signal
import socket
import time
from contextlib import ExitStack
from typing import Iterator
from urllib.parse import urlsplit

import pytest
import requests

from lrs.server import spawned
from tests.conftest import basic_auth
from tests.test_server_limits import attachment_request

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


def trickle(sock: socket.socket, pieces: list[bytes], every: float, for_seconds: float) -> float:
    """Send `pieces` one by one, `every` seconds apart, for at most `for_seconds` or until the server
    closes the connection; how long the connection lasted."""
    started = time.monotonic()
    for piece in pieces:
        if time.monotonic() - started > for_seconds:
            break
        try:
            sock.sendall(piece)
        except (BrokenPipeError, ConnectionResetError):
            break
        if closed_by_server(sock, every):
            break
    return time.monotonic() - started


SLOW_HEAD = [b"GET /xapi/about HTTP/1.1\r\nHost: lrs\r\n"] + [b"X-Slow: 1\r\n"] * 100
SLOW_BODY = ([b"POST /xapi/statements HTTP/1.1\r\nHost: lrs\r\nContent-Type: application/json\r\n"
              b"Content-Length: 100000\r\n\r\n["] + [b" "] * 100)


def test_a_request_that_keeps_trickling_in_is_closed_once_it_is_late_a_steady_upload_is_not():
    """A byte every half second keeps a connection from ever being idle: headers (slowloris) or a
    body so sent held their connection for ever, and 1000 of them (gunicorn's worker connections)
    left no request answered. Now a request must arrive within LRS_READ_TIMEOUT seconds of its
    first byte plus a second for each 8 KiB of body received: a body at 32 KiB/s arrives whole
    though it takes three times LRS_READ_TIMEOUT."""
    env = {"LRS_ADMIN_KEY": AUTH[0], "LRS_ADMIN_SECRET": AUTH[1], "LRS_READ_TIMEOUT": "1",
           "LRS_LOG_LEVEL": "WARNING"}
    document = b"x" * (96 * 1024)
    state = ("/xapi/activities/state?activityId=http://example.com/a&stateId=slow"
             "&agent=%7B%22mbox%22:%22mailto:ada@example.com%22%7D")
    with spawned(env) as (endpoint, _), ExitStack() as stack:
        address = (urlsplit(endpoint).hostname, urlsplit(endpoint).port)
        for pieces in (SLOW_HEAD, SLOW_BODY):
            sock = stack.enter_context(socket.create_connection(address, timeout=10))
            assert trickle(sock, pieces, every=0.5, for_seconds=15) < 4
        head = (f"PUT {state} HTTP/1.1\r\nHost: lrs\r\nX-Experience-API-Version: 1.0.3\r\n"
                f"Authorization: {basic_auth(*AUTH)}\r\nContent-Type: application/octet-stream\r\n"
                f"Content-Length: {len(document)}\r\nConnection: close\r\n\r\n").encode()
        with socket.create_connection(address, timeout=10) as sock:
            sock.sendall(head)
            for start in range(0, len(document), 8 * 1024):
                time.sleep(0.25)
                sock.sendall(document[start:start + 8 * 1024])
            assert sock.recv(4096).startswith(b"HTTP/1.1 204")
        assert requests.get(endpoint + state.removeprefix("/xapi"), auth=AUTH, headers=HEADERS,
                            timeout=10).content == document


def test_clients_that_take_nothing_of_a_streamed_answer_are_cut_off_and_free_the_threads():
    """Statements with their attachments are streamed: past the 4 MiB the loop holds for a client,
    the thread writing them waits for the client to read. LRS_THREADS clients that never read held
    every thread for ever (nothing answered, /xapi/about included); now each is cut off after
    LRS_READ_TIMEOUT seconds without taking anything, and a client that reads gets it all."""
    env = {"LRS_ADMIN_KEY": AUTH[0], "LRS_ADMIN_SECRET": AUTH[1], "LRS_READ_TIMEOUT": "2", "LRS_THREADS": "2",
           "LRS_LOG_LEVEL": "WARNING"}
    content = b"y" * (12 * 1024 * 1024)
    with spawned(env) as (endpoint, _), ExitStack() as stack:
        address = (urlsplit(endpoint).hostname, urlsplit(endpoint).port)
        posted = requests.post(f"{endpoint}/statements", data=attachment_request(content), auth=AUTH, timeout=60,
                               headers={**HEADERS, "Content-Type": "multipart/mixed; boundary=xapi"})
        assert posted.status_code == 200, posted.text
        target = f"/xapi/statements?statementId={posted.json()[0]}&attachments=true"
        for _ in range(3):
            sock = socket.socket()
            stack.enter_context(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect(address)
            sock.sendall(f"GET {target} HTTP/1.1\r\nHost: lrs\r\nAuthorization: {basic_auth(*AUTH)}\r\n"
                         "X-Experience-API-Version: 1.0.3\r\n\r\n".encode())
        assert requests.get(f"{endpoint}/about", timeout=15).status_code == 200
        with requests.get(endpoint.removesuffix("/xapi") + target, auth=AUTH, headers=HEADERS, timeout=30,
                          stream=True) as download:
            received = 0
            for chunk in download.iter_content(256 * 1024):
                received += len(chunk)
                time.sleep(0.01)
        assert download.status_code == 200 and received > len(content)


WORKER_CONNECTIONS = 1000  # gunicorn's default, which `lrs serve` keeps


@pytest.fixture
def many_files() -> Iterator[None]:
    """Room for this process and the server it starts to hold more than WORKER_CONNECTIONS sockets."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = WORKER_CONNECTIONS * 2 + 200
    if hard != resource.RLIM_INFINITY and hard < wanted:
        pytest.skip(f"needs {wanted} open files (hard limit {hard})")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_kept_alive_connections_at_the_limit_make_room_for_new_clients(many_files):
    """At its connection limit the worker accepted nothing until a connection closed, and a
    kept-alive one waits LRS_READ_TIMEOUT for its next request: 1000 idle connections (one client
    sending a request on each now and then) kept every new client out. Now the longest idle closes."""
    env = {"LRS_ADMIN_KEY": AUTH[0], "LRS_ADMIN_SECRET": AUTH[1], "LRS_READ_TIMEOUT": "120",
           "LRS_LOG_LEVEL": "WARNING"}
    with spawned(env) as (endpoint, _), ExitStack() as stack:
        address = (urlsplit(endpoint).hostname, urlsplit(endpoint).port)
        for _ in range(WORKER_CONNECTIONS + 20):
            sock = stack.enter_context(socket.create_connection(address, timeout=10))
            sock.sendall(b"GET /xapi/about HTTP/1.1\r\nHost: lrs\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        assert requests.get(f"{endpoint}/about", timeout=10).status_code == 200


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
