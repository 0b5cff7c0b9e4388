"""Health, metrics and request ids through HTTP: in-process apps and real `lrs serve` processes."""
from __future__ import annotations

import json
import re
import subprocess
import uuid

import requests

from lrs.server import spawned
from tests.conftest import ADMIN_KEY, ADMIN_SECRET, basic_auth

STATEMENT = {"actor": {"mbox": "mailto:ops@example.com"}, "verb": {"id": "http://example.com/verbs/did"},
             "object": {"id": "http://example.com/things/1"}}


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample of a Prometheus text exposition, or None."""
    for line in text.splitlines():
        match = re.fullmatch(r"([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)", line)
        if not match or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(match.group(3))
    return None


def test_health_answers_without_credentials(client):
    assert client.get("/health/live").json == {"status": "ok"}
    ready = client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json == {"status": "ok", "checks": {"store": True, "indexes": True, "plugins": True}}


def test_ready_is_503_when_the_store_does_not_answer(app, client):
    from pymongo.errors import ServerSelectionTimeoutError

    lrs = app.extensions["lrs"]

    class Unreachable:
        def command(self, *args, **kwargs):
            raise ServerSelectionTimeoutError("127.0.0.1:1: connection refused")

    real, lrs.db = lrs.db, Unreachable()
    try:
        ready = client.get("/health/ready")
    finally:
        lrs.db = real
    assert ready.status_code == 503
    assert ready.json["checks"]["store"] is False


def test_metrics_need_an_admin_credential_by_default(make_app):
    app = make_app()
    client = app.test_client()
    assert client.get("/metrics").status_code == 401
    app.extensions["lrs"].create_credential("reader", "reader-secret", ["statements/read"])
    assert client.get("/metrics", headers={"Authorization": basic_auth("reader", "reader-secret")}).status_code == 403
    answer = client.get("/metrics", headers={"Authorization": basic_auth()})
    assert answer.status_code == 200
    assert answer.mimetype == "text/plain"


def test_metrics_open_and_off(make_app):
    assert make_app(metrics="open").test_client().get("/metrics").status_code == 200
    assert make_app(metrics="off").test_client().get("/metrics", headers={"Authorization": basic_auth()}).status_code == 404


def test_metrics_count_requests_by_route_template_statements_by_source_and_auth_failures(make_app):
    app = make_app(metrics="open", plugins="simple_events")
    app.extensions["lrs"].create_credential("events", "events-secret", ["simple_events"])
    client = app.test_client()
    headers = {"Authorization": basic_auth(), "X-Experience-API-Version": "1.0.3"}
    for _ in range(3):
        assert client.post("/xapi/statements", json=STATEMENT, headers=headers).status_code == 200
    statement_id = str(uuid.uuid4())
    assert client.put(f"/xapi/statements?statementId={statement_id}", json=STATEMENT, headers=headers).status_code == 204
    assert client.get("/xapi/statements", headers={**headers, "Authorization": basic_auth("x", "y")}).status_code == 401
    event = {"userId": "u1", "event": "completed", "properties": {"activityId": "a1"}}
    bearer = {"Authorization": "Bearer events:events-secret"}
    assert client.post("/events", json=[event, event], headers=bearer).status_code == 200

    text = client.get("/metrics").get_data(as_text=True)
    assert sample(text, "lrs_http_request_duration_seconds_count", route="/xapi/statements", method="POST",
                  status="200") == 3
    assert sample(text, "lrs_http_request_duration_seconds_count", route="/xapi/statements", method="PUT",
                  status="204") == 1
    assert sample(text, "lrs_http_request_duration_seconds_bucket", route="/xapi/statements", method="POST",
                  status="200", le="+Inf") == 3
    assert sample(text, "lrs_statements_stored_total", source="xapi") == 4
    assert sample(text, "lrs_statements_stored_total", source="simple_events") == 2
    assert sample(text, "lrs_auth_failures_total", route="/xapi/statements") == 1


def test_metrics_show_forwarding_per_target(make_app):
    targets = json.dumps([{"name": "elsewhere", "endpoint": "http://127.0.0.1:9/xapi",
                           "auth": {"type": "basic", "username": "u", "password": "p"}}])
    client = make_app(metrics="open", plugins="forward_xapi", forward_xapi_targets=targets).test_client()
    headers = {"Authorization": basic_auth(), "X-Experience-API-Version": "1.0.3"}
    assert client.post("/xapi/statements", json=[STATEMENT, STATEMENT], headers=headers).status_code == 200
    text = client.get("/metrics").get_data(as_text=True)
    assert sample(text, "lrs_forward_backlog", target="elsewhere") == 2
    assert sample(text, "lrs_forward_delivered_total", target="elsewhere") == 0
    assert sample(text, "lrs_forward_dead_letters", target="elsewhere") == 0
    assert sample(text, "lrs_forward_retries_total", target="elsewhere") == 0
    assert sample(text, "lrs_forward_lag_seconds", target="elsewhere") >= 0
    assert sample(text, "lrs_forward_last_success_timestamp_seconds", target="elsewhere") == 0


def test_every_response_carries_a_request_id_and_keeps_a_sane_incoming_one(client):
    assert re.fullmatch(r"[0-9a-f-]{36}", client.get("/xapi/about").headers["X-Request-ID"])
    assert client.get("/xapi/about", headers={"X-Request-ID": "lb-1234"}).headers["X-Request-ID"] == "lb-1234"
    assert client.get("/xapi/about", headers={"X-Request-ID": "bad id <script>"}).headers["X-Request-ID"] != "bad id <script>"


def test_json_logs_carry_the_request_id_on_every_line(tmp_path):
    """A real `lrs serve` with LRS_LOG_FORMAT=json: every line is JSON; request lines name the id."""
    log_path = tmp_path / "server.log"
    with open(log_path, "wb") as log, spawned({"LRS_LOG_FORMAT": "json", "LRS_ADMIN_KEY": ADMIN_KEY,
                                               "LRS_ADMIN_SECRET": ADMIN_SECRET, "LRS_LOG_LEVEL": "INFO"},
                                              stdout=log) as (endpoint, _):
        answer = requests.post(f"{endpoint}/statements", json=STATEMENT, timeout=30,
                               headers={"Authorization": basic_auth(), "X-Experience-API-Version": "1.0.3",
                                        "X-Request-ID": "trace-42"})
        assert answer.status_code == 200
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    assert lines and all({"time", "level", "logger", "message", "request_id"} <= set(line) for line in lines)
    access = [line for line in lines if line["logger"] == "lrs.access" and line["request_id"] == "trace-42"]
    assert len(access) == 1
    assert access[0]["status"] == 200 and access[0]["route"] == "/xapi/statements"


def test_several_gunicorn_workers_are_counted_together():
    """Two worker processes on one store: every scrape, whichever worker answers, sums both."""
    from tests.forwarding.wire_store import WireStore

    with WireStore() as store, spawned({"LRS_MONGO_URI": store.uri, "LRS_MONGO_DB": f"m{uuid.uuid4().hex[:8]}",
                                        "LRS_WORKERS": "2", "LRS_METRICS": "open", "LRS_ADMIN_KEY": ADMIN_KEY,
                                        "LRS_ADMIN_SECRET": ADMIN_SECRET, "LRS_LOG_LEVEL": "WARNING"},
                                       stdout=subprocess.DEVNULL) as (endpoint, _):
        base = endpoint.removesuffix("/xapi")
        headers = {"Authorization": basic_auth(), "X-Experience-API-Version": "1.0.3", "Connection": "close"}
        for _ in range(12):
            assert requests.post(f"{endpoint}/statements", json=STATEMENT, headers=headers, timeout=30).status_code == 200
        counts = set()
        for _ in range(8):
            text = requests.get(f"{base}/metrics", headers={"Connection": "close"}, timeout=30).text
            counts.add(sample(text, "lrs_statements_stored_total", source="xapi"))
        assert counts == {12.0}
