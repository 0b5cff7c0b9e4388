"""Browsers: CORS never lends a page the credentials a browser holds unless the operator trusts
that page's origin, and the alternate request syntax is xAPI's alone, answers errors a script
can read, and takes a page's credentials only from its form. Over real HTTP against a live server, sending what browsers send.
"""
from __future__ import annotations

import json
import uuid
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
    # a page reads why it was refused and when to come back, as a script outside a browser does
    exposed = {name.strip() for name in refused.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"WWW-Authenticate", "Retry-After", "X-Request-Id"} <= exposed


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


@pytest.mark.parametrize("path", ["/admin/credentials", "/admin/forwarding", "/console/sign-in",
                                  "/console/credentials", "/metrics"])
def test_no_origin_a_trusted_one_included_may_use_the_operators_surfaces(trusting_server: LiveServer,
                                                                        path: str) -> None:
    """A trusted page (an LMS with a flaw, any page of its site) must not read or act through the
    admin API with the Basic credentials an admin's browser remembers, nor read console pages
    (their CSRF tokens) with a session cookie SameSite=Strict still sends within the site: the
    preflight and the answer carry no CORS header, so the browser keeps the answer from the page."""
    for method in ("GET", "POST", "DELETE"):
        check = requests.options(trusting_server.url + path, timeout=TIMEOUT, headers={
            "Origin": TRUSTED, "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization,content-type,x-csrf-token"})
        assert not [name for name in check.headers if name.lower().startswith("access-control-")], (method, path)
    answer = requests.get(trusting_server.url + path, headers={"Origin": TRUSTED, "Authorization": basic_auth()},
                          timeout=TIMEOUT, allow_redirects=False)
    assert answer.status_code in (200, 303)
    assert not [name for name in answer.headers if name.lower().startswith("access-control-")], path
    assert "Origin" in answer.headers["Vary"]
    xapi = requests.get(trusting_server.url + "/xapi/statements", headers={**XAPI, "Origin": TRUSTED}, timeout=TIMEOUT)
    assert xapi.headers["Access-Control-Allow-Credentials"] == "true"  # what the origin is trusted with


@pytest.mark.parametrize("origins", ["*", TRUSTED, f"{TRUSTED},http://127.0.0.1:3000"])
def test_every_answer_tells_caches_that_it_depends_on_the_origin(make_app: Any, origins: str) -> None:
    """Whether CORS headers come, and which origin they name, depends on the request's Origin: a
    cache that kept one answer must not hand it to a request from another page, or from none."""
    with LiveServer(make_app(cors_origins=origins)) as server:
        answers = [preflight(server, TRUSTED), preflight(server, "https://evil.example")] + [
            requests.get(server.url + "/xapi/statements", headers={**XAPI, **origin}, timeout=TIMEOUT)
            for origin in ({"Origin": TRUSTED}, {"Origin": "https://evil.example"}, {})]
    assert [[value.strip() for value in answer.headers.get("Vary", "").split(",")].count("Origin")
            for answer in answers] == [1] * 5
    assert answers[2].headers["Access-Control-Allow-Origin"] == ("*" if origins == "*" else TRUSTED)


@pytest.mark.parametrize("value", ["null", "https://*.example.org", "lms.example.org", "https://a.example/path"])
def test_an_origin_setting_that_would_trust_unknown_pages_stops_the_start(make_app: Any, value: str) -> None:
    with pytest.raises(ValueError, match="LRS_CORS_ORIGINS"):
        make_app(cors_origins=value)


# -- the alternate request syntax --------------------------------------------------------------

def test_alternate_syntax_errors_carry_the_headers_a_browser_needs(trusting_server: LiveServer) -> None:
    live_server = trusting_server
    origin = {"Origin": TRUSTED}
    for query, body, message in (("method=PATCH", b"", "parameter 'method'"),
                                 ("method=PUT", b"content=%FF%FE&statementId=1", "must be UTF-8"),
                                 ("method=GET", "content=é".encode("latin-1"), "must be UTF-8")):
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
    # A parameter that ends in "method" on a plugin's route is the plugin's business: simple events
    # answers it itself (it takes no parameter), in its own format.
    lrs_key = "events-key:events-secret"
    live_server.server.app.extensions["lrs"].create_credential(*lrs_key.split(":"), ["simple_events"])
    response = requests.post(live_server.url + "/events?paymentmethod=card", timeout=TIMEOUT,
                             json={"event": "completed", "userId": "u1"},
                             headers={"Authorization": f"Bearer {lrs_key}"})
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "parameter 'paymentmethod': is not a parameter of this resource"
    response = requests.post(live_server.url + "/events", json={"event": "completed", "userId": "u1"},
                             headers={"Authorization": f"Bearer {lrs_key}"}, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    # And the xAPI resources still take it.
    form = urlencode({"Authorization": basic_auth(), "X-Experience-API-Version": "1.0.3", "limit": "1"})
    response = requests.post(live_server.url + "/xapi/statements?method=GET", data=form, headers=FORM, timeout=TIMEOUT)
    assert response.status_code == 200 and json.loads(response.text)["statements"]


STATEMENT = {"actor": {"mbox": "mailto:ada@example.com"}, "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
             "object": {"id": "http://example.com/activities/forged"}}
STATE = {"activityId": "http://example.com/activities/forged", "agent": json.dumps({"mbox": "mailto:ada@example.com"}),
         "stateId": "progress"}
# What a cross-site page's auto-submitted form makes a browser send after its user answered the
# LRS's login prompt once: the form's fields, the page's origin, and the Basic credentials it remembers.
FROM_A_PAGE = [{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, {"Origin": "null"},
               {"Sec-Fetch-Site": "cross-site"}]


def _alternate(server: LiveServer, path: str, method: str, fields: dict[str, str],
               headers: dict[str, str]) -> requests.Response:
    return requests.post(f"{server.url}/xapi/{path}?method={method}", timeout=TIMEOUT, headers={**FORM, **headers},
                         data=urlencode({"X-Experience-API-Version": "1.0.3", **fields}))


@pytest.mark.parametrize("page", FROM_A_PAGE)
def test_a_page_cannot_write_with_the_credentials_the_browser_remembers(live_server: LiveServer,
                                                                         page: dict[str, str]) -> None:
    statement_id = str(uuid.uuid4())
    remembered = {**page, "Authorization": basic_auth()}
    forged = _alternate(live_server, "statements", "PUT",
                        {"statementId": statement_id, "content": json.dumps(STATEMENT)}, remembered)
    assert forged.status_code == 403, forged.text
    assert "form field 'Authorization'" in forged.json()["error"]["message"]
    assert "WWW-Authenticate" not in forged.headers  # no login prompt, no retry with remembered credentials
    assert requests.put(f"{live_server.url}/xapi/activities/state", params=STATE, json={"done": 1},
                        headers=XAPI, timeout=TIMEOUT).status_code == 204
    assert _alternate(live_server, "activities/state", "DELETE", STATE, remembered).status_code == 403
    assert _alternate(live_server, "statements", "GET", {"limit": "1"}, remembered).status_code == 403
    assert requests.get(f"{live_server.url}/xapi/statements", params={"statementId": statement_id},
                        headers=XAPI, timeout=TIMEOUT).status_code == 404
    state = requests.get(f"{live_server.url}/xapi/activities/state", params=STATE, headers=XAPI, timeout=TIMEOUT)
    assert state.status_code == 200 and state.json() == {"done": 1}


def test_a_page_that_sends_its_own_credentials_and_other_clients_still_use_the_syntax(
        live_server: LiveServer) -> None:
    # TinCanJS and xAPIWrapper put Authorization in the form, whatever the browser adds as a header.
    page = {"Origin": "https://lms.example.org", "Authorization": basic_auth("someone", "else")}
    listed = _alternate(live_server, "statements", "POST",
                        {"Authorization": basic_auth(), "content": json.dumps(STATEMENT)}, page)
    assert listed.status_code == 200, listed.text
    # A client that is no browser page may send the header, as the ADL conformance suite does.
    read = _alternate(live_server, "statements", "GET", {"statementId": listed.json()[0]},
                      {"Authorization": basic_auth()})
    assert read.status_code == 200 and read.json()["id"] == listed.json()[0]


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                                          "text/plain"])
def test_a_page_cannot_use_the_admin_api_with_the_credentials_the_browser_remembers(
        make_app: Any, content_type: str) -> None:
    """A form (or a no-cors fetch) from any site, sent with the admin's remembered Basic credentials,
    must not revoke a credential, give it a new secret or replay dead letters."""
    app = make_app(plugins="forward_xapi", forward_xapi_targets=json.dumps(
        [{"name": "replica", "endpoint": "http://127.0.0.1:9/xapi"}]))
    app.extensions["lrs"].create_credential("lms", "lms-secret-123", ["statements/write"])
    remembered = {"Authorization": basic_auth(), "Origin": "https://evil.example", "Content-Type": content_type}
    with LiveServer(app) as server:
        for path in ("/admin/credentials/lms/revoke", "/admin/credentials/lms/secret",
                     "/admin/forwarding/replica/dead-letters/replay", "/admin/credentials"):
            forged = requests.post(server.url + path, data=b"", headers=remembered, timeout=TIMEOUT)
            assert forged.status_code == 400 and "application/json" in forged.json()["error"]["message"], path
        works = requests.post(f"{server.url}/xapi/statements", timeout=TIMEOUT, json=STATEMENT,
                              headers={"Authorization": basic_auth("lms", "lms-secret-123"),
                                       "X-Experience-API-Version": "1.0.3"})
        assert works.status_code == 200, "the credential is neither revoked nor given a new secret"
        revoked = requests.post(server.url + "/admin/credentials/lms/revoke", timeout=TIMEOUT,
                                headers={"Authorization": basic_auth()})
        assert revoked.status_code == 200  # the admin API's own clients send no body, or JSON
