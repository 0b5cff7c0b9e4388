"""What a real `lrs serve` does with bytes that cannot start an HTTP request: an https:// client
(a TLS ClientHello) on its plain HTTP port, or another protocol. It waited for the end of a header
that never comes, LRS_READ_TIMEOUT seconds (30 by default) of hang for an operator who typed
https://; now the answer is at once, and the log says what to fix."""
from __future__ import annotations

import json
import socket
import ssl
import time
from urllib.parse import urlsplit

import pytest
import requests

from lrs.server import spawned

ENV = {"LRS_ADMIN_KEY": "admin", "LRS_ADMIN_SECRET": "change-me", "LRS_LOG_LEVEL": "INFO"}
PATIENCE = 5  # seconds; the old code answered after LRS_READ_TIMEOUT (30)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    log_path = tmp_path_factory.mktemp("not-http") / "server.log"
    with open(log_path, "wb") as log, spawned(ENV, stdout=log) as (endpoint, _):
        url = urlsplit(endpoint)
        yield endpoint, (url.hostname, url.port), log_path


def test_an_https_client_on_the_http_port_is_told_at_once_and_the_log_says_why(served):
    endpoint, address, log_path = served
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    started = time.monotonic()
    with socket.create_connection(address, timeout=PATIENCE) as sock, pytest.raises(ssl.SSLError) as error:
        context.wrap_socket(sock, server_hostname="localhost")
    assert time.monotonic() - started < PATIENCE
    assert "WRONG_VERSION_NUMBER" in str(error.value)  # OpenSSL's words for a plain HTTP answer
    assert requests.get(f"{endpoint}/about", timeout=10).status_code == 200
    deadline = time.monotonic() + 10
    while "TLS handshake" not in log_path.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    line = next(line for line in log_path.read_text().splitlines() if "TLS handshake" in line)
    assert "WARNING" in line and "from 127.0.0.1 on a plain HTTP port" in line
    assert "put a TLS-terminating proxy in front" in line


def exchange(address: tuple[str, int], data: bytes) -> tuple[bytes, bytes]:
    """Send `data` and read until the server closes: the answer's head and body."""
    with socket.create_connection(address, timeout=PATIENCE) as sock:
        sock.sendall(data)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    return head, body


@pytest.mark.parametrize("start", [b"\x80\x2c\x01\x03\x01", b"\r\n\x00\x00\x00", b"\xff\xf4\xff\xfd\x06"])
def test_bytes_no_request_line_can_start_with_are_a_400_at_once(served, start):
    """An SSLv2-style hello, binary after a blank line (RFC 9112 2.2 lets one precede a request),
    a telnet interrupt: the answer comes in the error format, without waiting for a header's end."""
    head, body = exchange(served[1], start)
    assert head.split(b" ")[1] == b"400"
    message = json.loads(body)["error"]["message"]
    assert message.startswith("malformed HTTP request: a request line starts with a method, not byte 0x")


def test_a_header_ended_by_bare_line_feeds_is_a_400_at_once(served):
    """waitress ends a header only at CR LF CR LF: `printf 'GET / HTTP/1.1\\n\\n' | nc` hung until
    LRS_READ_TIMEOUT and got no answer. Blank lines before a request are still skipped."""
    for request in (b"GET /xapi/about HTTP/1.1\nHost: lrs\n\n", b"GET /xapi/about HTTP/1.1\r\nHost: lrs\r\n\n"):
        head, body = exchange(served[1], request)
        assert head.split(b" ")[1] == b"400"
        assert json.loads(body)["error"]["message"] == (
            "malformed HTTP request: lines must end with CR LF; the header ended with a bare LF")
    head, body = exchange(served[1], b"\r\n\r\nGET /xapi/about HTTP/1.1\r\nHost: lrs\r\nConnection: close\r\n\r\n")
    assert head.split(b" ")[1] == b"200" and "version" in json.loads(body)


def header(head: bytes, name: bytes) -> str:
    return next(line.partition(b":")[2].strip().decode() for line in head.split(b"\r\n")[1:]
                if line.partition(b":")[0].lower() == name.lower())


@pytest.mark.parametrize("request_bytes, sent_id", [
    (b"\x80\x2c\x01\x03\x01", None),
    (b"POST /xapi/statements HTTP/1.1\r\nHost: lrs\r\nX-Request-ID: client-7.framing\r\nContent-Length: 5\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n", "client-7.framing"),
    (b"PUT /xapi/activities/state HTTP/1.1\r\nHost: lrs\r\nX-Request-ID: client-7.size\r\n"
     b"Content-Length: 1000000000000\r\n\r\n", "client-7.size"),
    (b"GET /xapi/about HTTP/1.1\r\nHost: lrs\r\nX-Request-ID: bad id <b>\r\nContent-Length: 1000000000000\r\n\r\n",
     None),
], ids=["not-http", "bad-framing", "body-too-large", "insane-incoming-id"])
def test_the_servers_own_refusals_carry_a_request_id_that_their_log_line_names(served, request_bytes, sent_id):
    """The loop's answers (before the application) had no X-Request-ID, so a client's report of one
    could not be matched to its log line. A sane incoming id is kept, as the application keeps it."""
    head, _ = exchange(served[1], request_bytes)
    assert head.split(b" ")[1] in (b"400", b"413")
    answer_id = header(head, b"X-Request-ID")
    assert answer_id == sent_id if sent_id else len(answer_id) == 36
    deadline, log_path = time.monotonic() + 10, served[2]
    while f"[{answer_id}]" not in log_path.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    [line] = [line for line in log_path.read_text().splitlines() if f"[{answer_id}]" in line]
    assert "lrs.access" in line and "(answered by the server: " in line
