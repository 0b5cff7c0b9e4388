"""The protocol around the resources: auth, scopes, versions, about, CORS, alternate syntax."""
from __future__ import annotations

import json
import uuid
from urllib.parse import urlencode

import pytest

from tests.conftest import basic_auth

STATEMENT = {"actor": {"mbox": "mailto:ada@example.com"}, "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
             "object": {"id": "http://example.com/a/1"}}


def test_about_needs_no_credentials_or_version(client):
    response = client.get("/xapi/about")
    assert response.status_code == 200
    versions = response.get_json()["version"]
    assert "1.0.3" in versions and "2.0.0" in versions


def test_missing_or_wrong_credentials_are_401_with_challenge(client):
    headers = {"X-Experience-API-Version": "1.0.3"}
    for auth in (None, basic_auth("test-admin", "wrong"), basic_auth("nobody", "x"), "Bearer abc"):
        response = client.get("/xapi/statements", headers={**headers, **({"Authorization": auth} if auth else {})})
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_scopes_limit_what_a_credential_may_do(app, client):
    app.extensions["lrs"].create_credential("writer", "s3cret", ["statements/write"])
    headers = {"Authorization": basic_auth("writer", "s3cret"), "X-Experience-API-Version": "1.0.3"}
    assert client.post("/xapi/statements", json=STATEMENT, headers=headers).status_code == 200
    response = client.get("/xapi/statements", headers=headers)
    assert response.status_code == 403
    assert "statements/read" in response.get_json()["error"]["message"]


def test_read_mine_sees_only_own_statements(app, client, xapi_headers):
    app.extensions["lrs"].create_credential("mine", "s3cret", ["statements/write", "statements/read/mine"])
    mine = {"Authorization": basic_auth("mine", "s3cret"), "X-Experience-API-Version": "1.0.3"}
    [own] = client.post("/xapi/statements", json=STATEMENT, headers=mine).get_json()
    [other] = client.post("/xapi/statements", json=STATEMENT, headers=xapi_headers).get_json()
    assert [s["id"] for s in client.get("/xapi/statements", headers=mine).get_json()["statements"]] == [own]
    assert client.get(f"/xapi/statements?statementId={other}", headers=mine).status_code == 404


def test_revoked_credentials_stop_working_at_once(app, client):
    lrs = app.extensions["lrs"]
    lrs.create_credential("temp", "s3cret", ["all"])
    headers = {"Authorization": basic_auth("temp", "s3cret"), "X-Experience-API-Version": "1.0.3"}
    assert client.get("/xapi/statements", headers=headers).status_code == 200
    lrs.credentials.revoke("temp")
    assert client.get("/xapi/statements", headers=headers).status_code == 401


def test_secrets_are_not_stored_in_clear(app):
    app.extensions["lrs"].create_credential("k", "plain-secret", ["all"])
    document = app.extensions["lrs"].db["credentials"].find_one({"_id": "k"})
    assert "plain-secret" not in json.dumps(document, default=str)


def test_version_header_is_required_and_validated(client):
    auth = {"Authorization": basic_auth()}
    assert client.get("/xapi/statements", headers=auth).status_code == 400
    assert client.get("/xapi/statements", headers={**auth, "X-Experience-API-Version": "0.95"}).status_code == 400
    response = client.get("/xapi/statements", headers={**auth, "X-Experience-API-Version": "2.0.0"})
    assert response.status_code == 200
    assert response.headers["X-Experience-API-Version"] == "2.0.0"


@pytest.mark.parametrize("enabled, named", [("1.0.3,2.0.0", "1.0.3, 2.0.0"), ("1.0.3", "1.0.3")])
def test_a_missing_version_header_is_answered_with_the_versions_to_send(make_app, enabled, named):
    """Before: "X-Experience-API-Version header: is required", and nothing said which value."""
    client = make_app(xapi_versions=enabled).test_client()
    response = client.get("/xapi/statements", headers={"Authorization": basic_auth()})
    assert response.get_json()["error"]["message"] == (
        "X-Experience-API-Version header: is required on every resource but /about; send one of the versions "
        f"this LRS speaks: {named}")


ELSEWHERE = ("nothing at this path; the xAPI endpoint is /xapi (e.g. /xapi/statements), the admin API is under "
             "/admin, the admin console at /console/ (for a browser), and a plugin's paths exist only while "
             "LRS_PLUGINS enables it")


@pytest.mark.parametrize("path, message", [
    ("/statements", ELSEWHERE),
    ("/events", ELSEWHERE),
    ("/", ELSEWHERE),  # a newcomer's browser, pointed at the server: the console is one click away
    ("/xapi/statement", "no xAPI resource at this path; the resources are /xapi/statements, /xapi/activities, "
                        "/xapi/activities/state, /xapi/activities/profile, /xapi/agents, /xapi/agents/profile, "
                        "/xapi/about"),
])
def test_a_path_nothing_answers_is_a_404_saying_where_the_resources_are(client, path, message):
    """Before: werkzeug's "If you entered the URL manually please check your spelling"."""
    response = client.get(path, headers={"Authorization": basic_auth(), "X-Experience-API-Version": "1.0.3"})
    assert response.status_code == 404 and response.get_json() == {"error": {"status": 404, "message": message}}


def test_cors_preflight(client):
    response = client.options("/xapi/statements", headers={
        "Origin": "http://app.example.com", "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "authorization,x-experience-api-version"})
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "x-experience-api-version" in response.headers["Access-Control-Allow-Headers"].lower()
    assert "X-Experience-API-Consistent-Through" in response.headers["Access-Control-Expose-Headers"]


def test_alternate_request_syntax_put(client):
    statement_id = str(uuid.uuid4())
    form = urlencode({"Authorization": basic_auth(), "X-Experience-API-Version": "1.0.3",
                      "Content-Type": "application/json", "statementId": statement_id,
                      "content": json.dumps(STATEMENT)})
    response = client.post("/xapi/statements?method=PUT", data=form,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 204, response.get_data(as_text=True)
    got = client.get(f"/xapi/statements?statementId={statement_id}",
                     headers={"Authorization": basic_auth(), "X-Experience-API-Version": "1.0.3"})
    assert got.status_code == 200


def test_alternate_request_syntax_refused_for_2_0(client):
    form = urlencode({"Authorization": basic_auth(), "X-Experience-API-Version": "2.0.0"})
    response = client.post("/xapi/statements?method=GET", data=form,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 400


def test_alternate_request_syntax_rejects_extra_query_parameters(client):
    response = client.post("/xapi/statements?method=GET&verb=x", data="",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 400


def allowed(response) -> set[str]:
    return {method.strip() for method in response.headers["Allow"].split(",")}


@pytest.mark.parametrize("method", ["PATCH", "DELETE", "TRACE"])
def test_a_method_the_statement_resource_does_not_answer_is_a_405_with_allow_and_consistent_through(client, method):
    response = client.open("/xapi/statements", method=method, headers={"Authorization": basic_auth(),
                                                                       "X-Experience-API-Version": "1.0.3"})
    assert response.status_code == 405
    assert allowed(response) == {"GET", "HEAD", "OPTIONS", "POST", "PUT"}
    assert "X-Experience-API-Consistent-Through" in response.headers  # Communication 2.1.3: on all responses
    assert response.get_json()["error"]["message"] == "method not allowed here; this URL answers GET, HEAD, OPTIONS, POST, PUT"


def test_other_resources_name_their_methods_in_allow(client):
    response = client.patch("/xapi/activities", headers={"X-Experience-API-Version": "1.0.3"})
    assert response.status_code == 405 and allowed(response) == {"GET", "HEAD", "OPTIONS"}
    assert "X-Experience-API-Consistent-Through" not in response.headers


def test_adapters_answer_a_405_in_their_own_format_with_allow(make_app):
    client = make_app(plugins="simple_events,h5p,caliper").test_client()
    events = client.patch("/events", headers={"Authorization": basic_auth()})
    assert events.status_code == 405 and allowed(events) == {"OPTIONS", "POST"}
    assert set(events.get_json()) == {"error", "request_id", "validation_errors"}
    assert events.get_json()["request_id"] == events.headers["X-Request-ID"]
    h5p = client.delete("/api/xapi/progress")
    assert h5p.status_code == 405 and allowed(h5p) == {"GET", "HEAD", "OPTIONS"}
    assert h5p.get_json()["success"] is False
    caliper = client.put("/caliper/event")
    assert caliper.status_code == 405 and "POST" in allowed(caliper) and "PUT" not in allowed(caliper)
    assert caliper.get_json()["status"] == "error"


AGENTS = [json.dumps({"mbox": "mailto:ada@example.com"}), json.dumps({"mbox": "mailto:bob@example.com"})]


def _form(*pairs: tuple[str, str]) -> str:
    return urlencode([("Authorization", basic_auth()), ("X-Experience-API-Version", "1.0.3"), *pairs])


@pytest.mark.parametrize("query, form, named", [
    ("statements?method=GET", _form(("limit", "1"), ("limit", "2")), "form field 'limit'"),
    ("statements?method=GET", _form(*(("agent", agent) for agent in AGENTS)), "form field 'agent'"),
    ("statements?method=GET&method=GET", _form(), "parameter 'method'"),
    ("statements?method=GET", _form(("Authorization", basic_auth())), "form field 'Authorization'"),
    ("statements?method=GET", _form(("authorization", basic_auth())), "form field 'Authorization'"),
    ("statements?method=GET", _form(("X-Experience-API-Version", "1.0.3")), "form field 'X-Experience-API-Version'"),
    ("statements?method=POST", _form(("content", json.dumps(STATEMENT)), ("content", json.dumps(STATEMENT))),
     "form field 'content'"),
    ("activities/state?method=PUT", _form(("activityId", "http://example.com/a/1"), ("agent", AGENTS[0]),
                                          ("stateId", "dup1"), ("stateId", "dup2"), ("content", "{}")),
     "form field 'stateId'"),
])
def test_alternate_request_syntax_refuses_a_field_given_twice(app, client, query, form, named):
    """As the normal syntax refuses a repeated parameter: which one was meant is not for the LRS to guess."""
    response = client.post(f"/xapi/{query}", data=form, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == f"{named}: must be given once"
    assert app.extensions["lrs"].statement_store.collection.count_documents({}) == 0
    state = client.get("/xapi/activities/state", query_string={"activityId": "http://example.com/a/1",
                                                               "agent": AGENTS[0], "stateId": "dup1"},
                       headers={"Authorization": basic_auth(), "X-Experience-API-Version": "1.0.3"})
    assert state.status_code == 404
