"""Query parameters and body sizes as the README promises them on every API: an integer is ASCII
digits only, a parameter a resource does not know or one given twice is a 400 naming it, and a
body over LRS_MAX_BODY_BYTES is a 413 naming the limit and the setting, in each API's own format.
"""
from __future__ import annotations

import json
import uuid

import pytest

from tests.conftest import basic_auth
from tests.plugins.caliper_support import CLIENT_ID, CLIENT_SECRET

ADMIN = {"Authorization": basic_auth()}
AGENT = json.dumps({"mbox": "mailto:ann@example.com"})
DIGITS_RULE = "must be an integer of at most 18 ASCII digits (0-9)"
LIMIT = 4096
TOO_LARGE = f"request body: larger than {LIMIT} bytes, the limit set by LRS_MAX_BODY_BYTES"


def error_message(response) -> str:
    body = response.get_json()
    assert body["error"]["status"] == response.status_code
    return body["error"]["message"]


@pytest.mark.parametrize("limit", ["١٢", "+5", "²", " 5", "5 ", "1_0", "0x10", "1" * 19])
def test_integer_parameters_are_ascii_digits_only(client, xapi_headers, limit):
    response = client.get("/xapi/statements", query_string={"limit": limit}, headers=xapi_headers)
    assert response.status_code == 400
    assert error_message(response) == f"parameter 'limit': {DIGITS_RULE}"
    dead_letters = client.get("/admin/forwarding/replica/dead-letters", query_string={"after": limit}, headers=ADMIN)
    assert dead_letters.status_code == 400 and error_message(dead_letters) == f"after: {DIGITS_RULE}"


def test_integer_parameters_in_ascii_digits_still_work(client, xapi_headers):
    assert client.post("/xapi/statements", json=[{"actor": {"mbox": "mailto:ann@example.com"},
                                                  "verb": {"id": "http://example.com/v"},
                                                  "object": {"id": "http://example.com/a"}}] * 2,
                       headers=xapi_headers).status_code == 200
    assert len(client.get("/xapi/statements?limit=1", headers=xapi_headers).get_json()["statements"]) == 1
    assert len(client.get("/xapi/statements?limit=0", headers=xapi_headers).get_json()["statements"]) == 2


@pytest.mark.parametrize("true, false", [("true", "false"), ("True", "False"), ("TRUE", "fAlSe")])
def test_boolean_parameters_are_true_or_false_in_any_case(client, xapi_headers, true, false):
    lesson = {"actor": {"mbox": "mailto:ann@example.com"}, "verb": {"id": "http://example.com/v"},
              "object": {"id": "http://example.com/lesson"},
              "context": {"contextActivities": {"parent": [{"id": "http://example.com/course"}]}}}
    assert client.post("/xapi/statements", json=lesson, headers=xapi_headers).status_code == 200
    course = {"activity": "http://example.com/course"}
    related = client.get("/xapi/statements", query_string={**course, "related_activities": true}, headers=xapi_headers)
    assert related.status_code == 200 and len(related.get_json()["statements"]) == 1
    direct = client.get("/xapi/statements", query_string={**course, "related_activities": false}, headers=xapi_headers)
    assert direct.status_code == 200 and direct.get_json()["statements"] == []


@pytest.mark.parametrize("value", ["1", "yes", "", "truee", "t"])
def test_other_boolean_values_are_refused_naming_the_rule(client, xapi_headers, value):
    response = client.get("/xapi/statements", query_string={"ascending": value}, headers=xapi_headers)
    assert response.status_code == 400
    assert error_message(response) == "parameter 'ascending': must be true or false (in any case)"


@pytest.mark.parametrize("method, path", [
    ("GET", "/xapi/about"), ("GET", "/admin/credentials"), ("GET", "/admin/credentials/test-admin"),
    ("GET", "/admin/forwarding"), ("DELETE", f"/admin/agents?agent={AGENT}"),
    ("POST", "/admin/forwarding/replica/backfill"), ("POST", "/admin/forwarding/replica/retry"),
])
def test_a_parameter_a_resource_does_not_know_is_a_400_naming_it(app, client, method, path):
    separator = "&" if "?" in path else "?"
    response = client.open(f"{path}{separator}x=1", method=method, headers=ADMIN, json={"since": "now"})
    assert response.status_code == 400
    assert "'x'" in error_message(response) or "x: is not a known field" in error_message(response)
    assert client.get("/xapi/about", headers=ADMIN).status_code == 200
    assert client.get("/admin/credentials", headers=ADMIN).status_code == 200


@pytest.mark.parametrize("path", ["/admin/forwarding/replica/dead-letters?limit=1&limit=2",
                                  f"/admin/agents?agent={AGENT}&agent={AGENT}"])
def test_a_parameter_given_twice_is_a_400_naming_it(client, path):
    method = "DELETE" if path.startswith("/admin/agents") else "GET"
    response = client.open(path, method=method, headers=ADMIN)
    assert response.status_code == 400
    assert error_message(response) in ("parameter 'limit': must be given once", "parameter 'agent': must be given once")


@pytest.fixture
def small(make_app):
    """An LRS whose bodies may be 4 KiB, with the adapters that read JSON bodies."""
    app = make_app(max_body_bytes=LIMIT, plugins="caliper,simple_events", public_url="https://lrs.example.org")
    app.extensions["lrs"].create_credential(CLIENT_ID, CLIENT_SECRET, ["caliper/events.write", "simple_events"])
    return app


@pytest.mark.parametrize("method, path", [
    ("POST", "/xapi/statements"),
    ("PUT", f"/xapi/activities/state?activityId=http://example.com/a&agent={AGENT}&stateId=s"),
    ("POST", "/admin/credentials"),
])
def test_a_body_over_the_limit_is_a_413_naming_the_limit_and_setting(small, xapi_headers, method, path):
    body = json.dumps({"padding": "x" * LIMIT})
    response = small.test_client().open(path, method=method, data=body, content_type="application/json",
                                        headers=xapi_headers)
    assert response.status_code == 413
    assert error_message(response) == TOO_LARGE


def test_the_alternate_syntax_names_the_body_limit_and_setting(small):
    form = {"X-Experience-API-Version": "1.0.3", "statementId": str(uuid.uuid4()), "content": "x" * LIMIT}
    response = small.test_client().post("/xapi/statements?method=PUT", data=form)
    assert response.status_code == 413
    assert error_message(response) == TOO_LARGE


def test_adapters_name_the_body_limit_in_their_own_formats(small):
    client = small.test_client()
    padding = "x" * LIMIT
    events = client.post("/events", json={"event": "completed", "userId": "u", "padding": padding},
                         headers={"Authorization": f"Bearer {CLIENT_ID}:{CLIENT_SECRET}"})
    assert events.status_code == 413 and events.get_json()["error"] == TOO_LARGE
    token = client.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": CLIENT_ID,
                                              "client_secret": CLIENT_SECRET, "padding": padding})
    assert token.status_code == 413
    assert token.get_json() == {"error": "invalid_request", "error_description": TOO_LARGE}
    caliper = client.post("/caliper/event", json={"padding": padding}, headers={"Authorization": "Bearer x"})
    assert caliper.status_code in (401, 413)  # the token is checked first; no 413 words werkzeug's way either
    assert "capacity limit" not in caliper.get_data(as_text=True)
    small_enough = client.post("/events", json={"event": "completed", "userId": str(uuid.uuid4())},
                               headers={"Authorization": f"Bearer {CLIENT_ID}:{CLIENT_SECRET}"})
    assert small_enough.status_code == 200


@pytest.mark.parametrize("path", ["/xapi/statements", "/xapi/activities/profile?activityId=http://example.com/a"])
def test_a_timestamp_whose_plus_was_not_percent_encoded_is_refused_saying_so(client, path):
    """A `+` left as is in a query string arrives as a space (form encoding), so an offset typed
    into a URL breaks the timestamp; the 400 says what to send instead. %2B works."""
    headers = {"Authorization": basic_auth(), "X-Experience-API-Version": "2.0.0"}
    separator = "&" if "?" in path else "?"
    response = client.get(f"{path}{separator}since=2026-01-01T08:00:00+01:00", headers=headers)
    assert response.status_code == 400
    assert "'+' in a query string is read as a space" in response.get_json()["error"]["message"]
    assert "%2B" in response.get_json()["error"]["message"]
    assert client.get(f"{path}{separator}since=2026-01-01T08:00:00%2B01:00", headers=headers).status_code == 200
    other = client.get(f"{path}{separator}since=2026-01-01 08:00:00Z", headers=headers)
    assert other.status_code == 400 and "%2B" not in other.get_json()["error"]["message"]


@pytest.mark.parametrize("path, escaped", [
    ("/xapi/activities/state?activityId=http%3A%2F%2Fexample.com%2Fa&agent={agent}&stateId=caf%E9", "stateId"),
    ("/xapi/agents/profile?agent={agent}&profileId=%FF%FE", "profileId"),
    ("/xapi/statements?activity=http%3A%2F%2Fexample.com%2F%C3", "activity"),
])
def test_a_parameter_that_is_not_utf_8_once_percent_decoded_is_a_400_naming_it(client, xapi_headers, path, escaped):
    """werkzeug keeps such a byte as its escape, so stateId=caf%E9 (café in Latin-1) named the
    document of stateId=caf%25E9, the text "caf%E9": two ids, one document."""
    url = path.format(agent=AGENT.replace('"', "%22").replace(":", "%3A").replace(" ", "%20"))
    response = client.put(url, data=b"x", headers={**xapi_headers, "Content-Type": "text/plain"}) \
        if "statements" not in path else client.get(url, headers=xapi_headers)
    assert response.status_code == 400
    assert error_message(response) == f"parameter {escaped!r}: must be UTF-8 text once percent-decoded"
    documents = client.application.extensions["lrs"].documents.collection
    assert documents.count_documents({}) == 0


@pytest.mark.parametrize("form, field", [
    (b"X-Experience-API-Version=1.0.3&agent=%ED%A0%80", "agent"),  # a lone surrogate, as CESU-8 writes it
    (b"X-Experience-API-Version=1.0.3&activity=http%3A%2F%2Fexample.com%2F%C0%80", "activity"),  # overlong NUL
    ("X-Experience-API-Version=1.0.3&verb=caf\u00e9".encode("latin-1"), "verb"),  # a raw Latin-1 byte
    (b"X-Experience-API-Version=1.0.3&caf%E9=1", "caf\ufffd"),
])
def test_an_alternate_syntax_field_that_is_not_utf_8_is_a_400_naming_it(client, form, field):
    """The form said only "the form body is not valid UTF-8 (a percent-encoded field: invalid
    continuation byte)", naming no field, where the same value as a query parameter is named."""
    response = client.post("/xapi/statements?method=GET", data=form,
                           headers={"Content-Type": "application/x-www-form-urlencoded", "Authorization": basic_auth()})
    assert response.status_code == 400
    assert error_message(response) == f"form field {field!r}: must be UTF-8 text once percent-decoded"
