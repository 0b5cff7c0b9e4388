"""POST /oauth/token (client credentials) and the Bearer tokens both Caliper endpoints accept."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from typing import Any
from urllib.parse import quote_plus

import pytest
import requests

from lrs_plugins.caliper.tokens import V1P2_EVENTS_WRITE
from tests.conftest import LiveServer, basic_auth
from tests.plugins.caliper_support import (
    CLIENT_ID,
    CLIENT_SECRET,
    EVENT_CREATE,
    SEED_002_EVENTS,
    SEED_003_XP,
    TIMEOUT,
    bearer,
    caliper_app,
    envelope,
    fill_placeholders,
    statement_count,
    token,
)


@pytest.fixture
def app(make_app: Any) -> Any:
    app = caliper_app(make_app, caliper_token_lifetime=900)
    app.extensions["lrs"].create_credential("xapi-only", "xapi-only-secret", ["statements/write"])
    return app


def post_envelope(client: Any, access_token: str) -> Any:
    return client.post("/caliper/event", json=envelope(SEED_002_EVENTS[0]), headers=bearer(access_token))


def post_event(client: Any, access_token: str) -> Any:
    return client.post("/events/1.0/", json=fill_placeholders(SEED_003_XP), headers=bearer(access_token))


def test_token_endpoint_over_http(live_server: LiveServer) -> None:
    form = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    response = requests.post(live_server.url + "/oauth/token", data=form, timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    assert body["scope"].split() == sorted([EVENT_CREATE, "events.write", V1P2_EVENTS_WRITE])
    assert len(body["access_token"]) >= 40


def test_the_seed_token_path_answers_too(client: Any) -> None:
    """seeds/002's token URL is its IdP's `/oauth2/token`; a client that keeps that path gets a token
    (it was a 404)."""
    form = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    response = client.post("/oauth2/token", data=form)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert post_envelope(client, response.get_json()["access_token"]).status_code == 200
    refused = client.post("/oauth2/token", data=dict(form, client_secret="wrong"))
    assert refused.status_code == 401 and refused.get_json()["error"] == "invalid_client"


def test_a_default_token_works_on_both_endpoints(client: Any) -> None:
    access = token(client)
    assert post_envelope(client, access).status_code == 200
    assert post_event(client, access).status_code == 202
    assert statement_count(client) == 2


def test_client_authentication_by_http_basic(client: Any) -> None:
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    response = client.post("/oauth/token", data={"grant_type": "client_credentials"},
                           headers={"Authorization": f"Basic {basic}"})
    assert response.status_code == 200
    assert post_event(client, response.get_json()["access_token"]).status_code == 202


def test_http_basic_credentials_form_encoded_or_not(make_app: Any) -> None:
    """RFC 6749 section 2.3.1: Basic carries the id and secret form-encoded; unencoded (as
    timeback-caliper sends them) works too. A working client of either kind never nears the
    failure limit, and a wrong secret counts one failure per request, not one per form."""
    app = caliper_app(make_app, auth_max_failures_per_key=2)
    app.extensions["lrs"].create_credential("odd+key", "ab+cd%2Fef:gh xyz", ["caliper/events.write"])
    client = app.test_client()

    def basic(key: str, secret: str) -> int:
        encoded = base64.b64encode(f"{key}:{secret}".encode()).decode()
        return client.post("/oauth/token", data={"grant_type": "client_credentials"},
                           headers={"Authorization": f"Basic {encoded}"}).status_code

    encoded = (quote_plus("odd+key"), quote_plus("ab+cd%2Fef:gh xyz"))
    assert [basic(*encoded), basic("odd+key", "ab+cd%2Fef:gh xyz")] * 3 == [200, 200] * 3
    assert [basic("odd+key", "wrong+one"), basic("odd+key", "wrong+one"), basic(*encoded)] == [401, 401, 200]
    assert basic("odd+key", "wrong+one") == 429
    assert [basic(CLIENT_ID, "wrong+one") for _ in range(3)] == [401, 401, 429]


def test_one_authentication_method_per_request(live_server: LiveServer, app: Any) -> None:
    """RFC 6749 section 2.3: HTTP Basic and a client_secret in the body together are refused, before
    any secret is checked; the body may still name the Basic client (requests-oauthlib's
    include_client_id=True), and an empty client_secret is no secret (section 2.3.1)."""
    url = live_server.url + "/oauth/token"

    def ask(**form: str) -> requests.Response:
        return requests.post(url, data={"grant_type": "client_credentials", **form}, auth=(CLIENT_ID, CLIENT_SECRET),
                             timeout=TIMEOUT)

    for form in ({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}, {"client_secret": "wrong"}):
        both = ask(**form)
        assert both.status_code == 400 and both.headers["Cache-Control"] == "no-store"
        assert both.json() == {"error": "invalid_request", "error_description": "the client authenticated both by "
                               "HTTP Basic and by client_secret in the body: a client must use one authentication "
                               "method per request (RFC 6749 section 2.3); send the secret in one of them only"}
    other = ask(client_id="xapi-only")
    assert other.status_code == 400 and other.json()["error"] == "invalid_request"
    assert other.json()["error_description"].startswith("client_id in the body is not the client of the HTTP Basic")
    assert [ask(client_id=CLIENT_ID).status_code, ask(client_id=CLIENT_ID, client_secret="").status_code] == [200, 200]
    assert app.extensions["lrs"].plugin_collection("caliper", "tokens").count_documents({}) == 2


def test_only_a_hash_of_the_token_is_stored(client: Any, app: Any) -> None:
    access = token(client)
    tokens = app.extensions["lrs"].plugin_collection("caliper", "tokens")
    document = tokens.find_one({})
    assert document["_id"] == hashlib.sha256(access.encode()).hexdigest()
    assert access not in json.dumps(document, default=str)
    assert document["client"] == CLIENT_ID


@pytest.mark.parametrize("form,status,error", [
    ({"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": "wrong"}, 401, "invalid_client"),
    ({"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x"}, 401, "invalid_client"),
    ({"grant_type": "client_credentials"}, 401, "invalid_client"),
    ({"grant_type": "password", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}, 400,
     "unsupported_grant_type"),
    ({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}, 400, "invalid_request"),
    ({"grant_type": "", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}, 400, "invalid_request"),
    ({"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
      "scope": "https://purl.imsglobal.org/spec/caliper/v1p1/scope/admin"}, 400, "invalid_scope"),
    ({"grant_type": "client_credentials", "client_id": "xapi-only", "client_secret": "xapi-only-secret"}, 400,
     "unauthorized_client"),
])
def test_token_refusals(client: Any, form: dict, status: int, error: str) -> None:
    response = client.post("/oauth/token", data=form)
    assert response.status_code == status
    assert response.get_json()["error"] == error
    assert response.get_json()["error_description"]


def test_a_repeated_parameter_is_refused(client: Any) -> None:
    """RFC 6749 section 3.2: parameters MUST NOT be included more than once."""
    body = f"grant_type=client_credentials&client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}&client_id=xapi-only"
    response = client.post("/oauth/token", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert response.get_json() == {"error": "invalid_request", "error_description":
                                   "parameter 'client_id' is given more than once: each may be given once (RFC 6749 "
                                   "section 3.2)"}
    assert client.application.extensions["lrs"].plugin_collection("caliper", "tokens").count_documents({}) == 0


def test_too_many_failed_secrets_is_an_oauth_error(make_app: Any) -> None:
    """The 429 after repeated failed secrets is an RFC 6749 section 5.2 body, with Retry-After."""
    client = caliper_app(make_app, auth_max_failures_per_key=2).test_client()
    wrong = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": "wrong"}
    assert [client.post("/oauth/token", data=wrong).status_code for _ in range(2)] == [401, 401]
    response = client.post("/oauth/token", data=wrong)
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert set(body) == {"error", "error_description"} and body["error"] == "invalid_client"
    assert body["error_description"].startswith("too many failed authentications for this key; retry in ")


def test_a_credential_without_a_caliper_scope_is_told_which_scope_it_needs(client: Any) -> None:
    response = client.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": "xapi-only",
                                                 "client_secret": "xapi-only-secret"})
    description = response.get_json()["error_description"]
    assert response.status_code == 400 and response.get_json()["error"] == "unauthorized_client"
    assert "no Caliper scope" in description and "caliper/events.write" in description and "nothing" not in description


def test_token_request_must_be_form_encoded(client: Any) -> None:
    response = client.post("/oauth/token", json={"grant_type": "client_credentials", "client_id": CLIENT_ID,
                                                 "client_secret": CLIENT_SECRET})
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"


def test_missing_scope_is_refused(client: Any) -> None:
    """On the Caliper 1.2 endpoint a token without the privilege to send there is a 401 (Caliper
    1.2 section 6.1: a MUST for an endpoint that answers anything but 2xx; it was a 403), with
    RFC 6750's insufficient_scope; the Events API keeps RFC 6750's 403."""
    events_only = token(client, scope="events.write")
    response = post_envelope(client, events_only)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="caliper", error="insufficient_scope"'
    assert response.get_json() == {"status": "error", "errors": [], "message":
                                   f"the token lacks the scope this endpoint needs ({EVENT_CREATE} or {V1P2_EVENTS_WRITE})"}
    assert post_event(client, events_only).status_code == 202
    create_only = token(client, scope=EVENT_CREATE)
    assert post_event(client, create_only).status_code == 403
    assert post_envelope(client, create_only).status_code == 200


def test_the_challenge_names_no_error_when_no_token_was_sent(client: Any) -> None:
    """RFC 6750 section 3.1: a request without authentication gets no error code in its challenge
    (every 401 said invalid_token)."""
    response = client.post("/caliper/event", json={})
    assert response.status_code == 401 and response.headers["WWW-Authenticate"] == 'Bearer realm="caliper"'
    response = client.post("/caliper/event", json={}, headers=bearer("not-a-token"))
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="caliper", error="invalid_token"'


def test_expired_token_is_refused(client: Any, app: Any) -> None:
    access = token(client)
    tokens = app.extensions["lrs"].plugin_collection("caliper", "tokens")
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
    tokens.update_one({"_id": hashlib.sha256(access.encode()).hexdigest()}, {"$set": {"expires_at": past}})
    for response in (post_envelope(client, access), post_event(client, access)):
        assert response.status_code == 401
        assert response.get_json()["message"].startswith("the Bearer token is unknown, expired or revoked")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert statement_count(client) == 0


def test_revoking_the_credential_revokes_its_tokens(client: Any, app: Any) -> None:
    access = token(client)
    app.extensions["lrs"].credentials.revoke(CLIENT_ID)
    assert post_event(client, access).status_code == 401


def test_losing_the_scope_ends_a_token_for_good(client: Any) -> None:
    """Giving the scope back does not revive a token; adding scopes or relabelling ends none."""
    access = token(client)

    def change(**fields: Any) -> None:
        response = client.patch(f"/admin/credentials/{CLIENT_ID}", json=fields, headers={"Authorization": basic_auth()})
        assert response.status_code == 200, response.get_json()

    change(scopes=["caliper/events.write", "statements/read"], label="renamed")
    assert post_event(client, access).status_code == 202
    change(scopes=["statements/read"])
    assert post_event(client, access).status_code == 401
    change(scopes=["caliper/events.write"])
    assert post_event(client, access).status_code == 401
    assert post_event(client, token(client)).status_code == 202


def test_a_token_got_right_after_a_scope_is_lost_works(client: Any) -> None:
    """Losses are counted, not timed: a token issued in the same millisecond as the change before
    it (stored times keep milliseconds) is the newer one all the same."""
    admin = {"Authorization": basic_auth()}
    for _ in range(30):  # each round had about one chance in three of sharing the millisecond
        for scopes in (["caliper/events.write", "statements/read"], ["caliper/events.write"]):
            client.patch(f"/admin/credentials/{CLIENT_ID}", json={"scopes": scopes}, headers=admin)
        assert post_envelope(client, token(client)).status_code == 200


def test_a_sensor_with_a_fixed_api_key_sends_without_asking_for_tokens(client: Any, app: Any) -> None:
    """caliper-python's `api_key` and caliper-js's Authorization header send one Bearer value for
    ever: the credential itself (`<key>:<secret>` or its base64), as the other adapters take it."""
    plain = f"{CLIENT_ID}:{CLIENT_SECRET}"
    encoded = base64.b64encode(plain.encode()).decode()
    for api_key in (plain, encoded):
        assert post_envelope(client, api_key).status_code == 200
        assert post_event(client, api_key).status_code == 202
        assert client.get("/caliper/event", headers=bearer(api_key)).status_code == 200
    assert statement_count(client) == 3  # the envelope's event once (the second time: already stored), two XP events
    wrong = post_envelope(client, f"{CLIENT_ID}:not-the-secret")
    assert wrong.status_code == 401 and "wrong secret" in wrong.get_json()["message"]
    assert wrong.headers["WWW-Authenticate"] == 'Bearer realm="caliper", error="invalid_token"'
    xapi_only = post_envelope(client, "xapi-only:xapi-only-secret")
    assert xapi_only.status_code == 401 and "insufficient_scope" in xapi_only.headers["WWW-Authenticate"]
    assert post_event(client, "xapi-only:xapi-only-secret").status_code == 403
    app.extensions["lrs"].credentials.revoke(CLIENT_ID)
    assert post_envelope(client, plain).status_code == 401 and post_event(client, encoded).status_code == 401
    assert statement_count(client) == 3


@pytest.mark.parametrize("authorization", [None, "Bearer", "Bearer not-a-token", f"Basic {CLIENT_ID}"])
def test_missing_or_unknown_token(client: Any, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    for path in ("/caliper/event", "/events/1.0/", "/events/1.0/heartbeat"):
        response = client.post(path, data="{}", headers=headers)
        assert response.status_code == 401
        assert response.get_json()["status"] == "error"
