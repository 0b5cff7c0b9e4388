"""The two ready-made transformations for xAPI 1.0.x targets, against a live second LRS on
127.0.0.1 that speaks only 1.0.3 (this project with LRS_XAPI_VERSIONS=1.0.3, which validates
statements by the 1.0.3 rules: a context with contextAgents is refused).

Statements taken in xAPI 2.0 with 2.0's context properties are delivered in the form a 1.0.x
reader of the source gets (`xapi_1_0_reader_form`), or dead-lettered (`xapi_1_0`); an operator
who switches from the strict one to the reader form gets those dead letters delivered by a replay.
"""
from __future__ import annotations

import json
import uuid
from typing import Any

from lrs.forwarding.status import forwarding_status
from lrs.forwarding.targets import forward_targets
from lrs.forwarding.verify import verify
from lrs.forwarding.worker import Worker
from lrs.xapi.equality import same_statement
from tests.forwarding.harness import (
    XAPI_HEADERS,
    RestartableServer,
    fast_engine,
    statement,
    stored,
    target_config,
    wait_until,
)

V2_HEADERS = {**XAPI_HEADERS, "X-Experience-API-Version": "2.0.0"}
TRANSFORMS = "lrs_plugins.forward_xapi.transforms"
TEACHER = {"objectType": "contextAgent", "agent": {"mbox": "mailto:teacher@example.com"},
           "relevantTypes": ["http://example.com/types/instructor"]}
TEAM = {"objectType": "contextGroup", "relevantTypes": ["http://example.com/types/team"],
        "group": {"objectType": "Group", "member": [{"mbox": "mailto:learner1@example.com"}]}}


def two_point_oh_statements() -> dict[str, dict]:
    """Statements only xAPI 2.0 can hold (context agents; context groups in a SubStatement), and
    one that is 2.0 by its version alone."""
    inner = {key: value for key, value in statement(2).items() if key != "id"}
    return {
        "context agents": statement(1, context={"contextAgents": [TEACHER], "language": "en"}),
        "sub-statement context groups": statement(3, object={"objectType": "SubStatement", **inner,
                                                             "context": {"contextGroups": [TEAM]}}),
        "version only": statement(4),
    }


def source(make_app: Any, endpoint: str, transform: str, **store: str) -> Any:
    """An LRS serving 1.0.3 and 2.0 that forwards to `endpoint` through the ready-made `transform`."""
    config = [target_config("replica", endpoint, transform=f"{TRANSFORMS}:{transform}")]
    return make_app(plugins="forward_xapi", forward_xapi_targets=json.dumps(config), **fast_engine(), **store)


def post_in_2_0(app: Any, statements: dict[str, dict]) -> None:
    response = app.test_client().post("/xapi/statements", json=list(statements.values()), headers=V2_HEADERS)
    assert response.status_code == 200, response.data


def forward_until(app: Any, done: Any) -> set[str]:
    """Run a worker until `done()`; the ids `lrs forward verify` then finds missing on the target
    (which must be up), after checking it finds no statement different."""
    lrs = app.extensions["lrs"]
    worker = Worker(lrs).start()
    try:
        wait_until(done)
    finally:
        worker.stop(5)
    verification = verify(lrs, forward_targets(lrs)[0])
    assert not verification.different
    return set(verification.missing)


def caught_up(app: Any) -> Any:
    return lambda: forwarding_status(app.extensions["lrs"])[0]["backlog"] == 0


def read_in_1_0(app: Any, statement_id: str) -> dict:
    """The statement as a 1.0.x client reading the LRS gets it."""
    response = app.test_client().get("/xapi/statements", query_string={"statementId": statement_id},
                                     headers=XAPI_HEADERS)
    assert response.status_code == 200, response.data
    return response.get_json()


def dead_letters(app: Any) -> dict[str, tuple[int, str]]:
    response = app.test_client().get("/admin/forwarding/replica/dead-letters", headers=XAPI_HEADERS)
    return {letter["statement_id"]: (letter["status"], letter["reason"]) for letter in response.get_json()["dead_letters"]}


def test_the_reader_form_delivers_what_a_1_0_reader_of_this_lrs_gets(make_app: Any) -> None:
    statements = two_point_oh_statements()
    target_app = make_app(xapi_versions="1.0.3")
    with RestartableServer(target_app) as target:
        forwarding = source(make_app, target.url + "/xapi", "xapi_1_0_reader_form")
        post_in_2_0(forwarding, statements)
        assert forward_until(forwarding, caught_up(forwarding)) == set()

    on_target = stored(target_app)
    assert set(on_target) == {sent["id"] for sent in statements.values()}
    for sent in statements.values():
        assert same_statement(on_target[sent["id"]], read_in_1_0(forwarding, sent["id"]))
        assert on_target[sent["id"]]["version"] == "1.0.0"
    assert on_target[statements["context agents"]["id"]]["context"] == {"language": "en"}
    assert "context" not in on_target[statements["sub-statement context groups"]["id"]]["object"]
    kept = stored(forwarding)  # the source keeps the 2.0 form
    assert {s["version"] for s in kept.values()} == {"2.0.0"}
    assert kept[statements["context agents"]["id"]]["context"]["contextAgents"] == [TEACHER]
    assert dead_letters(forwarding) == {}


def test_the_strict_transform_dead_letters_them_and_a_replay_in_reader_form_delivers_them(
        make_app: Any, shared_store: str) -> None:
    statements = two_point_oh_statements()
    refused = {statements["context agents"]["id"], statements["sub-statement context groups"]["id"]}
    store = {"mongo_uri": shared_store, "mongo_db": f"lrs_test_{uuid.uuid4().hex[:12]}"}
    target_app = make_app(xapi_versions="1.0.3")
    with RestartableServer(target_app) as target:
        strict = source(make_app, target.url + "/xapi", "xapi_1_0", **store)
        post_in_2_0(strict, statements)
        assert forward_until(strict, caught_up(strict)) == refused
        assert set(stored(target_app)) == {statements["version only"]["id"]}
        reasons = dead_letters(strict)
        assert set(reasons) == refused
        assert reasons[statements["context agents"]["id"]][0] == 400
        assert "contextAgents" in reasons[statements["context agents"]["id"]][1]
        assert reasons[statements["sub-statement context groups"]["id"]][0] == 400
        assert "contextGroups" in reasons[statements["sub-statement context groups"]["id"]][1]

        # The operator switches to the reader form (same target, same store) and replays.
        lenient = source(make_app, target.url + "/xapi", "xapi_1_0_reader_form", **store)
        replay = lenient.test_client().post("/admin/forwarding/replica/dead-letters/replay", json={},
                                            headers=XAPI_HEADERS)
        assert replay.status_code == 200 and replay.get_json() == {"marked": 2}
        assert forward_until(lenient, lambda: set(stored(target_app)) >= refused) == set()
    assert dead_letters(lenient) == {}
    assert "contextAgents" not in stored(target_app)[statements["context agents"]["id"]]["context"]
