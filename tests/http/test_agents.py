"""The Agents resource: a Person with every name statements gave the Agent's identifier."""
from __future__ import annotations

import hashlib
import json

import pytest

from lrs.store import agents
from tests.conftest import basic_auth

HEADERS = {"Authorization": basic_auth(), "X-Experience-API-Version": "2.0.0"}
VERB = {"id": "http://adlnet.gov/expapi/verbs/attended"}
ACTIVITY = {"id": "http://example.com/activities/1"}


def person(client, agent: dict) -> dict:
    response = client.get("/xapi/agents", query_string={"agent": json.dumps(agent)}, headers=HEADERS)
    assert response.status_code == 200
    return response.get_json()


def test_an_unknown_agent_is_a_person_of_its_own_identifier(client):
    assert person(client, {"mbox": "mailto:new@example.com"}) == {
        "objectType": "Person", "mbox": ["mailto:new@example.com"]}
    account = {"homePage": "http://lms.example.com", "name": "new"}
    assert person(client, {"name": "New", "account": account}) == {
        "objectType": "Person", "name": ["New"], "account": [account]}


def test_names_from_every_place_a_statement_names_an_agent(client):
    ann = "mailto:ann@example.com"
    batch = [
        {"actor": {"mbox": ann, "name": "Ann"}, "verb": VERB, "object": ACTIVITY},
        {"actor": {"objectType": "Group", "name": "Team", "mbox": "mailto:team@example.com",
                   "member": [{"mbox": ann, "name": "Ann B."}]}, "verb": VERB, "object": ACTIVITY},
        {"actor": {"mbox": "mailto:bob@example.com"}, "verb": VERB,
         "object": {"objectType": "Agent", "mbox": ann, "name": "A. B."}},
        {"actor": {"mbox": "mailto:bob@example.com"}, "verb": VERB, "object": ACTIVITY,
         "context": {"instructor": {"mbox": ann.upper().replace("MAILTO", "mailto"), "name": "Dr Ann"}}},
    ]
    assert client.post("/xapi/statements", json=batch, headers=HEADERS).status_code == 200
    found = person(client, {"mbox": ann})
    assert found["objectType"] == "Person" and found["mbox"] == [ann]
    assert sorted(found["name"]) == ["A. B.", "Ann", "Ann B."]  # the instructor's local part differs: another IFI


def test_agent_parameter_rules(client):
    for query in ({}, {"agent": "{}"}, {"agent": json.dumps({"account": {"name": "no home page"}})},
                  {"agent": json.dumps({"objectType": "Group", "mbox": "mailto:g@example.com"})},
                  {"agent": json.dumps({"mbox": "mailto:a@example.com"}), "extra": "1"}):
        response = client.get("/xapi/agents", query_string=query, headers=HEADERS)
        assert response.status_code == 400, query
        assert "parameter" in response.get_json()["error"]["message"]


def test_get_and_head_carry_the_sha1_etag_of_the_person(client):
    query = {"agent": json.dumps({"mbox": "mailto:ann@example.com"})}
    response = client.get("/xapi/agents", query_string=query, headers=HEADERS)
    assert response.headers["ETag"] == f'"{hashlib.sha1(response.data).hexdigest()}"'
    head = client.head("/xapi/agents", query_string=query, headers=HEADERS)
    assert head.data == b"" and head.headers["ETag"] == response.headers["ETag"]


@pytest.mark.parametrize("agent, message", [
    ({"mbox": "mailto:x@example.com", "foo": 1}, "parameter 'agent': foo: is not an allowed property here"),
    ({"mbox": "mailto:x@example.com", "name": 5}, "parameter 'agent': name: must be a string"),
    ({"account": {"name": "x"}}, "parameter 'agent': account.homePage: is required"),
])
def test_agent_errors_name_the_path_inside_the_json(client, agent, message):
    for path in ("/xapi/agents", "/xapi/statements", "/xapi/agents/profile"):
        response = client.get(path, query_string={"agent": json.dumps(agent)}, headers=HEADERS)
        assert response.status_code == 400 and response.get_json()["error"]["message"] == message, path


def test_a_person_keeps_its_first_names_within_the_bounds(client, monkeypatch, caplog):
    monkeypatch.setattr(agents, "MAX_NAMES", 4)
    monkeypatch.setattr(agents, "MAX_NAMES_BYTES", 200)
    ann = "mailto:ann@example.com"
    names = ["Ann", "Ann B.", "x" * 250, "A. B.", "Dr Ann", "Ann Bee", "Annie"]
    for name in names:  # one batch each, and then all of them again in one
        response = client.post("/xapi/statements", json={"actor": {"mbox": ann, "name": name}, "verb": VERB,
                                                         "object": ACTIVITY}, headers=HEADERS)
        assert response.status_code == 200
    batch = [{"actor": {"mbox": ann, "name": f"{name} again"}, "verb": VERB, "object": ACTIVITY} for name in names]
    assert client.post("/xapi/statements", json=batch, headers=HEADERS).status_code == 200
    stored = client.get("/xapi/statements", query_string={"agent": json.dumps({"mbox": ann})}, headers=HEADERS)
    assert len(stored.get_json()["statements"]) == 2 * len(names)
    # the 250-byte name never fits; the names after it do, up to 4
    assert person(client, {"mbox": ann})["name"] == ["Ann", "Ann B.", "A. B.", "Dr Ann"]
    assert len([r for r in caplog.records if "reached its bounds" in r.message]) == 1

