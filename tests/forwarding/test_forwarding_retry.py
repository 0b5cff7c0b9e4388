"""Retry now: a paused target whose cause was fixed on its side resumes at once, not at its next
attempt up to LRS_FORWARD_RETRY_MAX_SECONDS later; through the admin API (the app's test client
and a real `lrs serve` forwarding in-process) and `lrs forward retry` beside a separate `lrs
forward` worker process. The backoff here is 30 s or more: every wait below is far shorter."""
from __future__ import annotations

import base64
import json
from typing import Any

import requests

from lrs.forwarding.status import forwarding_status
from lrs.forwarding.worker import Worker
from lrs.server import spawned
from tests.conftest import ADMIN_KEY, ADMIN_SECRET, basic_auth
from tests.forwarding.harness import (
    XAPI_HEADERS,
    RestartableServer,
    fast_engine,
    forward_command,
    forward_process,
    statement,
    wait_until,
    workers_running,
)
from tests.forwarding.learning_locker import FakeLearningLocker

ADMIN = {"Authorization": basic_auth()}
SLOW_RETRIES = {"forward_retry_base_seconds": "60", "forward_retry_max_seconds": "120"}
NOTHING_WAITING = {"target": "replica", "waiting": False, "was_due": None, "set_aside": 0,
                   "message": "replica: nothing was waiting (no retry pending), nothing changed"}


def targets(url: str) -> str:
    """One target, `replica`, a Learning Locker whose client secret the test rotates."""
    return json.dumps([{"name": "replica", "endpoint": url + "/data/xAPI",
                        "auth": {"type": "basic", "username": "key", "password": "client-secret"}}])


def restore_the_credential(locker: FakeLearningLocker) -> None:
    """What the operator fixes on the target's side: the secret this LRS sends is valid again."""
    locker.expected = "Basic " + base64.b64encode(b"key:client-secret").decode()


def test_retry_now_over_the_admin_api_resumes_a_paused_target_at_once(make_app: Any) -> None:
    locker = FakeLearningLocker("key", "rotated-secret", limit_every=0)
    with RestartableServer(locker.app) as server:
        source = make_app(plugins="forward_xapi", forward_xapi_targets=targets(server.url), **fast_engine(**SLOW_RETRIES))
        client, lrs = source.test_client(), source.extensions["lrs"]
        sent = [statement(n) for n in range(30)]
        assert client.post("/xapi/statements", json=sent, headers=XAPI_HEADERS).status_code == 200
        nothing = client.post("/admin/forwarding/replica/retry", headers=ADMIN)
        assert (nothing.status_code, nothing.get_json()) == (200, NOTHING_WAITING)  # not started: nothing waits
        with workers_running() as workers:
            workers.append(Worker(lrs).start())
            paused = wait_until(lambda: (row := forwarding_status(lrs)[0])["paused"] == "misconfigured" and row)
            restore_the_credential(locker)
            answer = client.post("/admin/forwarding/replica/retry", json={}, headers=ADMIN)
            assert answer.status_code == 202, answer.get_data(as_text=True)
            assert answer.get_json() == {
                "target": "replica", "waiting": True, "was_due": paused["next_attempt"], "set_aside": 0,
                "message": f"replica: retried at the worker's next cycle (the next attempt was due at "
                           f"{paused['next_attempt']})"}
            wait_until(lambda: forwarding_status(lrs)[0]["caught_up"], timeout=10)
        assert set(locker.statements) == {s["id"] for s in sent}
        status = forwarding_status(lrs)[0]
        assert (status["paused"], status["attempts"], status["dead_letters"]) == (None, 0, 0)
        again = client.post("/admin/forwarding/replica/retry", headers=ADMIN)
        assert (again.status_code, again.get_json()) == (200, NOTHING_WAITING)
        unknown_field = client.post("/admin/forwarding/replica/retry", json={"now": True}, headers=ADMIN)
        assert unknown_field.status_code == 400 and unknown_field.get_json()["error"]["message"].startswith("now: ")


def test_retry_now_reaches_a_real_lrs_serve_forwarding_in_process(tmp_path: Any) -> None:
    locker = FakeLearningLocker("key", "rotated-secret", limit_every=0)
    with RestartableServer(locker.app) as server:
        env = {"LRS_DATA_DIR": str(tmp_path / "data"), "LRS_ADMIN_KEY": ADMIN_KEY, "LRS_ADMIN_SECRET": ADMIN_SECRET,
               "LRS_LOG_LEVEL": "WARNING", "LRS_PLUGINS": "forward_xapi", "LRS_FORWARD_IN_PROCESS": "true",
               "LRS_FORWARD_XAPI_TARGETS": targets(server.url), "LRS_FORWARD_POLL_SECONDS": "0.05",
               "LRS_FORWARD_RETRY_BASE_SECONDS": "60", "LRS_FORWARD_RETRY_MAX_SECONDS": "120"}
        with spawned(env, timeout=60) as (endpoint, _):
            admin = endpoint.removesuffix("/xapi") + "/admin/forwarding"

            def status() -> dict:
                return requests.get(admin, headers=ADMIN, timeout=30).json()["targets"][0]

            sent = [statement(n) for n in range(20)]
            assert requests.post(endpoint + "/statements", json=sent, headers=XAPI_HEADERS, timeout=30).ok
            wait_until(lambda: status()["paused"] == "misconfigured", timeout=30)
            restore_the_credential(locker)
            answer = requests.post(admin + "/replica/retry", headers=ADMIN, timeout=30)
            assert answer.status_code == 202 and answer.json()["waiting"], answer.text
            wait_until(lambda: status()["caught_up"], timeout=10)
            assert requests.post(admin + "/replica/retry", headers=ADMIN, timeout=30).json() == NOTHING_WAITING
    assert set(locker.statements) == {s["id"] for s in sent}


def test_lrs_forward_retry_reaches_a_separate_lrs_forward_worker(shared_store: str, make_app: Any) -> None:
    locker = FakeLearningLocker("key", "rotated-secret", limit_every=0)
    with RestartableServer(locker.app) as server:
        config = targets(server.url)
        source = make_app(mongo_uri=shared_store, plugins="forward_xapi", forward_xapi_targets=config)
        lrs = source.extensions["lrs"]
        sent = [statement(n) for n in range(20)]
        assert source.test_client().post("/xapi/statements", json=sent, headers=XAPI_HEADERS).status_code == 200
        with forward_process(lrs, config, LRS_FORWARD_RETRY_BASE_SECONDS="60", LRS_FORWARD_RETRY_MAX_SECONDS="120"):
            paused = wait_until(lambda: (row := forwarding_status(lrs)[0])["paused"] == "misconfigured" and row,
                                timeout=30)
            restore_the_credential(locker)
            retried = forward_command(lrs, config, "retry", "replica")
            assert retried.returncode == 0, retried.stderr
            assert retried.stdout == (f"replica: retried at the worker's next cycle (the next attempt was due at "
                                      f"{paused['next_attempt']})\n")
            wait_until(lambda: forwarding_status(lrs)[0]["caught_up"], timeout=10)
        assert set(locker.statements) == {s["id"] for s in sent}
        again = forward_command(lrs, config, "retry", "replica")
        assert again.returncode == 0 and again.stdout == NOTHING_WAITING["message"] + "\n"
        unknown = forward_command(lrs, config, "retry", "nobody")
        assert unknown.returncode == 1 and "no forwarding target named 'nobody' is configured" in unknown.stderr
