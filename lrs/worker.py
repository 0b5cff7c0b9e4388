"""A gunicorn worker that reads each request whole before a thread runs the application.

gunicorn's threaded worker (gthread) gives a connection to a thread as soon as it is readable,
and the thread then blocks reading the rest: a client that sends half a request line, or a
Content-Length and then one byte, holds that thread, and LRS_THREADS such clients stall every
other request, /xapi/about included. This worker serves with waitress instead, whose single
event loop buffers every request (headers and body, a large body spooled to a temporary file)
and hands only complete requests to the application's threads; responses are written from the
same loop. A stalled client costs one socket, not a thread; a connection idle for
LRS_READ_TIMEOUT seconds is closed, and so is one whose request is not in whole LRS_READ_TIMEOUT
seconds after its first byte (plus a second per MIN_BODY_RATE bytes of body). The application
still runs in threads (never blocked by a long request in another, unlike a single-threaded async
worker) and gunicorn still manages the processes: their number, restarts, signals and heartbeats.

The loop also bounds each request's body by what its route accepts, once the headers are in and
before the body is read: a multipart statements request may use LRS_MAX_ATTACHMENT_REQUEST_BYTES
(with an Authorization header), every other request LRS_MAX_BODY_BYTES. A request over its bound
is answered at once and its connection closed, so no client spools a large body to the worker's
disk on a path that would refuse it only after reading it. waitress's own answers (a malformed
request, headers too large) speak the LRS's error format, with the headers every answer carries.

Use it with gunicorn directly: `gunicorn -k lrs.worker.BufferingWorker --threads 8 wsgi:app`.
"""
from __future__ import annotations

import gc
import json
import logging
import os
import sys
import time
from dataclasses import dataclass
from functools import partial
from http import HTTPStatus
from typing import Any, Callable
from urllib.parse import parse_qs

from gunicorn.workers.base import Worker
from waitress import create_server, wasyncore
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser, ParsingError, get_header_lines
from waitress.rfc7230 import HEADER_FIELD_RE
from waitress.server import BaseWSGIServer
from waitress.task import ErrorTask, WSGITask
from waitress.utilities import BadRequest, Error, InternalServerError, RequestHeaderFieldsTooLarge, ServerNotImplemented

from lrs.collector import collect_and_freeze, full_collection_due
from lrs.http import XAPI_PREFIX, cors
from lrs.http.attachments import MULTIPART
from lrs.http.errors import AUTH_CHALLENGE, error_body
from lrs.http.observe import REQUEST_ID_HEADER, request_id_for
from lrs.http.request import body_limit_message
from lrs.logs import clipped, redacted_target, request_id
from lrs.metrics import OTHER_METHOD, SERVER_ROUTE
from lrs.settings import CORE_SETTINGS, Settings
from lrs.xapi.versions import answer_version

HEARTBEAT_SECONDS = 1.0
DRAIN_POLL_SECONDS = 0.05
# How much of a response the loop holds for a client before the thread producing it waits: small
# answers free their thread at once, a large download stays paced by its reader (bounded memory).
OUTPUT_BUFFER_BYTES = 4 * 1024 * 1024
STATEMENTS = f"{XAPI_PREFIX}/statements"
# The slowest a request's body may arrive on average, beyond the LRS_READ_TIMEOUT seconds every
# request has (a mobile link uploads a hundred times faster).
MIN_BODY_RATE = 8 * 1024  # bytes per second
# What a request line can start with: a method is a token (RFC 9110 5.6.2).
TOKEN_CHARACTERS = frozenset(b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
TLS_HANDSHAKE = 0x16  # the first byte of every TLS record of a handshake (RFC 8446 5.1), a ClientHello's
HTTPS_ADVICE = "this server speaks http:// only; for https:// put a TLS-terminating proxy in front of it"

access_log = logging.getLogger("lrs.access")
log = logging.getLogger(__name__)


class BufferingWorker(Worker):
    def run(self) -> None:
        settings = Settings.resolve(CORE_SETTINGS)
        channels: dict = {}  # waitress's socket map: the listeners and every open connection
        server = create_server(
            self.wsgi, map=channels, sockets=[listener.sock for listener in self.sockets],
            threads=self.cfg.threads, connection_limit=self.cfg.worker_connections,
            channel_timeout=settings["read_timeout"], cleanup_interval=max(1, settings["read_timeout"] // 4),
            max_request_body_size=sys.maxsize,  # waitress's one bound for all: _BoundedParser bounds each request
            outbuf_high_watermark=OUTPUT_BUFFER_BYTES, ident="lrs", expose_tracebacks=False,
            clear_untrusted_proxy_headers=False)  # X-Forwarded-* are the application's to trust (LRS_PROXY_HOPS)
        rules = _Rules(settings["max_body_bytes"], settings["max_attachment_request_bytes"],
                       settings["cors_origins"], settings["xapi_versions"], _observer(self.wsgi))
        for listener in channels.values():  # before the loop accepts a connection
            if isinstance(listener, BaseWSGIServer):
                listener.channel_class = partial(_LRSChannel, rules=rules)
        try:
            swept = time.monotonic()
            while self.alive and self.ppid == os.getppid():
                self.notify()
                wasyncore.loop(timeout=HEARTBEAT_SECONDS, use_poll=True, map=channels, count=1)
                if full_collection_due() and _quiet(server, channels):
                    log.debug("full garbage collection at a quiet moment: %.1f ms, %d objects frozen",
                              collect_and_freeze() * 1000, gc.get_freeze_count())
                if time.monotonic() - swept >= HEARTBEAT_SECONDS:
                    _close_late(channels)
                    swept = time.monotonic()
            self._drain(server, channels)
        finally:
            server.task_dispatcher.shutdown()  # before close(), which closes the trigger a finishing thread pulls
            server.close()

    def _drain(self, server: Any, channels: dict) -> None:
        """A graceful stop: accept nothing new, and keep the loop running until the requests in
        the threads are answered and sent (for at most gunicorn's graceful timeout)."""
        for dispatcher in list(channels.values()):
            dispatcher.accepting = False  # the listeners read nothing more; connections are unaffected
        deadline = time.monotonic() + self.cfg.graceful_timeout
        wasyncore.loop(timeout=0, use_poll=True, map=channels, count=1)  # what already arrived is read
        while time.monotonic() < deadline and _busy(server, channels):
            self.notify()
            wasyncore.loop(timeout=DRAIN_POLL_SECONDS, use_poll=True, map=channels, count=1)


class _KeepAliveTask(WSGITask):
    """waitress (3.0.2) closes the connection after any HTTP/1.1 response without a Content-Length,
    and a 204 or 304 must not have one (RFC 9110 8.6): every stored statement, document write and
    CORS preflight cost its client a new connection. Such a response ends with its header (RFC
    9112 6.3), so the connection is kept unless the client or waitress had another reason to close."""

    def build_response_header(self) -> bytes:
        if self.has_body or self.version != "1.1":
            return super().build_response_header()
        closing = self.close_on_finish or self.request.headers.get("CONNECTION", "").lower() == "close"
        self.close_on_finish = True  # waitress closes for want of a length only if not closing already
        try:
            return super().build_response_header()
        finally:
            self.close_on_finish = closing


class _Refusal(Error):
    """A request the loop refuses itself; its body is the message the client gets."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code, self.reason = code, HTTPStatus(code).phrase


@dataclass(frozen=True)
class _Rules:
    """What the loop knows of the LRS: the bounds of request bodies, and the headers of its answers."""

    max_body: int  # LRS_MAX_BODY_BYTES
    max_attachment_request: int  # LRS_MAX_ATTACHMENT_REQUEST_BYTES
    cors_origins: tuple[str, ...]
    xapi_versions: tuple[str, ...]
    observe: Callable[[str, str, int, float], None]  # the app's metrics (Metrics.observe)

    def refusal(self, request: HTTPRequestParser, size: int) -> _Refusal | None:
        """Why a request whose body has (at least) `size` bytes is refused before more is read.
        Only a multipart statements request may exceed LRS_MAX_BODY_BYTES (no plugin route reads
        more), and only with credentials: an anonymous client cannot make the worker spool a large
        body (the credential itself is the application's to check)."""
        if size <= self.max_body:
            return None
        if not _carries_attachments(request):
            return _Refusal(413, body_limit_message(self.max_body, "LRS_MAX_BODY_BYTES"))
        if size > self.max_attachment_request:
            return _Refusal(413, body_limit_message(self.max_attachment_request, "LRS_MAX_ATTACHMENT_REQUEST_BYTES"))
        if not request.headers.get("AUTHORIZATION", "").strip():
            return _Refusal(401, f"request body: larger than {self.max_body} bytes (LRS_MAX_BODY_BYTES) "
                                 "without an Authorization header; send the credentials")
        return None

    def headers(self, request: HTTPRequestParser, status: int) -> list[tuple[str, str]]:
        """The headers every answer of the LRS carries, as far as the request's headers were read
        (a malformed one may have none: then no Origin is known, and no CORS header applies)."""
        headers = [("Content-Type", "application/json"), ("Cache-Control", "no-store"),
                   ("X-Experience-API-Version",
                    answer_version(request.headers.get("X_EXPERIENCE_API_VERSION"), self.xapi_versions))]
        if status == 401:
            headers.append(("WWW-Authenticate", AUTH_CHALLENGE))
        return headers + cors.answer_headers(request.headers.get("ORIGIN"), self.cors_origins,
                                             getattr(request, "path", "/"))  # none if its request line was not read


def _observer(wsgi: Any) -> Callable[[str, str, int, float], None]:
    """Where the loop counts its own answers: the LRS app's metrics (none for gunicorn's stand-in
    app that only reports a failed import)."""
    metrics = getattr(wsgi, "extensions", {}).get("metrics")
    return metrics.observe if metrics is not None else lambda *_: None


def _carries_attachments(request: HTTPRequestParser) -> bool:
    """A POST or PUT of statements with attachment contents (the alternate syntax's body is a form)."""
    media_type = request.headers.get("CONTENT_TYPE", "").partition(";")[0].strip().lower()
    return (request.command in ("POST", "PUT") and request.path == STATEMENTS and media_type == MULTIPART
            and "method" not in parse_qs(request.query, keep_blank_values=True))


class _BoundedParser(HTTPRequestParser):
    """waitress's parser, refusing a body over its request's bound as soon as it is known to be:
    from the Content-Length when the headers end, as a chunked body arrives otherwise."""

    def __init__(self, adj: Any, rules: _Rules):
        super().__init__(adj)
        self.rules = rules
        self.started = time.monotonic()  # waitress makes a parser when a request's first bytes arrive

    def overdue(self, now: float) -> bool:
        """Whether the request is still coming LRS_READ_TIMEOUT seconds after its first byte, plus a
        second for each MIN_BODY_RATE bytes of body received. A timeout between reads alone let a
        client that sends a byte now and then hold its connection for ever, and the worker's
        connections (gunicorn's --worker-connections) are few: 1000 such clients, a byte each every
        few seconds, left no request answered."""
        return now > self.started + self.adj.channel_timeout + self.body_bytes_received / MIN_BODY_RATE

    def received(self, data: bytes) -> int:
        if not self.completed and self.body_rcv is None:
            refusal = _not_http(self.header_plus, data)
            if refusal is not None:
                super().parse_header(b"GET / HTTP/1.0\r\n")  # as waitress stands in for what it cannot parse
                self.error, self.completed = refusal, True
                return len(data)  # the rest is no HTTP either
        consumed = super().received(data)
        if self.error is not None or not self.headers_finished:
            return consumed
        refusal = self.rules.refusal(self, len(self.body_rcv) if self.chunked else self.content_length)
        if refusal is None:
            return consumed
        self.error, self.completed = refusal, True
        self.expect_continue = False  # a 100 Continue would invite the body, and make waitress read it
        return len(data)  # the rest is the refused body, not a next request

    def parse_header(self, header_plus: bytes) -> None:
        try:
            super().parse_header(header_plus)
        except ParsingError as error:
            raise ParsingError(_named(str(error), header_plus)) from None
        # Where a proxy in front and waitress could see different bodies, the rest of one would be a
        # next request to the other: one the proxy never saw (request smuggling). So, as RFC 9112
        # 6.1 says, such framing is refused and the connection closed.
        if "TRANSFER_ENCODING" in self.headers:  # waitress reads it in HTTP/1.1 only, and leaves it then
            raise ParsingError(f"Transfer-Encoding in an HTTP/{self.version} request: its framing is faulty "
                               "(RFC 9112 6.1)")
        if self.chunked and "CONTENT_LENGTH" in self.headers:  # waitress goes by the chunks
            raise ParsingError("Content-Length and Transfer-Encoding together: send one (RFC 9112 6.1)")


class _TLSHandshake(BadRequest):
    """A TLS client (an https:// URL) on the plain HTTP port. Waiting for the end of a header that
    never comes held it LRS_READ_TIMEOUT seconds; answered at once, in plain HTTP, its TLS library
    reports what happened (OpenSSL: "wrong version number") instead of a hang."""


def _not_http(before: bytes, data: bytes) -> Error | None:
    """Why a request whose header so far is `before`, then `data`, cannot be HTTP, known before
    the header's end (CR LF CR LF) that waitress waits for: it would never come."""
    start = before.lstrip() or data.lstrip()  # blank lines may precede a request (RFC 9112 2.2)
    if start and start[0] not in TOKEN_CHARACTERS:
        if start[0] == TLS_HANDSHAKE:
            return _TLSHandshake(f"TLS handshake on a plain HTTP port: {HTTPS_ADVICE}")
        return BadRequest(f"a request line starts with a method, not byte 0x{start[0]:02x}")
    if b"\n\n" in before[-1:] + data and b"\r\n\r\n" not in before + data:
        return BadRequest("lines must end with CR LF; the header ended with a bare LF")
    return None


def _named(problem: str, header_plus: bytes) -> str:
    """waitress's "Invalid header", naming the header."""
    if problem != "Invalid header":
        return problem
    for line in get_header_lines(header_plus.partition(b"\r\n")[2]):
        if not HEADER_FIELD_RE.match(line):
            name = line.partition(b":")[0][:100].decode("latin-1")
            return (f"header {name!r}: not a valid field (RFC 9110 5: a token, a colon, then a value "
                    "without control characters)")
    return problem


class _ErrorTask(ErrorTask):
    """The loop's own answers, in the LRS's error format: {"error": {"status", "message"}}."""

    def execute(self) -> None:
        """Answered with an X-Request-ID, as the application's answers are, and logged under it,
        so a client's report of a refusal finds its log line."""
        answer_id = request_id_for(self.request.headers.get("X_REQUEST_ID", ""))
        token = request_id.set(answer_id)
        try:
            self._answer(answer_id)
        finally:
            request_id.reset(token)

    def _answer(self, answer_id: str) -> None:
        error, request = self.request.error, self.request
        message = _message(error, self.channel.adj)
        body = json.dumps(error_body(error.code, message)).encode()
        self.status = f"{error.code} {error.reason}"
        self.response_headers.extend(self.channel.rules.headers(request, error.code))
        self.response_headers.append((REQUEST_ID_HEADER, answer_id))
        self.set_close_on_finish()
        self.content_length = len(body)
        # Counted and logged before the answer goes out: a client that has it may read /metrics or
        # look for its log line next (a server stopped just after answering wrote none).
        method = request.command if isinstance(error, _Refusal) else OTHER_METHOD
        self.channel.rules.observe(SERVER_ROUTE, method, error.code, time.monotonic() - request.started)
        self._log(error, message)
        self.write(body)

    def _log(self, error: Error, message: str) -> None:
        request = self.request
        # Only a refused request is known to have its request line parsed (waitress stands in "GET /" for others).
        where = f"{clipped(request.command)} {_target(request.request_uri)}" if isinstance(error, _Refusal) else "-"
        if isinstance(error, _TLSHandshake):  # the operator's to fix (a client's URL, or a missing proxy)
            access_log.warning("TLS handshake from %s on a plain HTTP port: %s", _peer(self.channel.addr), HTTPS_ADVICE)
            return
        access_log.info("%s %s (answered by the server: %s)", where, error.code, message)


def _peer(addr: Any) -> str:
    return addr[0] if isinstance(addr, tuple) else "a local socket"


def _target(request_uri: str) -> str:
    path, _, query = request_uri.partition("?")
    return clipped(redacted_target(path, query))


def _message(error: Error, adj: Any) -> str:
    if isinstance(error, RequestHeaderFieldsTooLarge):
        return f"request line and headers: larger than {adj.max_request_header_size} bytes"
    if isinstance(error, ServerNotImplemented):
        return "Transfer-Encoding: only chunked is supported"
    if isinstance(error, (_Refusal, _TLSHandshake, InternalServerError)):
        return error.body
    return f"malformed HTTP request: {clipped(error.body)}"  # waitress quotes the line it refused, whole


class _LRSChannel(HTTPChannel):
    task_class = _KeepAliveTask
    error_task_class = _ErrorTask

    def __init__(self, server: Any, sock: Any, addr: Any, adj: Any, map: dict | None = None, *, rules: _Rules):
        self.rules = rules
        self.parser_class = partial(_BoundedParser, rules=rules)
        super().__init__(server, sock, addr, adj, map)
        if len(self._map) >= adj.connection_limit:
            _close_idlest(self._map, self)


def _close_late(channels: dict) -> None:
    """Close the connections whose client is too slow, as waitress closes an idle one (it never
    closes one with a request under way). A request still coming LRS_READ_TIMEOUT seconds after its
    first byte (`_BoundedParser.overdue`) is let go once what is left to write is written. A client
    that takes nothing of its answer for LRS_READ_TIMEOUT seconds is cut off at once: a thread may
    be waiting to write more (an answer streamed past OUTPUT_BUFFER_BYTES, statements with their
    attachments), and LRS_THREADS clients that never read held every thread for ever; the close
    wakes it (waitress's write raises ClientDisconnected). Its full socket would never let the
    loop's own close (on a write turn) happen."""
    now, wall_clock = time.monotonic(), time.time()  # waitress's last_activity is on the wall clock
    for channel in list(channels.values()):
        if not isinstance(channel, _LRSChannel) or not channel.connected:
            continue
        if channel.total_outbufs_len and wall_clock - channel.last_activity > channel.adj.channel_timeout:
            access_log.info("- (closed by the server: %s took nothing of its answer for %s s)",
                            _peer(channel.addr), channel.adj.channel_timeout)
            channel.handle_close()
        elif (channel.request is not None and not (channel.requests or channel.will_close)
              and channel.request.overdue(now)):
            access_log.info("- 408 (closed by the server: the request from %s did not arrive in time)",
                            _peer(channel.addr))
            channel.rules.observe(SERVER_ROUTE, OTHER_METHOD, 408, now - channel.request.started)
            channel.will_close = True


def _close_idlest(channels: dict, new: HTTPChannel) -> None:
    """Make room at the connection limit (gunicorn's --worker-connections), where waitress accepts
    nothing until a connection closes: a kept-alive one waiting for its next request could keep a
    new client out for LRS_READ_TIMEOUT seconds, and 1000 of them for as long as they sent a
    request now and then. The longest idle goes (nginx drains kept-alive connections so too); a
    client that comes back opens another."""
    idle = [channel for channel in channels.values()
            if isinstance(channel, HTTPChannel) and channel is not new and channel.request is None
            and not (channel.requests or channel.total_outbufs_len or channel.will_close or channel.close_when_flushed)]
    if idle:
        min(idle, key=lambda channel: channel.last_activity).will_close = True


def _quiet(server: Any, channels: dict) -> bool:
    """No request is being received, queued, run or answered: only the application and idle
    connections are alive. The loop's own thread is the one that would queue the next request."""
    return not (_busy(server, channels) or any(
        isinstance(channel, HTTPChannel) and (channel.request is not None or channel.requests)
        for channel in list(channels.values())))


def _busy(server: Any, channels: dict) -> bool:
    """A request is queued or running, or an answer is still being written."""
    dispatcher = server.task_dispatcher
    return bool(dispatcher.queue) or dispatcher.active_count > 0 or any(
        isinstance(channel, HTTPChannel) and channel.total_outbufs_len > 0 for channel in list(channels.values()))
