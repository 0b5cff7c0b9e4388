"""Health, metrics and request ids through HTTP: in-process apps and real `lrs serve` processes."""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid

import pymongo
import requests

from lrs.metrics import HTTP_METHODS
from lrs.server import free_port, spawned
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


def test_ready_answers_within_a_probe_timeout_when_mongodb_is_unreachable(app, client, caplog):
    """A real MongoDB client whose servers are gone: the ping used to wait pymongo's 30 s server
    selection, so each probe held a thread long after the prober (1 s in Kubernetes) gave up. Its
    warning was pymongo's whole error (each server's configured timeouts, the topology description:
    over 800 characters for two servers); it is one short line naming the servers and their reasons,
    the whole error at DEBUG."""
    lrs = app.extensions["lrs"]
    hosts = [f"127.0.0.1:{free_port()}" for _ in range(2)]
    unreachable = pymongo.MongoClient(f"mongodb://{','.join(hosts)}/?replicaSet=rs0", connect=False)
    real, lrs.db = lrs.db, unreachable["lrs"]
    try:
        started = time.monotonic()
        with caplog.at_level("DEBUG", logger="lrs.http.health"):
            ready = client.get("/health/ready")
        elapsed = time.monotonic() - started
    finally:
        lrs.db = real
        unreachable.close()
    assert ready.status_code == 503 and ready.json["checks"]["store"] is False
    assert elapsed < 15, elapsed  # the ping's own 1 s, with room for a busy machine; pymongo's wait was 30 s
    [warning] = [r.getMessage() for r in caplog.records if r.name == "lrs.http.health" and r.levelname == "WARNING"]
    where, _, reason = warning.partition(" did not answer the ping: ")
    assert set(where.removeprefix("readiness: MongoDB at ").split(", ")) == set(hosts), warning
    assert reason.count("Connection refused") == 2, warning
    assert all(reason.startswith(f"{host}: ") or f", {host}: " in reason for host in hosts), warning
    assert "Topology" not in warning and "configured timeouts" not in warning and len(warning) < 300, warning
    [detail] = [r.getMessage() for r in caplog.records if r.name == "lrs.http.health" and r.levelname == "DEBUG"]
    assert "Topology Description" in detail


def test_metrics_need_an_admin_credential_by_default(make_app):
    app = make_app()
    client = app.test_client()
    assert client.get("/metrics").status_code == 401
    app.extensions["lrs"].create_credential("reader", "reader-secret", ["statements/read"])
    assert client.get("/metrics", headers={"Authorization": basic_auth("reader", "reader-secret")}).status_code == 403
    answer = client.get("/metrics", headers={"Authorization": basic_auth()})
    assert answer.status_code == 200
    assert answer.mimetype == "text/plain"


def test_a_metrics_credential_reads_metrics_and_nothing_else(make_app):
    """Scope `metrics`, made through the admin API, is what a Prometheus scraper holds: /metrics
    answers it; the admin API, the console and xAPI do not. xAPI's `all` does not include it."""
    app = make_app(plugins="simple_events")
    client = app.test_client()
    made = client.post("/admin/credentials", json={"scopes": ["metrics"], "label": "prometheus"},
                       headers={"Authorization": basic_auth()})
    assert made.status_code == 201, made.json
    scraper = {"Authorization": basic_auth(made.json["key"], made.json["secret"])}
    assert client.get("/metrics", headers=scraper).status_code == 200
    assert client.get("/admin/credentials", headers=scraper).status_code == 403
    assert client.delete("/admin/agents", query_string={"agent": json.dumps(STATEMENT["actor"])},
                         headers=scraper).status_code == 403
    assert client.get("/xapi/statements", headers={**scraper, "X-Experience-API-Version": "1.0.3"}).status_code == 403
    app.extensions["lrs"].create_credential("lms", "lms-secret", ["all", "simple_events"])
    refused = client.get("/metrics", headers={"Authorization": basic_auth("lms", "lms-secret")})
    assert refused.status_code == 403 and "admin, metrics" in refused.json["error"]["message"]


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


def test_made_up_methods_share_one_label_so_clients_cannot_add_series(make_app):
    """Without credentials, each unknown method used to be a label value of its own (series
    without end); they are all `other` now. Routes are templates, statuses the app's own."""
    client = make_app(metrics="open").test_client()
    for number in range(40):
        for path in ("/health/live", f"/no/such/path/{number}"):
            client.open(path, method=f"M{number}X")
    text = client.get("/metrics").get_data(as_text=True)
    methods = set(re.findall(r'^lrs_http_request_duration_seconds_count\{.*?method="([^"]*)"', text, re.M))
    assert methods <= HTTP_METHODS | {"other"} and "other" in methods
    assert sample(text, "lrs_http_request_duration_seconds_count", route="/health/live", method="other",
                  status="405") == 40
    assert sample(text, "lrs_http_request_duration_seconds_count", route="(unmatched)", method="other",
                  status="404") == 40
    assert len(text.splitlines()) < 300


def test_requests_the_server_answers_itself_are_counted_too(tmp_path):
    """A body over LRS_MAX_BODY_BYTES (413) and a malformed request (400) are answered by the
    worker's loop before the application: they used to be missing from the metrics, so a client
    sending oversized batches, or garbage, showed nowhere but in the log."""
    with spawned({"LRS_METRICS": "open", "LRS_MAX_BODY_BYTES": "1024", "LRS_DATA_DIR": ""}) as (endpoint, _):
        base = endpoint.removesuffix("/xapi")
        too_large = requests.post(f"{endpoint}/statements", data=b"[" + b" " * 5000 + b"]", timeout=30,
                                  headers={"Content-Type": "application/json", "X-Experience-API-Version": "1.0.3"})
        assert too_large.status_code == 413
        port = int(base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
            connection.sendall(b"GET /xapi/about HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n")
            assert connection.recv(100).startswith(b"HTTP/1.0 400 ")
        text = requests.get(f"{base}/metrics", timeout=30).text
    route = "(answered by the server)"
    assert sample(text, "lrs_http_request_duration_seconds_count", route=route, method="POST", status="413") == 1
    assert sample(text, "lrs_http_request_duration_seconds_count", route=route, method="other", status="400") == 1


FORGED = "2026-12-04 17:00:00,000 INFO [x] lrs.access: FAKE LINE"
# A newline, a C1 control (NEL), Unicode's line separator and a bidi override, percent-encoded as a
# client may send them in a path.
HOSTILE_PATH = "/xapi/about%0A" + FORGED.replace(" ", "%20") + "%C2%85NEL%E2%80%A8LS%E2%80%AEBIDI"


def server_log(tmp_path, log_format: str) -> str:
    """The log of a real `lrs serve` in `log_format` that was sent HOSTILE_PATH."""
    log_path = tmp_path / "server.log"
    with open(log_path, "wb") as log, spawned({"LRS_LOG_FORMAT": log_format, "LRS_LOG_LEVEL": "INFO"},
                                              stdout=log) as (endpoint, _):
        base = endpoint.removesuffix("/xapi")
        assert requests.get(base + HOSTILE_PATH, timeout=30).status_code == 404
    return log_path.read_text(encoding="utf-8")


def test_text_logs_escape_what_a_client_puts_in_the_path(tmp_path):
    """A percent-encoded newline in the path used to start a line of the client's choosing."""
    text = server_log(tmp_path, "text")
    lines = text.split("\n")
    assert not any(line.startswith(FORGED) for line in lines)
    assert not {"\x85", "\u2028", "\u202e"} & set(text)
    escaped = r"GET /xapi/about\n" + FORGED + r"\x85NEL\u2028LS\u202eBIDI 404 "
    assert any("lrs.access: " + escaped in line for line in lines), text


def test_json_logs_keep_a_hostile_path_on_its_own_line(tmp_path):
    """Every line still parses when read line by line, however the reader splits lines (NEL and
    U+2028 are line breaks to Python's splitlines), and the path is the one the client sent."""
    text = server_log(tmp_path, "json")
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    [access] = [line for line in lines if line["logger"] == "lrs.access" and "FAKE" in line["message"]]
    assert access["path"] == "/xapi/about\n" + FORGED + "\x85NEL\u2028LS\u202eBIDI"


def long_request_log(tmp_path, log_format: str) -> str:
    """The log of a real `lrs serve` sent a path of 20,000 percent-encoded escapes (60 KB, within
    the server's 256 KiB bound on headers) with a long query, a 2,000-character method, and a
    malformed (lower case) 20,000-character one."""
    log_path = tmp_path / "server.log"
    with open(log_path, "wb") as log, spawned({"LRS_LOG_FORMAT": log_format, "LRS_LOG_LEVEL": "INFO"},
                                              stdout=log) as (endpoint, _):
        base = endpoint.removesuffix("/xapi")
        assert requests.get(base + "/long/" + "%1B" * 20_000 + "?" + "p=x&" * 2_000, timeout=30).status_code == 404
        assert requests.request("M" * 2_000, base + "/health/live", timeout=30).status_code == 405
        with socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1])), timeout=30) as connection:
            connection.sendall(b"g" * 20_000 + b" /xapi/about HTTP/1.1\r\nHost: x\r\n\r\n")  # quoted by waitress
            assert connection.recv(100).startswith(b"HTTP/1.0 400 ")
    return log_path.read_text(encoding="utf-8")


def test_json_logs_cut_long_paths_and_methods_so_each_line_stays_one_line_for_log_shippers(tmp_path):
    """Such a request used to make lines of 240 KB and more: Docker's json-file driver splits a
    line at 16 KiB, and its rest reads as a line of its own, written by the client."""
    text = long_request_log(tmp_path, "json")
    assert max(len(line.encode()) for line in text.splitlines()) < 16 * 1024
    access = [line for line in map(json.loads, text.splitlines()) if "route" in line]
    [path] = [line for line in access if line["route"] == "(unmatched)"]
    assert path["path"] == "/long/" + "\x1b" * 506 + "...(19494 more characters)"
    assert path["message"].startswith("GET /long/" + "\x1b" * 506 + "...(31494 more characters) 404 ")
    [method] = [line for line in access if line["route"] == "/health/live"]
    assert method["method"] == "M" * 512 + "...(1488 more characters)"


def test_text_logs_cut_long_paths_and_methods(tmp_path):
    text = long_request_log(tmp_path, "text")
    assert max(len(line.encode()) for line in text.splitlines()) < 16 * 1024
    assert "lrs.access: GET /long/" + r"\x1b" * 506 + "...(31494 more characters) 404 " in text
    assert "lrs.access: " + "M" * 512 + "...(1488 more characters) /health/live 405 " in text
    assert 'answered by the server: malformed HTTP request: Malformed HTTP method "' + "g" * 489 + "...(19512 more characters))" in text


def test_gunicorn_run_directly_logs_json_throughout_with_the_lrs_logger_class(tmp_path):
    """`gunicorn --logger-class lrs.logs.GunicornLogger lrs.wsgi:app`: gunicorn's own lines, the
    master's too, come in LRS_LOG_FORMAT like the LRS's."""
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "--logger-class", "lrs.logs.GunicornLogger", "-k",
               "lrs.worker.BufferingWorker", "--threads", "4", "-b", f"127.0.0.1:{port}", "lrs.wsgi:app"]
    log_path = tmp_path / "server.log"
    with open(log_path, "wb") as log, spawned({"LRS_LOG_FORMAT": "json", "LRS_LOG_LEVEL": "INFO"}, port=port,
                                              stdout=log, command=command) as (endpoint, _):
        assert requests.get(f"{endpoint}/about", timeout=30).status_code == 200
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    assert any(line["logger"] == "gunicorn.error" and "Listening at" in line["message"] for line in lines)
    assert any(line["logger"] == "lrs.access" for line in lines)


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


def test_a_worker_that_stops_leaves_the_metrics_of_the_others(tmp_path):
    """gunicorn ends a worker with sys.exit, which unwinds through `lrs.server.run` in that worker
    too: the metrics directory must be removed by the process that made it only, or one worker
    stopping (SIGTTOU, a reload, a crash) takes every other's counts with it."""
    from tests.forwarding.harness import wait_until
    from tests.forwarding.wire_store import WireStore

    with WireStore() as store, spawned({"LRS_MONGO_URI": store.uri, "LRS_MONGO_DB": f"m{uuid.uuid4().hex[:8]}",
                                        "LRS_WORKERS": "2", "LRS_METRICS": "open", "LRS_ADMIN_KEY": ADMIN_KEY,
                                        "LRS_ADMIN_SECRET": ADMIN_SECRET, "LRS_LOG_LEVEL": "WARNING",
                                        "TMPDIR": str(tmp_path)},
                                       stdout=subprocess.DEVNULL) as (endpoint, master):
        [metrics_dir] = tmp_path.glob("lrs-metrics-*")
        headers = {"Authorization": basic_auth(), "X-Experience-API-Version": "1.0.3", "Connection": "close"}
        for _ in range(6):
            assert requests.post(f"{endpoint}/statements", json=STATEMENT, headers=headers, timeout=30).status_code == 200
        workers = children(master.pid)
        assert len(workers) == 2
        os.kill(master.pid, signal.SIGTTOU)  # one worker fewer: gunicorn stops one gracefully
        wait_until(lambda: len(children(master.pid)) == 1, timeout=60)
        assert metrics_dir.is_dir()
        text = requests.get(f"{endpoint.removesuffix('/xapi')}/metrics", headers={"Connection": "close"}, timeout=30).text
        assert sample(text, "lrs_statements_stored_total", source="xapi") == 6.0


def children(pid: int) -> list[int]:
    """The live child processes of `pid` (Linux /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry))
    return found

