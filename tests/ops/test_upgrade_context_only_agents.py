"""Statements a release before `context_only_agents` stored (f76a3d2) lack the field, in their
own document and in the `via` parts of statements referring to them: a 1.0.x reader's
related_agents would still match them through 2.0 context agents and groups. The first start of
this release adds it, once, and a start interrupted mid-way finishes it at the next."""
from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from lrs.store.derived import CONTEXT_ONLY_AGENTS
from lrs.store.statements import StatementStore
from tests.conftest import basic_auth
from tests.http.test_statements_read_versions import V1, V2, put, statement

COACH, MEMBER = {"mbox": "mailto:coach@example.com"}, {"mbox": "mailto:member@example.com"}
IN_CONTEXT = {"contextAgents": [{"objectType": "contextAgent", "agent": COACH}],
              "contextGroups": [{"objectType": "contextGroup", "group": {"objectType": "Group", "member": [MEMBER]}}]}


def refers_to(target: dict) -> dict:
    return statement(id=str(uuid.uuid4()), object={"objectType": "StatementRef", "id": target["id"]})


def stored_statements(client: Any) -> dict[str, dict]:
    """Context agents only in 2.0 context, also as instructor, in a SubStatement, and statements
    referring to the first (directly and through another reference)."""
    only_2_0 = statement(id=str(uuid.uuid4()), context=IN_CONTEXT)
    sent = {"only_2_0": only_2_0,
            "both": statement(id=str(uuid.uuid4()), context={**IN_CONTEXT, "instructor": COACH}),
            "in_substatement": statement(id=str(uuid.uuid4()), object={
                **statement(), "objectType": "SubStatement", "context": IN_CONTEXT})}
    sent["referring"] = refers_to(only_2_0)
    sent["referring_twice"] = refers_to(sent["referring"])
    for each in sent.values():
        put(client, each, V2)
    many = [refers_to(only_2_0) for _ in range(600)]  # more than the upgrade reads at once
    response = client.post("/xapi/statements", json=many, headers=V2)
    assert response.status_code == 200, response.get_data(as_text=True)
    return {**sent, **{f"many {n}": each for n, each in enumerate(many)}}


def as_an_earlier_release(lrs: Any) -> None:
    """Remove what the earlier release did not write, through the store's pymongo calls."""
    collection = lrs.statement_store.collection
    collection.update_many({}, {"$unset": {CONTEXT_ONLY_AGENTS: ""}})
    for doc in collection.find({"ref": {"$ne": None}}, {"via": 1}):
        via = [{name: value for name, value in part.items() if name != CONTEXT_ONLY_AGENTS} for part in doc["via"]]
        collection.update_one({"_id": doc["_id"]}, {"$set": {"via": via}})
    lrs.db["store_upgrades"].delete_many({})


def related(client: Any, agent: dict, headers: dict) -> set[str]:
    response = client.get("/xapi/statements", headers=headers,
                          query_string={"agent": json.dumps(agent), "related_agents": "true"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return {s["id"] for s in response.get_json()["statements"]}


def assert_1_0_readers_match_without_context_agents(client: Any, sent: dict[str, dict]) -> None:
    everyone = {each["id"] for each in sent.values()}
    assert related(client, COACH, V1) == {sent["both"]["id"]}
    assert related(client, MEMBER, V1) == set()
    assert related(client, COACH, V2) == everyone
    assert related(client, MEMBER, V2) == everyone


@pytest.fixture(params=["pymongo", "data folder"])
def old_store(request: Any, tmp_path: Any, make_app: Any) -> tuple[dict, dict[str, dict]]:
    """A store as the earlier release left it (see `earlier_release_store`): MongoDB's (or the
    embedded store over the wire protocol), or an embedded store's data folder."""
    if request.param == "pymongo":
        return earlier_release_store(make_app, mongo_uri=request.getfixturevalue("shared_store"))
    return earlier_release_store(make_app, data_dir=str(tmp_path))


def earlier_release_store(make_app: Any, **settings: str) -> tuple[dict, dict[str, dict]]:
    """The settings of an app on a store as the earlier release left it, and its statements."""
    app = make_app(statements_page_size=1000, **settings)
    sent = stored_statements(app.test_client())
    lrs = app.extensions["lrs"]
    with lrs.unit_of_work():
        as_an_earlier_release(lrs)
    assert related(app.test_client(), MEMBER, V1) == {each["id"] for each in sent.values()}  # the gap
    if "data_dir" in settings:
        lrs.db.close()  # one process at a time on a folder
    return {**settings, "mongo_db": lrs.db.name, "statements_page_size": 1000}, sent


def test_the_first_start_marks_old_statements_and_their_referrers(old_store, make_app):
    settings, sent = old_store
    app = make_app(**settings)
    assert_1_0_readers_match_without_context_agents(app.test_client(), sent)
    assert app.extensions["lrs"].db["store_upgrades"].find_one({"_id": "context-only-agents"}) is not None


def test_a_start_interrupted_before_the_referrers_finishes_at_the_next(shared_store, make_app, monkeypatch):
    settings, sent = earlier_release_store(make_app, mongo_uri=shared_store)

    def crash(self: StatementStore) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr(StatementStore, "_refresh_via_parts", crash)
        with pytest.raises(KeyboardInterrupt):
            make_app(**settings)
    app = make_app(**settings)
    assert_1_0_readers_match_without_context_agents(app.test_client(), sent)


def test_a_later_start_does_not_scan_again(old_store, make_app, monkeypatch):
    settings, _ = old_store
    first = make_app(**settings)
    if "data_dir" in settings:
        first.extensions["lrs"].db.close()

    def scan(self: StatementStore) -> None:
        raise AssertionError("scanned again")

    monkeypatch.setattr(StatementStore, "_mark_context_only_agents", scan)
    make_app(**settings)


def test_via_parts_without_authority_get_it(shared_store, make_app):
    """An earlier release's recovery of a dead writer's batch (MongoDB) resolved the references
    waiting for it with parts without `authority`: a credential reading only its own statements
    did not find its statement referring to its own through the target's agent."""
    app = make_app(statements_page_size=1000, mongo_uri=shared_store)
    lrs = app.extensions["lrs"]
    lrs.create_credential("mine", "mine-secret", ["statements/write", "statements/read/mine"])
    mine = {"Authorization": basic_auth("mine", "mine-secret"), "X-Experience-API-Version": "1.0.3"}
    target = statement(id=str(uuid.uuid4()), actor=COACH)
    referring = refers_to(target)
    client = app.test_client()
    for each in (referring, target):  # the reference waits for its target, then is resolved
        put(client, each, mine)
    collection = lrs.statement_store.collection
    collection.update_one({"_id": referring["id"]}, {"$set": {"via.0.authority": None}})
    as_an_earlier_release(lrs)
    assert related(client, COACH, mine) == {target["id"]}  # the gap
    app = make_app(statements_page_size=1000, mongo_uri=shared_store, mongo_db=lrs.db.name)
    assert related(app.test_client(), COACH, mine) == {target["id"], referring["id"]}
