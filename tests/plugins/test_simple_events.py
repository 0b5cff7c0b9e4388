"""The simple events adapter against a live server: seeds/000's requests and responses, field by field.

Every statement an event becomes is read back through /xapi/statements and checked as xAPI.
"""
from __future__ import annotations

import base64
import copy
import json
import uuid
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from lrs.cli import main as cli
from lrs.hooks import hookimpl
from lrs.xapi.validation import validate_statement
from tests.conftest import ADMIN_KEY, ADMIN_SECRET, LiveServer, basic_auth

KEY, SECRET = "oakwood-app", "s3cret-for-events"
TOKEN = f"{KEY}:{SECRET}"
PUBLIC_URL = "https://lrs.example.org"
BASE = PUBLIC_URL + "/simple-events"
ADL = "http://adlnet.gov/expapi/verbs/"

SEED_EVENT = {  # seeds/000, "Single Event", verbatim
    "event": "completed",
    "userId": "12345",
    "traits": {
        "role": "student",
        "schoolId": "sch_oak_123",
        "schoolName": "Oakwood Elementary",
        "schoolURN": "35672",
        "yearGroup": "2012",
        "classId": "C5",
        "className": "5B",
    },
    "timestamp": "2025-10-10T14:30:00Z",
}


class StoredSpy:
    """Records what the core reports as stored, as a forwarder would see it."""

    PLUGIN_NAME = "stored_spy"

    def __init__(self) -> None:
        self.calls: list[tuple[list[dict], str]] = []

    @hookimpl
    def lrs_statements_stored(self, statements: list[dict], source: str, lrs: Any) -> None:
        self.calls.append((statements, source))


@pytest.fixture
def spy() -> StoredSpy:
    return StoredSpy()


@pytest.fixture
def app(make_app: Any, spy: StoredSpy) -> Any:
    app = make_app(extra_plugins=(spy,), plugins="simple_events", public_url=PUBLIC_URL)
    lrs = app.extensions["lrs"]
    lrs.create_credential(KEY, SECRET, ["simple_events"], label="Oakwood app")
    lrs.create_credential("xapi-only", "xapi-secret", ["statements/write", "statements/read"])
    return app


def post(server: LiveServer, body: Any, token: str | None = TOKEN, path: str = "/events") -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(server.url + path, data=json.dumps(body), headers=headers, timeout=10)


def post_in_process(client: Any, body: Any, token: str | None = TOKEN) -> Any:
    """The same request through the Flask test client, for the many small rejection cases."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post("/events", data=json.dumps(body), headers=headers)


def read_back(server: LiveServer, user_id: str) -> list[dict]:
    """The user's statements through the standard xAPI resource, oldest first."""
    agent = json.dumps({"account": {"homePage": PUBLIC_URL, "name": user_id}})
    response = requests.get(server.url + "/xapi/statements", params={"agent": agent, "ascending": "true"},
                            headers={"Authorization": basic_auth(), "X-Experience-API-Version": "1.0.3"},
                            timeout=10)
    assert response.status_code == 200, response.text
    statements = response.json()["statements"]
    for statement in statements:
        validate_statement(statement, "1.0.3", "statement")
    return statements


def json_of(response: Any) -> Any:
    """The JSON body of a `requests` response or of a Flask test response."""
    return response.json() if callable(response.json) else response.json


def assert_request_id(response: Any) -> None:
    request_id = json_of(response)["request_id"]
    assert str(uuid.UUID(request_id)) == request_id
    assert response.headers["X-Request-Id"] == request_id


def stored_count(server_app: Any) -> int:
    return server_app.extensions["lrs"].statement_store.collection.count_documents({})


# -- seeds/000 request examples --------------------------------------------------------------------

def test_the_single_event_of_the_seed_becomes_one_statement(live_server: LiveServer) -> None:
    response = post(live_server, SEED_EVENT)
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == ["success", "statements_created", "request_id"]
    assert body["success"] is True and body["statements_created"] == 1
    assert_request_id(response)

    [statement] = read_back(live_server, "12345")
    assert statement["actor"] == {"objectType": "Agent", "account": {"homePage": PUBLIC_URL, "name": "12345"}}
    assert statement["verb"] == {"id": ADL + "completed", "display": {"en-US": "completed"}}
    assert statement["object"]["id"] == BASE + "/platform"  # no activityId: the platform was completed
    assert statement["timestamp"].startswith("2025-10-10T14:30:00")
    context = statement["context"]
    assert context["platform"] == "simple events"
    assert context["contextActivities"]["grouping"] == [
        {"objectType": "Activity", "id": BASE + "/schools/sch_oak_123",
         "definition": {"name": {"en-US": "Oakwood Elementary"}}},
        {"objectType": "Activity", "id": BASE + "/schools/sch_oak_123/classes/C5",
         "definition": {"name": {"en-US": "5B"}}},
    ]
    assert context["extensions"] == {
        BASE + "/traits/role": "student",
        BASE + "/traits/schoolURN": "35672",
        BASE + "/traits/yearGroup": "2012",
        BASE + "/extensions/event": SEED_EVENT,
    }
    assert statement["authority"]["account"] == {"homePage": PUBLIC_URL, "name": KEY}


def test_an_array_of_events_maps_each_verb_and_its_optional_property(live_server: LiveServer) -> None:
    events = [
        {"event": "answered", "userId": "u1", "properties": {"questionId": "q 7"}},
        {"event": "launched", "userId": "u1", "properties": {"activityId": "fractions"}},
        {"event": "completed", "userId": "u1", "properties": {"activityId": "fractions"}},
        {"event": "experienced", "userId": "u1", "properties": {"contentId": "video-3"}},
        {"event": "loggedin", "userId": "u1", "traits": {"role": "teacher", "classId": "5B"}},
        {"event": "loggedout", "userId": "u1"},
    ]
    response = post(live_server, events)
    assert response.status_code == 200, response.text
    assert response.json()["statements_created"] == 6
    statements = read_back(live_server, "u1")
    assert [(s["verb"]["id"], s["object"]["id"]) for s in statements] == [
        (ADL + "answered", BASE + "/questions/q%207"),
        (ADL + "launched", BASE + "/activities/fractions"),
        (ADL + "completed", BASE + "/activities/fractions"),
        (ADL + "experienced", BASE + "/content/video-3"),
        ("https://w3id.org/xapi/adl/verbs/logged-in", BASE + "/platform"),
        ("https://w3id.org/xapi/adl/verbs/logged-out", BASE + "/platform"),
    ]
    assert statements[0]["object"]["definition"]["type"] == "http://adlnet.gov/expapi/activities/question"
    assert statements[4]["verb"]["display"] == {"en-US": "logged in"}
    assert statements[4]["context"]["contextActivities"]["grouping"] == [
        {"objectType": "Activity", "id": BASE + "/classes/5B"}]
    assert [s["context"]["extensions"][BASE + "/extensions/event"] for s in statements] == events


def test_stored_events_reach_the_stored_hook_like_any_statement(live_server: LiveServer, spy: StoredSpy) -> None:
    post(live_server, [SEED_EVENT, SEED_EVENT])
    [(statements, source)] = spy.calls
    assert source == "simple_events" and len(statements) == 2
    assert {s["id"] for s in statements} == {s["id"] for s in read_back(live_server, "12345")}


def test_the_token_may_also_be_base64_of_key_and_secret(live_server: LiveServer) -> None:
    token = base64.b64encode(TOKEN.encode()).decode()
    assert post(live_server, SEED_EVENT, token=token).status_code == 200


# -- bad input: seeds/000's error format -------------------------------------------------------------

def assert_rejected(response: Any, status: int, errors: list[dict]) -> dict:
    assert response.status_code == status, response.text
    body = json_of(response)
    assert list(body) == ["error", "request_id", "validation_errors"]
    assert isinstance(body["error"], str) and body["error"]
    assert_request_id(response)
    assert body["validation_errors"] == errors
    return body


def without(event: dict, name: str) -> dict:
    return {key: value for key, value in event.items() if key != name}


def test_missing_user_id_is_the_seed_error(live_server: LiveServer) -> None:
    assert_rejected(post(live_server, without(SEED_EVENT, "userId")), 400,
                    [{"index": 0, "field": "userId", "message": "userId is required"}])


def test_an_unknown_event_name_is_rejected_by_default(client: Any) -> None:
    body = assert_rejected(post_in_process(client, {**SEED_EVENT, "event": "viewed"}), 400, [
        {"index": 0, "field": "event", "message": "unknown event 'viewed'; known events: answered, launched, "
                                                  "completed, experienced, loggedin, loggedout"}])
    assert "nothing was stored" in body["error"]


@pytest.mark.parametrize("change, field, message", [
    ({"userId": 12345}, "userId", "userId must be a string"),
    ({"userId": ""}, "userId", "userId must not be empty or white space"),
    ({"userId": " \t"}, "userId", "userId must not be empty or white space"),
    ({"event": " "}, "event", "event must not be empty or white space"),
    ({"traits": {"schoolId": "  "}}, "traits.schoolId", "traits.schoolId must be a non-empty string, not white space"),
    ({"event": ["completed"]}, "event", "event must be a string"),
    ({"traits": "student"}, "traits", "traits must be an object"),
    ({"properties": ["q1"]}, "properties", "properties must be an object"),
    ({"timestamp": 1760106600}, "timestamp", "timestamp must be a string"),
    ({"traits": {"role": 3}}, "traits.role", "traits.role must be a non-empty string, not white space"),
    ({"properties": {"activityId": {"$gt": ""}}}, "properties.activityId",
     "properties.activityId must be a non-empty string, not white space"),
])
def test_wrong_types_name_the_field(client: Any, change: dict, field: str, message: str) -> None:
    assert_rejected(post_in_process(client, {**SEED_EVENT, **change}), 400,
                    [{"index": 0, "field": field, "message": message}])


@pytest.mark.parametrize("body, index", [({"x": "[" * 99 + "]" * 99}, 0), ({"x": "[" * 98 + "]" * 98}, 0),
                                         ({"traits": '{"a": %s}' % ("[" * 98 + "]" * 98)}, 0),
                                         ({"x": "[" * 98 + "]" * 98, "array": True}, 1)])
def test_an_event_nested_too_deep_to_keep_whole_names_the_clients_own_field(client: Any, app: Any, body: dict,
                                                                            index: int) -> None:
    """The event is kept whole 3 levels down its statement: 97 levels below the event are the limit."""
    [(field, value)] = [(name, text) for name, text in body.items() if name != "array"]
    event = json.dumps({"event": "completed", "userId": "u"})[:-1] + f', "{field}": {value}}}'
    text = f"[{json.dumps(SEED_EVENT)}, {event}]" if body.get("array") else event
    response = client.post("/events", data=text, headers={"Authorization": f"Bearer {TOKEN}"})
    assert_rejected(response, 400, [{"index": index, "field": field, "message": f"{field} is nested deeper than 97 "
                                     "levels below the event (the event is kept whole 3 levels down its statement, "
                                     "and statements nest at most 100)"}])
    assert stored_count(app) == 0
    deepest = json.loads("[" * 97 + "]" * 97)
    assert post_in_process(client, {"event": "completed", "userId": "u", "x": deepest}).status_code == 200


def test_a_timestamp_the_core_refuses_is_reported_on_the_timestamp_field(client: Any) -> None:
    response = post_in_process(client, [SEED_EVENT, {**SEED_EVENT, "timestamp": "yesterday"}])
    assert response.status_code == 400, response.text
    [error] = response.json["validation_errors"]
    assert error["index"] == 1 and error["field"] == "timestamp" and "statement[1].timestamp" in error["message"]


def test_a_timestamp_without_a_time_zone_is_read_as_utc(live_server: LiveServer) -> None:
    user = f"user-{uuid.uuid4()}"
    response = post(live_server, {**SEED_EVENT, "userId": user, "timestamp": "2025-10-10T14:30:00"})
    assert response.status_code == 200, response.text
    assert [statement["timestamp"] for statement in read_back(live_server, user)] == ["2025-10-10T14:30:00.000Z"]


def test_one_bad_event_in_an_array_stores_nothing(live_server: LiveServer, app: Any) -> None:
    before = stored_count(app)
    events = [SEED_EVENT, SEED_EVENT, without(SEED_EVENT, "event"), "completed", SEED_EVENT]
    assert_rejected(post(live_server, events), 400, [
        {"index": 2, "field": "event", "message": "event is required"},
        {"index": 3, "field": "", "message": "an event must be a JSON object"},
    ])
    assert stored_count(app) == before
    assert read_back(live_server, "12345") == []


def test_malformed_json_is_a_400_in_the_same_format(client: Any) -> None:
    response = client.post("/events", data=b'{"event": "completed",', headers={"Authorization": f"Bearer {TOKEN}"})
    body = assert_rejected(response, 400, [])
    assert "malformed JSON" in body["error"]


def test_no_api_key_is_401(live_server: LiveServer) -> None:
    response = post(live_server, SEED_EVENT, token=None)
    assert_rejected(response, 401, [])
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("token", [f"{KEY}:wrong-secret", "nobody:nothing", "not-base64!", ":", f"{KEY}:"])
def test_a_wrong_api_key_is_401(client: Any, app: Any, token: str) -> None:
    before = stored_count(app)
    response = post_in_process(client, SEED_EVENT, token=token)
    assert_rejected(response, 401, [])
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert stored_count(app) == before


def test_basic_auth_is_not_an_api_key(client: Any) -> None:
    response = client.post("/events", json=SEED_EVENT, headers={"Authorization": basic_auth(KEY, SECRET)})
    assert_rejected(response, 401, [])


@pytest.mark.parametrize("token", ["xapi-only:xapi-secret", "test-admin:test-admin-secret"])
def test_a_credential_without_the_adapter_scope_is_403(client: Any, token: str) -> None:
    body = assert_rejected(post_in_process(client, SEED_EVENT, token=token), 403, [])
    assert "simple_events" in body["error"]


def test_an_internal_error_is_a_500_in_the_same_format(client: Any, app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_store(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(app.extensions["lrs"].statements, "store", broken_store)
    body = assert_rejected(post_in_process(client, SEED_EVENT), 500, [])
    assert "the database went away" not in body["error"]


def test_a_revoked_key_is_401_at_once(client: Any, app: Any) -> None:
    assert post_in_process(client, SEED_EVENT).status_code == 200
    app.extensions["lrs"].credentials.revoke(KEY)
    assert_rejected(post_in_process(client, SEED_EVENT), 401, [])


def test_an_api_key_cannot_use_the_xapi_resource(client: Any) -> None:
    response = client.get("/xapi/statements", headers={
        "Authorization": basic_auth(KEY, SECRET), "X-Experience-API-Version": "1.0.3"})
    assert response.status_code == 403


# -- configuration -------------------------------------------------------------------------------------

def test_unknown_events_can_be_accepted_with_a_minted_verb(make_app: Any) -> None:
    app = make_app(plugins="simple_events", public_url=PUBLIC_URL, simple_events_unknown_events="accept",
                   simple_events_path="/v1/track", simple_events_home_page="https://school.example")
    app.extensions["lrs"].create_credential(KEY, SECRET, ["simple_events"])
    client = app.test_client()
    event = {"event": "bookmarked", "userId": "u9", "properties": {"contentId": "c1"}}
    assert client.post("/events", json=event).status_code == 404
    response = client.post("/v1/track", json=event, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    document = app.extensions["lrs"].statement_store.collection.find_one({"source": "simple_events"})
    statement = json.loads(document["raw"])
    assert statement["verb"] == {"id": BASE + "/verbs/bookmarked", "display": {"en-US": "bookmarked"}}
    assert statement["actor"]["account"] == {"homePage": "https://school.example", "name": "u9"}


def test_the_path_can_be_the_root_like_the_seeds_endpoint(make_app: Any) -> None:
    app = make_app(plugins="simple_events", simple_events_path="/")
    app.extensions["lrs"].create_credential(KEY, SECRET, ["simple_events"])
    response = app.test_client().post("/", json=SEED_EVENT, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200 and response.json["statements_created"] == 1


def test_a_body_over_the_size_limit_is_413_in_the_seeds_format(make_app: Any) -> None:
    app = make_app(plugins="simple_events", max_body_bytes=1000)
    app.extensions["lrs"].create_credential(KEY, SECRET, ["simple_events"])
    response = app.test_client().post("/events", json=[SEED_EVENT] * 10, headers={"Authorization": f"Bearer {TOKEN}"})
    assert_rejected(response, 413, [])
    assert app.extensions["lrs"].statement_store.collection.count_documents({}) == 0


@pytest.mark.parametrize("event", [SEED_EVENT, without(SEED_EVENT, "userId")])
def test_more_events_than_a_request_may_carry_is_413_whatever_they_hold(make_app: Any, event: dict) -> None:
    """The count is checked first: a batch of bad events too is a 413, not a 400 listing each fault."""
    app = make_app(plugins="simple_events", max_statements_per_request=3)
    app.extensions["lrs"].create_credential(KEY, SECRET, ["simple_events"])
    client = app.test_client()
    assert_rejected(post_in_process(client, [event] * 4), 413, [])
    assert app.extensions["lrs"].statement_store.collection.count_documents({}) == 0
    assert post_in_process(client, [SEED_EVENT] * 3).json["statements_created"] == 3


def test_the_adapter_adds_no_route_unless_enabled(make_app: Any) -> None:
    assert make_app().test_client().post("/events", json=SEED_EVENT).status_code == 404


def test_bad_settings_are_refused_at_start(make_app: Any) -> None:
    with pytest.raises(ValueError, match="LRS_SIMPLE_EVENTS_UNKNOWN_EVENTS"):
        make_app(plugins="simple_events", simple_events_unknown_events="ignore")


def test_the_cli_issues_api_keys_with_the_adapter_scope(make_app: Any) -> None:
    with LiveServer(make_app(plugins="simple_events")) as server:
        result = CliRunner().invoke(cli, ["credentials", "create", "--scope", "simple_events", "--label", "app",
                                          "--url", server.url, "--admin-key", ADMIN_KEY, "--admin-secret", ADMIN_SECRET])
        assert result.exit_code == 0, result.output
        issued = json.loads(result.stdout)
        assert issued["scopes"] == ["simple_events"] and issued["key"] and issued["secret"]
        response = post(server, SEED_EVENT, token=f"{issued['key']}:{issued['secret']}")
        assert response.status_code == 200, response.text


def test_a_null_trait_is_absent(client: Any) -> None:
    event = {**SEED_EVENT, "traits": {"role": None, "yearGroup": "2012", "house": None, "schoolId": None}}
    assert post_in_process(client, event).status_code == 200
    response = client.get("/xapi/statements", headers={"Authorization": basic_auth(), "X-Experience-API-Version": "1.0.3"})
    [statement] = response.json["statements"]
    assert statement["context"]["extensions"] == {BASE + "/traits/yearGroup": "2012", BASE + "/extensions/event": event}


def test_the_original_event_is_kept_even_when_traits_are_unusual(live_server: LiveServer) -> None:
    event = copy.deepcopy(SEED_EVENT)
    event["traits"]["favourite.colour"] = {"$set": "blue"}
    event["messageId"] = "m-1"
    assert post(live_server, event).status_code == 200
    [statement] = read_back(live_server, "12345")
    assert statement["context"]["extensions"][BASE + "/traits/favourite.colour"] == {"$set": "blue"}
    assert statement["context"]["extensions"][BASE + "/extensions/event"] == event


@pytest.mark.parametrize(("query", "message"), [
    ("foo=1&foo=2", "parameter 'foo': is not a parameter of this resource"),
    ("userId=12345", "parameter 'userId': is not a parameter of this resource"),
    ("a=1&b=2", "parameter 'a': is not a parameter of this resource; "
                "parameter 'b': is not a parameter of this resource"),
])
def test_a_query_parameter_is_a_400_naming_it_and_nothing_is_stored(client: Any, app: Any, query: str,
                                                                     message: str) -> None:
    """POST /events takes no parameter (seeds/000): a misspelt option is not silently dropped."""
    before = stored_count(app)
    response = client.post(f"/events?{query}", json=SEED_EVENT, headers={"Authorization": f"Bearer {TOKEN}"})
    assert assert_rejected(response, 400, [])["error"] == message
    assert stored_count(app) == before
    assert client.post(f"/events?{query}", json=SEED_EVENT).status_code == 401  # who asks comes first


@pytest.mark.parametrize(("authorization", "message"), [
    (None, "an API key is required: Authorization: Bearer <key>:<secret>"),
    (basic_auth(KEY, SECRET), "the Authorization header must use the Bearer scheme: Authorization: Bearer <key>:<secret>"),
    ("Bearer nope", "malformed API key: the Bearer token must be <key>:<secret> (both non-empty) or the base64 of "
                    "that text"),
    (f"Bearer {KEY}:", "malformed API key: the Bearer token must be <key>:<secret> (both non-empty) or the base64 of "
                       "that text"),
    ("Bearer nobody:nothing", "unknown API key or wrong secret, or the key was revoked"),
])
def test_a_401_says_what_is_wrong_with_the_authorization_sent(client: Any, authorization: str | None,
                                                              message: str) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    assert assert_rejected(client.post("/events", json=SEED_EVENT, headers=headers), 401, [])["error"] == message
