"""Reading statements: single GETs, filters, paging, formats, voiding, headers."""
from __future__ import annotations

import json
import time
import uuid

import pytest

COMPLETED = "http://adlnet.gov/expapi/verbs/completed"
ATTEMPTED = "http://adlnet.gov/expapi/verbs/attempted"
VOIDED = "http://adlnet.gov/expapi/verbs/voided"


def statement(actor="mailto:ada@example.com", verb=COMPLETED, activity="http://example.com/a/1", **extra):
    return {"actor": {"mbox": actor}, "verb": {"id": verb}, "object": {"id": activity}, **extra}


def post(client, headers, *statements):
    response = client.post("/xapi/statements", json=list(statements), headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def query(client, headers, **params):
    response = client.get("/xapi/statements", query_string=params, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def ids_of(result):
    return [s["id"] for s in result["statements"]]


def test_newest_first_and_ascending(client, xapi_headers):
    first = post(client, xapi_headers, statement())
    second = post(client, xapi_headers, statement())
    assert ids_of(query(client, xapi_headers))[:2] == second + first
    assert ids_of(query(client, xapi_headers, ascending="true")) == first + second


def test_filters_by_agent_verb_activity_registration(client, xapi_headers):
    registration = str(uuid.uuid4())
    [ada] = post(client, xapi_headers, statement())
    [bob] = post(client, xapi_headers, statement(actor="mailto:bob@example.com", verb=ATTEMPTED))
    [reg] = post(client, xapi_headers, statement(activity="http://example.com/a/2",
                                                  context={"registration": registration}))
    assert set(ids_of(query(client, xapi_headers, agent=json.dumps({"mbox": "mailto:ada@example.com"})))) == {ada, reg}
    assert ids_of(query(client, xapi_headers, verb=ATTEMPTED)) == [bob]
    assert ids_of(query(client, xapi_headers, activity="http://example.com/a/2")) == [reg]
    assert ids_of(query(client, xapi_headers, registration=registration)) == [reg]


def test_related_activities_and_agents(client, xapi_headers):
    [in_context] = post(client, xapi_headers, statement(
        context={"contextActivities": {"parent": [{"id": "http://example.com/course"}]},
                 "instructor": {"mbox": "mailto:teacher@example.com"}}))
    assert ids_of(query(client, xapi_headers, activity="http://example.com/course")) == []
    assert ids_of(query(client, xapi_headers, activity="http://example.com/course",
                        related_activities="true")) == [in_context]
    teacher = json.dumps({"mbox": "mailto:teacher@example.com"})
    assert ids_of(query(client, xapi_headers, agent=teacher)) == []
    assert ids_of(query(client, xapi_headers, agent=teacher, related_agents="true")) == [in_context]


def test_group_members_match_the_agent_filter(client, xapi_headers):
    group = {"objectType": "Group", "member": [{"mbox": "mailto:member@example.com"}]}
    [by_group] = post(client, xapi_headers, {"actor": group, "verb": {"id": COMPLETED},
                                             "object": {"id": "http://example.com/a/1"}})
    member = json.dumps({"mbox": "mailto:member@example.com"})
    assert ids_of(query(client, xapi_headers, agent=member)) == [by_group]


def test_since_and_until_use_stored_time(client, xapi_headers):
    [old] = post(client, xapi_headers, statement())
    stored = client.get(f"/xapi/statements?statementId={old}", headers=xapi_headers).get_json()["stored"]
    time.sleep(0.01)
    [new] = post(client, xapi_headers, statement())
    assert ids_of(query(client, xapi_headers, since=stored)) == [new]
    assert ids_of(query(client, xapi_headers, until=stored)) == [old]


def test_paging_with_more_visits_every_statement_once(client, xapi_headers):
    posted = post(client, xapi_headers, *[statement() for _ in range(7)])
    seen, page = [], query(client, xapi_headers, limit=3, verb=COMPLETED)
    for _ in range(5):
        seen += ids_of(page)
        if not page["more"]:
            break
        assert len(page["statements"]) == 3
        response = client.get(page["more"], headers=xapi_headers)
        assert response.status_code == 200
        page = response.get_json()
    assert sorted(seen) == sorted(posted)


@pytest.mark.parametrize("cursor", ["garbage", "eyJxIjp7fX0", "eyJxIjp7ImFnZW50Ijp7IiRuZSI6bnVsbH19LCJhZnRlciI6MX0"])
def test_a_bad_more_cursor_is_400(client, xapi_headers, cursor):
    response = client.get(f"/xapi/statements?more={cursor}", headers=xapi_headers)
    assert response.status_code == 400
    assert "more" in response.get_json()["error"]["message"] or "agent" in response.get_json()["error"]["message"]


def test_voided_statements_are_hidden_but_fetchable_by_voided_id(client, xapi_headers):
    [target] = post(client, xapi_headers, statement())
    [voiding] = post(client, xapi_headers, statement(verb=VOIDED, activity=None,
                                                     object={"objectType": "StatementRef", "id": target}))
    assert client.get(f"/xapi/statements?statementId={target}", headers=xapi_headers).status_code == 404
    assert client.get(f"/xapi/statements?voidedStatementId={target}", headers=xapi_headers).status_code == 200
    assert client.get(f"/xapi/statements?voidedStatementId={voiding}", headers=xapi_headers).status_code == 404
    assert ids_of(query(client, xapi_headers)) == [voiding]


def test_statement_refs_match_the_filters_of_their_target(client, xapi_headers):
    [target] = post(client, xapi_headers, statement(activity="http://example.com/explosives"))
    [referrer] = post(client, xapi_headers, statement(actor="mailto:andrew@example.com", verb=ATTEMPTED,
                                                      object={"objectType": "StatementRef", "id": target}))
    result = query(client, xapi_headers, activity="http://example.com/explosives")
    assert set(ids_of(result)) == {target, referrer}


def test_format_ids_keeps_only_identifiers(client, xapi_headers):
    [statement_id] = post(client, xapi_headers, statement(
        actor="mailto:ada@example.com",
        object={"id": "http://example.com/a/1", "definition": {"name": {"en-US": "One"}}}))
    got = client.get(f"/xapi/statements?statementId={statement_id}&format=ids", headers=xapi_headers).get_json()
    assert got["object"] == {"id": "http://example.com/a/1", "objectType": "Activity"} or got["object"] == {"id": "http://example.com/a/1"}
    assert "definition" not in got["object"]


def test_headers_on_statement_responses(client, xapi_headers):
    [statement_id] = post(client, xapi_headers, statement())
    response = client.get(f"/xapi/statements?statementId={statement_id}", headers=xapi_headers)
    assert response.headers["X-Experience-API-Version"].startswith("1.0")
    assert response.headers["X-Experience-API-Consistent-Through"].endswith("Z")
    assert response.headers["Last-Modified"]
    head = client.head(f"/xapi/statements?statementId={statement_id}", headers=xapi_headers)
    assert head.status_code == 200 and head.data == b""


@pytest.mark.parametrize("params, name", [
    ({"agent": '{"$ne": null}'}, "agent"),
    ({"agent": "not json"}, "agent"),
    ({"verb": "not an iri"}, "verb"),
    ({"registration": "1234"}, "registration"),
    ({"limit": "-1"}, "limit"),
    ({"limit": "ten"}, "limit"),
    ({"format": "full"}, "format"),
    ({"ascending": "yes"}, "ascending"),
    ({"since": "yesterday"}, "since"),
    ({"unknown": "1"}, "unknown"),
    ({"statementId": str(uuid.uuid4()), "verb": COMPLETED}, "statementId"),
    ({"statementId": str(uuid.uuid4()), "voidedStatementId": str(uuid.uuid4())}, "statementId"),
])
def test_bad_parameters_are_400_naming_the_parameter(client, xapi_headers, params, name):
    response = client.get("/xapi/statements", query_string=params, headers=xapi_headers)
    assert response.status_code == 400
    assert name in response.get_json()["error"]["message"]


def test_repeated_parameter_is_400(client, xapi_headers):
    response = client.get(f"/xapi/statements?verb={COMPLETED}&verb={ATTEMPTED}", headers=xapi_headers)
    assert response.status_code == 400


def test_operator_injection_through_a_json_agent_matches_nothing(client, xapi_headers):
    post(client, xapi_headers, statement())
    response = client.get("/xapi/statements", query_string={"agent": json.dumps({"mbox": {"$ne": None}})},
                          headers=xapi_headers)
    assert response.status_code == 400


def test_format_canonical_uses_the_refined_definition_in_one_language(client, xapi_headers):
    first = statement(object={"id": "http://example.com/a/9", "definition": {"name": {"en-US": "Nine"}}})
    later = statement(object={"id": "http://example.com/a/9",
                              "definition": {"name": {"fr-FR": "Neuf"}, "description": {"fr-FR": "Le neuf"}}})
    [first_id] = post(client, xapi_headers, first)
    post(client, xapi_headers, later)
    headers = {**xapi_headers, "Accept-Language": "fr-FR, en-US;q=0.5"}
    got = client.get(f"/xapi/statements?statementId={first_id}&format=canonical", headers=headers).get_json()
    assert got["object"]["definition"] == {"name": {"fr-FR": "Neuf"}, "description": {"fr-FR": "Le neuf"}}
    exact = client.get(f"/xapi/statements?statementId={first_id}", headers=headers).get_json()
    assert exact["object"]["definition"] == {"name": {"en-US": "Nine"}}


@pytest.mark.parametrize("header, expected", [
    (None, "en-US"), ("", "en-US"), ("de", "de"), ("da, de;q=0.8, fr;q=0.7", "de"),
    ("fr;q=0.5, de;q=0.9, en-US", "en-US"), ("de;q=0, fr", "fr"), ("de;q=abc, fr;q=0.1", "fr"), (" , de ,", "de"),
    # q=0 means "not acceptable": an excluded language is shown only when every entry is excluded
    ("en-US;q=0", "de"), ("en;q=0, de;q=0", "fr"), ("*, en-US;q=0", "de"), ("*;q=0", "en-US"),
])
def test_format_canonical_picks_the_language_the_accept_language_header_prefers(client, xapi_headers, header, expected):
    names = {"en-US": "Nine", "de": "Neun", "fr": "Neuf"}
    [statement_id] = post(client, xapi_headers, statement(
        activity="http://example.com/a/languages", object={"id": "http://example.com/a/languages",
                                                           "definition": {"name": names}}))
    headers = {**xapi_headers, **({"Accept-Language": header} if header is not None else {})}
    got = client.get(f"/xapi/statements?statementId={statement_id}&format=canonical", headers=headers).get_json()
    assert got["object"]["definition"]["name"] == {expected: names[expected]}


def test_format_canonical_never_shows_a_language_the_client_excluded_when_another_exists(client, xapi_headers):
    [statement_id] = post(client, xapi_headers, {**statement(), "verb": {"id": COMPLETED,
                                                                        "display": {"en-US": "did", "fr": "fait"}}})
    headers = {**xapi_headers, "Accept-Language": "en-US;q=0"}
    got = client.get(f"/xapi/statements?statementId={statement_id}&format=canonical", headers=headers).get_json()
    assert got["verb"]["display"] == {"fr": "fait"}
    page = client.get("/xapi/statements?format=canonical", headers=headers).get_json()
    assert page["statements"][0]["verb"]["display"] == {"fr": "fait"}


@pytest.mark.parametrize("version", ["1.0.3", "2.0.0"])
def test_a_leap_second_is_a_timestamp_and_a_since(client, xapi_headers, version):
    headers = {**xapi_headers, "X-Experience-API-Version": version}
    before, leap = statement(timestamp="2016-12-31T23:59:59.5Z"), statement(timestamp="2016-12-31T23:59:60Z")
    [_, leap_id] = post(client, headers, before, leap)
    stored = client.get("/xapi/statements", query_string={"statementId": leap_id}, headers=headers).get_json()
    assert stored["timestamp"] == "2016-12-31T23:59:59.999Z"
    assert len(query(client, headers, since="2016-12-31T23:59:60Z")["statements"]) == 2  # stored after it
    refused = client.post("/xapi/statements", json=statement(timestamp="2016-12-31T12:00:60Z"), headers=headers)
    assert refused.status_code == 400 and "leap second" in refused.get_json()["error"]["message"]
