"""Deadlines, poison statements, probes, parallel delivery, lag, verify and provenance, against a
live target LRS behind the fault-injecting proxy."""
from __future__ import annotations

import json
import subprocess
import time

import pytest

from lrs.forwarding.provenance import EXTENSION
from lrs.forwarding.status import forwarding_metrics, forwarding_status
from lrs.forwarding.targets import forward_targets
from lrs.forwarding.verify import verify
from lrs.forwarding.worker import Worker
from tests.conftest import basic_auth
from tests.forwarding.harness import (
    XAPI_HEADERS,
    FaultyProxy,
    RestartableServer,
    assert_same_statements,
    fast_engine,
    forward_command,
    source_app,
    statement,
    stored,
    target_config,
    wait_until,
    workers_running,
)


def post(app, count: int, size: int = 20) -> list[str]:
    ids = []
    for number in range(count):
        response = app.test_client().post("/xapi/statements", json=[statement(number * size + n) for n in range(size)],
                                          headers=XAPI_HEADERS)
        assert response.status_code == 200, response.data
        ids += response.get_json()
    return ids


def caught_up(lrs) -> bool:
    return all(row["caught_up"] for row in forwarding_status(lrs))


def test_a_trickling_answer_is_cut_at_the_deadline_and_two_workers_never_overlap(make_app, caplog):
    """One byte of the answer every 0.2 s would take minutes; the timeout (1 s) bounds the whole
    exchange, so no request outlives the 2 s lease and the two workers never deliver together."""
    target_app = make_app()
    with RestartableServer(target_app) as target, FaultyProxy(target.url, ("trickle", "pass", "pass"),
                                                              stall_seconds=0.2) as proxy:
        # a retry waits at least 0.5 s: longer than the proxy takes to notice a closed connection
        source = source_app(make_app, proxy.url + "/xapi", timeout=1, batch_size=20,
                            engine={"forward_retry_base_seconds": "1", "forward_retry_max_seconds": "1"})
        lrs = source.extensions["lrs"]
        post(source, 6)
        workers = [Worker(lrs, owner=f"worker-{n}").start() for n in range(2)]
        try:
            wait_until(lambda: caught_up(lrs), timeout=60)
        finally:
            for worker in workers:
                worker.stop(5)
    trickled = [r for r in proxy.requests if r["fault"] == "trickle"]
    assert trickled and max(r["end"] - r["start"] for r in trickled) < 2.5  # lease 2 s; a full answer: > 60 s
    assert proxy.max_active == 1
    assert "failed (no answer within 1 s)" in caplog.text  # the status clears it once caught up
    assert forwarding_status(lrs)[0]["last_error"] is None
    assert_same_statements(stored(source), stored(target_app))


def test_a_target_too_slow_for_the_batch_gets_halves_until_it_answers_in_time(make_app):
    """0.15 s a statement against a 1 s timeout: 32 at once would time out for ever (and, the
    target answering its probe at once, be sent again every probe interval); 4 are answered."""
    target_app = make_app()
    with RestartableServer(target_app) as target, FaultyProxy(target.url, ("slow_per_statement",),
                                                              stall_seconds=0.15) as proxy:
        source = source_app(make_app, proxy.url + "/xapi", timeout=1, batch_size=32, engine={
            "forward_retry_base_seconds": "0.2", "forward_retry_max_seconds": "1", "forward_probe_seconds": "0.1"})
        lrs = source.extensions["lrs"]
        ids = post(source, 1, 32)
        worker = Worker(lrs).start()
        try:
            wait_until(lambda: caught_up(lrs), timeout=60)
        finally:
            worker.stop(5)
    sizes = [len(request["ids"]) for request in proxy.requests]
    assert sizes[:4] == [32, 16, 8, 4], sizes  # each batch not answered in time is sent in halves
    assert set(stored(target_app)) == set(ids) and forwarding_status(lrs)[0]["delivered"] == 32


def test_a_poison_statement_is_isolated_retried_alone_then_dead_lettered_and_the_rest_flows(make_app):
    target_app = make_app()
    poison = statement(999)
    with RestartableServer(target_app) as target, FaultyProxy(target.url, poison=[poison["id"]]) as proxy:
        source = source_app(make_app, proxy.url + "/xapi", batch_size=16, timeout=2,
                            engine={"forward_split_after_failures": "2", "forward_max_retry_age_seconds": "3"})
        lrs = source.extensions["lrs"]
        ids = post(source, 1, 10)
        assert source.test_client().post("/xapi/statements", json=poison, headers=XAPI_HEADERS).status_code == 200
        ids += post(source, 2, 10)
        worker = Worker(lrs).start()
        try:
            wait_until(lambda: set(ids) <= set(stored(target_app)), timeout=30)
            assert forwarding_status(lrs)[0]["retrying"] == 1  # the rest flowed past it
            wait_until(lambda: forwarding_status(lrs)[0]["dead_letters"] == 1, timeout=30)
            post(source, 1, 5)  # and still flows
            wait_until(lambda: caught_up(lrs), timeout=30)
        finally:
            worker.stop(5)
        result = verify(lrs, forward_targets(lrs)[0])
    assert result.missing == [poison["id"]] and result.different == []
    [letter] = lrs.db["forwarding.dead_letters"].find()
    assert letter["statement_id"] == poison["id"] and letter["status"] == 500
    assert letter["reason"].startswith("failed for longer than the retry age: HTTP 500")
    status = forwarding_status(lrs)[0]
    assert status["retrying"] == 0 and status["retries"] >= 2 and status["backlog"] == 0


@pytest.mark.parametrize(("fault", "error"), [
    ("ok", "HTTP 200 without the statement ids an xAPI LRS answers a POST with (a JSON array of 10): 'ok'"),
    ("empty", "HTTP 200 without the statement ids an xAPI LRS answers a POST with (a JSON array of 10): '[]'"),
    ("307", "HTTP 307: redirected to https://127.0.0.1:"),
])
def test_an_answer_without_the_ids_or_a_redirect_is_an_outage_never_a_delivery(make_app, fault, error):
    """A catch-all page or a stub answering 200 must not swallow the statements, and a redirect
    (http to https) must not turn them into dead letters: both are retried and reported."""
    target_app = make_app()
    with RestartableServer(target_app) as target, FaultyProxy(target.url, (fault,)) as proxy:
        source = source_app(make_app, proxy.url + "/xapi", batch_size=10)
        lrs = source.extensions["lrs"]
        ids = post(source, 2, 10)
        worker = Worker(lrs).start()
        try:
            wait_until(lambda: forwarding_status(lrs)[0]["retries"] >= 3)
            status = forwarding_status(lrs)[0]
            assert (status["delivered"], status["backlog"], status["retrying"], status["dead_letters"]) == (0, 20, 0, 0)
            assert status["last_error"]["message"].startswith(error), status["last_error"]
            assert set(proxy.faults_seen()) == {fault} and stored(target_app) == {}
            proxy.schedule(("pass",))  # the endpoint fixed
            wait_until(lambda: caught_up(lrs))
        finally:
            worker.stop(5)
    assert set(stored(target_app)) == set(ids) and forwarding_status(lrs)[0]["delivered"] == 20


@pytest.mark.parametrize("fault", ["ok", "307"])
def test_a_target_that_answers_wrongly_is_not_probed_but_backs_off(make_app, fault):
    """Its GET /about answers too (a catch-all page, the same redirect): were it probed, it would
    get the whole batch again every probe interval, for as long as it stays misconfigured."""
    target_app = make_app()
    with RestartableServer(target_app) as target, FaultyProxy(target.url, (fault,)) as proxy:
        source = source_app(make_app, proxy.url + "/xapi", timeout=1, engine={
            "forward_retry_base_seconds": "60", "forward_retry_max_seconds": "120", "forward_probe_seconds": "0.2"})
        lrs = source.extensions["lrs"]
        post(source, 1, 10)
        worker = Worker(lrs).start()
        try:
            wait_until(lambda: forwarding_status(lrs)[0]["attempts"] >= 1, timeout=20)
            time.sleep(1.5)  # seven probe intervals
        finally:
            worker.stop(5)
    status = forwarding_status(lrs)[0]
    assert len(proxy.requests) == 1 and status["attempts"] == 1 and status["delivered"] == 0
    assert status["next_attempt"] and status["last_error"]["status"] in (200, 307)


def test_a_target_that_comes_back_is_found_by_a_probe_before_the_backoff_ends(make_app):
    target_app = make_app()
    target = RestartableServer(target_app).start()
    with FaultyProxy(target.url) as proxy:
        source = source_app(make_app, proxy.url + "/xapi", timeout=1, engine={
            "forward_retry_base_seconds": "60", "forward_retry_max_seconds": "120", "forward_probe_seconds": "0.2"})
        lrs = source.extensions["lrs"]
        target.stop()
        post(source, 2)
        worker = Worker(lrs).start()
        try:
            wait_until(lambda: forwarding_status(lrs)[0]["attempts"] >= 1, timeout=20)
            status = forwarding_status(lrs)[0]
            assert status["backlog"] == 40 and status["lag_seconds"] > 0 and status["oldest_undelivered"]
            target.start()
            back = time.monotonic()
            wait_until(lambda: caught_up(lrs), timeout=25)  # the backoff alone: 30 to 60 s
            print(f"caught up {time.monotonic() - back:.1f} s after the target came back")
        finally:
            worker.stop(5)
            target.stop()
    metrics = forwarding_metrics(lrs)["replica"]
    assert metrics["backlog"] == 0 and metrics["lag_seconds"] == 0 and metrics["delivered_total"] == 40
    assert metrics["retries_total"] >= 1 and metrics["last_success_timestamp"] > metrics["last_error_timestamp"] > 0


def test_a_hung_target_is_probed_and_found_back_before_the_backoff_ends(make_app):
    """A target that accepts connections and answers nothing (a stopped process): its batch goes
    unanswered like a slow target's, but it answers no probe either, so it is probed until it
    answers, and delivery resumes then rather than after a backoff of 60 s or more."""
    target_app = make_app()
    with RestartableServer(target_app) as target, FaultyProxy(target.url, stall_seconds=30) as proxy:
        source = source_app(make_app, proxy.url + "/xapi", timeout=1, batch_size=10, engine={
            "forward_retry_base_seconds": "120", "forward_retry_max_seconds": "300", "forward_probe_seconds": "0.2"})
        lrs = source.extensions["lrs"]
        ids = post(source, 2)
        proxy.hang()
        worker = Worker(lrs).start()
        try:
            wait_until(lambda: forwarding_status(lrs)[0]["attempts"] >= 1, timeout=30)
            assert forwarding_status(lrs)[0]["last_error"]["message"] == "no answer within 1 s"
            wait_until(lambda: proxy.unanswered_gets >= 2, timeout=30)  # probed while hung
            proxy.hang(False)
            wait_until(lambda: caught_up(lrs), timeout=45)  # the backoff alone: 60 s or more
        finally:
            proxy.hang(False)
            worker.stop(5)
    assert set(stored(target_app)) == set(ids) and forwarding_status(lrs)[0]["attempts"] == 0


def test_a_batch_size_the_target_refuses_as_too_large_is_remembered_and_grown_back(make_app):
    """A body limit of 5 statements against batches of 32: the first round narrows down to 4 at
    a time (32, 16, 8 refused), later rounds start from 4, not from 32 again, and every
    GROW_AFTER rounds try twice as many; once the limit is raised, batches grow back to 32."""
    target_app = make_app()
    with RestartableServer(target_app) as target, FaultyProxy(target.url) as proxy:
        proxy.max_statements = 5
        source = source_app(make_app, proxy.url + "/xapi", batch_size=32)
        lrs = source.extensions["lrs"]
        ids = post(source, 8)  # 160 statements: 5 rounds of 32 from the configured size
        worker = Worker(lrs).start()
        try:
            wait_until(lambda: caught_up(lrs), timeout=60)
            limited = list(proxy.requests)
            proxy.max_statements = None  # the limit raised
            ids += post(source, 20)  # 400 more: enough rounds to double 4 to 32
            wait_until(lambda: caught_up(lrs), timeout=60)
        finally:
            worker.stop(5)
    refused = [len(r["ids"]) for r in limited if r["fault"] == "413"]
    assert refused[:3] == [32, 16, 8]  # the first round starts at the configured size
    # 7 refused requests for the first round, then one each time 8 are tried again after 10
    # rounds of 4 (about 30 rounds): at most 7 + 4; from the configured size every round: 35
    assert len(refused) <= 11, refused
    assert max(len(r["ids"]) for r in limited[len(limited) // 2:]) <= 8
    grown = [len(r["ids"]) for r in proxy.requests[len(limited):]]
    assert 32 in grown and "413" not in {r["fault"] for r in proxy.requests[len(limited):]}
    assert set(stored(target_app)) == set(ids) and forwarding_status(lrs)[0]["dead_letters"] == 0


def test_a_restarted_worker_keeps_the_batch_size_the_target_took(make_app):
    """The size a 413 taught was in the worker's memory only: each restart sent batch_size again
    and paid the refused requests (32, 16, 8) to learn it anew. It is in the target's state now."""
    target_app = make_app()
    with RestartableServer(target_app) as target, FaultyProxy(target.url) as proxy:
        proxy.max_statements = 5
        source = source_app(make_app, proxy.url + "/xapi", batch_size=32)
        lrs = source.extensions["lrs"]
        ids = post(source, 2, 16)
        with workers_running() as workers:
            workers.append(Worker(lrs).start())
            wait_until(lambda: caught_up(lrs), timeout=60)
        learnt = len(proxy.requests)
        assert forwarding_status(lrs)[0]["batch_limit"]["statements"] == 4  # what the status shows too
        ids += post(source, 2, 16)
        with workers_running() as workers:  # restarted
            workers.append(Worker(lrs).start())
            wait_until(lambda: caught_up(lrs), timeout=60)
    assert [len(r["ids"]) for r in proxy.requests[:learnt] if r["fault"] == "413"][:3] == [32, 16, 8]
    assert [(len(r["ids"]), r["fault"]) for r in proxy.requests[learnt:]] == [(4, "pass")] * 8
    assert set(stored(target_app)) == set(ids) and forwarding_status(lrs)[0]["dead_letters"] == 0


def test_several_batches_in_flight_keep_the_checkpoint_exact(make_app):
    target_app = make_app()
    with RestartableServer(target_app) as target, FaultyProxy(target.url, ("slow", "slow", "500", "slow", "drop"),
                                                              stall_seconds=0.2) as proxy:
        source = source_app(make_app, proxy.url + "/xapi", timeout=2, batch_size=10, in_flight=4)
        lrs = source.extensions["lrs"]
        post(source, 12)
        worker = Worker(lrs).start()
        try:
            wait_until(lambda: caught_up(lrs), timeout=60)
        finally:
            worker.stop(5)
        assert verify(lrs, forward_targets(lrs)[0]).ok
    assert 1 < proxy.max_active <= 4
    status = forwarding_status(lrs)[0]
    assert status["checkpoint"] == max(doc["seq"] for doc in lrs.statement_store.collection.find({}, {"seq": 1}))
    assert status["dead_letters"] == 0 and status["in_flight"] == 4
    assert_same_statements(stored(source), stored(target_app))


def test_provenance_carries_the_original_authority_and_stored_time(make_app, live_server):
    source = source_app(make_app, live_server.url + "/xapi", timeout=2, provenance=True)
    lrs = source.extensions["lrs"]
    [sid] = post(source, 1, 1)
    worker = Worker(lrs).start()
    try:
        wait_until(lambda: caught_up(lrs))
    finally:
        worker.stop(5)
    original = stored(source)[sid]
    copy = stored(live_server.server.app)[sid]
    assert copy["context"]["extensions"][EXTENSION] == {"authority": original["authority"], "stored": original["stored"]}
    assert verify(lrs, forward_targets(lrs)[0]).ok


def test_a_target_that_recovered_shows_when_it_last_failed_but_no_error(shared_store, make_app):
    """Target down, statements posted, target back and caught up: GET /admin/forwarding and
    `lrs forward status` still showed the outage's error beside `caught_up` and 0 attempts."""
    target = RestartableServer(make_app()).start()
    config = json.dumps([target_config("replica", target.url + "/xapi", timeout=1)])
    source = make_app(mongo_uri=shared_store, plugins="forward_xapi", forward_xapi_targets=config, **fast_engine())
    lrs = source.extensions["lrs"]

    def status() -> dict:
        return source.test_client().get("/admin/forwarding", headers={"Authorization": basic_auth()}
                                        ).get_json()["targets"][0]

    target.stop()
    post(source, 2)
    worker = Worker(lrs).start()
    try:
        failing = wait_until(lambda: (row := status())["attempts"] >= 1 and row)
        target.start()
        recovered = wait_until(lambda: (row := status())["caught_up"] and row)
    finally:
        worker.stop(5)
        target.stop()
    assert recovered["attempts"] == 0 and recovered["delivered"] == 40 and recovered["last_error"] is None
    assert failing["last_error"]["message"].startswith("connection failed")
    assert failing["last_error_at"] == failing["last_error"]["at"]
    assert failing["last_error_at"] <= recovered["last_error_at"] <= recovered["last_success"]
    table = forward_command(lrs, config, "status")
    header, row = table.stdout.splitlines()
    columns = dict(zip(header.split("\t"), row.split("\t"), strict=True))
    assert (columns["last_error_at"], columns["error"], columns["paused"]) == (recovered["last_error_at"], "-", "-"), \
        table.stdout


def test_verify_and_wait_caught_up_as_commands(shared_store, make_app, live_server):
    """`lrs forward verify` and `lrs forward status --wait-caught-up` in processes of their own,
    on the source's store: both exit 1 before the target got the statements, 0 after."""
    config = json.dumps([target_config("replica", live_server.url + "/xapi", timeout=2)])
    source = make_app(mongo_uri=shared_store, plugins="forward_xapi", forward_xapi_targets=config, **fast_engine())
    lrs = source.extensions["lrs"]
    ids = post(source, 1, 10)

    def lrs_forward(*args: str) -> subprocess.CompletedProcess:
        return forward_command(lrs, config, *args)

    before = lrs_forward("verify", "replica")
    assert before.returncode == 1 and sorted(before.stdout.split()) == sorted(["missing"] * 10 + ids)
    assert lrs_forward("status", "--wait-caught-up", "0.5").returncode == 1
    worker = Worker(lrs).start()
    try:
        waited = lrs_forward("status", "--wait-caught-up", "60", "--json")
    finally:
        worker.stop(5)
    assert waited.returncode == 0 and json.loads(waited.stdout)[0]["caught_up"]
    after = lrs_forward("verify", "replica")
    assert after.returncode == 0 and "10 statements checked, 0 missing, 0 different" in after.stderr


def test_the_heartbeat_keeps_the_lease_through_a_delivery_longer_than_the_lease(make_app):
    """Each answer takes 2.5 s against a 2 s lease: the holder's heartbeat renews it meanwhile, so
    the second worker never takes over and every statement is sent exactly once."""
    target_app = make_app()
    with RestartableServer(target_app) as target, FaultyProxy(target.url, ("slow",), stall_seconds=2.5) as proxy:
        source = source_app(make_app, proxy.url + "/xapi", timeout=5, batch_size=20)
        lrs = source.extensions["lrs"]
        post(source, 3)
        workers = [Worker(lrs, owner=f"worker-{n}").start() for n in range(2)]
        try:
            wait_until(lambda: caught_up(lrs), timeout=60)
        finally:
            for worker in workers:
                worker.stop(10)
    sent = [i for request in proxy.requests for i in request["ids"]]
    assert proxy.max_active == 1 and sorted(sent) == sorted(stored(source))
    assert_same_statements(stored(source), stored(target_app))


def test_a_worker_stopped_mid_round_records_what_the_target_acknowledged(make_app):
    """Two batches in flight, one acknowledged, the other hanging: stopping the worker cuts the
    hanging one short at once and records the acknowledged one, so the restarted worker sends only
    the other (before, the stop waited, gave up, let the lease go unrecorded: both were resent)."""
    target_app = make_app()
    with RestartableServer(target_app) as target, FaultyProxy(target.url, ("pass", "timeout"),
                                                              stall_seconds=8) as proxy:
        source = source_app(make_app, proxy.url + "/xapi", batch_size=5, in_flight=2, timeout=20)
        lrs = source.extensions["lrs"]
        post(source, 1, 10)
        worker = Worker(lrs).start()
        try:
            wait_until(lambda: len(proxy.requests) == 2 and any("end" in r for r in proxy.requests), timeout=20)
        finally:
            stopping = time.monotonic()
            worker.stop(3)
        stopped_in = time.monotonic() - stopping
        assert forwarding_status(lrs)[0]["last_error"]["message"] == "interrupted: the worker stopped mid-round"
        proxy.schedule(("pass",))
        worker = Worker(lrs).start()
        try:
            wait_until(lambda: caught_up(lrs), timeout=30)
        finally:
            worker.stop(5)
    acknowledged = next(r["ids"] for r in proxy.requests if r["fault"] == "pass")
    sent = [i for r in proxy.requests for i in r["ids"]]
    assert [sent.count(i) for i in acknowledged] == [1] * 5 and stopped_in < 2.5
    assert_same_statements(stored(source), stored(target_app))
