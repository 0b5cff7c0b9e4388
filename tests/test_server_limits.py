"""`lrs serve` bounds each request's body by what its route accepts before reading it, and its own
answers to requests it refuses that early (or cannot parse) are in the LRS's error format.

Without the bound the worker read any body up to LRS_MAX_ATTACHMENT_REQUEST_BYTES on every path,
spooled to a temporary file, before the application refused it: six anonymous sockets made it
hold 1.9 GB of temporary files in 12 s."""
from __future__ import annotations

import hashlib
import json
import os
import socket
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import requests

from lrs.server import spawned
from tests.conftest import basic_auth

AUTH = ("admin", "change-me")
MAX_BODY = 1024 * 1024  # LRS_MAX_BODY_BYTES in these tests
ORIGIN = "https://lms.example.org"
ENV = {"LRS_ADMIN_KEY": AUTH[0], "LRS_ADMIN_SECRET": AUTH[1], "LRS_LOG_LEVEL": "WARNING",
       "LRS_MAX_BODY_BYTES": str(MAX_BODY), "LRS_MAX_ATTACHMENT_REQUEST_BYTES": str(8 * MAX_BODY),
       "LRS_CORS_ORIGINS": ORIGIN}
CREDENTIALS = f"Authorization: {basic_auth(*AUTH)}\r\n"
XAPI = "X-Experience-API-Version: 1.0.3\r\n"
MULTIPART = "Content-Type: multipart/mixed; boundary=xapi\r\n"


def head(method: str, path: str, *headers: str) -> bytes:
    return f"{method} {path} HTTP/1.1\r\nHost: lrs\r\n{''.join(headers)}\r\n".encode("latin-1")


def answer(sock: socket.socket, within: float = 10) -> tuple[int, dict[str, str], bytes]:
    """The status, headers (lowercase names) and body of the answer on `sock`, read until the
    server closes the connection, as it does after every answer it makes itself."""
    sock.settimeout(within)
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:  # it closed with our unread body still in its buffer
            break
        if not chunk:
            break
        data += chunk
    header, _, body = data.partition(b"\r\n\r\n")
    lines = header.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def refused(address: tuple[str, int], request: bytes) -> tuple[int, dict[str, str], dict]:
    """Send `request` (no body) and read the answer, which must come without the body."""
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(request)
        status, headers, body = answer(sock)
    return status, headers, json.loads(body)


def push(sock: socket.socket, data: bytes, seconds: float = 2.0) -> int:
    """Send as much of `data` as the server takes within `seconds`; how much it took."""
    sock.setblocking(False)
    sent, deadline = 0, time.monotonic() + seconds
    while sent < len(data) and time.monotonic() < deadline:
        try:
            sent += sock.send(data[sent:sent + 65536])
        except BlockingIOError:
            time.sleep(0.01)
        except (BrokenPipeError, ConnectionResetError):
            break
    sock.setblocking(True)
    return sent


def worker_pid(master: int) -> int:
    return int(Path(f"/proc/{master}/task/{master}/children").read_text().split()[0])


def spooled(pid: int, folder: Path) -> int:
    """Bytes in the temporary files (unlinked, so only their descriptors show) process `pid` holds in `folder`."""
    total = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
            if target.startswith(str(folder)) and target.endswith(" (deleted)"):
                total += os.stat(fd).st_size
        except FileNotFoundError:  # closed meanwhile
            pass
    return total


def attachment_request(content: bytes) -> bytes:
    statement = {"actor": {"mbox": "mailto:ada@example.com"}, "verb": {"id": "http://example.com/verbs/did"},
                 "object": {"id": "http://example.com/activities/a"}, "id": str(uuid.uuid4()),
                 "attachments": [{"usageType": "http://example.com/usage", "display": {"en-US": "a"},
                                  "contentType": "application/octet-stream", "length": len(content),
                                  "sha2": hashlib.sha256(content).hexdigest()}]}
    return (b"--xapi\r\nContent-Type: application/json\r\n\r\n" + json.dumps(statement).encode()
            + b"\r\n--xapi\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n"
            + f"X-Experience-API-Hash: {hashlib.sha256(content).hexdigest()}\r\n\r\n".encode()
            + content + b"\r\n--xapi--\r\n")


def chunked(data: bytes, size: int = 64 * 1024) -> bytes:
    pieces = [b"%x\r\n%s\r\n" % (len(data[start:start + size]), data[start:start + size])
              for start in range(0, len(data), size)]
    return b"".join(pieces) + b"0\r\n\r\n"


def test_a_body_over_its_routes_bound_is_refused_before_it_is_sent():
    with spawned(ENV) as (endpoint, _):
        url = urlsplit(endpoint)
        address = (url.hostname, url.port)
        huge = "Content-Length: 260000000\r\n"
        answers = [
            refused(address, head("POST", "/xapi/about", huge, f"Origin: {ORIGIN}\r\n")),
            refused(address, head("PUT", "/xapi/activities/state?stateId=s", CREDENTIALS, XAPI,
                                  f"Content-Length: {MAX_BODY + 1}\r\n")),
            refused(address, head("POST", "/xapi/statements", CREDENTIALS, XAPI, "Content-Type: application/json\r\n",
                                  f"Content-Length: {MAX_BODY + 1}\r\n", "Expect: 100-continue\r\n")),
            # the alternate syntax takes a form, never attachments; the admin API takes JSON
            refused(address, head("POST", "/xapi/statements?method=PUT", CREDENTIALS, MULTIPART,
                                  f"Content-Length: {MAX_BODY + 1}\r\n")),
            refused(address, head("POST", "/admin/credentials", CREDENTIALS, f"Content-Length: {MAX_BODY + 1}\r\n")),
        ]
        for status, headers, body in answers:
            assert (status, body) == (413, {"error": {"status": 413, "message": (
                f"request body: larger than {MAX_BODY} bytes, the limit set by LRS_MAX_BODY_BYTES")}})
            assert headers["connection"] == "close" and headers["cache-control"] == "no-store"
            assert headers["content-type"] == "application/json"
        # multipart statements: up to their own limit, and over LRS_MAX_BODY_BYTES only with credentials
        status, headers, body = refused(address, head("POST", "/xapi/statements", CREDENTIALS, XAPI, MULTIPART,
                                                      f"Content-Length: {8 * MAX_BODY + 1}\r\n"))
        assert status == 413 and "LRS_MAX_ATTACHMENT_REQUEST_BYTES" in body["error"]["message"]
        status, headers, body = refused(address, head("POST", "/xapi/statements", XAPI, MULTIPART,
                                                      f"Content-Length: {MAX_BODY + 1}\r\n", "Expect: 100-continue\r\n"))
        assert status == 401 and "without an Authorization header" in body["error"]["message"]
        assert headers["www-authenticate"] == 'Basic realm="LRS"'


def test_a_chunked_body_is_refused_once_it_passes_its_bound():
    with spawned(ENV) as (endpoint, _):
        url = urlsplit(endpoint)
        with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
            sock.sendall(head("PUT", "/xapi/activities/state?stateId=s", CREDENTIALS, XAPI,
                              "Transfer-Encoding: chunked\r\n"))
            taken = push(sock, chunked(b"x" * (32 * MAX_BODY)))
            status, _, body = answer(sock)
        assert status == 413 and "LRS_MAX_BODY_BYTES" in json.loads(body)["error"]["message"]
        assert taken < 16 * MAX_BODY  # it stopped reading and closed (what it took: 1 MiB and socket buffers)


def test_no_temporary_file_grows_for_a_refused_body_while_an_accepted_one_spools(tmp_path):
    """The worker spools bodies over 512 KiB to temporary files in TMPDIR: a refused one costs none."""
    with spawned({**ENV, "TMPDIR": str(tmp_path)}) as (endpoint, process):
        url, worker = urlsplit(endpoint), worker_pid(process.pid)
        sockets = [socket.create_connection((url.hostname, url.port), timeout=10) for _ in range(2)]
        try:
            sockets[0].sendall(head("POST", "/xapi/about", f"Content-Length: {6 * MAX_BODY}\r\n"))
            push(sockets[0], b"x" * (4 * MAX_BODY), seconds=1)
            refused_spool = spooled(worker, tmp_path)
            # an accepted multipart statements request, stopped half-way: its body is spooled
            sockets[1].sendall(head("POST", "/xapi/statements", CREDENTIALS, XAPI, MULTIPART,
                                    f"Content-Length: {6 * MAX_BODY}\r\n"))
            push(sockets[1], b"x" * (3 * MAX_BODY), seconds=1)
            time.sleep(0.5)
            accepted_spool = spooled(worker, tmp_path)
        finally:
            for sock in sockets:
                sock.close()
    assert refused_spool == 0
    assert accepted_spool >= 2 * MAX_BODY  # the measure sees what is spooled


def test_a_multipart_statement_with_an_attachment_over_the_body_limit_is_stored():
    content = os.urandom(3 * MAX_BODY)
    body = attachment_request(content)
    with spawned(ENV) as (endpoint, _):
        headers = {"X-Experience-API-Version": "1.0.3", "Content-Type": "multipart/mixed; boundary=xapi"}
        posted = requests.post(f"{endpoint}/statements", data=body, auth=AUTH, headers=headers, timeout=60)
        sent_chunked = requests.post(f"{endpoint}/statements", data=iter([body[:MAX_BODY], body[MAX_BODY:]]),
                                     auth=AUTH, headers=headers, timeout=60)
        assert (posted.status_code, sent_chunked.status_code) == (200, 200), (posted.text, sent_chunked.text)
        read = requests.get(f"{endpoint}/statements", params={"statementId": posted.json()[0], "attachments": "true"},
                            auth=AUTH, headers={"X-Experience-API-Version": "1.0.3"}, timeout=60)
        assert read.status_code == 200 and content in read.content


def test_the_servers_own_errors_are_in_the_error_format_with_the_headers_of_every_answer():
    with spawned({**ENV, "LRS_XAPI_VERSIONS": "1.0.3"}) as (endpoint, _):
        url = urlsplit(endpoint)
        address = (url.hostname, url.port)
        status, headers, body = refused(address, head("GET", "/xapi/about", f"Origin: {ORIGIN}\r\n",
                                                      "Content-Type: text/plain\x01\r\n"))
        assert status == 400 and body["error"]["status"] == 400
        assert "header 'Content-Type': not a valid field" in body["error"]["message"]
        assert headers["cache-control"] == "no-store" and headers["x-experience-api-version"] == "1.0.3"
        assert headers["content-type"] == "application/json" and headers["vary"] == "Origin"
        status, headers, body = refused(address, head("GET", "/xapi/about?" + "a" * 300_000))
        assert (status, body["error"]["status"]) == (431, 431) and "larger than" in body["error"]["message"]
        assert headers["cache-control"] == "no-store" and headers["x-experience-api-version"] == "1.0.3"
        # CORS: what the application says to the same origin, once the request's Origin is known
        app = requests.get(f"{endpoint}/about", headers={"Origin": ORIGIN}, timeout=10).headers
        _, headers, _ = refused(address, head("POST", "/xapi/about", f"Origin: {ORIGIN}\r\n",
                                              "Content-Length: 260000000\r\n"))
        for name in ("Access-Control-Allow-Origin", "Access-Control-Allow-Credentials",
                     "Access-Control-Expose-Headers", "Vary"):
            assert headers[name.lower()] == app[name], name
        _, headers, _ = refused(address, head("POST", "/xapi/about", "Origin: https://elsewhere.example\r\n",
                                              "Content-Length: 260000000\r\n"))
        assert "access-control-allow-origin" not in headers
        # no page, a trusted one included, is answered by the admin API (lrs.http.cors)
        _, headers, _ = refused(address, head("POST", "/admin/credentials", f"Origin: {ORIGIN}\r\n",
                                              "Content-Length: 260000000\r\n"))
        assert "access-control-allow-origin" not in headers and headers["vary"] == "Origin"


def test_framing_a_proxy_could_read_otherwise_is_refused_and_its_connection_closed():
    """waitress went by the chunks of a request with a Content-Length too, and kept the connection
    open: behind a proxy that goes by the length, the rest of the body is a request of its own for
    the LRS (request smuggling); an HTTP/1.0 request's chunks were such a request at once. Now a 400,
    and what follows on the connection is never answered (RFC 9112 6.1: close it)."""
    statement = json.dumps({"actor": {"mbox": "mailto:ada@example.com"}, "verb": {"id": "http://example.com/v"},
                            "object": {"id": "http://example.com/a"}}).encode()
    smuggled = head("GET", "/xapi/about")
    with spawned(ENV) as (endpoint, _):
        url = urlsplit(endpoint)
        request = (head("POST", "/xapi/statements", CREDENTIALS, XAPI, "Content-Type: application/json\r\n",
                        "Content-Length: 4\r\n", "Transfer-Encoding: chunked\r\n")
                   + chunked(statement) + smuggled)
        with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
            sock.sendall(request)
            status, headers, body = answer(sock)
        assert status == 400 and headers["connection"] == "close"
        assert b"\r\n\r\n" not in body  # no second answer
        assert json.loads(body)["error"]["message"] == (
            "malformed HTTP request: Content-Length and Transfer-Encoding together: send one (RFC 9112 6.1)")
        statements = requests.get(f"{endpoint}/statements", auth=AUTH, timeout=10,
                                  headers={"X-Experience-API-Version": "1.0.3"}).json()["statements"]
        assert statements == []
        # HTTP/1.0 has no chunks: waitress read no body, and answered the chunks as a next request
        request = (b"POST /xapi/about HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"
                   + chunked(smuggled))
        with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
            sock.sendall(request)
            status, _, body = answer(sock)
        assert status == 400 and b"\r\n\r\n" not in body  # no second answer
        assert json.loads(body)["error"]["message"] == (
            "malformed HTTP request: Transfer-Encoding in an HTTP/1.0 request: its framing is faulty (RFC 9112 6.1)")
