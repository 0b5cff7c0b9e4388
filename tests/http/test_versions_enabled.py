"""LRS_XAPI_VERSIONS: an operator chooses the xAPI versions the LRS speaks, as SQL LRS lets them.

The answer to a request without a usable version header names the newest enabled version (what the
1.0.3 and 2.0 conformance suites each want of a server speaking only their version), /about lists
the enabled versions, and a request for a disabled version is the 400 of Communication 3.3.
"""
from __future__ import annotations

from urllib.parse import urlencode

import pytest

from lrs.settings import CORE_SETTINGS, Settings
from tests.conftest import basic_auth

STATEMENT = {"actor": {"mbox": "mailto:ann@example.com"}, "verb": {"id": "http://example.com/verbs/did"},
             "object": {"id": "http://example.com/activities/a"}}


@pytest.mark.parametrize("enabled, newest", [("1.0.3", "1.0.3"), ("2.0.0", "2.0.0"), ("1.0.3,2.0.0", "2.0.0")])
def test_a_request_without_a_version_header_is_answered_in_the_newest_enabled_version(make_app, enabled, newest):
    client = make_app(xapi_versions=enabled).test_client()
    response = client.get("/xapi/statements", headers={"Authorization": basic_auth()})
    assert response.status_code == 400 and "X-Experience-API-Version" in response.get_json()["error"]["message"]
    assert response.headers["X-Experience-API-Version"] == newest
    assert client.get("/xapi/about").headers["X-Experience-API-Version"] == newest


@pytest.mark.parametrize("enabled, disabled", [("1.0.3", "2.0.0"), ("2.0.0", "1.0.3"), ("2.0.0", "1.0.0")])
def test_a_request_for_a_disabled_version_is_refused_and_nothing_is_stored(make_app, enabled, disabled):
    app = make_app(xapi_versions=enabled)
    client = app.test_client()
    response = client.post("/xapi/statements", json=STATEMENT,
                           headers={"Authorization": basic_auth(), "X-Experience-API-Version": disabled})
    assert response.status_code == 400
    message = response.get_json()["error"]["message"]
    assert "X-Experience-API-Version" in message and disabled in message
    assert response.headers["X-Experience-API-Version"] == app.extensions["lrs"].settings["xapi_versions"][-1]
    assert app.extensions["lrs"].statement_store.collection.count_documents({}) == 0


@pytest.mark.parametrize("enabled, asked, listed", [
    ("1.0.3", None, ["1.0.3"]), ("2.0.0", None, ["2.0.0"]), ("1.0.3,2.0.0", None, ["1.0.3", "2.0.0"]),
    ("1.0.3,2.0.0", "1.0.3", ["1.0.3"]), ("2.0.0", "1.0.3", ["2.0.0"]), ("1.0.3", "2.0.0", ["1.0.3"]),
])
def test_about_lists_the_enabled_versions(make_app, enabled, asked, listed):
    client = make_app(xapi_versions=enabled).test_client()
    headers = {"X-Experience-API-Version": asked} if asked else {}
    assert client.get("/xapi/about", headers=headers).get_json()["version"] == listed


def test_an_enabled_version_works_as_before(make_app):
    client = make_app(xapi_versions="1.0.3").test_client()
    headers = {"Authorization": basic_auth(), "X-Experience-API-Version": "1.0.1"}
    stored = client.post("/xapi/statements", json=STATEMENT, headers=headers)
    assert stored.status_code == 200 and stored.headers["X-Experience-API-Version"] == "1.0.3"


@pytest.mark.parametrize("value", ["", " , ", "3.0.0", "1.1", "latest"])
def test_the_setting_names_the_variable_and_what_is_allowed(value):
    with pytest.raises(ValueError) as error:
        Settings.resolve(CORE_SETTINGS, environ={"LRS_XAPI_VERSIONS": value})
    assert str(error.value) == f"LRS_XAPI_VERSIONS={value!r}: must be one or more of 1.0.3, 2.0.0, separated by commas"


@pytest.mark.parametrize("query, fields", [
    ("method=PUT&statementId=1", [("content", "{}")]),  # another parameter in the query string
    ("method=PATCH", []),
    ("method=GET", [("limit", "1"), ("limit", "2")]),
    ("method=GET", [("If-Match", "*"), ("If-Match", "*")]),
])
def test_an_alternate_request_is_refused_in_the_version_its_form_names(make_app, query, fields):
    """Communication 3.3: the answer carries the version the request used, here a form field."""
    client = make_app(xapi_versions="1.0.3,2.0.0").test_client()
    form = urlencode([("Authorization", basic_auth()), ("X-Experience-API-Version", "1.0.3"), *fields])
    response = client.post(f"/xapi/statements?{query}", data=form,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 400
    assert response.headers["X-Experience-API-Version"] == "1.0.3"
