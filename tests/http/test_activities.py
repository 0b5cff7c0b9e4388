"""The Activities resource: canonical definitions learnt from stored statements, and `define`."""
from __future__ import annotations

import hashlib
import json

import pytest
from pymongo.errors import DocumentTooLarge

from lrs.statements import WriteRights
from lrs.store import activities
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


@pytest.fixture
def small_bounds(monkeypatch):
    """Bounds small enough to reach with a few statements: 8 entries a map, 1,000 bytes."""
    monkeypatch.setattr(activities, "MAX_MAP_ENTRIES", 8)
    monkeypatch.setattr(activities, "MAX_DEFINITION_BYTES", 1000)


def tags(first: int, count: int) -> dict[str, str]:
    """Distinct private-use language tags, as a client filling a definition with junk sends them."""
    return {f"x-{number:07d}": "v" for number in range(first, first + count)}


def stored_about(client, activity_id: str = ACTIVITY) -> list[dict]:
    response = client.get("/xapi/statements", query_string={"activity": activity_id}, headers=headers())
    return response.get_json()["statements"]


def test_a_definition_stops_growing_at_its_bounds_and_first_come_stays(client, small_bounds, caplog):
    first = {"name": {"en-US": "meeting", **tags(0, 5)}, "extensions": {"http://example.com/ext/0": 0}}
    assert client.post("/xapi/statements", json=statement(first), headers=headers()).status_code == 200
    sizes = []
    for batch in range(1, 6):  # 5 more entries a map each time: both maps are full after the second
        definition = {"name": tags(batch * 5, 5),
                      "extensions": {f"http://example.com/ext/{batch}.{n}": "x" * 40 for n in range(5)}}
        response = client.post("/xapi/statements", json=[statement(definition)], headers=headers())
        assert response.status_code == 200
        sizes.append(len(client.get("/xapi/activities", query_string={"activityId": ACTIVITY},
                                    headers=headers()).data))
    assert len(stored_about(client)) == 6  # every statement is stored as sent
    definition = canonical(client)["definition"]
    assert list(definition["name"]) == ["en-US", *tags(0, 7)]  # the first 8 tags, in the order received
    assert list(definition["extensions"]) == ["http://example.com/ext/0", *(f"http://example.com/ext/{b}.{n}"
                                                                             for b in (1, 2) for n in range(5))][:8]
    assert len(json.dumps(definition, ensure_ascii=False, separators=(",", ":")).encode()) <= 1000
    assert sizes[1:] == [sizes[1]] * 4  # no longer growing
    assert [r.message for r in caplog.records if "bounds" in r.message] == [
        f"activity {ACTIVITY} reached its bounds: what does not fit them is no longer kept (the statements "
        "carrying it are stored)"]  # logged once


def test_a_full_definition_still_takes_corrections_that_fit(client, small_bounds):
    assert client.post("/xapi/statements", json=statement({"name": {"en-US": "meeting", **tags(0, 7)}}),
                       headers=headers()).status_code == 200
    later = {"name": {"en-US": "Meeting", **tags(100, 3)}, "type": "http://example.com/types/meeting"}
    assert client.post("/xapi/statements", json=statement(later), headers=headers()).status_code == 200
    assert canonical(client)["definition"] == {"name": {"en-US": "Meeting", **tags(0, 7)},
                                               "type": "http://example.com/types/meeting"}


def test_a_property_too_big_for_the_definition_is_left_out(client, small_bounds):
    assert client.post("/xapi/statements", json=statement({"name": {"en-US": "meeting"}}),
                       headers=headers()).status_code == 200
    big = {"description": {"en-US": "d" * 1000}, "choices": [{"id": f"c{n}", "description": {"en-US": "c" * 100}}
                                                             for n in range(10)],
           "interactionType": "choice", "moreInfo": "http://example.com/more"}
    response = client.post("/xapi/statements", json=statement(big), headers=headers())
    assert response.status_code == 200
    assert stored_about(client)[0]["object"]["definition"] == big
    assert canonical(client)["definition"] == {"name": {"en-US": "meeting"}, "interactionType": "choice",
                                               "moreInfo": "http://example.com/more"}


def test_a_definition_grown_before_the_bounds_is_cut_to_them_by_the_next_one(app, client, small_bounds):
    grown = {"name": tags(0, 500), "description": {"en-US": "a meeting"}}
    app.extensions["lrs"].activities.collection.insert_one({"_id": ACTIVITY, "definition": json.dumps(grown)})
    assert client.post("/xapi/statements", json=statement({"moreInfo": "http://example.com/more"}),
                       headers=headers()).status_code == 200
    assert canonical(client)["definition"] == {"name": tags(0, 8), "description": {"en-US": "a meeting"},
                                               "moreInfo": "http://example.com/more"}


def test_format_canonical_gives_the_bounded_definition(client, small_bounds):
    for first in range(0, 30, 10):
        assert client.post("/xapi/statements", json=statement({"name": tags(first, 10)}),
                           headers=headers()).status_code == 200
    page = client.get("/xapi/statements", query_string={"activity": ACTIVITY, "format": "canonical"},
                      headers={**headers(), "Accept-Language": "x-0000025, x-0000007;q=0.5"}).get_json()
    assert [s["object"]["definition"] for s in page["statements"]] == [{"name": {"x-0000007": "v"}}] * 3


def test_a_failure_to_refine_never_fails_the_stored_batch(app, client, monkeypatch, caplog):
    def too_large(statements):
        raise DocumentTooLarge("BSON document too large (17000000 bytes)")

    monkeypatch.setattr(app.extensions["lrs"].activities, "record", too_large)
    response = client.post("/xapi/statements", json=[statement({"name": {"en": "M"}})], headers=headers())
    assert response.status_code == 200
    assert stored_about(client)[0]["id"] == response.get_json()[0]
    assert any("activities: not refined from a stored batch" in r.message for r in caplog.records)


def test_an_admin_forgets_a_definition_gone_wrong_and_the_next_one_starts_it_afresh(app, client, small_bounds):
    junk = {"name": {"en-US": "BUY NOW", **tags(0, 7)}}
    assert client.post("/xapi/statements", json=statement(junk), headers=headers()).status_code == 200
    fixed = {"name": {"en-US": "meeting"}}
    assert client.post("/xapi/statements", json=statement(fixed), headers=headers()).status_code == 200
    assert canonical(client)["definition"]["name"]["en-US"] == "meeting"
    assert len(canonical(client)["definition"]["name"]) == 8  # the junk tags stay: the definition is full

    app.extensions["lrs"].create_credential("full-xapi", "full-xapi-secret", ["all"])
    forget = {"activityId": ACTIVITY}
    assert client.delete("/admin/activities", query_string=forget,
                         headers=headers("full-xapi", "full-xapi-secret")).status_code == 403
    answer = client.delete("/admin/activities", query_string=forget, headers=headers())
    assert answer.status_code == 200 and answer.get_json() == {"activities": 1}
    assert canonical(client) == {"objectType": "Activity", "id": ACTIVITY}
    assert client.delete("/admin/activities", query_string=forget, headers=headers()).get_json() == {"activities": 0}

    assert client.post("/xapi/statements", json=statement(fixed), headers=headers()).status_code == 200
    assert canonical(client)["definition"] == fixed
    assert [s["object"]["definition"] for s in reversed(stored_about(client))] == [junk, fixed, fixed]


@pytest.mark.parametrize("query, rule", [
    ({}, "parameter 'activityId': is required"),
    ({"activityId": "not an iri"}, "parameter 'activityId': must be an IRI"),
    ({"activityId": ACTIVITY, "x": "1"}, "parameter 'x': is not a parameter of this resource")])
def test_forgetting_a_definition_names_a_bad_parameter(client, query, rule):
    answer = client.delete("/admin/activities", query_string=query, headers=headers())
    assert answer.status_code == 400
    assert rule in answer.get_json()["error"]["message"]
