"""Forwarding to a live second LRS (this project on its own embedded store) on 127.0.0.1.

Here the source's store lives in the test process, so a worker's death is reproduced inside it:
worker A is frozen inside a delivery after the target stored the batch and before A recorded
anything (as SIGKILL would leave it: lease held, checkpoint not moved). Worker B takes the target
over when the lease expires, delivers again what A may have sent, and A's late write is fenced
off. Real `lrs forward` processes killed with SIGKILL are in test_forwarding_sigkill.py.
"""
from __future__ import annotations

import hashlib
import json
import threading
import time

from lrs.forwarding.contract import Deadline, Outcome, Outgoing
from lrs.forwarding.status import forwarding_status
from lrs.forwarding.targets import forward_targets
from lrs.forwarding.worker import Worker
from tests.forwarding import transforms
from tests.forwarding.harness import (
    XAPI_HEADERS,
    FaultyProxy,
    RestartableServer,
    assert_same_statements,
    fast_engine,
    source_app,
    statement,
    stored,
    target_config,
    voiding,
    wait_until,
    workers_running,
)

SCHEDULE = ("pass", "500", "pass", "429", "pass", "timeout", "drop_after_forward", "pass", "drop", "503")


class FreezeAfter:
    """Wraps a target; after `deliveries` successful deliveries the calling worker hangs, holding
    its lease, until `thaw` is set: a worker that died right after the target stored a batch."""

    def __init__(self, target, deliveries: int):
        self.inner, self.options = target, target.options
        self.remaining = deliveries
        self.frozen, self.thaw = threading.Event(), threading.Event()

    def deliver(self, batch: list[Outgoing], deadline: Deadline) -> Outcome:
        outcome = self.inner.deliver(batch, deadline)
        if outcome.kind == "delivered":
            self.remaining -= 1
            if self.remaining == 0:
                self.frozen.set()
                self.thaw.wait(30)
        return outcome


def post_statements(client, batches: int, size: int) -> list[str]:
    """Write like a busy client: batches with a voiding statement now and then."""
    ids: list[str] = []
    for number in range(batches):
        batch = [statement(number * size + n) for n in range(size)]
        if ids and number % 3 == 0:
            batch.append(voiding(ids[-1]))
        response = client.post("/xapi/statements", json=batch, headers=XAPI_HEADERS)
        assert response.status_code == 200, response.data
        ids.extend(response.get_json())
        time.sleep(0.02)
    return ids


LIVE_ENGINE = {"forward_retry_max_seconds": "1.5"}


def test_target_ends_with_exactly_the_sources_statements_despite_outage_faults_and_a_dead_worker(make_app):
    target_app = make_app()
    with RestartableServer(target_app) as target, FaultyProxy(target.url, SCHEDULE, stall_seconds=0.8) as proxy:
        source = source_app(make_app, proxy.url + "/xapi", LIVE_ENGINE, batch_size=40, timeout=0.5)
        lrs = source.extensions["lrs"]
        dying = FreezeAfter(forward_targets(lrs)[0], deliveries=2)
        writer = threading.Thread(target=post_statements, args=(source.test_client(), 12, 25), daemon=True)
        with workers_running() as workers:
            try:
                workers.append(Worker(lrs, targets=[dying], owner="worker-a").start())
                writer.start()
                assert dying.frozen.wait(20)
                workers.append(Worker(lrs, owner="worker-b").start())
                wait_until(lambda: forwarding_status(lrs)[0]["worker"] == "worker-b")
                target.stop()  # the target goes down for a while, mid-run
                time.sleep(1.0)
                target.start()
                writer.join(30)
                wait_until(lambda: forwarding_status(lrs)[0]["backlog"] == 0, timeout=30)
            finally:
                dying.thaw.set()  # worker A wakes up: its late checkpoint write must be refused

        assert_same_statements(stored(source), stored(target_app))
        status = forwarding_status(lrs)[0]
        assert status["dead_letters"] == 0 and status["delivered"] == len(stored(source))
        assert status["checkpoint"] == max(doc["seq"] for doc in lrs.statement_store.collection.find({}, {"seq": 1}))
        assert proxy.faults_seen() == set(SCHEDULE)
        after_429 = [later["start"] - request["end"] for request, later in zip(proxy.requests, proxy.requests[1:], strict=False)
                     if request["fault"] == "429"]
        assert after_429 and min(after_429) >= 0.9  # Retry-After: 1 was honoured


def test_two_workers_never_deliver_at_the_same_time_and_send_each_statement_once(make_app):
    """No fault here, so nothing may be sent twice: the timeout and lease are roomy enough that a
    loaded machine cannot turn a slow answer or a late heartbeat into a retry or a takeover."""
    target_app = make_app()
    with RestartableServer(target_app) as target, FaultyProxy(target.url) as proxy:
        source = source_app(make_app, proxy.url + "/xapi", {**LIVE_ENGINE, "forward_lease_seconds": "15"},
                            batch_size=10, timeout=5)
        lrs = source.extensions["lrs"]
        with workers_running() as workers:
            workers.extend(Worker(lrs, owner=f"worker-{n}").start() for n in range(3))
            post_statements(source.test_client(), 8, 10)
            wait_until(lambda: forwarding_status(lrs)[0]["backlog"] == 0)
    sent = [i for request in proxy.requests for i in request["ids"]]
    assert proxy.max_active == 1
    assert sorted(sent) == sorted(stored(source))
    assert_same_statements(stored(source), stored(target_app))


def test_refused_statements_are_dead_lettered_with_the_targets_answer_and_the_rest_delivered(make_app, live_server):
    target_lrs = live_server  # the `app` fixture's LRS, served over HTTP
    target_app = live_server.server.app
    existing = statement(1000)
    assert target_app.test_client().post("/xapi/statements", json=[existing], headers=XAPI_HEADERS).status_code == 200
    source = source_app(make_app, target_lrs.url + "/xapi", LIVE_ENGINE, batch_size=50, timeout=1,
                        transform=f"{transforms.__name__}:skip_or_break")
    client = source.test_client()
    marked = [statement(n, context={"extensions": {transforms.MARK: mark}}) for n, mark in enumerate(["skip", "break"])]
    conflicting = {**existing, "verb": {"id": "http://example.com/verbs/different"}}
    plain = [statement(n) for n in range(10, 30)]
    assert client.post("/xapi/statements", json=plain[:10] + marked + [conflicting] + plain[10:],
                       headers=XAPI_HEADERS).status_code == 200
    worker = Worker(source.extensions["lrs"]).start()
    try:
        wait_until(lambda: forwarding_status(source.extensions["lrs"])[0]["backlog"] == 0)
    finally:
        worker.stop(5)

    on_target = stored(target_app)
    assert {s["id"] for s in plain} <= set(on_target) and marked[0]["id"] not in on_target
    letters = client.get("/admin/forwarding/replica/dead-letters", headers=XAPI_HEADERS).get_json()["dead_letters"]
    reasons = {letter["statement_id"]: (letter["status"], letter["reason"]) for letter in letters}
    assert set(reasons) == {marked[1]["id"], conflicting["id"]}
    assert reasons[marked[1]["id"]][0] == 400 and "verb" in reasons[marked[1]["id"]][1]
    assert reasons[conflicting["id"]][0] == 409 and reasons[conflicting["id"]][1].startswith("conflict")
    status = client.get("/admin/forwarding", headers=XAPI_HEADERS).get_json()["targets"][0]
    assert status["dead_letters"] == 2 and status["delivered"] == len(plain) + 1  # the skipped one counts


def forward_with_content(source, statements: list[dict], content: bytes) -> None:
    """POST `statements` with `content` (a text/plain part) to `source`, then forward them all."""
    boundary = "forwarding-test-boundary"
    body = (f"--{boundary}\r\nContent-Type: application/json\r\n\r\n{json.dumps(statements)}"
            f"\r\n--{boundary}\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: binary\r\n"
            f"X-Experience-API-Hash: {hashlib.sha256(content).hexdigest()}\r\n\r\n").encode()
    response = source.test_client().post("/xapi/statements", data=body + content + f"\r\n--{boundary}--\r\n".encode(),
                                         headers={**XAPI_HEADERS, "Content-Type": f"multipart/mixed; boundary={boundary}"})
    assert response.status_code == 200, response.data
    worker = Worker(source.extensions["lrs"]).start()
    try:
        wait_until(lambda: forwarding_status(source.extensions["lrs"])[0]["backlog"] == 0)
    finally:
        worker.stop(5)


def test_statements_with_attachments_are_forwarded_with_their_contents(make_app, live_server):
    target_app = live_server.server.app
    source = source_app(make_app, live_server.url + "/xapi", LIVE_ENGINE, timeout=1)
    content = b"an essay, forwarded byte for byte\r\n--not-a-boundary\r\n" * 50
    sha2 = hashlib.sha256(content).hexdigest()
    with_attachment = {**statement(1), "attachments": [{
        "usageType": "http://example.com/usage/essay", "display": {"en-US": "Essay"},
        "contentType": "text/plain", "length": len(content), "sha2": sha2}]}
    forward_with_content(source, [with_attachment, statement(2)], content)
    assert_same_statements(stored(source), stored(target_app))
    assert target_app.extensions["lrs"].attachments.read(sha2, len(content)) == content


def test_a_substatements_attachment_is_forwarded_with_its_content(make_app, live_server):
    """Communication 1.5.2: "An LRS MUST NOT push Statements into another LRS without including
    Attachment data received", a SubStatement's as much as the statement's own."""
    target_app = live_server.server.app
    source = source_app(make_app, live_server.url + "/xapi", LIVE_ENGINE, timeout=1)
    content = b"a plan, attached to the intention it describes"
    sha2 = hashlib.sha256(content).hexdigest()
    inner = statement(2)
    intention = {**statement(1), "object": {
        "objectType": "SubStatement", "actor": inner["actor"], "verb": inner["verb"], "object": inner["object"],
        "attachments": [{"usageType": "http://example.com/usage/plan", "display": {"en-US": "Plan"},
                         "contentType": "text/plain", "length": len(content), "sha2": sha2}]}}
    forward_with_content(source, [intention], content)
    assert_same_statements(stored(source), stored(target_app))
    assert target_app.extensions["lrs"].attachments.read(sha2, len(content)) == content


def test_forwarded_contents_are_headed_as_each_statement_declares_them(make_app, live_server):
    """The target gets a part per sha2 spelling and contentType the statements use (Communication
    1.5.2: part headers MUST match the attachment's properties), though the source stores one."""
    source = source_app(make_app, live_server.url + "/xapi", LIVE_ENGINE, timeout=1)
    content = b"one essay, declared twice"
    sha2 = hashlib.sha256(content).hexdigest()
    declared = [(sha2.upper(), "text/plain"), (sha2, "application/octet-stream")]
    statements = [{**statement(n), "attachments": [{
        "usageType": "http://example.com/usage/essay", "display": {"en-US": "Essay"},
        "contentType": content_type, "length": len(content), "sha2": hash_text}]}
        for n, (hash_text, content_type) in enumerate(declared)]
    forward_with_content(source, statements, content)
    target = live_server.server.app.test_client()
    for one, (hash_text, content_type) in zip(statements, declared, strict=True):
        answer = target.get(f"/xapi/statements?statementId={one['id']}&attachments=true", headers=XAPI_HEADERS)
        assert answer.status_code == 200, answer.data
        assert f"X-Experience-API-Hash: {hash_text}\r\n".encode() in answer.data
        assert f"Content-Type: {content_type}\r\n".encode() in answer.data


def test_with_the_embedded_store_forwarding_runs_in_the_lrs_process(make_app, live_server):
    config = [target_config("replica", live_server.url + "/xapi", timeout=1)]
    source = make_app(plugins="forward_xapi", forward_xapi_targets=json.dumps(config), forward_in_process="true",
                      **fast_engine())
    try:
        ids = post_statements(source.test_client(), 3, 5)
        wait_until(lambda: set(ids) <= set(stored(live_server.server.app)))
    finally:
        source.extensions["forwarding"].stop(5)
    assert_same_statements(stored(source), stored(live_server.server.app))


def test_targets_are_independent_a_dead_one_does_not_hold_back_the_others(make_app, live_server):
    config = [target_config("alive", live_server.url + "/xapi", timeout=1),
              target_config("dead", "http://127.0.0.1:9/xapi", timeout=1)]
    source = make_app(plugins="forward_xapi", forward_xapi_targets=json.dumps(config), **fast_engine())
    lrs = source.extensions["lrs"]
    worker = Worker(lrs).start()
    try:
        ids = post_statements(source.test_client(), 2, 5)
        wait_until(lambda: set(ids) <= set(stored(live_server.server.app)))
        dead = wait_until(lambda: [s for s in forwarding_status(lrs) if s["target"] == "dead" and s["last_error"]])
    finally:
        worker.stop(5)
    assert dead[0]["backlog"] == len(stored(source)) and dead[0]["delivered"] == 0
    assert dead[0]["last_error"]["message"].startswith("connection failed") and dead[0]["dead_letters"] == 0
