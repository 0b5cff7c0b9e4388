"""The Learning Locker configuration documented in docs/forwarding.md, run against a fake that
answers as Learning Locker does (tests/forwarding/learning_locker.py)."""
from __future__ import annotations

import json
import re
from pathlib import Path

from lrs.forwarding.status import forwarding_status
from lrs.forwarding.worker import Worker
from lrs.xapi.equality import same_statement
from tests.forwarding.harness import XAPI_HEADERS, RestartableServer, fast_engine, statement, stored, wait_until
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
