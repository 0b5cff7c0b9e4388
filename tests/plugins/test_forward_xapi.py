"""The xAPI forwarder plugin: its configuration, and what it puts on the wire."""
from __future__ import annotations

import datetime as dt
import json
import logging
import time

import pytest
from flask import Flask, jsonify, request

from lrs.forwarding.backoff import retry_delay
from lrs.forwarding.contract import Deadline, Outgoing, classify_http, parse_retry_after
from lrs.forwarding.targets import forward_targets
from lrs_plugins.forward_xapi.config import parse_targets
from lrs_plugins.forward_xapi.transforms import xapi_1_0
from tests.forwarding.harness import RestartableServer, statement

ENDPOINT = "https://lrs.example.org/xapi"


def one(**extra) -> str:
    return json.dumps([{"name": "t", "endpoint": ENDPOINT, **extra}])


@pytest.mark.parametrize("config, message", [
    ("{", "not valid JSON"),
    ('{"name": "t"}', "must be a JSON list"),
    (json.dumps([{"endpoint": ENDPOINT}]), "targets[0].name: required"),
    (one(endpoint="ftp://x"), "targets[0].endpoint: must be an http(s) URL"),
    (one(endpoint="https://key:secret@lrs.example.org/xapi"), "put credentials in auth"),
    (one(batch_size=0), "targets[0].batch_size: Must be greater than or equal to 1 and less than or equal to 1000"),
    (one(in_flight=65), "targets[0].in_flight: Must be greater than or equal to 1 and less than or equal to 64"),
    (one(provenance="yes"), "targets[0].provenance: Not a valid boolean"),
    (one(batch_size="10"), "targets[0].batch_size: must be an integer"),
    (one(timeout=True), "targets[0].timeout: must be a number"),
    (one(auth={"type": "digest"}), "targets[0].auth.type: Must be one of: basic, bearer"),
    (one(auth={"type": "basic", "username": "k"}), "targets[0].auth.password: required"),
    (one(auth={"type": "bearer", "token_env": "NO_SUCH_VARIABLE_SET"}), "targets[0].auth.token_env: names no"),
    (one(headers={"X-A": "1\r\nX-B: 2"}), "targets[0].headers.X-A.value: must be a single line"),
    (one(filter={"verbs": [{"$gt": ""}]}), "targets[0].filter.verbs: must be a list of non-empty strings"),
    (one(filter={"actors": [{"name": "no identifier"}]}), "targets[0].filter.actors: an agent needs an identifier"),
    (one(filter={"colour": ["red"]}), "targets[0].filter: unknown keys colour"),
    (one(since="yesterday"), 'targets[0].since: expected "now" or an RFC 3339 time'),
    (one(transform="os.path"), 'targets[0].transform: must be "package.module:function"'),
    (one(transform="no.such.module:f"), "targets[0].transform: cannot load"),
    (one(colour="red"), "targets[0].colour: Unknown field"),
    ("@/no/such/file.json", "cannot read the targets file"),
])
def test_configuration_errors_name_the_target_and_key(config, message):
    with pytest.raises(ValueError) as error:
        parse_targets(config)
    assert message in str(error.value)


def test_a_bad_configuration_stops_the_lrs_at_start(make_app):
    with pytest.raises(ValueError, match="LRS_FORWARD_XAPI_TARGETS: targets\\[0\\].name: required"):
        make_app(plugins="forward_xapi", forward_xapi_targets=json.dumps([{"endpoint": ENDPOINT}]))


def test_duplicate_target_names_stop_the_lrs_at_start(make_app):
    with pytest.raises(ValueError, match="two forwarding targets are named 't'"):
        make_app(plugins="forward_xapi", forward_xapi_targets=json.dumps([
            {"name": "t", "endpoint": ENDPOINT}, {"name": "t", "endpoint": ENDPOINT + "2"}]))


def test_the_plugin_enabled_without_a_target_says_it_forwards_nothing(make_app, caplog):
    with caplog.at_level(logging.WARNING, logger="lrs_plugins.forward_xapi"):
        make_app(plugins="forward_xapi")
    assert [r.getMessage() for r in caplog.records if r.name == "lrs_plugins.forward_xapi"] == [
        "LRS_PLUGINS enables forward_xapi but LRS_FORWARD_XAPI_TARGETS names no target: nothing is forwarded "
        "(docs/forwarding.md, Configuring targets)"]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="lrs_plugins.forward_xapi"):
        make_app(plugins="forward_xapi", forward_xapi_targets=one())
    assert [r for r in caplog.records if r.name == "lrs_plugins.forward_xapi"] == []


def test_secrets_come_from_the_environment_and_never_show(monkeypatch, tmp_path):
    monkeypatch.setenv("TARGET_TOKEN", "s3cr3t-token")
    path = tmp_path / "targets.json"
    path.write_text(one(auth={"type": "bearer", "token_env": "TARGET_TOKEN"}))
    [config] = parse_targets(f"@{path}")
    assert config.authorization == "Bearer s3cr3t-token"
    assert "s3cr3t" not in repr(config)


def test_what_goes_on_the_wire(make_app):
    seen = []
    receiver = Flask(__name__)

    @receiver.post("/lrs/statements")
    def statements():
        seen.append(({k.lower(): v for k, v in request.headers.items()}, request.get_json()))
        return jsonify([s["id"] for s in request.get_json()])

    with RestartableServer(receiver) as server:
        app = make_app(plugins="forward_xapi", forward_xapi_targets=json.dumps([{
            "name": "t", "endpoint": server.url + "/lrs/", "version": "1.0.2", "headers": {"X-Tenant": "seven"},
            "auth": {"type": "bearer", "token": "abc"}, "transform": "lrs_plugins.forward_xapi.transforms:xapi_1_0"}]))
        [target] = forward_targets(app.extensions["lrs"])
        batch = [Outgoing(s["id"], n, "xapi", s) for n, s in enumerate([statement(0, version="2.0.0"), statement(1)])]
        assert target.deliver(batch, Deadline(5)).kind == "delivered"
    [(headers, body)] = seen
    assert headers["authorization"] == "Bearer abc" and headers["x-experience-api-version"] == "1.0.2"
    assert headers["x-tenant"] == "seven" and headers["content-type"] == "application/json"
    assert [s["id"] for s in body] == [item.id for item in batch] and [s.get("version") for s in body] == ["1.0.0", None]


def test_an_unreachable_target_is_a_retry_not_a_refusal(make_app):
    app = make_app(plugins="forward_xapi", forward_xapi_targets=json.dumps([
        {"name": "t", "endpoint": "http://127.0.0.1:9/xapi", "timeout": 1}]))
    [target] = forward_targets(app.extensions["lrs"])
    outcome = target.deliver([Outgoing("x", 1, "xapi", statement(0))], Deadline(5))
    assert outcome.kind == "retry" and outcome.detail.startswith("connection failed")


@pytest.mark.parametrize("status, kind", [
    (200, "delivered"), (204, "delivered"), (400, "rejected"), (409, "rejected"), (413, "rejected"),
    (401, "retry"), (403, "retry"), (404, "retry"), (408, "retry"), (429, "retry"), (500, "retry"), (503, "retry")])
def test_http_answers_are_classified(status, kind):
    assert classify_http(status, "").kind == kind


def test_retry_after_in_seconds_or_as_an_http_date():
    now = dt.datetime(2026, 11, 23, 10, 0, 0, tzinfo=dt.timezone.utc)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Mon, 23 Nov 2026 10:00:30 GMT", now) == 30.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
    assert parse_retry_after("²") is None and parse_retry_after("١٢") is None
    assert classify_http(429, "", "3").retry_after == 3.0


def test_backoff_doubles_with_jitter_up_to_the_cap_and_honours_retry_after():
    delays = [retry_delay(attempt, 1.0, 60.0) for attempt in range(1, 10)]
    for attempt, delay in enumerate(delays, start=1):
        ceiling = min(60.0, 2.0 ** (attempt - 1))
        assert ceiling / 2 <= delay <= ceiling
    assert retry_delay(1, 1.0, 60.0, retry_after=30) == 30
    assert retry_delay(1, 1.0, 60.0, retry_after=3600) == 60


def test_the_xapi_1_0_transform_only_changes_a_2_0_version():
    one_oh = statement(0, version="1.0.0")
    assert xapi_1_0(one_oh) is one_oh
    assert xapi_1_0(statement(0, version="2.0.0"))["version"] == "1.0.0"


def test_a_passed_deadline_aborts_every_poll_interval_not_in_a_busy_loop():
    """The watchdog of a delivery whose deadline passed (the lease lost, the worker stopping)
    calls `abort` again every poll interval, as documented, and leaves the CPU to the delivery."""
    aborts = []
    with Deadline(0).enforced(lambda: aborts.append(1), poll=0.05):
        time.sleep(0.3)
    assert 1 <= len(aborts) <= 10
