"""Live test machinery: a target LRS that can be stopped and restarted on its port, a faulty
proxy in front of it, statement builders, and the final "target holds exactly the source's
statements" check."""
from __future__ import annotations

import http.server
import itertools
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator

import requests

from lrs.server import stop
from lrs.xapi.equality import same_statement
from tests.background_server import BackgroundServer
from tests.conftest import ADMIN_KEY, ADMIN_SECRET, LiveServer, basic_auth

XAPI_HEADERS = {"Authorization": basic_auth(), "X-Experience-API-Version": "1.0.3"}
VERB = "http://adlnet.gov/expapi/verbs/experienced"


def statement(n: int, verb: str = VERB, activity: str = "http://example.com/activities/", **extra: Any) -> dict:
    return {"id": str(uuid.uuid4()), "actor": {"mbox": f"mailto:learner{n % 7}@example.com"},
            "verb": {"id": verb}, "object": {"id": f"{activity}{n}"}, **extra}


def voiding(target_id: str) -> dict:
    return {"id": str(uuid.uuid4()), "actor": {"mbox": "mailto:admin@example.com"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
            "object": {"objectType": "StatementRef", "id": target_id}}


def target_config(name: str, endpoint: str, **extra: Any) -> dict:
    return {"name": name, "endpoint": endpoint, "auth": {"type": "basic", "username": ADMIN_KEY,
                                                         "password": ADMIN_SECRET}, **extra}


def fast_engine(**overrides: Any) -> dict[str, Any]:
    """Engine settings that make retries and polling quick enough for tests."""
    return {"forward_poll_seconds": "0.05", "forward_retry_base_seconds": "0.05",
            "forward_retry_max_seconds": "0.4", "forward_lease_seconds": "2", **overrides}


def source_app(make_app: Callable[..., Any], endpoint: str, engine: dict | None = None, **target: Any) -> Any:
    """An LRS forwarding to one xAPI target, "replica" at `endpoint`, with quick engine settings."""
    config = [target_config("replica", endpoint, **target)]
    return make_app(plugins="forward_xapi", forward_xapi_targets=json.dumps(config), **fast_engine(**(engine or {})))


def wait_until(condition: Callable[[], Any], timeout: float = 20.0, step: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"condition not met within {timeout} s")


@contextmanager
def workers_running() -> Iterator[list[Any]]:
    """A list for started forwarding workers; each is stopped on exit, whatever happened."""
    workers: list[Any] = []
    try:
        yield workers
    finally:
        for worker in workers:
            worker.stop(5)


def stored(app: Any) -> dict[str, dict]:
    """Every visible statement of an LRS (voided ones included) by id, read from its store."""
    collection = app.extensions["lrs"].statement_store.collection
    return {doc["_id"]: json.loads(doc["raw"]) for doc in collection.find({"pending": {"$exists": False}}, {"raw": 1})}


def assert_same_statements(source: dict[str, dict], target: dict[str, dict]) -> None:
    assert set(target) == set(source), (f"missing on target: {len(set(source) - set(target))}, "
                                        f"unexpected on target: {len(set(target) - set(source))}")
    different = [sid for sid in source if not same_statement(source[sid], target[sid])]
    assert not different, f"{len(different)} statements differ, e.g. {different[:3]}"


class RestartableServer:
    """A WSGI app on 127.0.0.1 that can go down and come back on the same port."""

    def __init__(self, app: Any):
        self.app = app
        self.port = 0
        self._live: LiveServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "RestartableServer":
        self._live = LiveServer(self.app, self.port).start()
        self.port = self._live.server.server_port
        return self

    def stop(self) -> None:
        self._live.stop()

    def __enter__(self) -> "RestartableServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


class FaultyProxy(BackgroundServer):
    """An HTTP proxy to `upstream` that answers each request per a repeating fault schedule:
    pass (forward), 500/503, 429 with Retry-After, timeout (say nothing until the client gives
    up), drop (close without an answer), drop_after_forward (forward, then close without an
    answer: the target has the statements, the sender cannot know), slow (forward, then wait
    `stall_seconds` before answering), slow_per_statement (forward, then wait `stall_seconds`
    for each statement of the batch: a target whose time grows with the batch), trickle (forward, then send the answer one byte every
    `stall_seconds`), and answers no LRS gives a POST of statements: ok (200 `ok` as text/plain,
    a catch-all page), empty (200 `[]`), 307 (to the https address of the same path). A batch
    holding a `poison` id gets a 500 whatever the schedule. GETs are passed through (a 502 while
    the upstream is down). Records every POST; `schedule(...)` changes the schedule. `hang()`
    makes it a hung target (a process stopped, a dead VM behind a live load balancer): every
    request, GET /about included, gets no answer until `stall_seconds` pass, then is closed;
    `hang(False)` brings it back. `max_statements`, when set, is a body limit: a POST of more
    statements gets 413, as from a proxy's `client_max_body_size`."""

    def __init__(self, upstream: str, schedule: Iterable[str] = ("pass",), stall_seconds: float = 1.0,
                 poison: Iterable[str] = ()):
        self.upstream = upstream
        self.stall_seconds = stall_seconds
        self.poison = set(poison)
        self.schedule(schedule)
        self._lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.unanswered_gets = 0
        self.max_statements: int | None = None
        self._answering = threading.Event()
        self._answering.set()
        self.active = 0
        self.max_active = 0
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - the http.server naming
                proxy._handle(self)

            def do_GET(self) -> None:  # noqa: N802 - the http.server naming
                proxy._pass_get(self)

            def log_message(self, *args: Any) -> None:
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        super().__init__(server)
        self.url = f"http://127.0.0.1:{server.server_port}"

    def schedule(self, faults: Iterable[str]) -> None:
        self._schedule = itertools.cycle(list(faults))

    def hang(self, hung: bool = True) -> None:
        (self._answering.clear if hung else self._answering.set)()

    def _hung(self, handler: http.server.BaseHTTPRequestHandler) -> bool:
        """Hung when the request came: say nothing until `stall_seconds` pass or the hang ends
        (the sender has given up by then), and close."""
        if self._answering.is_set():
            return False
        self._answering.wait(self.stall_seconds)
        handler.close_connection = True
        return True

    def faults_seen(self) -> set[str]:
        return {request["fault"] for request in self.requests}

    def _handle(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length", 0)))
        with self._lock:
            fault = next(self._schedule)
            ids = _ids(body, handler.headers.get("Content-Type", ""))
            fault = "poison" if self.poison.intersection(ids) else "hang" if not self._answering.is_set() else fault
            fault = "413" if self.max_statements is not None and len(ids) > self.max_statements else fault
            record = {"fault": fault, "ids": ids, "start": time.monotonic()}
            self.requests.append(record)
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            self._answer(handler, fault, body, len(ids))
        finally:
            with self._lock:
                self.active -= 1
                record["end"] = time.monotonic()

    def _answer(self, handler: http.server.BaseHTTPRequestHandler, fault: str, body: bytes, count: int) -> None:
        if self._hung(handler):
            return None
        if fault in ("500", "503", "poison"):
            return _reply(handler, 503 if fault == "503" else 500, b'{"error": "injected"}')
        if fault == "trickle":
            upstream = self._forward(handler, body)
            return self._trickle(handler, upstream)
        if fault in NOT_AN_LRS:
            return _reply(handler, *NOT_AN_LRS[fault](handler))
        if fault == "413":
            return _reply(handler, 413, b'{"error": "Request Entity Too Large"}')
        if fault == "429":
            return _reply(handler, 429, b'{"error": "slow down"}', {"Retry-After": "1"})
        if fault == "timeout":
            time.sleep(self.stall_seconds)
        elif fault in ("pass", "slow", "slow_per_statement", "drop_after_forward"):
            upstream = self._forward(handler, body)
            if fault.startswith("slow"):
                time.sleep(self.stall_seconds * (count if fault == "slow_per_statement" else 1))
            if fault in ("pass", "slow", "slow_per_statement"):
                return _reply(handler, upstream.status_code, upstream.content,
                              {k: v for k, v in upstream.headers.items() if k.lower() in ("content-type", "retry-after")})
        handler.close_connection = True  # drop, timeout, drop_after_forward: no answer at all

    def _trickle(self, handler: http.server.BaseHTTPRequestHandler, upstream: Any) -> None:
        answer = (f"HTTP/1.1 {upstream.status_code} OK\r\nContent-Type: application/json\r\n"
                  f"Content-Length: {len(upstream.content)}\r\n\r\n").encode() + upstream.content
        handler.close_connection = True
        try:
            for byte in answer:
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
                time.sleep(self.stall_seconds)
        except OSError:
            pass  # the client gave up

    def _pass_get(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        if not self._answering.is_set():
            with self._lock:
                self.unanswered_gets += 1
        if self._hung(handler):
            return
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in ("host", "connection")}
        try:
            upstream = requests.get(self.upstream + handler.path, headers=headers, timeout=10)
        except requests.ConnectionError:
            upstream = _Fake(502, b'{"error": "target down"}')
        _reply(handler, upstream.status_code, upstream.content)

    def _forward(self, handler: http.server.BaseHTTPRequestHandler, body: bytes) -> Any:
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in ("host", "content-length", "connection")}
        try:
            return requests.post(self.upstream + handler.path, data=body, headers=headers, timeout=10)
        except requests.ConnectionError:
            return _Fake(502, b'{"error": "target down"}')


NOT_AN_LRS: dict[str, Callable[[http.server.BaseHTTPRequestHandler], tuple[int, bytes, dict[str, str]]]] = {
    "ok": lambda handler: (200, b"ok", {"Content-Type": "text/plain"}),
    "empty": lambda handler: (200, b"[]", {}),
    "307": lambda handler: (307, b"", {"Location": f"https://{handler.headers['Host']}{handler.path}"}),
}


class _Fake:
    def __init__(self, status: int, content: bytes):
        self.status_code, self.content, self.headers = status, content, {"Content-Type": "application/json"}


def _reply(handler: http.server.BaseHTTPRequestHandler, status: int, body: bytes,
           headers: dict[str, str] | None = None) -> None:
    handler.send_response(status)
    for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def _ids(body: bytes, content_type: str) -> list[str]:
    if not content_type.startswith("application/json"):
        return []
    try:
        return [s.get("id") for s in json.loads(body)]
    except (ValueError, AttributeError, TypeError):
        return []


def forward_env(lrs: Any, config: str, **settings: str) -> dict[str, str]:
    """The environment of an `lrs forward` process on the store of `lrs` (a shared one)."""
    return {**os.environ, "LRS_MONGO_URI": lrs.settings["mongo_uri"], "LRS_MONGO_DB": lrs.db.name,
            "LRS_PLUGINS": "forward_xapi", "LRS_FORWARD_XAPI_TARGETS": config, "LRS_LOG_LEVEL": "ERROR", **settings}


def forward_command(lrs: Any, config: str, *args: str) -> subprocess.CompletedProcess:
    """`lrs forward ARGS` in a process of its own, on the store of `lrs` (a shared one)."""
    return subprocess.run([sys.executable, "-m", "lrs.cli", "forward", *args], env=forward_env(lrs, config),
                          capture_output=True, text=True, timeout=120)


@contextmanager
def forward_process(lrs: Any, config: str, **settings: str) -> Iterator[subprocess.Popen]:
    """The worker, `lrs forward`, in a process of its own on the store of `lrs` (a shared one), with
    quick engine settings (LRS_* `settings` override them); stopped on exit if the test has not
    killed it."""
    env = forward_env(lrs, config, **{"LRS_LOG_LEVEL": "WARNING", "LRS_FORWARD_LEASE_SECONDS": "3",
                                      "LRS_FORWARD_POLL_SECONDS": "0.05", "LRS_FORWARD_RETRY_BASE_SECONDS": "0.05",
                                      "LRS_FORWARD_RETRY_MAX_SECONDS": "0.5", **settings})
    process = subprocess.Popen([sys.executable, "-m", "lrs.cli", "forward"], env=env)
    try:
        yield process
    finally:
        stop(process)
