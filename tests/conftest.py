"""Shared fixtures: an LRS app on a fresh store, its test client, and a live HTTP server.

Tests run on the embedded store (mongomock). With LRS_TEST_MONGO_URI set, the same tests run
against that real MongoDB, each in a database of its own that is dropped afterwards.
"""
from __future__ import annotations

import base64
import os
import secrets
import socket
import uuid
from typing import Any, Callable, Iterator

import pymongo
import pytest
from pymongo import monitoring
from werkzeug.serving import make_server

import lrs.server
from lrs.app import create_app
from lrs.server import spawned
from tests.background_server import BackgroundServer
from tests.forwarding.wire_store import WireStore

pytest_plugins = ["tests.xapijs"]  # the node_env fixture for xAPI.js tests

# Memory-only embedded store for every app and every `lrs serve` a test starts, unless the test
# is about durability and names its own LRS_DATA_DIR.
os.environ["LRS_DATA_DIR"] = ""

PORTS_PER_WORKER = 1000
FIRST_WORKER_PORT = 20000  # below Linux's ephemeral range (32768-60999), where the kernel's own picks fall


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist, each worker's servers take ports from a range of their own.

    `free_port` asks the kernel for a free port and lets it go for the server to bind: two workers
    asking at once may be handed the same one, and a test would then talk to the other worker's
    server. Disjoint ranges rule that out. The name is replaced on the module before the test
    modules import it.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # gw0, gw1, ... when xdist runs this process
    if worker.startswith("gw"):
        first = FIRST_WORKER_PORT + int(worker[2:]) * PORTS_PER_WORKER
        lrs.server.free_port = lambda: free_port_between(first, first + PORTS_PER_WORKER)


def free_port_between(low: int, high: int) -> int:
    """A port of [low, high) that nothing listens on now, tried from a random place onwards
    (drawn with `secrets`, which leaves the `random` module's state to the tests that seed it)."""
    start = low + secrets.randbelow(high - low)
    for port in [*range(start, high), *range(low, start)]:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port between {low} and {high}")


ADMIN_KEY = "test-admin"
ADMIN_SECRET = "test-admin-secret"
TEST_HASH_COST = 7  # the lowest werkzeug can run, far below the production floor: scrypt would otherwise dominate each create_app


def app_settings(**overrides: Any) -> dict[str, Any]:
    """Settings for a test LRS on a fresh store, with an admin credential."""
    settings: dict[str, Any] = {"admin_key": ADMIN_KEY, "admin_secret": ADMIN_SECRET, "mongo_uri": "",
                                "data_dir": "", "mongo_db": f"lrs_test_{uuid.uuid4().hex[:12]}", "log_level": "WARNING",
                                "secret_hash_cost": TEST_HASH_COST}
    if os.environ.get("LRS_TEST_MONGO_URI"):
        settings["mongo_uri"] = os.environ["LRS_TEST_MONGO_URI"]
    settings.update(overrides)
    return settings


def basic_auth(key: str = ADMIN_KEY, secret: str = ADMIN_SECRET) -> str:
    return "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()


@pytest.fixture
def make_app() -> Iterator[Callable[..., Any]]:
    """Build apps with settings overrides (e.g. plugins="caliper") and plugin objects
    (`extra_plugins`); their real-MongoDB databases are dropped afterwards.
    """
    apps = []

    def make(extra_plugins: tuple = (), **overrides: Any) -> Any:
        app = create_app(app_settings(**overrides), plugins=extra_plugins)
        apps.append(app)
        return app

    yield make
    for app in apps:
        lrs = app.extensions["lrs"]
        if lrs.settings["mongo_uri"]:
            lrs.db.client.drop_database(lrs.db.name)


@pytest.fixture
def app(make_app: Callable[..., Any]) -> Any:
    return make_app()


@pytest.fixture
def shared_store() -> Iterator[str]:
    """A store URI other processes can use; requested before make_app, so it outlives its apps:
    the MongoDB of LRS_TEST_MONGO_URI, otherwise the embedded store served over the wire protocol."""
    if os.environ.get("LRS_TEST_MONGO_URI"):
        yield os.environ["LRS_TEST_MONGO_URI"]
        return
    with WireStore() as store:
        yield store.uri


class SentCommands(monitoring.CommandListener):
    """The commands pymongo sends, as a MongoDB server receives them: for rules mongomock does not
    enforce (the 16 MB limit of a command, what a sharded collection's writes must name), checked
    on the very documents sent. Commands of apps made after the fixture, on `shared_store`."""

    def __init__(self) -> None:
        self.commands: list[tuple[str, dict]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.commands.append((event.command_name, event.command))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def named(self, *names: str) -> list[dict]:
        return [command for name, command in self.commands if name in names]


@pytest.fixture
def sent_commands(monkeypatch: pytest.MonkeyPatch, shared_store: str) -> SentCommands:
    listener = SentCommands()
    client_class = pymongo.MongoClient
    monkeypatch.setattr(pymongo, "MongoClient",
                        lambda *args, **kwargs: client_class(*args, event_listeners=[listener], **kwargs))
    return listener


@pytest.fixture(params=["embedded", "mongodb"])
def either_store_app(request: Any, make_app: Callable[..., Any]) -> Any:
    """An app on each way of writing a batch: the embedded store's (under its lock) and
    MongoDB's (pending marker, commit, reveal), the latter through `shared_store`."""
    if request.param == "embedded":
        return make_app()
    return make_app(mongo_uri=request.getfixturevalue("shared_store"))


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def xapi_headers() -> dict[str, str]:
    return {"Authorization": basic_auth(), "X-Experience-API-Version": "1.0.3"}


class LiveServer(BackgroundServer):
    """A real HTTP server on 127.0.0.1 serving a WSGI app in a background thread."""

    def __init__(self, app: Any, port: int = 0):
        super().__init__(make_server("127.0.0.1", port, app, threaded=True))
        self.url = f"http://127.0.0.1:{self.server.server_port}"


@pytest.fixture
def live_server(app: Any) -> Iterator[LiveServer]:
    """The `app` fixture served over real HTTP; `live_server.url + "/xapi"` is the endpoint."""
    with LiveServer(app) as server:
        yield server


@pytest.fixture(scope="module")
def lrs_serve() -> Iterator[str]:
    """A real `lrs serve` (gunicorn, a child process) on 127.0.0.1, on an embedded store in memory,
    with the admin credential; one per test module, stopped whatever happens. Its base URL, as
    `live_server.url` is: the endpoint is `lrs_serve + "/xapi"`."""
    env = {"LRS_ADMIN_KEY": ADMIN_KEY, "LRS_ADMIN_SECRET": ADMIN_SECRET, "LRS_LOG_LEVEL": "WARNING", "LRS_DATA_DIR": ""}
    with spawned(env) as (endpoint, _):
        yield endpoint.removesuffix("/xapi")
