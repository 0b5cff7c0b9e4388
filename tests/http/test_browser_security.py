"""Browsers: CORS never lends a page the credentials a browser holds unless the operator trusts
that page's origin, and the alternate request syntax is xAPI's alone and answers errors a
script can read. Over real HTTP against a live server, sending what browsers send.
"""
from __future__ import annotations

import json
from typing import Any, Iterator
from urllib.parse import urlencode

import pytest
import requests

from tests.conftest import LiveServer, basic_auth

XAPI = {"Authorization": basic_auth(), "X-Experience-API-Version": "1.0.3"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
TRUSTED = "https://lms.example.org"
TIMEOUT = 10
# What TinCanJS and xAPI.js ask for in their preflights.
CLIENT_HEADERS = "authorization,content-type,x-experience-api-version"


def preflight(server: LiveServer, origin: str, method: str = "PUT") -> requests.Response:
    return requests.options(server.url + "/xapi/statements", timeout=TIMEOUT, headers={
        "Origin": origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": CLIENT_HEADERS})


def allowed_headers(response: requests.Response) -> set[str]:
    return {h.strip().lower() for h in response.headers.get("Access-Control-Allow-Headers", "").split(",")}


@pytest.mark.parametrize("origin", ["https://evil.example", "null"])
def test_by_default_any_page_may_call_but_never_with_the_browsers_credentials(
        live_server: LiveServer, origin: str) -> None:
    check = preflight(live_server, origin)
    assert check.status_code == 204
    assert check.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in check.headers
    assert allowed_headers(check) >= set(CLIENT_HEADERS.split(","))  # `*` would not cover Authorization
    response = requests.get(live_server.url + "/xapi/statements", headers={**XAPI, "Origin": origin}, timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert "X-Experience-API-Consistent-Through" in response.headers["Access-Control-Expose-Headers"]
    refused = requests.get(live_server.url + "/xapi/statements", timeout=TIMEOUT,
                           headers={"Origin": origin, "X-Experience-API-Version": "1.0.3"})
    assert refused.status_code == 401 and "Access-Control-Allow-Credentials" not in refused.headers


@pytest.fixture
def trusting_server(make_app: Any) -> Iterator[LiveServer]:
    """An LRS whose operator trusts two origins, with plugins' routes beside the xAPI ones."""
    app = make_app(cors_origins=f"{TRUSTED},http://127.0.0.1:3000", plugins="simple_events,forward_xapi")
    with LiveServer(app) as server:
        yield server


def test_a_configured_origin_list_is_trusted_and_no_other_origin_is(trusting_server: LiveServer) -> None:
    live_server = trusting_server
    check = preflight(live_server, TRUSTED)
    assert check.headers["Access-Control-Allow-Origin"] == TRUSTED
    assert check.headers["Access-Control-Allow-Credentials"] == "true"
    assert allowed_headers(check) >= set(CLIENT_HEADERS.split(","))
    response = requests.get(live_server.url + "/xapi/statements", headers={**XAPI, "Origin": TRUSTED}, timeout=TIMEOUT)
    assert response.headers["Access-Control-Allow-Origin"] == TRUSTED and "Origin" in response.headers["Vary"]
    for origin in ("https://evil.example", "null", TRUSTED + ".evil.example"):
        for answer in (preflight(live_server, origin), requests.get(
                live_server.url + "/xapi/statements", headers={**XAPI, "Origin": origin}, timeout=TIMEOUT)):
            assert "Access-Control-Allow-Origin" not in answer.headers, origin
            assert "Access-Control-Allow-Credentials" not in answer.headers, origin


@pytest.mark.parametrize("value", ["null", "https://*.example.org", "lms.example.org", "https://a.example/path"])
def test_an_origin_setting_that_would_trust_unknown_pages_stops_the_start(make_app: Any, value: str) -> None:
    with pytest.raises(ValueError, match="LRS_CORS_ORIGINS"):
        make_app(cors_origins=value)


# -- the alternate request syntax --------------------------------------------------------------

def test_alternate_syntax_errors_carry_the_headers_a_browser_needs(trusting_server: LiveServer) -> None:
    live_server = trusting_server
    origin = {"Origin": TRUSTED}
    for query, body, message in (("method=PATCH", b"", "parameter 'method'"),
                                 ("method=PUT", b"content=%FF%FE&statementId=1", "not valid UTF-8"),
                                 ("method=GET", "content=é".encode("latin-1"), "not valid UTF-8")):
        response = requests.post(f"{live_server.url}/xapi/statements?{query}", data=body,
                                 headers={**FORM, **origin}, timeout=TIMEOUT)
        assert response.status_code == 400, response.text
        assert message in response.json()["error"]["message"]
        assert response.headers["Access-Control-Allow-Origin"] == TRUSTED
        assert response.headers["X-Experience-API-Version"]


def test_alternate_syntax_is_only_for_the_xapi_resources(trusting_server: LiveServer) -> None:
    live_server = trusting_server
    # A cross-site form POST cannot reach the admin API as a GET (with cached Basic credentials).
    form = urlencode({"Authorization": basic_auth(), "X-Experience-API-Version": "1.0.3"})
    response = requests.post(live_server.url + "/admin/forwarding?method=GET", data=form,
                             headers={**FORM, "Authorization": basic_auth()}, timeout=TIMEOUT)
    assert response.status_code == 405
    # A plugin's own parameter that ends in "method" is its business.
    lrs_key = "events-key:events-secret"
    live_server.server.app.extensions["lrs"].create_credential(*lrs_key.split(":"), ["simple_events"])
    response = requests.post(live_server.url + "/events?paymentmethod=card", timeout=TIMEOUT,
                             json={"event": "completed", "userId": "u1"},
                             headers={"Authorization": f"Bearer {lrs_key}"})
    assert response.status_code == 200, response.text
    # And the xAPI resources still take it.
    form = urlencode({"Authorization": basic_auth(), "X-Experience-API-Version": "1.0.3", "limit": "1"})
    response = requests.post(live_server.url + "/xapi/statements?method=GET", data=form, headers=FORM, timeout=TIMEOUT)
    assert response.status_code == 200 and json.loads(response.text)["statements"]
