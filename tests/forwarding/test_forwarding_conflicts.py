"""A 409 from a target that holds the very statement sent (some LRSs answer 409 for any id they
hold, e.g. on the resend after a lost answer) is a delivery, not a dead letter; a 409 for
different content stays one. Against a real HTTP target on 127.0.0.1."""
from __future__ import annotations

import threading
from typing import Any

from flask import Flask, jsonify, request

from lrs.forwarding.status import forwarding_status
from lrs.forwarding.worker import Worker
from tests.forwarding.harness import XAPI_HEADERS, RestartableServer, source_app, statement, wait_until


class ConflictOnAnyHeldId:
    """An LRS that answers 409 to a POST holding any id it has, whatever the content, and
    GET /statements?statementId= with its copy."""

    def __init__(self, held: list[dict]):
        self.statements = {s["id"]: s for s in held}
        self.lock = threading.Lock()
        self.app = Flask(__name__)
        self.app.add_url_rule("/xapi/statements", view_func=self.post, methods=["POST"])
        self.app.add_url_rule("/xapi/statements", view_func=self.get, methods=["GET"])

    def post(self) -> Any:
        statements = request.get_json()
        with self.lock:
            if any(s["id"] in self.statements for s in statements):
                return jsonify({"message": "Conflict"}), 409
            self.statements.update({s["id"]: s for s in statements})
        return jsonify([s["id"] for s in statements])

    def get(self) -> Any:
        held = self.statements.get(request.args.get("statementId", ""))
        return (jsonify(held), 200) if held else (jsonify({"message": "not found"}), 404)


def test_a_409_for_a_statement_the_target_holds_identically_counts_as_delivered(make_app):
    sent = [statement(n) for n in range(8)]
    changed = {**sent[5], "verb": {"id": "http://adlnet.gov/expapi/verbs/failed"}}
    stub = ConflictOnAnyHeldId([sent[1], sent[2], changed])  # as if an earlier answer had been lost
    with RestartableServer(stub.app) as target:
        source = source_app(make_app, target.url + "/xapi", batch_size=8)
        lrs = source.extensions["lrs"]
        assert source.test_client().post("/xapi/statements", json=sent, headers=XAPI_HEADERS).status_code == 200
        worker = Worker(lrs).start()
        try:
            wait_until(lambda: forwarding_status(lrs)[0]["caught_up"], timeout=30)
        finally:
            worker.stop(5)
    status = forwarding_status(lrs)[0]
    letters = list(lrs.db["forwarding.dead_letters"].find())
    assert [letter["statement_id"] for letter in letters] == [sent[5]["id"]]
    assert letters[0]["reason"].startswith("conflict: the target already has")
    assert status["delivered"] == 7 and status["dead_letters"] == 1
    assert set(stub.statements) == {s["id"] for s in sent}
