"""The H5P adapter's statement API against a live server: every request example of seeds/001,
response shapes checked field by field, statements read back through /xapi/statements as xAPI.
"""
from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import requests

from lrs.xapi.validation import validate_statement
from tests.conftest import LiveServer, basic_auth

BASE = "https://creatiq.app"
ADL = "http://adlnet.gov/expapi/verbs/"
LEARNER = "user-uuid-here"
LEARNER_TOKEN = f"{LEARNER}:learner-secret"
OTHER_TOKEN = "learner-2:other-secret"
TEACHER_TOKEN = "teacher-1:teacher-secret"

SEED_STATEMENT = {  # seeds/001, "Statement Format", verbatim
    "id": "550e8400-e29b-41d4-a716-446655440000",
    "actor": {"objectType": "Agent", "account": {"homePage": "https://creatiq.app", "name": "user-uuid-here"}},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"en-US": "completed"}},
    "object": {"objectType": "Activity", "id": "https://creatiq.app/h5p/content/content-id-here",
               "definition": {"type": "http://adlnet.gov/expapi/activities/assessment"}},
    "result": {"score": {"scaled": 0.85, "raw": 17, "max": 20}, "success": True, "completion": True,
               "duration": "PT120S", "response": "answer-data"},
    "context": {"platform": "EduAgentic H5P", "language": "en"},
    "timestamp": "2026-03-25T10:30:00.000Z",
    "version": "1.0.3",
}
SEED_EVENT = {  # seeds/001, "Store H5P Event (Simplified)", verbatim
    "contentId": "abc123",
    "verb": "completed",
    "score": {"scaled": 0.85, "raw": 17, "max": 20},
    "success": True,
    "completion": True,
    "duration": 120,
    "response": "answer-data",
}


@pytest.fixture
def app(make_app: Any) -> Any:
    app = make_app(plugins="h5p", h5p_base_url=BASE)
    lrs = app.extensions["lrs"]
    for token, scopes in ((LEARNER_TOKEN, ["h5p"]), (OTHER_TOKEN, ["h5p"]), (TEACHER_TOKEN, ["h5p/read"])):
        key, secret = token.split(":")
        lrs.create_credential(key, secret, scopes)
    return app


def call(server: LiveServer, method: str, path: str, token: str | None = LEARNER_TOKEN,
         **kwargs: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.request(method, server.url + "/api/xapi" + path, headers=headers, timeout=10, **kwargs)


def call_in_process(client: Any, method: str, path: str, token: str | None = LEARNER_TOKEN, **kwargs: Any) -> Any:
    """The same request through the Flask test client, for the many small rejection cases."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.open("/api/xapi" + path, method=method, headers=headers, **kwargs)


def json_of(response: Any) -> Any:
    """The JSON body of a `requests` response or of a Flask test response."""
    return response.json() if callable(response.json) else response.json


def ok_data(response: requests.Response) -> Any:
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == ["success", "data"] and body["success"] is True
    return body["data"]


def xapi_get(server: LiveServer, **params: str) -> Any:
    response = requests.get(server.url + "/xapi/statements", params=params, timeout=10,
                            headers={"Authorization": basic_auth(), "X-Experience-API-Version": "1.0.3"})
    assert response.status_code == 200, response.text
    return response.json()


def read_back(server: LiveServer, statement_id: str) -> dict:
    statement = xapi_get(server, statementId=statement_id)
    validate_statement(statement, "1.0.3", "statement")
    return statement


def failure(response: Any, status: int) -> dict:
    assert response.status_code == status, response.text
    body = json_of(response)
    assert list(body) == ["success", "error", "details"] and body["success"] is False and body["error"]
    return body


# -- POST /statements --------------------------------------------------------------------------------

def test_the_seed_statement_is_stored_as_sent(live_server: LiveServer) -> None:
    data = ok_data(call(live_server, "POST", "/statements", json=SEED_STATEMENT))
    assert data == {"ids": [SEED_STATEMENT["id"]]}
    statement = read_back(live_server, SEED_STATEMENT["id"])
    for name in ("actor", "verb", "object", "result", "context"):
        assert statement[name] == SEED_STATEMENT[name], name
    assert statement["timestamp"].startswith("2026-03-25T10:30:00")
    assert statement["authority"]["account"]["name"] == LEARNER


def test_an_array_gets_ids_in_order_and_the_actor_from_the_session(live_server: LiveServer) -> None:
    second = copy.deepcopy(SEED_STATEMENT)
    del second["id"]
    second["actor"] = {"mbox": "mailto:someone-else@example.com"}
    [first_id, second_id] = ok_data(call(live_server, "POST", "/statements", json=[SEED_STATEMENT, second]))["ids"]
    assert first_id == SEED_STATEMENT["id"]
    statement = read_back(live_server, second_id)
    assert statement["actor"] == SEED_STATEMENT["actor"]  # enriched from the authenticated user
    assert statement["context"]["extensions"] == {
        BASE + "/h5p/extensions/submitted-actor": {"mbox": "mailto:someone-else@example.com"}}


def test_a_statement_without_actor_is_the_callers(live_server: LiveServer) -> None:
    statement = {key: value for key, value in SEED_STATEMENT.items() if key not in ("id", "actor")}
    [statement_id] = ok_data(call(live_server, "POST", "/statements", json=statement, token=OTHER_TOKEN))["ids"]
    stored = read_back(live_server, statement_id)
    assert stored["actor"]["account"] == {"homePage": BASE, "name": "learner-2"}
    assert "extensions" not in stored["context"]
    assert stored["version"] == "1.0.3"  # seeds/001's statement format, when the statement names none


def test_a_null_actor_or_id_is_absent(live_server: LiveServer) -> None:
    statement = {**SEED_STATEMENT, "id": None, "actor": None}
    [statement_id] = ok_data(call(live_server, "POST", "/statements", json=statement))["ids"]
    stored = read_back(live_server, statement_id)
    assert stored["actor"] == SEED_STATEMENT["actor"] and stored["context"] == SEED_STATEMENT["context"]


@pytest.mark.parametrize("context, field", [(None, "context"), ({"extensions": None}, "context.extensions"),
                                            ({"extensions": []}, "context.extensions"), ("en", "context")])
def test_a_bad_context_is_named_even_when_another_actor_is_kept(client: Any, app: Any, context: Any,
                                                                  field: str) -> None:
    """The submitted actor goes into context.extensions; a context that is no object is not replaced."""
    statement = {**SEED_STATEMENT, "actor": {"mbox": "mailto:someone-else@example.com"}, "context": context}
    body = failure(call_in_process(client, "POST", "/statements", json=statement), 400)
    assert [(detail["index"], detail["field"]) for detail in body["details"]] == [(0, field)]
    assert app.extensions["lrs"].statement_store.collection.count_documents({}) == 0


def test_a_posted_statements_empty_score_range_is_dropped(live_server: LiveServer) -> None:
    """What the H5P player sends for content without scoring (H5P's setScoredResult with max 0)."""
    unscored = {**SEED_STATEMENT, "result": {"score": {"min": 0, "max": 0, "raw": 0}, "completion": True}}
    [statement_id] = ok_data(call(live_server, "POST", "/statements", json=unscored))["ids"]
    assert read_back(live_server, statement_id)["result"] == {"score": {"raw": 0}, "completion": True}


def test_a_sub_statements_empty_score_range_is_dropped(live_server: LiveServer) -> None:
    """A statement about a statement (object.objectType "SubStatement") carries the sub-statement's
    result too; content without scoring sends min = max there as well."""
    unscored = {"score": {"min": 0, "max": 0, "raw": 0}, "completion": True}
    inner = {key: SEED_STATEMENT[key] for key in ("actor", "verb", "object")}
    statement = {"actor": SEED_STATEMENT["actor"], "verb": SEED_STATEMENT["verb"], "result": unscored,
                 "object": {"objectType": "SubStatement", **inner, "result": unscored}}
    [statement_id] = ok_data(call(live_server, "POST", "/statements", json=statement))["ids"]
    stored = read_back(live_server, statement_id)
    assert stored["object"]["result"] == stored["result"] == {"score": {"raw": 0}, "completion": True}
    assert {key: stored["object"][key] for key in inner} == inner


def _versions_app(make_app: Any, versions: str) -> Any:
    app = make_app(plugins="h5p", h5p_base_url=BASE, xapi_versions=versions)
    app.extensions["lrs"].create_credential(LEARNER, LEARNER_TOKEN.split(":")[1], ["h5p"])
    return app


V2_STATEMENT = {**SEED_STATEMENT, "id": "950e8400-e29b-41d4-a716-446655440004", "version": "2.0.0",
                "context": {"platform": "EduAgentic H5P", "language": "en", "contextAgents": [
                    {"objectType": "contextAgent", "agent": {"mbox": "mailto:teacher@example.com"}}]}}


@pytest.mark.parametrize("versions", ["2.0.0", "1.0.3,2.0.0"])
def test_a_2_0_statement_is_stored_when_the_lrs_serves_2_0(make_app: Any, versions: str) -> None:
    client = _versions_app(make_app, versions).test_client()
    response = call_in_process(client, "POST", "/statements", json=V2_STATEMENT)
    assert response.status_code == 200, response.get_data(as_text=True)
    stored = client.get("/xapi/statements", query_string={"statementId": V2_STATEMENT["id"]},
                        headers={"Authorization": basic_auth(), "X-Experience-API-Version": "2.0.0"}).get_json()
    assert stored["version"] == "2.0.0" and stored["context"] == V2_STATEMENT["context"]
    # without a version a statement is seeds/001's xAPI 1.0.3, which has no contextAgents
    unversioned = {key: value for key, value in V2_STATEMENT.items() if key not in ("id", "version")}
    body = failure(call_in_process(client, "POST", "/statements", json=unversioned), 400)
    assert [detail["field"] for detail in body["details"]] == ["context.contextAgents"]


def test_a_2_0_statement_is_refused_when_the_lrs_serves_1_0_3_only(make_app: Any) -> None:
    client = _versions_app(make_app, "1.0.3").test_client()
    body = failure(call_in_process(client, "POST", "/statements", json=V2_STATEMENT), 400)
    assert [(detail["field"], detail["message"]) for detail in body["details"]] == [
        ("version", "xAPI 2.0 statements are not accepted: this LRS serves xAPI 1.0.3 only (LRS_XAPI_VERSIONS)")]


def test_a_batch_mixing_1_0_and_2_0_statements_is_refused_whole(make_app: Any) -> None:
    app = _versions_app(make_app, "1.0.3,2.0.0")
    body = failure(call_in_process(app.test_client(), "POST", "/statements", json=[SEED_STATEMENT, V2_STATEMENT]), 400)
    [detail] = body["details"]
    assert (detail["index"], detail["field"]) == (1, "version") and detail["message"].startswith("must be 1.0.x")
    assert app.extensions["lrs"].statement_store.collection.count_documents({}) == 0


def test_duplicate_ids_are_silently_ignored(live_server: LiveServer, app: Any) -> None:
    ok_data(call(live_server, "POST", "/statements", json=SEED_STATEMENT))
    collection = app.extensions["lrs"].statement_store.collection
    before = collection.find_one({"_id": SEED_STATEMENT["id"]})["raw"]
    changed = {**SEED_STATEMENT, "result": {"score": {"scaled": 0.1}}}
    fresh = {**SEED_STATEMENT, "id": "650e8400-e29b-41d4-a716-446655440001"}
    data = ok_data(call(live_server, "POST", "/statements", json=[changed, fresh, SEED_STATEMENT]))
    assert data == {"ids": [SEED_STATEMENT["id"], fresh["id"], SEED_STATEMENT["id"]]}
    assert collection.find_one({"_id": SEED_STATEMENT["id"]})["raw"] == before
    assert collection.count_documents({}) == 2


def test_an_invalid_statement_in_a_batch_stores_nothing(live_server: LiveServer, app: Any) -> None:
    bad = {**SEED_STATEMENT, "id": "750e8400-e29b-41d4-a716-446655440002", "verb": {"id": "completed"}}
    body = failure(call(live_server, "POST", "/statements", json=[SEED_STATEMENT, bad]), 400)
    [detail] = body["details"]
    assert detail["index"] == 1 and detail["field"].startswith("verb")
    assert app.extensions["lrs"].statement_store.collection.count_documents({}) == 0


def test_the_seeds_server_side_forwarding_example_works_against_the_native_resource(live_server: LiveServer) -> None:
    """seeds/001 forwards each statement with Basic auth to `<lrs>/xapi/statements`: this LRS is one."""
    response = requests.post(live_server.url + "/xapi/statements", data=json.dumps(SEED_STATEMENT), timeout=10,
                             headers={"Authorization": basic_auth(), "X-Experience-API-Version": "1.0.3",
                                      "Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    assert response.json() == [SEED_STATEMENT["id"]]
    # the same statement arriving again through the H5P API is ignored, not a conflict
    assert ok_data(call(live_server, "POST", "/statements", json=SEED_STATEMENT)) == {"ids": [SEED_STATEMENT["id"]]}
    assert read_back(live_server, SEED_STATEMENT["id"])["result"] == SEED_STATEMENT["result"]


# -- POST /h5p-event ---------------------------------------------------------------------------------

def test_the_seed_h5p_event_becomes_a_statement(live_server: LiveServer) -> None:
    data = ok_data(call(live_server, "POST", "/h5p-event", json=SEED_EVENT))
    assert set(data) == {"id"}
    statement = read_back(live_server, data["id"])
    assert statement["actor"] == {"objectType": "Agent", "account": {"homePage": BASE, "name": LEARNER}}
    assert statement["verb"] == {"id": ADL + "completed", "display": {"en-US": "completed"}}
    assert statement["object"] == {"objectType": "Activity", "id": BASE + "/h5p/content/abc123",
                                   "definition": {"type": "http://adlnet.gov/expapi/activities/assessment"}}
    assert statement["result"] == {"score": {"scaled": 0.85, "raw": 17, "max": 20}, "success": True,
                                   "completion": True, "duration": "PT120S", "response": "answer-data"}
    assert statement["context"]["platform"] == "EduAgentic H5P"
    assert statement["context"]["extensions"] == {BASE + "/h5p/extensions/event": SEED_EVENT}
    assert statement["version"] == "1.0.3"


@pytest.mark.parametrize("verb, expected", [
    ("attempted", "attempted"), ("answered", "answered"), ("completed", "completed"), ("passed", "passed"),
    ("failed", "failed"), ("interacted", "interacted"), ("progressed", "progressed"),
    ("http://adlnet.gov/expapi/verbs/answered", "answered"), ("experienced", "interacted"),
    ("Completed", "interacted"),
])
def test_the_seven_verbs_and_the_fallback(app: Any, verb: str, expected: str) -> None:
    response = app.test_client().post("/api/xapi/h5p-event", json={"contentId": 7, "verb": verb},
                                      headers={"Authorization": f"Bearer {LEARNER_TOKEN}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    document = app.extensions["lrs"].statement_store.collection.find_one({"_id": response.get_json()["data"]["id"]})
    assert document["verb"] == ADL + expected and document["object_id"] == BASE + "/h5p/content/7"


def test_optional_fields_fill_result_and_context(app: Any) -> None:
    body = {"contentId": "quiz 1", "verb": "answered", "duration": 12.345, "classId": "5B", "language": "fr",
            "registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7"}
    response = app.test_client().post("/api/xapi/h5p-event", json=body,
                                      headers={"Authorization": f"Bearer {LEARNER_TOKEN}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    raw = app.extensions["lrs"].statement_store.collection.find_one({"_id": response.get_json()["data"]["id"]})["raw"]
    statement = json.loads(raw)
    assert statement["object"]["id"] == BASE + "/h5p/content/quiz%201"
    assert statement["result"] == {"duration": "PT12.35S"}
    assert statement["context"]["language"] == "fr"
    assert statement["context"]["registration"] == body["registration"]
    assert statement["context"]["contextActivities"] == {
        "grouping": [{"objectType": "Activity", "id": BASE + "/h5p/classes/5B"}]}


@pytest.mark.parametrize("body, field", [
    ({"verb": "completed"}, "contentId"),
    ({"contentId": "abc123"}, "verb"),
    ({"contentId": "", "verb": "completed"}, "contentId"),
    ({"contentId": True, "verb": "completed"}, "contentId"),
    ({"contentId": "abc123", "verb": 5}, "verb"),
    ({**SEED_EVENT, "duration": -1}, "duration"),
    ({**SEED_EVENT, "duration": "120"}, "duration"),
    ({**SEED_EVENT, "success": "yes"}, "success"),
    ({**SEED_EVENT, "score": {"scaled": "0.85"}}, "score.scaled"),
    ({**SEED_EVENT, "score": {"scaled": 1.5}}, "score.scaled"),
    ({**SEED_EVENT, "score": {"raw": 30, "max": 20}}, "score.raw"),
    ({**SEED_EVENT, "language": "not a language tag!"}, "language"),
])
def test_bad_h5p_events_name_the_field(client: Any, app: Any, body: dict, field: str) -> None:
    body_ = failure(call_in_process(client, "POST", "/h5p-event", json=body), 400)
    assert [detail["field"] for detail in body_["details"]] == [field]
    assert body_["details"][0]["index"] == 0
    assert app.extensions["lrs"].statement_store.collection.count_documents({}) == 0


def _stored(app: Any, response: Any) -> dict:
    assert response.status_code == 200, response.get_data(as_text=True)
    collection = app.extensions["lrs"].statement_store.collection
    return json.loads(collection.find_one({"_id": response.get_json()["data"]["id"]})["raw"])


@pytest.mark.parametrize("nulls", [
    {"score": None},
    {"score": {"scaled": None, "raw": None, "min": None, "max": None}},
    {"success": None, "completion": None, "duration": None, "response": None, "language": None,
     "registration": None, "classId": None},
])
def test_a_null_event_field_is_absent(client: Any, app: Any, nulls: dict) -> None:
    body = {"contentId": "abc123", "verb": "completed", **nulls}
    statement = _stored(app, call_in_process(client, "POST", "/h5p-event", json=body))
    assert "result" not in statement
    assert set(statement["context"]) == {"platform", "extensions"}
    assert statement["context"]["extensions"] == {BASE + "/h5p/extensions/event": body}


def test_a_null_score_member_is_absent_beside_the_others(client: Any, app: Any) -> None:
    body = {"contentId": "abc123", "verb": "completed", "score": {"scaled": None, "raw": 3, "min": None, "max": 4}}
    assert _stored(app, call_in_process(client, "POST", "/h5p-event", json=body))["result"] == {
        "score": {"raw": 3, "max": 4}}


@pytest.mark.parametrize("score", [{"raw": 0, "min": 0, "max": 0}, {"min": 0, "max": 0}, {"raw": 2.5, "min": 2.5, "max": 2.5}])
def test_an_empty_score_range_is_dropped(client: Any, app: Any, score: dict) -> None:
    """Content without scoring sends min = max; xAPI wants min below max, so they go (raw stays)."""
    body = {"contentId": "dialog-cards", "verb": "completed", "score": score, "completion": True}
    statement = _stored(app, call_in_process(client, "POST", "/h5p-event", json=body))
    assert statement["result"] == {"completion": True, **({"score": {"raw": score["raw"]}} if "raw" in score else {})}
    assert statement["context"]["extensions"][BASE + "/h5p/extensions/event"] == body  # as sent


# -- GET /statements ---------------------------------------------------------------------------------

@pytest.fixture
def history(app: Any) -> dict[str, list[str]]:
    """Statements of two learners with known timestamps, stored through the adapter."""
    client = app.test_client()
    rows = [
        (LEARNER_TOKEN, "attempted", "c1", "2026-03-25T10:00:00Z"),
        (LEARNER_TOKEN, "completed", "c1", "2026-03-25T10:05:00Z"),
        (LEARNER_TOKEN, "attempted", "c2", "2026-03-26T09:00:00Z"),
        (OTHER_TOKEN, "attempted", "c1", "2026-03-25T11:00:00Z"),
        (OTHER_TOKEN, "failed", "c1", "2026-03-25T11:10:00Z"),
    ]
    ids: dict[str, list[str]] = {}
    for token, verb, content, timestamp in rows:
        statement = {"verb": {"id": ADL + verb}, "object": {"id": f"{BASE}/h5p/content/{content}"},
                     "timestamp": timestamp}
        response = client.post("/api/xapi/statements", json=statement, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.get_data(as_text=True)
        ids.setdefault(token.split(":")[0], []).extend(response.get_json()["data"]["ids"])
    return ids


def listed(server: LiveServer, token: str = TEACHER_TOKEN, **params: str) -> list[dict]:
    return ok_data(call(server, "GET", "/statements", token=token, params=params))["statements"]


def test_query_filters(live_server: LiveServer, history: dict[str, list[str]]) -> None:
    mine, theirs = history[LEARNER], history["learner-2"]
    assert [s["id"] for s in listed(live_server)] == [mine[2], theirs[1], theirs[0], mine[1], mine[0]]
    assert [s["id"] for s in listed(live_server, actorId="learner-2")] == [theirs[1], theirs[0]]
    assert [s["id"] for s in listed(live_server, verbId=ADL + "attempted")] == [mine[2], theirs[0], mine[0]]
    assert [s["id"] for s in listed(live_server, objectId=BASE + "/h5p/content/c2")] == [mine[2]]
    assert [s["id"] for s in listed(live_server, since="2026-03-25T10:04:00Z", until="2026-03-25T11:00:00Z")] \
        == [theirs[0], mine[1]]  # until is inclusive
    assert [s["id"] for s in listed(live_server, since="2026-03-25T11:10:00Z")] == [mine[2]]  # since is not
    assert [s["id"] for s in listed(live_server, limit="2")] == [mine[2], theirs[1]]
    assert listed(live_server, actorId="nobody") == []
    statement = listed(live_server, actorId=LEARNER, limit="1")[0]
    validate_statement(statement, "1.0.3", "statement")
    assert statement == read_back(live_server, statement["id"])


@pytest.mark.parametrize("since, until, expected", [
    ("2026-03-25T10:04:00", "2026-03-25T11:00:00", [("learner-2", 0), (LEARNER, 1)]),  # no zone: UTC
    ("2026-03-25T12:04:00+02:00", "2026-03-25T13:00:00+0200", [("learner-2", 0), (LEARNER, 1)]),
    ("2026-03-26", "", [(LEARNER, 2)]),  # a date: its midnight, UTC
    ("", "2026-03-25", []),
])
def test_since_and_until_take_every_iso_8601_form(client: Any, history: dict[str, list[str]], since: str,
                                                  until: str, expected: list[tuple[str, int]]) -> None:
    """seeds/001 types them as ISO 8601: a time without a zone and a bare date are ISO 8601 too."""
    params = {name: value for name, value in (("since", since), ("until", until)) if value}
    response = call_in_process(client, "GET", "/statements", token=TEACHER_TOKEN, query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert [s["id"] for s in response.get_json()["data"]["statements"]] == [history[who][n] for who, n in expected]


def test_a_learner_reads_only_their_own_statements(live_server: LiveServer, history: dict[str, list[str]]) -> None:
    assert [s["id"] for s in listed(live_server, token=LEARNER_TOKEN)] == history[LEARNER][::-1]
    failure(call(live_server, "GET", "/statements", params={"actorId": "learner-2"}), 403)


def test_only_statements_stored_through_this_api_are_listed(live_server: LiveServer,
                                                            history: dict[str, list[str]]) -> None:
    """An H5P credential reads H5P data: not what xAPI clients or other adapters stored, even
    about the same learner and content (they may carry anything, e.g. a whole Caliper event)."""
    native = {**SEED_STATEMENT, "id": "850e8400-e29b-41d4-a716-446655440003",
              "object": {"id": BASE + "/h5p/content/c1"}, "timestamp": "2026-03-27T00:00:00Z"}
    response = requests.post(live_server.url + "/xapi/statements", data=json.dumps(native), timeout=10,
                             headers={"Authorization": basic_auth(), "X-Experience-API-Version": "1.0.3",
                                      "Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    everything = history[LEARNER] + history["learner-2"]
    assert sorted(s["id"] for s in listed(live_server, limit="1000")) == sorted(everything)
    assert [s["id"] for s in listed(live_server, actorId=LEARNER, objectId=BASE + "/h5p/content/c1")] \
        == history[LEARNER][1::-1]
    assert [s["id"] for s in listed(live_server, token=LEARNER_TOKEN)] == history[LEARNER][::-1]
    assert native["id"] in [s["id"] for s in xapi_get(live_server)["statements"]]


def test_every_filter_reads_an_index(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each filter alone and combined is read from an index: newest first by timestamp in index
    order (a page stops at its limit), or, by content or learner, only their statements. Before,
    a page without a filter, or by verb or time, sorted every statement of the adapter in memory
    (0.2-0.6 s at 100,000 statements), and one by content (`object_id`, not indexed) did so too."""
    lrs = app.extensions["lrs"]
    batch = [{"actor": {"account": {"homePage": BASE, "name": f"learner-{n % 20}"}},
              "verb": {"id": ADL + ("attempted", "interacted", "completed", "passed")[n % 4]},
              "object": {"id": f"{BASE}/h5p/content/c{n % 10}"},
              "timestamp": f"2026-03-{1 + n // 24:02d}T{n % 24:02d}:00:00Z"} for n in range(400)]
    lrs.statements.store(batch, authority=lrs.default_authority("h5p"), version="1.0.3", source="h5p")
    store = lrs.statement_store.collection._target._store
    planned = []
    plan = store.plan
    monkeypatch.setattr(store, "plan", lambda *args, **kwargs: planned.append(plan(*args, **kwargs)) or planned[-1])
    newest_first = [("timestamp", -1), ("seq", -1)]
    content, learner = {"objectId": f"{BASE}/h5p/content/c3"}, {"actorId": "learner-7"}
    in_order = [{}, {"verbId": ADL + "completed"}, {"since": "2026-03-10"}, {"until": "2026-03-05"},
                {"since": "2026-03-03", "until": "2026-03-12", "verbId": ADL + "passed"}, {"since": "2026-04-01"}]
    narrow = [(content, 40), ({**content, "verbId": ADL + "passed"}, 40), ({**content, "since": "2026-03-10"}, 40),
              (learner, 20), ({**learner, **content}, 20)]
    for params, most in [*((params, None) for params in in_order), *narrow]:
        planned.clear()
        response = call_in_process(app.test_client(), "GET", "/statements", token=TEACHER_TOKEN,
                                   query_string={**params, "limit": "10"})
        assert response.status_code == 200, response.get_data(as_text=True)
        [chosen] = planned
        assert chosen is not None, params
        assert chosen.follows(newest_first) if most is None else chosen.count <= most, (params, chosen)


@pytest.mark.parametrize("params", [{"limit": "0"}, {"limit": "ten"}, {"limit": "1001"}, {"since": "last week"}])
def test_bad_query_parameters_are_400(client: Any, params: dict) -> None:
    failure(call_in_process(client, "GET", "/statements", token=TEACHER_TOKEN, query_string=params), 400)


def test_the_statements_are_ordinary_xapi_statements(live_server: LiveServer, history: dict[str, list[str]]) -> None:
    agent = json.dumps({"account": {"homePage": BASE, "name": LEARNER}})
    statements = xapi_get(live_server, agent=agent)["statements"]
    assert [s["id"] for s in statements] == history[LEARNER][::-1]


# -- ids holding a slash ------------------------------------------------------------------------------

def test_content_and_class_ids_with_a_slash_are_read_back(live_server: LiveServer) -> None:
    event = {"contentId": "unit/3", "verb": "completed", "classId": "5B/math", "score": {"scaled": 0.5}}
    ok_data(call(live_server, "POST", "/h5p-event", json=event))
    [entry] = ok_data(call(live_server, "GET", "/progress"))["progress"]
    assert entry["contentId"] == "unit/3"
    progress = ok_data(call(live_server, "GET", "/progress/unit%2F3"))
    assert (progress["contentId"], progress["completed"], progress["bestScore"]) == ("unit/3", True, 50.0)
    assert ok_data(call(live_server, "GET", "/progress/unit/3")) == progress
    content = ok_data(call(live_server, "GET", "/analytics/content/unit%2F3"))
    assert (content["contentId"], content["totalCompletions"]) == ("unit/3", 1)
    group = ok_data(call(live_server, "GET", "/analytics/class/5B%2Fmath", token=TEACHER_TOKEN))
    assert (group["classId"], group["groupingId"]) == ("5B/math", BASE + "/h5p/classes/5B%2Fmath")
    assert [c["contentId"] for c in group["contents"]] == ["unit/3"]


@pytest.mark.parametrize("path", ["/analytics/content/", "/progress/", "/analytics/class/", "/no-such-endpoint"])
def test_a_path_no_route_answers_is_a_404_in_this_apis_shape(live_server: LiveServer, path: str) -> None:
    body = failure(call(live_server, "GET", path, token=TEACHER_TOKEN), 404)
    assert body["details"] == []
    assert body["error"] == ("no endpoint of this API at this path; the endpoints are /api/xapi/statements, "
                             "/api/xapi/h5p-event, /api/xapi/analytics/content/<contentId>, /api/xapi/analytics/user, "
                             "/api/xapi/analytics/class/<classId>, /api/xapi/analytics/class?groupingId=, "
                             "/api/xapi/progress, /api/xapi/progress/<contentId>")


def test_a_404_outside_the_prefix_keeps_the_core_shape(live_server: LiveServer) -> None:
    response = requests.get(live_server.url + "/api/xapi-other/progress", timeout=10)
    assert response.status_code == 404 and response.json()["error"]["status"] == 404


# -- authentication ------------------------------------------------------------------------------------

def test_an_internal_error_is_a_500_in_the_same_format(client: Any, app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_aggregate(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(app.extensions["lrs"].statement_store.collection, "aggregate", broken_aggregate)
    body = failure(call_in_process(client, "GET", "/progress"), 500)
    assert body["details"] == [] and "went away" not in body["error"]


def test_no_token_is_401_over_http(live_server: LiveServer) -> None:
    response = call(live_server, "POST", "/h5p-event", token=None, json=SEED_EVENT)
    failure(response, 401)
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="h5p"'


@pytest.mark.parametrize("method, path, token, status", [
    ("POST", "/h5p-event", None, 401),
    ("POST", "/h5p-event", "user-uuid-here:wrong", 401),
    ("POST", "/statements", TEACHER_TOKEN, 403),
    ("POST", "/h5p-event", "test-admin:test-admin-secret", 403),
    ("GET", "/statements", "test-admin:test-admin-secret", 403),
    ("GET", "/analytics/class/5B", LEARNER_TOKEN, 403),
    ("GET", "/analytics/user?userId=learner-2", LEARNER_TOKEN, 403),
    ("GET", "/progress?userId=learner-2", LEARNER_TOKEN, 403),
    ("GET", "/progress", None, 401),
])
def test_authentication_and_scopes(client: Any, method: str, path: str, token: str | None, status: int) -> None:
    response = call_in_process(client, method, path, token=token, json=SEED_EVENT if method == "POST" else None)
    failure(response, status)
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("params, message", [
    ({"limit": "0"}, "limit: Must be greater than or equal to 1 and less than or equal to 1000."),
    ({"limit": "ten"}, "limit: must be an integer of at most 18 ASCII digits (0-9)"),
    ({"limit": "١٢"}, "limit: must be an integer of at most 18 ASCII digits (0-9)"),
    ({"limit": "+5"}, "limit: must be an integer of at most 18 ASCII digits (0-9)"),
    ({"since": "last week", "until": "tomorrow"},
     "since: must be an ISO 8601 timestamp, got 'last week'; until: must be an ISO 8601 timestamp, got 'tomorrow'"),
])
def test_a_bad_query_parameter_is_named_with_its_rule(client: Any, params: dict, message: str) -> None:
    body = failure(call_in_process(client, "GET", "/statements", token=TEACHER_TOKEN, query_string=params), 400)
    assert body["error"] == message


@pytest.mark.parametrize(("path", "message"), [
    ("/statements?limit=1&limit=2", "parameter 'limit': must be given once"),
    ("/statements?verbId=notiri", "verbId: must be an IRI"),
    ("/statements?objectId=notiri", "objectId: must be an IRI"),
    ("/statements?actorId=a&actorId=b", "parameter 'actorId': must be given once"),
    ("/analytics/user?userId=a&userId=b", "parameter 'userId': must be given once"),
    ("/progress?userId=a&userId=b", "parameter 'userId': must be given once"),
    ("/progress/abc123?userId=a&userId=b", "parameter 'userId': must be given once"),
])
def test_a_repeated_or_malformed_parameter_is_a_400_naming_it(client: Any, path: str, message: str) -> None:
    body = failure(call_in_process(client, "GET", path, token=TEACHER_TOKEN), 400)
    assert body["error"].startswith(message) and body["details"] == []


@pytest.mark.parametrize("path", ["/statements?_=1733300000000", "/statements?_=1&_=2&limit=5",
                                  "/analytics/user?_=1&userId=user-uuid-here", "/progress?page=2"])
def test_a_parameter_the_endpoint_does_not_take_is_ignored_such_as_jquerys_cache_buster(client: Any, path: str) -> None:
    """Ignored, but not what it comes with: the endpoint's own parameters are still checked."""
    response = call_in_process(client, "GET", path, token=TEACHER_TOKEN)
    assert response.status_code == 200, response.get_json()
    twice = path.replace("?", "?userId=a&limit=1&actorId=a&") + "&userId=b&limit=2&actorId=b"
    assert failure(call_in_process(client, "GET", twice, token=TEACHER_TOKEN), 400)["error"].endswith(
        "must be given once")


def test_a_class_named_twice_by_grouping_id_is_a_400(client: Any) -> None:
    path = "/analytics/class?groupingId=https://creatiq.app/c/1&groupingId=https://creatiq.app/c/2"
    assert failure(call_in_process(client, "GET", path, token=TEACHER_TOKEN), 400)["error"] == \
        "parameter 'groupingId': must be given once"


def test_the_statement_listing_may_sort_on_disk(sent_commands: Any, shared_store: str, make_app: Any) -> None:
    """The listing sorts by timestamp, which no index holds: MongoDB 4.4 and 5.0 sort it in memory
    on whole statements, at most 100 MB (1,000 statements with large definitions) unless the
    find allows disk use. mongomock has no such limit, so the command sent is checked."""
    app = make_app(mongo_uri=shared_store, plugins="h5p", h5p_base_url=BASE)
    app.extensions["lrs"].create_credential(LEARNER, "learner-secret", ["h5p"])
    client = app.test_client()
    assert call_in_process(client, "POST", "/statements", json=SEED_STATEMENT).status_code == 200
    sent_commands.commands.clear()
    listed = call_in_process(client, "GET", "/statements?limit=1000")
    assert listed.status_code == 200 and len(json_of(listed)["data"]["statements"]) == 1
    sorted_finds = [command for command in sent_commands.named("find") if command.get("sort")]
    assert sorted_finds and all(command.get("allowDiskUse") is True for command in sorted_finds)
