"""Erasure and retention through HTTP: after erasing a person nothing the LRS serves shows a trace
of them (queries, single statements, documents, attachments, the Agents resource, H5P analytics),
and everyone else's data is exactly as it was."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
import uuid
from typing import Any, Iterator

import pytest

from tests.conftest import basic_auth
from tests.http.test_attachments import attachment, multipart, post
from tests.nested import every_value

BASE = "https://school.example"
ANN_MBOX = "mailto:ann@example.com"
ANN_ACCOUNT = {"homePage": BASE, "name": "ann"}
BOB = {"account": {"homePage": BASE, "name": "bob"}}
CAROL = {"account": {"homePage": BASE, "name": "carol"}}
ADL = "http://adlnet.gov/expapi/verbs/"
SHARED = b"the class handout"
ANNS_ESSAY = b"ann's own essay"


def stmt(actor: dict, content: str = "quiz", **extra: Any) -> dict:
    return {"id": str(uuid.uuid4()), "actor": actor, "verb": {"id": ADL + "completed"},
            "object": {"id": f"{BASE}/h5p/content/{content}"},
            "result": {"score": {"scaled": 0.9}, "duration": "PT60S"}, **extra}


@pytest.fixture
def app(make_app):
    app = make_app(plugins="h5p", h5p_base_url=BASE)
    lrs = app.extensions["lrs"]
    lrs.create_credential("teacher", "teacher-secret", ["h5p/read"])
    lrs.create_credential("reader", "reader-secret", ["all/read"])
    return app


@pytest.fixture
def h(xapi_headers):
    return xapi_headers


def everything(client, h) -> list[dict]:
    """Every statement the LRS serves, following `more`."""
    found, url = [], "/xapi/statements?limit=50"
    while url:
        page = client.get(url, headers=h).get_json()
        found += page["statements"]
        url = page.get("more") or ""
    return found


def seed(client, h) -> dict[str, Any]:
    ann_by_mail, ann_by_account = {"mbox": ANN_MBOX, "name": "Ann"}, {"account": ANN_ACCOUNT}
    ids: dict[str, Any] = {}
    plain = [stmt(ann_by_mail), stmt(ann_by_account, "video"),
             stmt(CAROL, context={"instructor": {"mbox": ANN_MBOX}}),
             stmt({"objectType": "Group", "member": [{"mbox": ANN_MBOX}, CAROL]}),
             stmt({"mbox_sha1sum": hashlib.sha1(ANN_MBOX.encode()).hexdigest()}),
             stmt(BOB), stmt(BOB, "video")]
    assert client.post("/xapi/statements", json=plain, headers=h).status_code == 200
    ids["ann"] = [s["id"] for s in plain[:5]]
    ids["bob"] = [s["id"] for s in plain[5:]]
    # Bob's statement about Ann's (StatementRef) and a voiding of Ann's first: both go with her.
    ref = {"id": str(uuid.uuid4()), "actor": BOB, "verb": {"id": ADL + "commented"},
           "object": {"objectType": "StatementRef", "id": ids["ann"][1]}}
    void = {"id": str(uuid.uuid4()), "actor": {"mbox": "mailto:admin@example.com"}, "verb": {"id": ADL + "voided"},
            "object": {"objectType": "StatementRef", "id": ids["ann"][0]}}
    assert client.post("/xapi/statements", json=[ref, void], headers=h).status_code == 200
    ids["ann"] += [ref["id"], void["id"]]
    # Attachments: Ann's own content, and one Bob's statement shares with hers.
    anns = stmt(ann_by_mail, attachments=[attachment(ANNS_ESSAY), attachment(SHARED)])
    bobs = stmt(BOB, attachments=[attachment(SHARED)])
    assert post(client, h, multipart([anns, bobs], ANNS_ESSAY, SHARED)).status_code == 200
    ids["ann"].append(anns["id"])
    ids["bob"].append(bobs["id"])
    # Documents: Ann's state and agent profile, Bob's state.
    for who in ({"mbox": ANN_MBOX}, BOB):
        q = f"activityId={BASE}/course&agent={json.dumps(who)}&stateId=bookmark"
        assert client.put(f"/xapi/activities/state?{q}", json={"page": 3}, headers=h).status_code == 204
    profile = f"/xapi/agents/profile?agent={json.dumps({'mbox': ANN_MBOX})}&profileId=prefs"
    assert client.put(profile, json={"theme": "dark"}, headers={**h, "If-None-Match": "*"}).status_code == 204
    return ids


def test_erasing_a_person_leaves_no_trace_and_everyone_else_untouched(app, client, h):
    ids = seed(client, h)
    bob_before = {s["id"]: s for s in everything(client, h) if s["id"] in ids["bob"]}
    assert len(bob_before) == len(ids["bob"])
    teacher = {"Authorization": "Bearer teacher:teacher-secret"}
    bob_analytics = client.get("/api/xapi/analytics/user?userId=bob", headers=teacher).get_json()
    assert client.get("/api/xapi/analytics/user?userId=ann", headers=teacher).get_json()["data"]["totalContentsAttempted"] > 0
    quiz_before = client.get("/api/xapi/analytics/content/quiz", headers=teacher).get_json()["data"]["totalCompletions"]

    person = {"mbox": ANN_MBOX, "account": [ANN_ACCOUNT]}
    answer = client.delete("/admin/agents", query_string={"agent": json.dumps(person)},
                           headers={"Authorization": basic_auth()})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    report = answer.get_json()
    assert report["statements"] == len(ids["ann"])
    assert (report["documents"], report["attachments"], report["forwarded_to"]) == (2, 1, [])

    served = json.dumps(everything(client, h))
    assert "ann" not in served.lower() and hashlib.sha1(ANN_MBOX.encode()).hexdigest() not in served
    for statement_id in ids["ann"]:
        assert client.get(f"/xapi/statements?statementId={statement_id}", headers=h).status_code == 404
        assert client.get(f"/xapi/statements?voidedStatementId={statement_id}", headers=h).status_code == 404
    for agent in ({"mbox": ANN_MBOX}, {"account": ANN_ACCOUNT}):
        query = {"agent": json.dumps(agent), "related_agents": "true"}
        assert client.get("/xapi/statements", query_string=query, headers=h).get_json()["statements"] == []
        assert client.get("/xapi/agents", query_string={"agent": json.dumps(agent)}, headers=h).get_json() \
            == {"objectType": "Person", **{k: [v] for k, v in agent.items()}}
    state = f"activityId={BASE}/course&agent={json.dumps({'mbox': ANN_MBOX})}&stateId=bookmark"
    assert client.get(f"/xapi/activities/state?{state}", headers=h).status_code == 404
    profile = f"/xapi/agents/profile?agent={json.dumps({'mbox': ANN_MBOX})}&profileId=prefs"
    assert client.get(profile, headers=h).status_code == 404
    ann_analytics = client.get("/api/xapi/analytics/user?userId=ann", headers=teacher).get_json()["data"]
    assert ann_analytics["totalContentsAttempted"] == 0 and ann_analytics["learningTime"] == 0
    content = client.get("/api/xapi/analytics/content/quiz", headers=teacher).get_json()["data"]
    assert content["totalCompletions"] == 2 < quiz_before  # Bob's two quiz completions are all that is left
    assert "ann" not in json.dumps(client.get("/api/xapi/statements?limit=100", headers=teacher).get_json())

    # Everyone else: exactly as before, shared attachment content still served.
    assert {s["id"]: s for s in everything(client, h) if s["id"] in ids["bob"]} == bob_before
    assert client.get("/api/xapi/analytics/user?userId=bob", headers=teacher).get_json() == bob_analytics
    bobs_state = f"activityId={BASE}/course&agent={json.dumps(BOB)}&stateId=bookmark"
    assert client.get(f"/xapi/activities/state?{bobs_state}", headers=h).get_json() == {"page": 3}
    with_contents = client.get(f"/xapi/statements?statementId={ids['bob'][-1]}&attachments=true", headers=h)
    assert SHARED in with_contents.get_data() and ANNS_ESSAY not in with_contents.get_data()

    audit = list(app.extensions["lrs"].db["audit"].find({}, {"_id": 0}))
    assert len(audit) == 1 and audit[0]["action"] == "erase-agent" and audit[0]["statements"] == len(ids["ann"])
    assert audit[0]["by"] == "credential test-admin"
    assert "ann" not in json.dumps(audit, default=str).lower()


def test_erasure_needs_an_admin_credential_and_a_valid_agent(client):
    agent = {"agent": json.dumps({"mbox": ANN_MBOX})}
    assert client.delete("/admin/agents", query_string=agent).status_code == 401
    reader = {"Authorization": basic_auth("reader", "reader-secret")}
    assert client.delete("/admin/agents", query_string=agent, headers=reader).status_code == 403
    admin = {"Authorization": basic_auth()}
    missing = client.delete("/admin/agents", headers=admin)
    assert missing.status_code == 400 and "agent: required" in missing.get_json()["error"]["message"]
    nameless = client.delete("/admin/agents", query_string={"agent": '{"name": "Ann"}'}, headers=admin)
    assert nameless.status_code == 400 and "at least one of mbox" in nameless.get_json()["error"]["message"]
    bad = client.delete("/admin/agents", query_string={"agent": '{"account": {"name": 1}}'}, headers=admin)
    assert bad.status_code == 400 and "agent.account" in bad.get_json()["error"]["message"]



@pytest.mark.parametrize("agent, expected", [
    ('{"account": "x"}', "agent.account: must be an object"),
    ('{"mbox": "ann@example.com"}', "agent.mbox"),
    ('{"mbox": ["mailto:ann@example.com", 7]}', "agent.mbox"),
    ("[" * 3000 + "]" * 3000, "agent: $: nested deeper than 100 levels"),
    ("{", "agent: malformed JSON"),
    ('{"mbox": "mailto:other@example.com", "acount": {"homePage": "https://school.example", "name": "ann"}}',
     "agent.acount: is not a property of an Agent or Person"),
])
def test_erasure_refuses_an_invalid_agent_with_a_400_naming_the_rule(app, client, h, agent, expected):
    client.post("/xapi/statements", json=stmt({"mbox": ANN_MBOX}), headers=h)
    refused = client.delete("/admin/agents", query_string={"agent": agent}, headers={"Authorization": basic_auth()})
    assert refused.status_code == 400
    assert expected in refused.get_json()["error"]["message"]
    assert len(everything(client, h)) == 1

def test_erasure_names_the_forwarding_targets_that_received_the_statements(make_app, xapi_headers):
    from lrs.forwarding.state import TargetStates

    app = make_app()
    client = app.test_client()
    assert client.post("/xapi/statements", json=stmt({"mbox": ANN_MBOX}), headers=xapi_headers).status_code == 200
    states = TargetStates(app.extensions["lrs"].db)
    now = __import__("datetime").datetime.now(__import__("datetime").timezone.utc)
    states.create("learning-locker", 10, now)
    states.create("late-joiner", 0, now)
    answer = client.delete("/admin/agents", query_string={"agent": json.dumps({"mbox": ANN_MBOX})},
                           headers={"Authorization": basic_auth()})
    assert answer.get_json()["forwarded_to"] == ["learning-locker"]


def test_retention_runs_in_process_on_the_embedded_store(make_app, xapi_headers):
    app = make_app(retention_days=0.00005)  # about 4 s: the pass runs every second
    client = app.test_client()
    old = stmt({"mbox": ANN_MBOX})
    assert client.post("/xapi/statements", json=old, headers=xapi_headers).status_code == 200
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if client.get(f"/xapi/statements?statementId={old['id']}", headers=xapi_headers).status_code == 404:
            break
        time.sleep(0.5)
    app.extensions["retention"].stop()
    assert client.get(f"/xapi/statements?statementId={old['id']}", headers=xapi_headers).status_code == 404
    audit = app.extensions["lrs"].db["audit"].find_one({"action": "retention", "statements": 1})
    assert audit is not None and audit["by"] == "retention (in process)"


def test_erase_agent_and_retention_cli_refuse_the_embedded_store_in_one_line():
    for args in (["erase-agent", '{"mbox": "mailto:ann@example.com"}'], ["retention", "run"]):
        done = subprocess.run([sys.executable, "-m", "lrs.cli", *args], capture_output=True, text=True, timeout=60,
                              env={"PATH": "/usr/bin:/bin", "HOME": "/tmp"})
        assert done.returncode != 0
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "needs LRS_MONGO_URI" in lines[0], done.stderr


def test_erasure_removes_the_persons_caliper_sessions(make_app):
    """A learner's Events API session (kept by the caliper plugin) goes with them; others' stay."""
    from tests.conftest import LiveServer
    from tests.plugins.caliper_support import STUDENT, caliper_app
    from tests.plugins.test_caliper_events_api import Client, login, sessions

    app = caliper_app(make_app)
    with LiveServer(app) as server:
        api = Client(server)
        assert api.event(login()).status_code < 300
        other = login("https://vendor.example.com/sessions/other")
        other["actor"] = {**other["actor"], "id": "https://example.edu/users/someone-else"}
        assert api.event(other).status_code < 300
        assert sessions(app).count_documents({"learner": STUDENT}) == 1
        # The account the caliper mapping gives the actor: homePage scheme://host, name the rest.
        person = {"account": {"homePage": "https://api.alpha-1edtech.ai", "name": "rostering/1.0/users/student-123"}}
        assert STUDENT == "https://api.alpha-1edtech.ai/rostering/1.0/users/student-123"
        answer = requests_delete(server.url, person)
        assert answer.status_code == 200, answer.text
        assert answer.json()["plugin_records"] >= 1
        assert sessions(app).count_documents({"learner": STUDENT}) == 0
        assert sessions(app).count_documents({}) == 1


def requests_delete(url: str, person: dict):
    import requests

    return requests.delete(url + "/admin/agents", params={"agent": json.dumps(person)},
                           headers={"Authorization": basic_auth()}, timeout=30)


def test_erasure_empties_the_caliper_event_listing_of_the_person(make_app):
    """GET /caliper/events (the Timeback listing, with actor ids and emails) keeps no entry of an
    erased person's events; another learner's event stays listed."""
    from lrs_plugins.caliper.mapping import agent
    from tests.plugins.caliper_support import SEED_002_EVENTS, bearer, caliper_app, envelope, token

    app = caliper_app(make_app)
    client = app.test_client()
    mine = dict(SEED_002_EVENTS[1], id=f"urn:uuid:{uuid.uuid4()}")
    other = dict(SEED_002_EVENTS[1], id=f"urn:uuid:{uuid.uuid4()}", actor="https://example.edu/users/someone-else")
    access = token(client)
    for event in (mine, other):
        answer = client.post("/caliper/event", data=json.dumps(envelope(event)), headers=bearer(access),
                             content_type="application/json")
        assert answer.status_code == 200, answer.get_data(as_text=True)
    assert client.get("/caliper/events", headers=bearer(access)).get_json()["pagination"]["total"] == 2
    person = agent(mine["actor"], app.extensions["lrs"].settings["public_url"])
    answer = client.delete("/admin/agents", query_string={"agent": json.dumps({"account": person["account"]})},
                           headers={"Authorization": basic_auth()})
    assert answer.status_code == 200 and answer.get_json()["statements"] == 1
    listing = client.get("/caliper/events", headers=bearer(access)).get_json()
    assert listing["pagination"]["total"] == 1
    assert [e["externalId"] for e in listing["events"]] == [other["id"]]
    assert client.get(f"/caliper/events/{mine['id']}", headers=bearer(access)).status_code == 404
    actor_id = mine["actor"]["id"] if isinstance(mine["actor"], dict) else mine["actor"]
    assert app.extensions["lrs"].plugin_collection("caliper", "events").count_documents({"actorId": actor_id}) == 0


def in_lists(command: dict) -> Iterator[list]:
    """Every `$in` list of a command document, however deep."""
    return (node["$in"] for node in every_value(command) if isinstance(node, dict) and "$in" in node)


def test_erasure_names_at_most_a_chunk_of_statements_per_command(sent_commands, shared_store, make_app,
                                                                  xapi_headers, monkeypatch):
    """A retention pass over a large store erases hundreds of thousands of statements: their ids
    in one `$in` pass MongoDB's 16 MB command limit (pymongo raises DocumentTooLarge), which
    mongomock does not have, so the commands sent are checked, with a chunk of 2."""
    monkeypatch.setattr("lrs.erasure.CHUNK", 2)
    client = make_app(mongo_uri=shared_store).test_client()
    anns = [stmt({"mbox": ANN_MBOX}, attachments=[attachment(f"essay {n}".encode())]) for n in range(5)]
    assert post(client, xapi_headers, multipart(anns, *(f"essay {n}".encode() for n in range(5)))).status_code == 200
    refs = [stmt(BOB) for _ in range(3)]
    for target, ref in zip([anns[0], anns[1], refs[0]], refs, strict=True):  # the third refers to the first
        ref["object"] = {"objectType": "StatementRef", "id": target["id"]}
        assert client.post("/xapi/statements", json=ref, headers=xapi_headers).status_code == 200
    kept = stmt(BOB)
    assert client.post("/xapi/statements", json=kept, headers=xapi_headers).status_code == 200

    sent_commands.commands.clear()
    answer = client.delete("/admin/agents", query_string={"agent": json.dumps({"mbox": ANN_MBOX})},
                           headers={"Authorization": basic_auth()})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert (answer.get_json()["statements"], answer.get_json()["attachments"]) == (8, 5)
    assert max(len(values) for _, command in sent_commands.commands for values in in_lists(command)) == 2
    for gone in [*anns, *refs]:
        assert client.get(f"/xapi/statements?statementId={gone['id']}", headers=xapi_headers).status_code == 404
    assert client.get(f"/xapi/statements?statementId={kept['id']}", headers=xapi_headers).status_code == 200
