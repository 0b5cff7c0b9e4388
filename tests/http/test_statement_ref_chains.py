"""Chains of StatementRefs match the filters of every statement down the chain, whatever order
their statements arrive in (xAPI 1.0.3 Communication 2.1.3, "Filter Conditions for
StatementRefs": "This rule applies recursively, so that "Statement a" is a match when a targets b
which targets c and the filter conditions described above match for "Statement c"").

A statement may refer to one not stored yet, and clients send in any order: a chain whose end
arrived last matched only one link deep. On both ways of writing a batch, through HTTP.
"""
from __future__ import annotations

import itertools
import json
import sys
import uuid
from typing import Any

import pytest

from lrs.store.statements import MAX_CHAIN_DEPTH
from tests.conftest import basic_auth

HEADERS = {"Authorization": basic_auth(), "X-Experience-API-Version": "1.0.3"}
VOIDED = "http://adlnet.gov/expapi/verbs/voided"


def chain(length: int) -> list[dict]:
    """Statements 0 -> 1 -> ... -> length-1, each with a verb, actor and activity of its own (the last
    one's object is its activity; the others' objects are StatementRefs)."""
    ids = [str(uuid.uuid4()) for _ in range(length)]
    return [{"id": ids[n], "actor": {"mbox": f"mailto:{ids[n]}@example.com"}, "verb": {"id": f"http://example.com/v/{ids[n]}"},
             "object": {"objectType": "StatementRef", "id": ids[n + 1]} if n + 1 < length
             else {"id": f"http://example.com/a/{ids[n]}"}} for n in range(length)]


def post(client: Any, statements: list[dict], headers: dict = HEADERS) -> None:
    response = client.post("/xapi/statements", json=statements, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)


def found(client: Any, headers: dict = HEADERS, **params: str) -> set[str]:
    """Every statement the query matches, `more` pages followed."""
    response = client.get("/xapi/statements", query_string=params, headers=headers)
    ids: set[str] = set()
    while True:
        assert response.status_code == 200, response.get_data(as_text=True)
        page = response.get_json()
        ids |= {s["id"] for s in page["statements"]}
        if not page["more"]:
            return ids
        response = client.get(page["more"], headers=headers)


def assert_matches_down_the_chain(client: Any, statements: list[dict], headers: dict = HEADERS) -> None:
    """Filtering by any link's verb or actor, or by the end's activity, finds that link and every
    statement before it in the chain."""
    ids = [s["id"] for s in statements]
    assert found(client, headers, activity=statements[-1]["object"]["id"]) == set(ids)
    for n, statement in enumerate(statements):
        assert found(client, headers, verb=statement["verb"]["id"]) == set(ids[:n + 1]), n
        assert found(client, headers, agent=json.dumps(statement["actor"])) == set(ids[:n + 1]), n


def test_a_chain_matches_down_to_its_end_in_whatever_order_it_arrives(either_store_app):
    client = either_store_app.test_client()
    for order in itertools.permutations(range(4)):
        statements = chain(4)
        for n in order:
            post(client, [statements[n]])
        assert_matches_down_the_chain(client, statements)


def test_a_chain_sent_in_one_batch_matches_down_to_its_end_in_any_order(either_store_app):
    client = either_store_app.test_client()
    for order in itertools.permutations(range(3)):
        statements = chain(3)
        post(client, [statements[n] for n in order])
        assert_matches_down_the_chain(client, statements)


def test_a_batch_that_is_one_long_chain_is_stored_whatever_the_stack_holds(client):
    """Each statement's chain was followed by a recursive call per link: a batch of 1000 (the
    default LRS_MAX_STATEMENTS_PER_REQUEST), each referring to the next, ran out of Python's stack
    (a 500). Here the stack is made smaller than the chain, which keeps the test short."""
    statements = chain(400)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(450)
    try:
        post(client, statements)
    finally:
        sys.setrecursionlimit(limit)
    end = found(client, verb=statements[-1]["verb"]["id"])
    assert end == {s["id"] for s in statements[-1 - MAX_CHAIN_DEPTH:]}  # see the test below


@pytest.mark.parametrize("one_by_one", [False, True], ids=["in one batch", "from its top down, one at a time"])
def test_a_chain_matches_down_max_chain_depth_statements_and_stores_no_more(either_store_app, one_by_one):
    """Each referring statement kept a part for every statement down its chain: a chain 3,000 deep
    made each new statement 1.2 MB and a batch of 100 take 20 s, and sent from its top down each
    arrival handed a part to, and made wait, every statement above it. A statement matches the
    filters of the MAX_CHAIN_DEPTH statements below it, and keeps no more."""
    client = either_store_app.test_client()
    statements = chain(MAX_CHAIN_DEPTH + 30)
    if one_by_one:
        for statement in statements:
            post(client, [statement])
    else:
        post(client, statements)
    ids = [s["id"] for s in statements]
    for n in (0, 30, MAX_CHAIN_DEPTH, len(ids) - 1):
        assert found(client, verb=statements[n]["verb"]["id"]) == set(ids[max(0, n - MAX_CHAIN_DEPTH):n + 1]), n
    store = either_store_app.extensions["lrs"].statement_store
    assert max(len(doc["via"]) for doc in store.collection.find({}, {"via": 1})) == MAX_CHAIN_DEPTH
    assert store.waiting_refs.count_documents({}) == 0


def test_a_voiding_statement_in_a_chain_voids_only_its_own_target(either_store_app):
    """a voids b, b refers to c, c arrives last: b is voided (hidden), c is not, and a (which is
    never voided) matches through b down to c; a waiting for c must not make a void c."""
    client = either_store_app.test_client()
    a, b, c = chain(3)
    a["verb"] = {"id": VOIDED}
    post(client, [a])
    post(client, [b])
    post(client, [c])
    assert client.get("/xapi/statements", query_string={"statementId": c["id"]}, headers=HEADERS).status_code == 200
    assert client.get("/xapi/statements", query_string={"voidedStatementId": b["id"]},
                      headers=HEADERS).status_code == 200
    assert found(client, activity=c["object"]["id"]) == {a["id"], c["id"]}


def test_a_reader_of_its_own_statements_matches_down_its_own_chain(make_app):
    app = make_app()
    app.extensions["lrs"].create_credential("mine", "mine-secret", ["statements/write", "statements/read/mine"])
    mine = {"Authorization": basic_auth("mine", "mine-secret"), "X-Experience-API-Version": "1.0.3"}
    client, statements = app.test_client(), chain(3)
    for statement in statements:
        post(client, [statement], mine)
    assert_matches_down_the_chain(client, statements, mine)


def test_a_target_stored_by_another_process_while_its_referrer_is_written_is_not_missed(make_app, shared_store):
    """Two processes on one MongoDB: a voiding statement finds its target not stored yet, and the
    target's batch is revealed, finding nobody waiting for it, before the voiding statement's wait
    is written. The voiding statement's batch looks again once its wait is written, so it
    matches its target's filters at once, not after the next start's recovery (which resolves
    waits whose target is stored); the target is voided either way."""
    database = f"lrs_test_{uuid.uuid4().hex[:12]}"
    writer, other = (make_app(mongo_uri=shared_store, mongo_db=database) for _ in range(2))
    voiding, target = chain(2)
    voiding["verb"] = {"id": VOIDED}
    waits = writer.extensions["lrs"].statement_store.waiting_refs
    register = waits.update_one

    def target_arrives_first(*args: Any, **kwargs: Any) -> Any:
        waits.update_one = register
        post(other.test_client(), [target])
        return register(*args, **kwargs)

    waits.update_one = target_arrives_first
    post(writer.test_client(), [voiding])
    client = other.test_client()
    assert client.get("/xapi/statements", query_string={"statementId": target["id"]}, headers=HEADERS).status_code == 404
    assert found(client, activity=target["object"]["id"]) == {voiding["id"]}


MINE = {"Authorization": basic_auth("mine", "mine-secret"), "X-Experience-API-Version": "1.0.3"}
WRITER = {"Authorization": basic_auth("writer", "writer-secret"), "X-Experience-API-Version": "1.0.3"}


def with_mine_and_writer(app: Any) -> Any:
    lrs = app.extensions["lrs"]
    lrs.create_credential("mine", "mine-secret", ["statements/write", "statements/read/mine"])
    lrs.create_credential("writer", "writer-secret", ["statements/write"])
    return app.test_client()


def assert_mine_stops_at_the_writers_statement(client: Any, statements: list[dict]) -> None:
    """a -> b -> c -> d, c the writer's and the others mine's: the reader of its own finds a
    through b (both its own), never through c, nor through d behind c (that a matches d would tell
    it that c refers to d); a reader of every statement matches all the way down."""
    a, b, c, d = statements
    assert found(client, MINE, verb=a["verb"]["id"]) == {a["id"]}
    assert found(client, MINE, verb=b["verb"]["id"]) == {a["id"], b["id"]}
    assert found(client, MINE, verb=c["verb"]["id"]) == set()
    assert found(client, MINE, verb=d["verb"]["id"]) == {d["id"]}
    assert found(client, MINE, activity=d["object"]["id"]) == {d["id"]}
    assert found(client, MINE, agent=json.dumps(d["actor"])) == {d["id"]}
    assert_matches_down_the_chain(client, statements)


def test_a_reader_of_its_own_is_not_matched_through_anothers_statement_in_its_chain(either_store_app):
    client = with_mine_and_writer(either_store_app)
    owners = [MINE, MINE, WRITER, MINE]
    for order in itertools.permutations(range(4)):
        statements = chain(4)
        for n in order:
            post(client, [statements[n]], owners[n])
        assert_mine_stops_at_the_writers_statement(client, statements)


def test_a_wait_for_a_stored_statement_is_resolved_at_the_next_start(make_app, shared_store, monkeypatch):
    """A process died between writing its statement's wait for a target and looking whether the
    target had been stored meanwhile (by another process, which found nobody waiting): the next
    start resolves the wait, so the statement matches its target's filters (a start failed on it)."""
    app = make_app(mongo_uri=shared_store)
    client, (a, b, c) = with_mine_and_writer(app), chain(3)
    post(client, [a], MINE)
    post(client, [b], WRITER)
    store = app.extensions["lrs"].statement_store
    with monkeypatch.context() as dying:
        dying.setattr(store, "_apply_references", lambda documents, awaited=frozenset(): None)
        post(client, [c], MINE)
    assert found(client, activity=c["object"]["id"]) == {c["id"]}
    restarted = make_app(mongo_uri=shared_store, mongo_db=store.collection.database.name)
    assert_matches_down_the_chain(restarted.test_client(), [a, b, c])
    assert found(restarted.test_client(), MINE, activity=c["object"]["id"]) == {c["id"]}
