"""What a real `lrs serve` logs of a request's query string: the parameters' names, never their
values (learners' identifiers, secrets a client put in the URL)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import requests

from lrs.server import spawned
from tests.conftest import ADMIN_KEY, ADMIN_SECRET, basic_auth

MBOX = "mailto:bob.private@example.com"
AGENT = json.dumps({"mbox": MBOX})
SECRET = "cal-secret-123"
VALUES = ("bob.private", "bob%2Eprivate", SECRET, "2026-01-02", "state-of-bob")
XAPI = {"Authorization": basic_auth(), "X-Experience-API-Version": "1.0.3"}


def served_log(tmp_path, log_format: str) -> str:
    """The log of a real `lrs serve` sent requests whose queries hold a person's mbox and a secret:
    answered by the application (200, 404, 400) and by the server's loop before the application
    (a 413 for a body over LRS_MAX_BODY_BYTES)."""
    log_path = tmp_path / "server.log"
    env = {"LRS_LOG_FORMAT": log_format, "LRS_LOG_LEVEL": "INFO", "LRS_PLUGINS": "caliper",
           "LRS_ADMIN_KEY": ADMIN_KEY, "LRS_ADMIN_SECRET": ADMIN_SECRET, "LRS_MAX_BODY_BYTES": "1024"}
    with open(log_path, "wb") as log, spawned(env, stdout=log) as (endpoint, _):
        base = endpoint.removesuffix("/xapi")
        state = {"activityId": "http://example.com/a", "agent": AGENT, "stateId": "state-of-bob"}
        answers = [
            requests.delete(f"{base}/admin/agents", params={"agent": AGENT}, headers=XAPI, timeout=30),
            requests.get(f"{endpoint}/statements", params={"agent": AGENT, "since": "2026-01-02T00:00:00Z"},
                         headers=XAPI, timeout=30),
            requests.get(f"{endpoint}/activities/state", params=state, headers=XAPI, timeout=30),
            requests.post(f"{base}/oauth/token?grant_type=client_credentials&client_id=cal&client_secret={SECRET}",
                          timeout=30),
            requests.put(f"{endpoint}/activities/state", params=state, data=b"x" * 2048, headers=XAPI, timeout=30),
        ]
    assert [answer.status_code for answer in answers] == [200, 200, 404, 400, 413]
    return log_path.read_text(encoding="utf-8")


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_access_lines_name_query_parameters_but_never_their_values(tmp_path, log_format):
    """The access line of an erasure named the person erased (the audit record never does), every
    statements or State request its agent, a token request the secret sent in its URL."""
    text = served_log(tmp_path, log_format)
    assert not [value for value in VALUES if value in text], text
    expected = ["DELETE /admin/agents?agent=*** 200", "GET /xapi/statements?agent=***&since=*** 200",
                "GET /xapi/activities/state?activityId=***&agent=***&stateId=*** 404",
                "POST /oauth/token?grant_type=***&client_id=***&client_secret=*** 400",
                "PUT /xapi/activities/state?activityId=***&agent=***&stateId=*** 413"]
    if log_format == "json":
        messages = [json.loads(line)["message"] for line in text.splitlines() if line.strip()]
    else:
        messages = [line.partition("lrs.access: ")[2] for line in text.splitlines() if "lrs.access: " in line]
    missing = [line for line in expected if not any(message.startswith(line) for message in messages)]
    assert not missing, messages


def debug_log(tmp_path, store_uri: str, **env: str) -> str:
    """The log of a real `lrs serve` on MongoDB at LRS_LOG_LEVEL=DEBUG that stored a statement about
    a person and was asked for that person's statements."""
    log_path = tmp_path / "debug.log"
    env = {"LRS_LOG_LEVEL": "DEBUG", "LRS_MONGO_URI": store_uri, "LRS_MONGO_DB": f"debug_{tmp_path.name}",
           "LRS_ADMIN_KEY": ADMIN_KEY, "LRS_ADMIN_SECRET": ADMIN_SECRET, **env}
    statement = {"actor": {"mbox": MBOX}, "verb": {"id": "http://example.com/v"}, "object": {"id": "http://example.com/a"}}
    with open(log_path, "wb") as log, spawned(env, stdout=log) as (endpoint, _):
        assert requests.post(f"{endpoint}/statements", json=statement, headers=XAPI, timeout=30).status_code == 200
        assert requests.get(f"{endpoint}/statements", params={"agent": AGENT}, headers=XAPI, timeout=30).ok
    return log_path.read_text(encoding="utf-8")


def test_debug_does_not_log_the_mongodb_commands_that_carry_learners_data(tmp_path, shared_store):
    """pymongo logs each command it sends at DEBUG (pymongo.command): statements and the filters
    naming learners went to the log whole. They come only with LRS_LOG_LIBRARY_DEBUG."""
    text = debug_log(tmp_path, shared_store)
    assert "bob.private" not in text and "pymongo." not in text, text
    assert " DEBUG " in text  # the other debug lines still come
    opted_in = debug_log(tmp_path, shared_store, LRS_LOG_LIBRARY_DEBUG="true")
    assert "pymongo.command" in opted_in and "bob.private" in opted_in


def test_lrs_forward_honours_the_library_debug_opt_in_as_serve_does(shared_store):
    """`lrs forward` configures its logging itself: without passing the opt-in on, the setting
    would reach `lrs serve` and not the forwarder."""
    env = {**os.environ, "LRS_LOG_LEVEL": "DEBUG", "LRS_MONGO_URI": shared_store, "LRS_MONGO_DB": "debug_forward",
           "LRS_PLUGINS": "forward_xapi"}

    def status_log(**opt_in: str) -> str:
        done = subprocess.run([sys.executable, "-m", "lrs.cli", "forward", "status"], env={**env, **opt_in},
                              capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert done.returncode == 0, done.stderr
        return done.stdout + done.stderr

    assert "pymongo." not in status_log()
    assert "pymongo." in status_log(LRS_LOG_LIBRARY_DEBUG="true")
