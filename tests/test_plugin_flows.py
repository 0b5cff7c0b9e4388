"""Each plugin's documented first steps, run as a newcomer would on the default (embedded) store.

Every plugin guide (and the README's "Enabling plugins") holds a block marked `<!-- flow -->`: the `lrs serve` command(s) that start the
LRS and the `lrs credentials create --url ...` command(s) that make its credentials over HTTP.
The test runs those commands exactly as written (only the ports change: 8000 and 8001 become
free ones), as real processes in one fresh working directory, with the data folder the guide
gives (the default one, lrs-data, unless it sets LRS_DATA_DIR), then calls the plugin's API the
way the guide's curl examples do.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from lrs.server import free_port, spawned
from lrs.settings import CORE_SETTINGS
from tests.test_docs_run import run_blocks

DOCS = Path(__file__).resolve().parent.parent / "docs"
FLOW = re.compile(r"<!-- flow -->\s*```sh\n(.*?)```", re.S)
TIMEOUT = 30
# What `lrs serve` uses when the guide sets no LRS_DATA_DIR (the tests' own default is memory only).
DATA_DIR = next(setting.default for setting in CORE_SETTINGS if setting.name == "data_dir")


def flow_commands(doc: str) -> list[list[str]]:
    """The commands of the guide's flow block, each split as the shell would (comments dropped)."""
    match = FLOW.search((DOCS / doc).read_text())
    assert match, f"docs/{doc} has no <!-- flow --> block"
    text = match.group(1).replace("\\\n", " ")
    return [shlex.split(line) for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


class Flow:
    """Runs a flow's commands; `servers` maps each documented base URL to the live one."""

    def __init__(self, stack: contextlib.ExitStack, tmp_path: Path):
        self.stack = stack
        self.tmp_path = tmp_path
        self.ports = {"8000": str(free_port()), "8001": str(free_port())}
        self.credentials: list[dict[str, Any]] = []
        self.exported: dict[str, str] = {}
        self.cwd = tmp_path / "cwd"
        self.cwd.mkdir()

    def _assignments(self, words: list[str]) -> dict[str, str]:
        """The leading NAME=value words, ports mapped."""
        found = {}
        for word in words:
            if not re.match(r"[A-Z][A-Z0-9_]*=", word):
                break
            name, _, value = word.partition("=")
            found[name] = self.url(value)
        return found

    def url(self, documented: str) -> str:
        return re.sub(r"127\.0\.0\.1:(800[01])", lambda m: f"127.0.0.1:{self.ports[m.group(1)]}", documented)

    def run(self, command: list[str]) -> None:
        if command[0] == "export":
            self.exported.update(self._assignments(command[1:]))
            return
        assigned = self._assignments(command)
        env, command = {**self.exported, **assigned}, command[len(assigned):]
        if command == ["lrs", "serve"]:
            self._serve(env)
        elif command[:3] == ["lrs", "credentials", "create"]:
            self.credentials.append(self._cli(command[1:], env))
        else:
            raise AssertionError(f"a flow holds only lrs serve and lrs credentials create: {command}")

    def _serve(self, env: dict[str, str]) -> None:
        port = self.ports[env.pop("LRS_PORT", "8000")]
        log = self.stack.enter_context(open(self.tmp_path / f"serve-{port}.log", "w"))  # noqa: SIM115 - the stack closes it
        try:
            self.stack.enter_context(spawned({"LRS_MONGO_URI": "", "LRS_LOG_LEVEL": "WARNING", "LRS_DATA_DIR": DATA_DIR,
                                              **env}, port=int(port), stdout=log, timeout=TIMEOUT, cwd=self.cwd))
        except RuntimeError:
            log.flush()
            raise AssertionError((self.tmp_path / f"serve-{port}.log").read_text()) from None

    def _cli(self, args: list[str], env: dict[str, str]) -> dict[str, Any]:
        args = [self.url(arg) for arg in args]
        clean = {k: v for k, v in os.environ.items() if not k.startswith("LRS_")}
        result = subprocess.run([sys.executable, "-m", "lrs.cli", *args], env={**clean, **env}, cwd=self.cwd,
                                capture_output=True, text=True, timeout=TIMEOUT)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)


@pytest.fixture
def flow(tmp_path: Path) -> Iterator[Any]:
    def run(doc: str) -> Flow:
        started = Flow(stack, tmp_path)
        for command in flow_commands(doc):
            started.run(command)
        return started

    with contextlib.ExitStack() as stack:
        yield run


def test_simple_events(flow):
    lrs = flow("simple_events.md")
    api_key = lrs.credentials[0]
    assert api_key["scopes"] == ["simple_events"]
    response = requests.post(lrs.url("http://127.0.0.1:8000/events"), timeout=TIMEOUT,
                             headers={"Authorization": f"Bearer {api_key['key']}:{api_key['secret']}"},
                             json={"event": "completed", "userId": "12345", "timestamp": "2025-10-10T14:30:00Z"})
    assert response.status_code == 200 and response.json()["statements_created"] == 1, response.text


def test_the_readme_enables_three_plugins_at_once(flow):
    lrs = flow("../README.md")
    api_key = lrs.credentials[0]
    assert api_key["scopes"] == ["simple_events"] and api_key["label"] == "Oakwood app"
    response = requests.post(lrs.url("http://127.0.0.1:8000/events"), timeout=TIMEOUT,
                             headers={"Authorization": f"Bearer {api_key['key']}:{api_key['secret']}"},
                             json={"event": "completed", "userId": "12345"})
    assert response.status_code == 200 and response.json()["statements_created"] == 1, response.text
    for path in ("/api/xapi/progress", "/caliper/event"):  # the other two plugins answer too (401: no token)
        assert requests.get(lrs.url(f"http://127.0.0.1:8000{path}"), timeout=TIMEOUT).status_code == 401


def test_h5p(flow):
    lrs = flow("h5p.md")
    learner, dashboard = lrs.credentials
    base = lrs.url("http://127.0.0.1:8000/api/xapi")
    event = {"contentId": "abc123", "verb": "completed", "score": {"scaled": 0.85, "raw": 17, "max": 20}}
    posted = requests.post(f"{base}/h5p-event", json=event, timeout=TIMEOUT,
                           headers={"Authorization": f"Bearer {learner['key']}:{learner['secret']}"})
    assert posted.status_code == 200 and posted.json()["success"], posted.text
    analytics = requests.get(f"{base}/analytics/content/abc123", timeout=TIMEOUT,
                             headers={"Authorization": f"Bearer {dashboard['key']}:{dashboard['secret']}"})
    assert analytics.status_code == 200 and analytics.json()["data"]["totalCompletions"] == 1, analytics.text


@pytest.mark.parametrize("doc", ["simple_events.md", "h5p.md", "caliper.md", "forwarding.md"])
def test_the_guide_read_in_order(flow, tmp_path, doc):
    """A reader who ran the first steps goes on with the guide's later blocks on the same LRS
    (a block that made a first steps' key again would fail with 409)."""
    lrs = flow(doc)
    run_blocks(DOCS / doc, int(lrs.ports["8000"]), tmp_path)


def test_caliper(flow):
    lrs = flow("caliper.md")
    client = lrs.credentials[0]
    token = requests.post(lrs.url("http://127.0.0.1:8000/oauth/token"), timeout=TIMEOUT,
                          data={"grant_type": "client_credentials", "client_id": client["key"],
                                "client_secret": client["secret"]})
    assert token.status_code == 200, token.text
    envelope = {"sensor": "https://example.edu/sensors/1", "sendTime": "2026-01-15T10:08:00.000Z",
                "dataVersion": "http://purl.imsglobal.org/ctx/caliper/v1p2",
                "data": [{"id": f"urn:uuid:{uuid.uuid4()}", "type": "Event",
                          "actor": "https://example.edu/users/554433", "action": "Created",
                          "object": "https://example.edu/terms/201801/courses/7/sections/1/assignments/1",
                          "eventTime": "2023-08-15T14:12:00.000Z"}]}
    sent = requests.post(lrs.url("http://127.0.0.1:8000/caliper/event"), json=envelope, timeout=TIMEOUT,
                         headers={"Authorization": f"Bearer {token.json()['access_token']}"})
    assert sent.status_code == 200 and sent.json()["status"] == "success", sent.text


def test_forward_xapi(flow):
    lrs = flow("forwarding.md")
    statement_id = str(uuid.uuid4())
    statement = {"id": statement_id, "actor": {"mbox": "mailto:ada@example.com"},
                 "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
                 "object": {"id": "http://example.com/courses/xapi-101"}}
    headers = {"X-Experience-API-Version": "1.0.3"}
    stored = requests.post(lrs.url("http://127.0.0.1:8000/xapi/statements"), json=statement, headers=headers,
                           auth=("admin", "change-me"), timeout=TIMEOUT)
    assert stored.status_code == 200, stored.text
    target = lrs.url(f"http://127.0.0.1:8001/xapi/statements?statementId={statement_id}")
    for _ in range(300):  # bounded: up to about 30 s for the in-process worker to deliver
        found = requests.get(target, headers=headers, auth=("admin", "change-me"), timeout=TIMEOUT)
        if found.status_code == 200:
            break
        time.sleep(0.1)
    assert found.status_code == 200 and found.json()["id"] == statement_id, found.text
    for _ in range(100):  # the target stores before the source's checkpoint counts it: up to about 10 s
        status = requests.get(lrs.url("http://127.0.0.1:8000/admin/forwarding"), auth=("admin", "change-me"),
                              timeout=TIMEOUT).json()["targets"][0]
        if status["delivered"] >= 1:
            break
        time.sleep(0.1)
    assert status["target"] == "backup" and status["delivered"] >= 1
