"""Fixtures for the conformance tooling tests and for our own conformance checks.

The tooling tests read small suite run logs written by hand for them (logs/*.json: two spec
sections, five tests, one requirement with a before hook; complete, hook-failed and
early-ended variants) instead of recorded ADL output.

The own checks (test_own_checks*.py) run against this LRS served on 127.0.0.1 by default, or
against any LRS given with `pytest tests/conformance --lrs-endpoint URL --lrs-user KEY
--lrs-password SECRET` (the options exist when this directory is named on the command line).
"""
from __future__ import annotations

import json
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import urljoin

import pytest
import requests

from lrs.app import create_app
from tests.conftest import ADMIN_KEY, ADMIN_SECRET, LiveServer, app_settings

LOGS = Path(__file__).parent / "logs"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lrs", "conformance checks against an external LRS")
    group.addoption("--lrs-endpoint", default=None, help="xAPI endpoint of the LRS to check, "
                    "e.g. http://127.0.0.1:8000/xapi (default: this LRS, served for the tests).")
    group.addoption("--lrs-user", default=None, help="Basic-auth key for --lrs-endpoint.")
    group.addoption("--lrs-password", default=None, help="Basic-auth secret for --lrs-endpoint.")


@pytest.fixture
def recorded_log() -> Callable[[str], dict[str, Any]]:
    """A hand-written run log by name: complete, hook-failed or early-ended."""
    return lambda name: json.loads((LOGS / f"{name}.json").read_text())


@pytest.fixture
def expected_tests() -> list[tuple[tuple[str, ...], str]]:
    """The tests the hand-written logs' suite would run, as suite.list_tests returns them."""
    tests = json.loads((LOGS / "expected-tests.json").read_text())
    return [(tuple(test["path"]), test["title"]) for test in tests]


FAKE_RUNNER = r"""
// A stand-in for the suite's bin/console_runner.js: prints its arguments and a totals line,
// then writes runs/$FAKE_SUITE_RUN.json as its run log. With "hang" it waits for SIGINT and
// then writes the early-ended log as cancelled, as the real runner does when interrupted.
const fs = require('fs'), path = require('path');
const run = process.env.FAKE_SUITE_RUN || 'complete';
console.log('ARGS ' + JSON.stringify(process.argv.slice(2)));
console.log(JSON.stringify({total: 5, passed: 1, failed: 0, version: '1.0.3'}));
function finish(name, state) {
  const log = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'runs', name + '.json')));
  log.state = state || log.state;
  fs.mkdirSync(path.join(__dirname, '..', 'logs'), {recursive: true});
  const out = path.join(__dirname, '..', 'logs', 'run-' + process.pid + '.log');
  fs.writeFileSync(out, JSON.stringify(log));
  console.log('Full run log written to', out);
  process.exit(log.summary.failed);
}
if (run === 'hang') { process.on('SIGINT', () => finish('early-ended', 'cancelled')); setInterval(() => {}, 1000); }
else if (run === 'nolog') { process.exit(3); }
else { finish(run); }
"""


@pytest.fixture
def fake_suite_dir(tmp_path: Path) -> Path:
    """A directory shaped like an installed ADL suite whose runner replays the recorded logs."""
    if shutil.which("node") is None:
        pytest.skip("Node.js is not installed")
    root = tmp_path / "suite"
    for folder in ("bin", "node_modules/mocha", "test/v1_0_3", "test/v2_0", "runs"):
        (root / folder).mkdir(parents=True)
    (root / "bin" / "console_runner.js").write_text(FAKE_RUNNER)
    for log in LOGS.glob("*.json"):
        shutil.copy(log, root / "runs" / log.name)
    return root


@dataclass(frozen=True)
class Target:
    """The LRS under check: its xAPI endpoint (no trailing slash) and a basic-auth credential.
    Checks talk to it over real HTTP only, so they hold for any LRS."""

    endpoint: str
    user: str
    password: str

    def call(self, method: str, resource: str, version: str = "1.0.3", auth: bool = True,
             **kwargs: Any) -> requests.Response:
        """One xAPI request; `resource` is relative to the endpoint ("statements") or a `more`
        IRL (resolved against the endpoint as the spec's relative IRLs are)."""
        headers = {"X-Experience-API-Version": version, **kwargs.pop("headers", {})}
        url = urljoin(self.endpoint + "/", resource)
        return requests.request(method, url, headers=headers, timeout=30,
                                auth=(self.user, self.password) if auth else None, **kwargs)

    def post_statements(self, statements: list[dict[str, Any]]) -> list[str]:
        response = self.call("POST", "statements", json=statements)
        assert response.status_code == 200, response.text
        return response.json()

    def query(self, expected: int, **params: Any) -> list[dict[str, Any]]:
        """GET statements with `params`, waiting up to 10 s for `expected` results: an LRS may
        make statements queryable a little after storing them."""
        deadline = time.monotonic() + 10
        while True:
            response = self.call("GET", "statements", params=params)
            assert response.status_code == 200, response.text
            found = response.json()["statements"]
            if len(found) >= expected or time.monotonic() > deadline:
                return found
            time.sleep(0.2)


def statement(**overrides: Any) -> dict[str, Any]:
    """A valid statement about a unique activity, so checks never see each other's data."""
    return {"actor": {"mbox": "mailto:own-checks@example.com", "objectType": "Agent"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced", "display": {"en-US": "experienced"}},
            "object": {"id": f"http://example.com/own-checks/{uuid.uuid4()}", "objectType": "Activity"},
            **overrides}


@pytest.fixture(scope="module")
def lrs_target(request: pytest.FixtureRequest) -> Iterator[Target]:
    """The external LRS if --lrs-endpoint was given, else this LRS on a fresh store, shared by
    a module's checks as an external LRS would be (each check uses data of its own)."""
    endpoint = request.config.getoption("--lrs-endpoint", default=None)
    if endpoint:
        yield Target(endpoint.rstrip("/"), request.config.getoption("--lrs-user") or "",
                     request.config.getoption("--lrs-password") or "")
        return
    with LiveServer(create_app(app_settings())) as server:
        yield Target(server.url + "/xapi", ADMIN_KEY, ADMIN_SECRET)
