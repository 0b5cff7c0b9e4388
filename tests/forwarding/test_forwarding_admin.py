"""The admin JSON endpoint and `lrs forward ...`: authentication, parameters, replay, backfill."""
from __future__ import annotations

import json
import logging

import pytest
from click.testing import CliRunner

from lrs.cli import main
from lrs.forwarding.state import TargetStates
from lrs.forwarding.worker import Worker
from tests.conftest import basic_auth
from tests.forwarding.harness import XAPI_HEADERS, fast_engine, statement, stored, target_config, wait_until

ADMIN = {"Authorization": basic_auth()}


@pytest.fixture
def source(make_app, live_server):
    """An LRS forwarding to the live `app` fixture, with one statement the target will refuse."""
    config = [target_config("replica", live_server.url + "/xapi", timeout=1)]
    return make_app(plugins="forward_xapi", forward_xapi_targets=json.dumps(config), **fast_engine())


def backlog_empty(app) -> bool:
    return app.test_client().get("/admin/forwarding", headers=ADMIN).get_json()["targets"][0]["backlog"] == 0


def drain(app, until=backlog_empty) -> None:
    worker = Worker(app.extensions["lrs"]).start()
    try:
        wait_until(lambda: until(app))
    finally:
        worker.stop(5)


def dead_letters(app) -> list[dict]:
    return app.test_client().get("/admin/forwarding/replica/dead-letters", headers=ADMIN).get_json()["dead_letters"]


def test_admin_needs_a_credential_with_scope_admin(source):
    client = source.test_client()
    assert client.get("/admin/forwarding").status_code == 401
    lrs = source.extensions["lrs"]
    lrs.create_credential("lms", "lms-secret", ["all"])
    response = client.get("/admin/forwarding", headers={"Authorization": basic_auth("lms", "lms-secret")})
    assert response.status_code == 403 and "admin" in response.get_json()["error"]["message"]
    assert client.get("/admin/forwarding", headers=ADMIN).status_code == 200


def test_bad_parameters_get_a_400_naming_them_and_unknown_targets_a_404(source):
    client = source.test_client()
    for query, name in (("after=x", "after"), ("limit=0", "limit"), ("limit=5000", "limit")):
        response = client.get(f"/admin/forwarding/replica/dead-letters?{query}", headers=ADMIN)
        assert response.status_code == 400 and response.get_json()["error"]["message"].startswith(name)
    for body, name in (({"ids": {"$gt": ""}}, "ids"), ({"ids": "abc"}, "ids"), ({"ids": None}, "ids"),
                       ([1], "request body")):
        response = client.post("/admin/forwarding/replica/dead-letters/replay", json=body, headers=ADMIN)
        assert response.status_code == 400 and response.get_json()["error"]["message"].startswith(name)
    for body in ({}, {"since": {"$gt": 1}}, {"since": "yesterday"}):
        response = client.post("/admin/forwarding/replica/backfill", json=body, headers=ADMIN)
        assert response.status_code == 400 and response.get_json()["error"]["message"].startswith("since: ")
        assert "since: since" not in response.get_json()["error"]["message"]
    assert client.get("/admin/forwarding/nobody/dead-letters", headers=ADMIN).status_code == 404
    assert client.post("/admin/forwarding/nobody/backfill", json={"since": "now"}, headers=ADMIN).status_code == 404


def test_a_404_for_an_unknown_target_clips_a_long_name(source):
    """The message repeated a 10,000-character name whole: a 10,081-byte answer, and as long
    wherever it is logged."""
    client = source.test_client()
    name = "t" * 10_000
    for method, path, body in (("GET", "dead-letters", None), ("POST", "dead-letters/replay", {}),
                               ("POST", "backfill", {"since": "now"}), ("POST", "retry", None)):
        answer = client.open(f"/admin/forwarding/{name}/{path}", method=method, json=body, headers=ADMIN)
        assert answer.status_code == 404, path
        assert answer.get_json()["error"]["message"] == (
            f"no forwarding target named '{'t' * 512}...(9488 more characters)' is configured"), path
        assert len(answer.get_data()) < 1000, path
    short = client.get("/admin/forwarding/nobody/dead-letters", headers=ADMIN).get_json()["error"]["message"]
    assert short == "no forwarding target named 'nobody' is configured"


def test_a_backfill_that_loses_every_race_for_the_checkpoint_is_a_409_to_try_again(source, monkeypatch):
    """The checkpoint is moved conditionally, three times at most, so a worker finishing batches
    meanwhile wins; losing all three was an uncaught RuntimeError: a 500, and a traceback in the CLI."""
    client = source.test_client()
    assert client.post("/admin/forwarding/replica/backfill", json={"since": "now"}, headers=ADMIN).status_code == 200
    monkeypatch.setattr(TargetStates, "rewind", lambda self, name, checkpoint, attempts=3: False)  # every race lost
    response = client.post("/admin/forwarding/replica/backfill", json={"since": "now"}, headers=ADMIN)
    assert response.status_code == 409 and "try again" in response.get_json()["error"]["message"]


def test_lrs_forward_backfill_losing_every_race_says_to_try_again(monkeypatch, tmp_path):
    targets = tmp_path / "targets.json"
    targets.write_text(json.dumps([target_config("replica", "http://127.0.0.1:9/xapi")]))
    monkeypatch.setenv("LRS_PLUGINS", "forward_xapi")
    monkeypatch.setenv("LRS_FORWARD_XAPI_TARGETS", f"@{targets}")
    monkeypatch.setattr(TargetStates, "get", lambda self, name: object())  # the target has state
    monkeypatch.setattr(TargetStates, "rewind", lambda self, name, checkpoint, attempts=3: False)
    result = CliRunner().invoke(main, ["forward", "backfill", "replica", "--since", "now"])
    assert result.exit_code == 1 and "try again" in result.output and result.exception.__class__ is SystemExit


def test_status_dead_letters_replay_and_backfill_over_http(source, app, caplog):
    caplog.set_level(logging.INFO, logger="lrs.forwarding.operations")
    client, target = source.test_client(), app.test_client()
    taken = statement(1)
    assert target.post("/xapi/statements", json=[{**taken, "verb": {"id": "http://example.com/v/x"}}],
                       headers=XAPI_HEADERS).status_code == 200
    assert client.post("/xapi/statements", json=[statement(0), taken, statement(2)], headers=XAPI_HEADERS
                       ).status_code == 200
    drain(source)
    status = client.get("/admin/forwarding", headers=ADMIN).get_json()["targets"][0]
    assert (status["target"], status["delivered"], status["dead_letters"], status["backlog"]) == ("replica", 2, 1, 0)
    assert status["last_success"].endswith("Z") and status["last_error"] is None
    page = client.get("/admin/forwarding/replica/dead-letters?limit=1", headers=ADMIN).get_json()
    assert [letter["statement_id"] for letter in page["dead_letters"]] == [taken["id"]]
    assert page["more_after"] == page["dead_letters"][0]["seq"]

    replayed = client.post("/admin/forwarding/replica/dead-letters/replay", json={"ids": [taken["id"]]}, headers=ADMIN)
    assert replayed.get_json() == {"marked": 1}
    drain(source, until=lambda app: not dead_letters(app)[0]["replay"])
    [letter] = dead_letters(source)  # still refused: it stays a dead letter, with the answer recorded again
    assert letter["refusals"] == 2 and letter["status"] == 409

    before = len(stored(app))
    app.extensions["lrs"].statement_store.collection.delete_many({"_id": {"$ne": taken["id"]}})  # target lost data
    backfill = client.post("/admin/forwarding/replica/backfill", json={"since": "2000-01-01T00:00:00Z"}, headers=ADMIN)
    assert backfill.status_code == 200 and backfill.get_json()["checkpoint"] == 0
    drain(source)
    assert len(stored(app)) == before
    assert [r.getMessage() for r in caplog.records if r.name == "lrs.forwarding.operations"] == [
        "credential test-admin marked 1 dead letter(s) of target replica for replay",
        "credential test-admin set target replica back to sequence 0 (backfill since 2000-01-01T00:00:00Z)"]


def test_lrs_forward_commands(monkeypatch, tmp_path):
    targets = tmp_path / "targets.json"
    targets.write_text(json.dumps([target_config("replica", "http://127.0.0.1:9/xapi")]))
    monkeypatch.setenv("LRS_PLUGINS", "forward_xapi")
    monkeypatch.setenv("LRS_FORWARD_XAPI_TARGETS", f"@{targets}")
    runner = CliRunner()
    status = runner.invoke(main, ["forward", "status", "--json"])
    assert status.exit_code == 0, status.output
    assert json.loads(status.stdout)[0]["target"] == "replica"
    assert runner.invoke(main, ["forward", "backfill", "replica", "--since", "now"]).exit_code == 0
    assert "0 dead letters marked" in runner.invoke(main, ["forward", "replay", "replica"]).output
    unknown = runner.invoke(main, ["forward", "dead-letters", "nobody"])
    assert unknown.exit_code == 1 and "no forwarding target named 'nobody'" in unknown.output
    for option in (["--limit", "0"], ["--limit", "5000"], ["--after", "-2"]):  # 0 was "no limit" to MongoDB
        bad = runner.invoke(main, ["forward", "dead-letters", "replica", *option])
        assert bad.exit_code == 2 and f"Invalid value for '{option[0]}'" in bad.output
    table = runner.invoke(main, ["forward", "status"])
    assert table.output.splitlines()[-1].startswith("replica\t0\t0.0\t0\t")  # backlog, lag, delivered
    assert runner.invoke(main, ["forward", "status", "--wait-caught-up", "1"]).exit_code == 0
    assert "test-admin-secret" not in table.output + status.output


def test_a_cors_preflight_needs_no_credentials(source):
    response = source.test_client().options("/admin/forwarding", headers={
        "Origin": "https://admin.example.org", "Access-Control-Request-Method": "GET"})
    assert response.status_code < 300



def test_the_backlog_leaves_out_statements_a_batch_is_still_writing(source):
    """The backlog is counted as every statement after the checkpoint less those still pending
    (counted through their index, not by checking each statement): a batch being written, or one
    a dead writer left, is not waiting to be forwarded until it is revealed."""
    client = source.test_client()
    assert client.post("/xapi/statements", json=[statement(n) for n in range(3)], headers=XAPI_HEADERS).status_code == 200
    statements = source.extensions["lrs"].statement_store.collection
    statements.insert_one({**statements.find_one({}, {"_id": 0}), "_id": "being-written", "pending": "a-batch",
                           "seq": 10})
    assert client.get("/admin/forwarding", headers=ADMIN).get_json()["targets"][0]["backlog"] == 3
    statements.update_one({"_id": "being-written"}, {"$unset": {"pending": ""}})
    assert client.get("/admin/forwarding", headers=ADMIN).get_json()["targets"][0]["backlog"] == 4
