"""The Activities resource: canonical definitions learnt from stored statements, and `define`."""
from __future__ import annotations

import hashlib

import pytest

from lrs.statements import WriteRights
from tests.conftest import basic_auth

ACTIVITY = "http://example.com/activities/meeting"
ACTOR = {"mbox": "mailto:ann@example.com", "name": "Ann"}
VERB = {"id": "http://adlnet.gov/expapi/verbs/attended"}


def headers(key: str = "test-admin", secret: str = "test-admin-secret") -> dict[str, str]:
    auth = basic_auth() if key == "test-admin" else basic_auth(key, secret)
    return {"Authorization": auth, "X-Experience-API-Version": "1.0.3"}


def statement(definition: dict, activity_id: str = ACTIVITY) -> dict:
    return {"actor": ACTOR, "verb": VERB, "object": {"id": activity_id, "definition": definition}}


def canonical(client, activity_id: str = ACTIVITY) -> dict:
    response = client.get("/xapi/activities", query_string={"activityId": activity_id}, headers=headers())
    assert response.status_code == 200
    return response.get_json()


def test_an_unknown_activity_is_still_an_activity(client):
    assert canonical(client, "http://example.com/never-seen") == {
        "objectType": "Activity", "id": "http://example.com/never-seen"}


def test_get_and_head_carry_the_sha1_etag_of_the_activity(client):
    query = {"activityId": ACTIVITY}
    bare = client.get("/xapi/activities", query_string=query, headers=headers())
    assert bare.headers["ETag"] == f'"{hashlib.sha1(bare.data).hexdigest()}"'
    assert client.post("/xapi/statements", json=statement({"name": {"en": "M"}}), headers=headers()).status_code == 200
    defined = client.get("/xapi/activities", query_string=query, headers=headers())
    assert defined.headers["ETag"] == f'"{hashlib.sha1(defined.data).hexdigest()}"' != bare.headers["ETag"]
    head = client.head("/xapi/activities", query_string=query, headers=headers())
    assert head.data == b"" and head.headers["ETag"] == defined.headers["ETag"]


def test_definitions_merge_language_maps_and_later_ones_refine(client):
    first = {"type": "http://adlnet.gov/expapi/activities/meeting", "name": {"en-US": "meeting"},
             "description": {"en-US": "A meeting"}, "extensions": {"http://example.com/ext/a.b": 1}}
    second = {"name": {"fr-FR": "réunion", "en-US": "team meeting"},
              "moreInfo": "http://example.com/more", "extensions": {"http://example.com/ext/c": {"x": 1}}}
    assert client.post("/xapi/statements", json=[statement(first)], headers=headers()).status_code == 200
    assert client.post("/xapi/statements", json=[statement(second)], headers=headers()).status_code == 200
    assert canonical(client) == {"objectType": "Activity", "id": ACTIVITY, "definition": {
        "type": "http://adlnet.gov/expapi/activities/meeting",
        "name": {"en-US": "team meeting", "fr-FR": "réunion"},
        "description": {"en-US": "A meeting"},
        "moreInfo": "http://example.com/more",
        "extensions": {"http://example.com/ext/a.b": 1, "http://example.com/ext/c": {"x": 1}},
    }}


def test_context_and_sub_statement_activities_are_learnt_too(client):
    parent = {"id": "http://example.com/course", "definition": {"name": {"en": "Course"}}}
    sub = {"objectType": "SubStatement", "actor": ACTOR, "verb": VERB,
           "object": {"id": "http://example.com/sub", "definition": {"name": {"en": "Sub"}}}}
    batch = [{**statement({"name": {"en": "Meeting"}}), "context": {"contextActivities": {"parent": parent}}},
             {"actor": ACTOR, "verb": VERB, "object": sub}]
    assert client.post("/xapi/statements", json=batch, headers=headers()).status_code == 200
    assert canonical(client, "http://example.com/course")["definition"] == {"name": {"en": "Course"}}
    assert canonical(client, "http://example.com/sub")["definition"] == {"name": {"en": "Sub"}}


@pytest.mark.parametrize("scopes, defines", [
    (["statements/write", "statements/read"], False),
    (["statements/write", "define"], True),
])
def test_only_credentials_with_define_change_definitions(app, client, scopes, defines):
    app.extensions["lrs"].create_credential("writer", "writer-secret", scopes)
    response = client.post("/xapi/statements", json=[statement({"name": {"en": "Written"}})],
                           headers=headers("writer", "writer-secret"))
    assert response.status_code == 200
    assert ("definition" in canonical(client)) is defines


def test_activity_id_is_required_and_validated(client):
    for query in ({}, {"activityId": "not an IRI"}, {"activityId": ACTIVITY, "other": "x"}):
        response = client.get("/xapi/activities", query_string=query, headers=headers())
        assert response.status_code == 400, query
        assert "parameter" in response.get_json()["error"]["message"]


def test_reading_definitions_needs_a_read_scope(app, client):
    app.extensions["lrs"].create_credential("writer", "writer-secret", ["statements/write"])
    response = client.get("/xapi/activities", query_string={"activityId": ACTIVITY},
                          headers=headers("writer", "writer-secret"))
    assert response.status_code == 403


def test_statements_stored_outside_a_request_define_activities(app, client):
    lrs = app.extensions["lrs"]
    lrs.statements.store([statement({"name": {"en": "Imported"}})], authority=lrs.default_authority("importer"),
                         version="1.0.3", source="import", rights=WriteRights(define=True))
    assert canonical(client)["definition"] == {"name": {"en": "Imported"}}
