"""The Learning Locker configuration documented in docs/forwarding.md, run against a fake that
answers as Learning Locker does (tests/forwarding/learning_locker.py)."""
from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

from lrs.forwarding.status import forwarding_metrics, forwarding_status
from lrs.forwarding.worker import Worker
from lrs.xapi.equality import same_statement
from tests.forwarding.harness import (
    XAPI_HEADERS,
    RestartableServer,
    fast_engine,
    forward_command,
    statement,
    stored,
    wait_until,
    workers_running,
)
from tests.forwarding.learning_locker import FakeLearningLocker

DOCS = Path(__file__).resolve().parents[2] / "docs" / "forwarding.md"


def documented_configuration() -> list[dict]:
    text = DOCS.read_text(encoding="utf-8")
    block = re.search(r"<!-- learning-locker-example.*?-->\s*```json\n(.*?)```", text, re.S)
    assert block, "docs/forwarding.md lost its Learning Locker example"
    return json.loads(block.group(1))


def test_the_documented_learning_locker_configuration_delivers_everything(make_app, monkeypatch):
    config = documented_configuration()
    key = config[0]["auth"]["username"]
    locker = FakeLearningLocker(key, "client-secret", limit_every=4)
    already_there = statement(99)
    locker.statements[already_there["id"]] = {**already_there, "verb": {"id": "http://example.com/verbs/other"}}
    with RestartableServer(locker.app) as server:
        config[0]["endpoint"] = server.url + "/data/xAPI"
        monkeypatch.setenv("LL_CLIENT_SECRET", "client-secret")
        source = make_app(plugins="forward_xapi", forward_xapi_targets=json.dumps(config),
                          **fast_engine(forward_lease_seconds="60", forward_retry_max_seconds="1.5"))
        client = source.test_client()
        v1 = [statement(n) for n in range(30)]
        v2 = [statement(n) for n in range(30, 45)]
        assert client.post("/xapi/statements", json=v1 + [already_there], headers=XAPI_HEADERS).status_code == 200
        assert client.post("/xapi/statements", json=v2, headers={**XAPI_HEADERS, "X-Experience-API-Version": "2.0.0"}
                           ).status_code == 200
        lrs = source.extensions["lrs"]
        worker = Worker(lrs).start()
        try:
            wait_until(lambda: forwarding_status(lrs)[0]["backlog"] == 0, timeout=20)
        finally:
            worker.stop(5)

    source_statements = stored(source)
    assert {s["version"] for s in source_statements.values()} == {"1.0.0", "2.0.0"}
    delivered = {sid: s for sid, s in source_statements.items() if sid != already_there["id"]}
    assert set(locker.statements) == set(delivered) | {already_there["id"]}
    assert all(same_statement(delivered[sid], locker.statements[sid]) for sid in delivered)
    assert {s["version"] for sid, s in locker.statements.items() if sid in delivered} == {"1.0.0"}
    status = forwarding_status(lrs)[0]
    assert status["dead_letters"] == 1 and status["delivered"] == len(delivered)
    letters = source.test_client().get("/admin/forwarding/learning-locker/dead-letters", headers=XAPI_HEADERS)
    [letter] = letters.get_json()["dead_letters"]
    assert letter["statement_id"] == already_there["id"] and letter["status"] == 409
    assert "client-secret" not in json.dumps(status) and "client-secret" not in letters.get_data(as_text=True)


def learning_locker_source(make_app: Any, config: list[dict], **store: str) -> Any:
    return make_app(plugins="forward_xapi", forward_xapi_targets=json.dumps(config), **store,
                    **fast_engine(forward_lease_seconds="60", forward_retry_base_seconds="0.2",
                                  forward_retry_max_seconds="0.5"))


def paused_errors(caplog: Any, name: str, status: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelname == "ERROR" and f"forwarding {name}: paused" in
            r.getMessage() and f"HTTP {status}" in r.getMessage()]


def test_a_learning_locker_refusing_every_statement_pauses_the_target_until_its_configuration_is_fixed(
        make_app: Any, shared_store: str, monkeypatch: Any, caplog: Any) -> None:
    """The transformation forgotten, Learning Locker answers 400 to every 2.0 statement: narrowing
    each batch down to dead letters would dead-letter the whole backlog. The target is paused
    instead, nothing dead-lettered, and a fixed configuration delivers everything."""
    config = documented_configuration()
    transform = config[0].pop("transform")
    locker = FakeLearningLocker(config[0]["auth"]["username"], "client-secret", limit_every=0)
    monkeypatch.setenv("LL_CLIENT_SECRET", "client-secret")
    store = {"mongo_uri": shared_store, "mongo_db": f"lrs_test_{uuid.uuid4().hex[:12]}"}
    with RestartableServer(locker.app) as server:
        config[0]["endpoint"] = server.url + "/data/xAPI"
        forgetful = learning_locker_source(make_app, config, **store)
        sent = [statement(n) for n in range(60)]
        assert forgetful.test_client().post("/xapi/statements", json=sent, headers={
            **XAPI_HEADERS, "X-Experience-API-Version": "2.0.0"}).status_code == 200
        lrs = forgetful.extensions["lrs"]
        with workers_running() as workers:
            workers.append(Worker(lrs).start())
            wait_until(lambda: forwarding_status(lrs)[0]["attempts"] >= 2, timeout=30)
        status = forwarding_status(lrs)[0]
        assert (status["dead_letters"], status["delivered"], status["backlog"]) == (0, 0, 60)
        assert status["paused"] == "refusing" and status["last_error"]["status"] == 400
        assert forwarding_metrics(lrs)["learning-locker"]["paused"] == 1
        assert paused_errors(caplog, "learning-locker", 400)
        header, row = forward_command(lrs, json.dumps(config), "status").stdout.splitlines()
        assert dict(zip(header.split("\t"), row.split("\t"), strict=True))["paused"] == "refusing"
        # about 24 requests a round (ten refused alone, the narrowing to them, the last one); the
        # narrowing to dead letters took 119 for these 60, and would for each retry of a replay
        assert locker.requests <= 30 * status["attempts"] and locker.statements == {}

        config[0]["transform"] = transform  # the operator adds it and restarts the forwarder
        fixed = learning_locker_source(make_app, config, **store)
        lrs = fixed.extensions["lrs"]
        with workers_running() as workers:
            workers.append(Worker(lrs).start())
            wait_until(lambda: forwarding_status(lrs)[0]["caught_up"], timeout=30)
    assert set(locker.statements) == {s["id"] for s in sent}
    status = forwarding_status(lrs)[0]
    assert (status["dead_letters"], status["delivered"], status["paused"]) == (0, 60, None)


def settled(lrs: Any) -> bool:
    """Nothing left to send, or paused."""
    status = forwarding_status(lrs)[0]
    return bool(status["caught_up"] or status["paused"])


def test_a_trickle_of_statements_learning_locker_refuses_pauses_the_target_too(
        make_app: Any, shared_store: str, monkeypatch: Any) -> None:
    """One statement a round: the ten refusals in a row had to come within one round, so a target
    getting a trickle and refusing each statement was never paused, the whole stream dead-lettered.
    The count carries from round to round: the tenth pauses it; the nine before are dead letters,
    replayed once the configuration is fixed."""
    config = documented_configuration()
    transform = config[0].pop("transform")
    locker = FakeLearningLocker(config[0]["auth"]["username"], "client-secret", limit_every=0)
    monkeypatch.setenv("LL_CLIENT_SECRET", "client-secret")
    store = {"mongo_uri": shared_store, "mongo_db": f"lrs_test_{uuid.uuid4().hex[:12]}"}
    sent: list[dict] = []
    with RestartableServer(locker.app) as server:
        config[0]["endpoint"] = server.url + "/data/xAPI"
        forgetful = learning_locker_source(make_app, config, **store)
        lrs = forgetful.extensions["lrs"]
        with workers_running() as workers:
            workers.append(Worker(lrs).start())
            for n in range(15):
                sent.append(statement(n))
                assert forgetful.test_client().post("/xapi/statements", json=sent[-1], headers={
                    **XAPI_HEADERS, "X-Experience-API-Version": "2.0.0"}).status_code == 200
                wait_until(lambda: settled(lrs))  # each statement a round of its own
                if forwarding_status(lrs)[0]["paused"]:
                    break
        status = forwarding_status(lrs)[0]
        assert (status["paused"], status["dead_letters"], status["backlog"], len(sent)) == ("refusing", 9, 1, 10)
        assert status["last_error"]["message"].startswith("the target refuses every statement: 10 in a row")

        config[0]["transform"] = transform  # the operator adds it, restarts the forwarder and replays
        fixed = learning_locker_source(make_app, config, **store)
        lrs = fixed.extensions["lrs"]
        replayed = fixed.test_client().post("/admin/forwarding/learning-locker/dead-letters/replay", json={},
                                            headers=XAPI_HEADERS)
        assert replayed.get_json() == {"marked": 9}
        with workers_running() as workers:
            workers.append(Worker(lrs).start())
            wait_until(lambda: (row := forwarding_status(lrs)[0])["caught_up"] and row["dead_letters"] == 0,
                       timeout=30)
    assert set(locker.statements) == {s["id"] for s in sent}


def test_a_rotated_credential_pauses_the_target_as_misconfigured_and_it_resumes_once_it_matches(
        make_app: Any, monkeypatch: Any, caplog: Any) -> None:
    config = documented_configuration()
    locker = FakeLearningLocker(config[0]["auth"]["username"], "rotated-secret", limit_every=0)
    monkeypatch.setenv("LL_CLIENT_SECRET", "client-secret")
    with RestartableServer(locker.app) as server:
        config[0]["endpoint"] = server.url + "/data/xAPI"
        source = learning_locker_source(make_app, config)
        sent = [statement(n) for n in range(30)]
        assert source.test_client().post("/xapi/statements", json=sent, headers=XAPI_HEADERS).status_code == 200
        lrs = source.extensions["lrs"]
        with workers_running() as workers:
            workers.append(Worker(lrs).start())
            wait_until(lambda: forwarding_status(lrs)[0]["attempts"] >= 2, timeout=30)
            status = forwarding_status(lrs)[0]
            assert (status["dead_letters"], status["backlog"], status["paused"]) == (0, 30, "misconfigured")
            assert status["last_error"]["status"] == 401 and forwarding_metrics(lrs)["learning-locker"]["paused"] == 1
            assert paused_errors(caplog, "learning-locker", 401)
            locker.expected = FakeLearningLocker(config[0]["auth"]["username"], "client-secret").expected
            wait_until(lambda: forwarding_status(lrs)[0]["caught_up"], timeout=30)
    assert set(locker.statements) == {s["id"] for s in sent}
    status = forwarding_status(lrs)[0]
    assert (status["dead_letters"], status["paused"]) == (0, None) and forwarding_metrics(lrs)["learning-locker"]["paused"] == 0
