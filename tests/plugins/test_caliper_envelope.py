"""POST /caliper/event (seeds/002) against a live server: every seed example, one event of every
profile of seeds/002's AllProfiles, and the invalid inputs Caliper 1.2 and the seed refuse.

Accepted events are read back through /xapi/statements and checked field by field.
"""
from __future__ import annotations

import copy
import datetime as dt
import json
import uuid
from typing import Any

import pytest
import requests

from lrs import __version__
from lrs.erasure import erase_agent
from lrs_plugins.caliper.vocabulary import PROFILES
from tests.conftest import LiveServer
from tests.plugins.caliper_support import (
    CONTEXT,
    EVENT_EXTENSION,
    PUBLIC_URL,
    SEED_002_EVENTS,
    SEED_003_XP,
    TIMEOUT,
    bearer,
    caliper_app,
    caliper_app_fixture,
    envelope,
    fill_placeholders,
    live_token,
    read_statement,
    statement_count,
    token,
)

CALIPER = "http://purl.imsglobal.org/caliper/"
PERSON = {"id": "https://example.edu/users/554433", "type": "Person"}


app = caliper_app_fixture()


def post(server: LiveServer, body: Any, access_token: str) -> requests.Response:
    return requests.post(server.url + "/caliper/event", data=json.dumps(body),
                         headers={**bearer(access_token), "Content-Type": "application/json"}, timeout=TIMEOUT)


def post_in_process(client: Any, body: Any) -> Any:
    return client.post("/caliper/event", data=json.dumps(body), headers=bearer(token(client)),
                       content_type="application/json")


# -- the seed's examples -----------------------------------------------------------------------

@pytest.mark.parametrize("example", range(len(SEED_002_EVENTS)), ids=lambda i: f"example{i + 1}")
def test_seed_example_is_stored_as_a_statement(live_server: LiveServer, example: int) -> None:
    event = SEED_002_EVENTS[example]
    response = post(live_server, envelope(event), live_token(live_server))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "success"
    assert body["message"] == "1 event(s) and 0 entity(ies) stored"
    assert body["errors"] == []
    stored = read_statement(live_server, event["id"].removeprefix("urn:uuid:"))
    assert stored["context"]["extensions"][EVENT_EXTENSION] == event  # kept exactly as sent
    assert stored["context"]["extensions"][CALIPER + "sensor"] == "https://alpharead.alpha.school"
    assert stored["timestamp"].startswith(event["eventTime"][:19])
    assert stored["authority"]["account"]["name"] == "alpha-read"
    assert stored["version"] == "1.0.3"


def test_actor_iris_differing_in_slashes_are_distinct_agents(client: Any) -> None:
    """name = the rest of the IRI after its one slash: `//users/1` is not `/users/1`."""
    names = {}
    for rest in ("/users/1", "//users/1", "///users/1"):
        event = dict(SEED_002_EVENTS[0], id=f"urn:uuid:{uuid.uuid4()}", actor="https://collide.example" + rest)
        assert post_in_process(client, envelope(event)).status_code == 200
        names[rest] = read_statement(client, event["id"][9:])["actor"]["account"]
    assert names == {rest: {"homePage": "https://collide.example", "name": rest[1:]} for rest in names}


def test_example1_generic_event_mapping(client: Any) -> None:
    event = SEED_002_EVENTS[0]
    assert post_in_process(client, envelope(event)).status_code == 200
    stored = read_statement(client, "c51570e4-f8ed-4c18-bb3a-dfe51b2cc594")
    assert stored["actor"] == {"objectType": "Agent",
                               "account": {"homePage": "https://example.edu", "name": "users/554433"}}
    assert stored["verb"] == {"id": "http://activitystrea.ms/schema/1.0/create", "display": {"en-US": "Created"}}
    assert stored["object"] == {"objectType": "Activity",
                                "id": "https://example.edu/terms/201801/courses/7/sections/1/assignments/1"}
    assert "result" not in stored and "registration" not in stored["context"]


def test_example2_tool_use_with_group_and_edapp(client: Any) -> None:
    event = SEED_002_EVENTS[1]
    assert post_in_process(client, envelope(event)).status_code == 200
    stored = read_statement(client, "7e10e4f3-a0d8-4430-95bd-783ffae4d916")
    assert stored["verb"]["id"] == "http://activitystrea.ms/schema/1.0/use"
    assert stored["object"]["definition"] == {"type": CALIPER + "SoftwareApplication"}
    context = stored["context"]
    assert context["platform"] == "https://example.edu"
    assert context["contextActivities"]["grouping"] == [{
        "objectType": "Activity", "id": "https://example.edu/terms/201601/courses/7/sections/1",
        "definition": {"type": CALIPER + "CourseSection"}}]
    assert context["contextActivities"]["other"][0]["id"] == "https://example.edu"


def test_example3_annotation(client: Any) -> None:
    event = SEED_002_EVENTS[2]
    assert post_in_process(client, envelope(event)).status_code == 200
    stored = read_statement(client, "7e10e4f3-a0d8-4430-95bd-783ffae4d916")
    assert stored["verb"]["id"] == "http://purl.imsglobal.org/caliper/actions/Highlighted"
    assert stored["object"]["definition"]["type"] == CALIPER + "DigitalResource"
    assert stored["context"]["platform"] == "https://example.edu/apps/annotation-tool"


def test_example4_actor_without_authority_and_session_registration(client: Any) -> None:
    event = SEED_002_EVENTS[3]
    assert post_in_process(client, envelope(event)).status_code == 200
    stored = read_statement(client, "c51570e4-f8ed-4c18-bb3a-dfe51b2cc594")
    # "https:/your-app.domain/..." has no authority: the whole IRI names the account.
    assert stored["actor"]["account"] == {"homePage": PUBLIC_URL,
                                          "name": "https:/your-app.domain/users/fdeb7d92-b3a4-4b6c-a201-cb590b43bce1"}
    assert stored["object"]["definition"] == {"type": CALIPER + "SoftwareApplication", "name": {"und": "Learning"}}
    registration = stored["context"]["registration"]
    assert uuid.UUID(registration)
    # The registration is derived from the session IRI, so it is the same for every event of it.
    again = copy.deepcopy(event) | {"id": f"urn:uuid:{uuid.uuid4()}"}
    assert post_in_process(client, envelope(again)).status_code == 200
    assert read_statement(client, again["id"][9:])["context"]["registration"] == registration


def test_entities_in_data_are_kept(client: Any, app: Any) -> None:
    person = {"@context": CONTEXT, "id": "https://example.edu/users/554433", "type": "Person",
              "name": "Ana", "dateCreated": "2023-08-01T06:00:00.000Z", "extensions": {"grade": "5"}}
    response = post_in_process(client, envelope(SEED_002_EVENTS[0], person))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["message"] == "1 event(s) and 1 entity(ies) stored"
    kept = app.extensions["lrs"].plugin_collection("caliper", "entities").find_one({"entityId": person["id"]})
    assert json.loads(kept["raw"]) == person
    assert (kept["sensor"], kept["client"]) == ("https://alpharead.alpha.school", "alpha-read")


def described(app: Any, entity_id: str) -> dict[str, dict]:
    """Each client's description of the entity, as kept."""
    entities = app.extensions["lrs"].plugin_collection("caliper", "entities")
    return {doc["client"]: json.loads(doc["raw"]) for doc in entities.find({"entityId": entity_id})}


def test_each_client_keeps_its_own_description_of_an_entity(client: Any, app: Any) -> None:
    """Two sensors describing the same IRI: neither replaces the other's description, and a
    client's later description replaces its own."""
    app.extensions["lrs"].create_credential("other", "other-secret", ["caliper/events.write"], label="Other")
    mine, theirs = dict(PERSON, name="Ana"), dict(PERSON, name="Someone else")
    other = {**bearer(token(client, client_id="other", secret="other-secret")), "Content-Type": "application/json"}
    assert post_in_process(client, envelope(mine)).status_code == 200
    assert client.post("/caliper/event", data=json.dumps(envelope(theirs)), headers=other).status_code == 200
    assert described(app, PERSON["id"]) == {"alpha-read": mine, "other": theirs}
    renamed = dict(mine, name="Ana María")
    assert post_in_process(client, envelope(renamed)).status_code == 200
    assert described(app, PERSON["id"]) == {"alpha-read": renamed, "other": theirs}


def test_entities_an_earlier_release_kept_by_id_move_to_their_client(client: Any, app: Any) -> None:
    """The upgrade at start: an entity described through a sensor only one client sent events
    through becomes that client's; one whose sensor several clients (or none) used is no client's,
    so no client's description replaces it; erasing the person still removes them all."""
    lrs = app.extensions["lrs"]
    lrs.create_credential("other", "other-secret", ["caliper/events.write"], label="Other")
    other = {**bearer(token(client, client_id="other", secret="other-secret")), "Content-Type": "application/json"}
    shared, own = "https://example.edu/sensors/shared", envelope()["sensor"]
    assert post_in_process(client, envelope(fresh_event())).status_code == 200  # alpha-read through `own`
    for body, headers in ((dict(envelope(fresh_event()), sensor=shared), bearer(token(client))),
                          (dict(envelope(fresh_event()), sensor=shared), other)):
        assert client.post("/caliper/event", data=json.dumps(body), headers={**headers, "Content-Type": "application/json"}).status_code == 200
    entities, upgrades = lrs.plugin_collection("caliper", "entities"), lrs.plugin_collection("caliper", "upgrades")
    at = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    legacy = [{"_id": PERSON["id"], "raw": json.dumps(PERSON), "type": "Person", "sensor": own, "created": at, "updated": at},
              {"_id": "https://example.edu/users/2", "raw": "{}", "type": "Person", "sensor": shared, "created": at,
               "updated": at}]
    entities.insert_many(legacy)  # as releases before entities were kept per client wrote them
    upgrades.delete_one({"_id": "entities-by-client"})
    lrs.start()
    assert {doc["_id"]: doc["client"] for doc in entities.find()} == {
        f"alpha-read {PERSON['id']}": "alpha-read", " https://example.edu/users/2": ""}
    assert described(app, PERSON["id"]) == {"alpha-read": PERSON}
    assert upgrades.find_one({"_id": "entities-by-client"})
    renamed = dict(PERSON, name="Ana")
    assert client.post("/caliper/event", data=json.dumps(envelope(renamed)), headers=other).status_code == 200
    assert described(app, PERSON["id"]) == {"alpha-read": PERSON, "other": renamed}
    erase_agent(lrs, {"account": {"homePage": "https://example.edu", "name": "users/554433"}}, by="test")
    assert described(app, PERSON["id"]) == {}


def fresh_event() -> dict:
    return dict(SEED_002_EVENTS[0], id=f"urn:uuid:{uuid.uuid4()}")


@pytest.mark.parametrize("path", ["/caliper/event/", "/caliper/v1p2/"])
def test_an_endpoint_url_ending_in_a_slash_is_the_same_endpoint(client: Any, path: str) -> None:
    """Sensors post to the URL they were configured with, as written (caliper-python's
    `HttpOptions.HOST`, caliper-js's `path`): a trailing slash pasted into the configuration
    reaches the same endpoint, with no redirect a sensor would have to follow."""
    event = fresh_event()
    response = client.post(path, data=json.dumps(envelope(event)), headers=bearer(token(client)),
                           content_type="application/json")
    assert response.status_code == 200, response.get_data()
    assert read_statement(client, event["id"][9:])["context"]["extensions"][EVENT_EXTENSION] == event
    configuration = client.get(path, headers=bearer(token(client)))
    assert configuration.status_code == 200 and "caliper_supported_versions" in configuration.get_json()


@pytest.mark.parametrize("spelling", [
    lambda i: i.upper(), lambda i: "URN:UUID:" + i[9:], lambda i: "Urn:Uuid:" + i[9:].upper()])
def test_an_event_id_in_any_letter_case_is_the_same_id(client: Any, spelling: Any) -> None:
    """RFC 8141 (the `urn:uuid` prefix) and RFC 9562 (the hex digits) are case-insensitive: the id
    in another case is accepted, names the same statement, and a re-send in another case is the
    same event (already stored), not a reused id; the event is kept as its first send spelled it."""
    event = fresh_event()
    shouted = dict(event, id=spelling(event["id"]))
    first = post_in_process(client, envelope(shouted))
    assert first.status_code == 200, first.get_json()
    again = post_in_process(client, envelope(event))
    assert again.status_code == 200, again.get_json()
    assert again.get_json()["alreadyStored"] == 1
    assert read_statement(client, event["id"][9:])["context"]["extensions"][EVENT_EXTENSION] == shouted
    both = post_in_process(client, envelope(event, shouted))
    assert both.status_code == 200 and both.get_json()["alreadyStored"] == 1
    changed = post_in_process(client, envelope(dict(shouted, eventTime="2026-01-01T00:00:00.000Z")))
    assert changed.status_code == 400
    assert changed.get_json()["errors"][0]["message"] == "this id was already used for a different event"


def test_an_entity_one_mongodb_document_cannot_hold_is_a_413_before_anything_is_stored(client: Any, app: Any) -> None:
    """The body limit (20 MB) lets an entity past MongoDB's 16 MB document limit: MongoDB refused
    its write after the events were stored (a 500, and the same again on every resend), while
    mongomock, which has no such limit, kept it."""
    person = {"id": "https://example.edu/users/554433", "type": "Person", "name": "A" * (16 * 1024 * 1024)}
    response = post_in_process(client, envelope(dict(GOOD, id=f"urn:uuid:{uuid.uuid4()}"), person))
    assert response.status_code == 413
    assert response.get_json()["message"].startswith(f"the entity {person['id']} described in data is 16777")
    assert statement_count(client) == 0
    assert app.extensions["lrs"].plugin_collection("caliper", "entities").count_documents({}) == 0


def test_resent_envelope_is_idempotent(client: Any) -> None:
    body = envelope(*SEED_002_EVENTS[:2])
    assert post_in_process(client, body).status_code == 200
    assert post_in_process(client, body).status_code == 200
    assert statement_count(client) == 2


def test_reused_id_with_other_content_is_refused(client: Any) -> None:
    assert post_in_process(client, envelope(SEED_002_EVENTS[0])).status_code == 200
    response = post_in_process(client, envelope(SEED_002_EVENTS[3]))  # same id, other event
    assert response.status_code == 400
    assert response.get_json()["errors"] == [
        {"index": 0, "path": "$.data[0].id", "message": "this id was already used for a different event"}]
    assert statement_count(client) == 1


def test_envelope_of_many_events_is_one_batch(client: Any) -> None:
    events = [dict(SEED_002_EVENTS[0], id=f"urn:uuid:{uuid.uuid4()}") for _ in range(25)]
    response = post_in_process(client, envelope(*events))
    assert response.status_code == 200
    assert response.get_json()["message"] == "25 event(s) and 0 entity(ies) stored"
    assert statement_count(client) == 25


def test_entities_described_are_bounded_like_events(make_app: Any) -> None:
    """Each entity described is a write of its own: more than LRS_MAX_STATEMENTS_PER_REQUEST of
    them is a 413 before anything is stored (only the body size bounded them: 18 MB of Person
    describes held the embedded store for 22 s)."""
    small = caliper_app(make_app, max_statements_per_request=2).test_client()
    people = [{"id": f"https://example.edu/users/{n}", "type": "Person"} for n in range(3)]
    body = envelope(dict(GOOD, id=f"urn:uuid:{uuid.uuid4()}"), *people)
    response = post_in_process(small, body)
    assert response.status_code == 413
    assert response.get_json() == {"status": "error", "errors": [], "message": "a request may describe at most 2 "
                                   "entities (LRS_MAX_STATEMENTS_PER_REQUEST), not 3; send smaller envelopes"}
    checked = small.post("/caliper/event/validate", json=body, headers=bearer(token(small))).get_json()
    assert checked["status"] == "error" and checked["errors"][0]["path"] == "$.data"
    assert statement_count(small) == 0
    assert small.application.extensions["lrs"].plugin_collection("caliper", "entities").count_documents({}) == 0
    assert post_in_process(small, envelope(*people[:2])).status_code == 200


# -- one event of every profile ----------------------------------------------------------------

def _event(profile: str, kind: str, action: str, object_: dict, **extra: Any) -> dict:
    return {"@context": CONTEXT, "id": f"urn:uuid:{uuid.uuid4()}", "type": kind, "profile": profile,
            "actor": PERSON, "action": action, "object": object_, "eventTime": "2026-03-01T09:00:00.000Z", **extra}


RESOURCE = {"id": "https://example.edu/resources/1", "type": "DigitalResource", "name": "Reading 1"}
PROFILE_EVENTS: dict[str, tuple[dict, str]] = {  # profile -> (event, expected verb)
    "AnnotationProfile": (_event("AnnotationProfile", "AnnotationEvent", "Bookmarked", RESOURCE,
                                 generated={"id": "https://example.edu/bookmarks/1", "type": "BookmarkAnnotation"}),
                          "http://id.tincanapi.com/verb/bookmarked"),
    "AssessmentProfile": (_event("AssessmentProfile", "AssessmentItemEvent", "Completed",
                                 {"id": "https://example.edu/items/3", "type": "AssessmentItem",
                                  "isPartOf": {"id": "https://example.edu/assess/1", "type": "Assessment"}},
                                 generated={"id": "https://example.edu/responses/9", "type": "FillinBlankResponse",
                                            "values": ["blue", "red"], "duration": "PT30S"}),
                          "http://adlnet.gov/expapi/verbs/answered"),
    "ToolUseProfile": (_event("ToolUseProfile", "ToolUseEvent", "Used",
                              {"id": "https://example.edu", "type": "SoftwareApplication"}),
                       "http://activitystrea.ms/schema/1.0/use"),
    "GeneralProfile": (_event("GeneralProfile", "Event", "Linked", RESOURCE),
                       "http://purl.imsglobal.org/caliper/actions/Linked"),
    "FeedbackProfile": (_event("FeedbackProfile", "FeedbackEvent", "Ranked", RESOURCE,
                               generated={"id": "https://example.edu/ratings/1", "type": "Rating"}),
                        "http://id.tincanapi.com/verb/rated"),
    "MediaProfile": (_event("MediaProfile", "MediaEvent", "Paused",
                            {"id": "https://example.edu/videos/1", "type": "VideoObject"},
                            target={"id": "https://example.edu/videos/1#t=71", "type": "MediaLocation",
                                    "currentTime": "PT1M11S"}),
                     "https://w3id.org/xapi/video/verbs/paused"),
    "SurveyProfile": (_event("SurveyProfile", "SurveyInvitationEvent", "Accepted",
                             {"id": "https://example.edu/invitations/1", "type": "SurveyInvitation"}),
                      "http://activitystrea.ms/schema/1.0/accept"),
    "ResourceManagementProfile": (_event("ResourceManagementProfile", "ResourceManagementEvent", "Archived",
                                         RESOURCE), "http://activitystrea.ms/schema/1.0/archive"),
    "ForumProfile": (_event("ForumProfile", "MessageEvent", "Posted",
                            {"id": "https://example.edu/forums/1/messages/2", "type": "Message"}),
                     "http://activitystrea.ms/schema/1.0/post"),
    "AssignableProfile": (_event("AssignableProfile", "AssignableEvent", "Started",
                                 {"id": "https://example.edu/assignments/1", "type": "AssignableDigitalResource"},
                                 generated={"id": "https://example.edu/attempts/1", "type": "Attempt", "count": 1}),
                          "http://adlnet.gov/expapi/verbs/attempted"),
    "GradingProfile": (_event("GradingProfile", "GradeEvent", "Graded",
                              {"id": "https://example.edu/attempts/1", "type": "Attempt"},
                              actor={"id": "https://example.edu/autograder", "type": "SoftwareApplication"},
                              generated={"id": "https://example.edu/scores/1", "type": "Score",
                                         "scoreGiven": 7, "maxScore": 10}),
                       "http://purl.imsglobal.org/caliper/actions/Graded"),
    "ReadingProfile": (_event("ReadingProfile", "NavigationEvent", "NavigatedTo",
                              {"id": "https://example.edu/books/1/chapters/2", "type": "Chapter"}),
                       "http://activitystrea.ms/schema/1.0/access"),
    "SessionProfile": (_event("SessionProfile", "SessionEvent", "LoggedIn",
                              {"id": "https://example.edu", "type": "SoftwareApplication"},
                              session={"id": "https://example.edu/sessions/77", "type": "Session"}),
                       "https://w3id.org/xapi/adl/verbs/logged-in"),
    "SearchProfile": (_event("SearchProfile", "SearchEvent", "Searched",
                             {"id": "https://example.edu/catalog", "type": "SoftwareApplication"},
                             generated={"id": "https://example.edu/search/1", "type": "SearchResponse"}),
                      "http://activitystrea.ms/schema/1.0/search"),
    "ToolLaunchProfile": (_event("ToolLaunchProfile", "ToolLaunchEvent", "Launched",
                                 {"id": "https://tool.example.com", "type": "SoftwareApplication"},
                                 federatedSession={"id": "https://example.edu/lti/sessions/1", "type": "LtiSession"}),
                          "http://adlnet.gov/expapi/verbs/launched"),
    "TimebackProfile": (_event("TimebackProfile", "TimebackActivityEvent", "Completed",
                               {"id": "https://myapp.example.com/activities/Math/g3/lesson-1",
                                "type": "TimebackActivityContext"},
                               actor={"id": "https://api.example.com/users/student-123", "type": "TimebackUser"}),
                        "http://adlnet.gov/expapi/verbs/completed"),
    "AggregationProfile": (_event("AggregationProfile", "ActivityEvent", "Completed",
                                  {"id": "https://myapp.example.com/activities/1", "type": "AssignableDigitalResource"},
                                  generated={"id": "urn:uuid:5e2d3f3a-8e0e-4d6b-9a57-7d4c1d2f0a11",
                                             "type": "ActivityMetricsCollection",
                                             "items": [{"id": "urn:uuid:0f6d1c3a-1b2c-4d5e-8f90-a1b2c3d4e5f6",
                                                        "type": "ActivityMetric", "metricType": "XpEarned",
                                                        "metricValue": 10}]}),
                           "http://adlnet.gov/expapi/verbs/completed"),
}


def test_every_profile_of_the_seed_is_covered() -> None:
    assert set(PROFILE_EVENTS) == set(PROFILES)


@pytest.mark.parametrize("profile", sorted(PROFILE_EVENTS))
def test_one_event_per_profile(client: Any, profile: str) -> None:
    event, verb = PROFILE_EVENTS[profile]
    response = post_in_process(client, envelope(event))
    assert response.status_code == 200, response.get_json()
    stored = read_statement(client, event["id"][9:])
    assert stored["verb"]["id"] == verb
    assert stored["object"]["id"] == event["object"]["id"]
    assert stored["object"]["definition"]["type"] == CALIPER + event["object"]["type"]
    assert stored["context"]["extensions"][EVENT_EXTENSION] == event


def test_profile_specific_result_and_context(client: Any) -> None:
    for profile in ("AssessmentProfile", "GradingProfile", "ToolLaunchProfile"):
        assert post_in_process(client, envelope(PROFILE_EVENTS[profile][0])).status_code == 200
    answered = read_statement(client, PROFILE_EVENTS["AssessmentProfile"][0]["id"][9:])
    assert answered["result"] == {"response": "blue[,]red", "duration": "PT30S"}
    assert answered["context"]["contextActivities"]["parent"] == [{
        "objectType": "Activity", "id": "https://example.edu/assess/1", "definition": {"type": CALIPER + "Assessment"}}]
    graded = read_statement(client, PROFILE_EVENTS["GradingProfile"][0]["id"][9:])
    assert graded["result"] == {"score": {"raw": 7, "max": 10, "scaled": 0.7}}
    assert graded["actor"]["account"] == {"homePage": "https://example.edu", "name": "autograder"}
    launched = read_statement(client, PROFILE_EVENTS["ToolLaunchProfile"][0]["id"][9:])
    assert launched["context"]["extensions"][CALIPER + "federatedSession"] == {
        "id": "https://example.edu/lti/sessions/1", "type": "LtiSession"}


# -- invalid input -----------------------------------------------------------------------------

def _with(event: dict, **changes: Any) -> dict:
    changed = copy.deepcopy(event)
    for key, value in changes.items():
        if value is None:
            changed.pop(key, None)
        else:
            changed[key] = value
    return changed


GOOD = SEED_002_EVENTS[1]
INVALID_EVENTS = [
    (_with(GOOD, action="Viewed"), "$.data[0].action",
     "Viewed is not allowed for a ToolUseEvent in the ToolUseProfile (allowed: Used)"),
    (_with(GOOD, actor=None), "$.data[0].actor", "required"),
    (_with(GOOD, eventTime=None), "$.data[0].eventTime", "required"),
    (_with(GOOD, id="7e10e4f3-a0d8-4430-95bd-783ffae4d916"), "$.data[0].id",
     "must be a UUID expressed as a URN: urn:uuid:<UUID>"),
    (_with(GOOD, id="urn:uuid:"), "$.data[0].id", "must be a UUID expressed as a URN: urn:uuid:<UUID>"),
    (_with(GOOD, eventTime="2016-11-15 10:15"), "$.data[0].eventTime",
     "must be an ISO 8601 date-time with a time zone, e.g. 2026-01-15T10:07:30.000Z, in years 1 to 9999 in UTC"),
    (_with(GOOD, eventTime="2016-11-15T10:15:00"), "$.data[0].eventTime",
     "must be an ISO 8601 date-time with a time zone, e.g. 2026-01-15T10:07:30.000Z, in years 1 to 9999 in UTC"),
    (_with(GOOD, eventTime="0001-01-01T00:00:00.000+01:00"), "$.data[0].eventTime",  # year 0 in UTC
     "must be an ISO 8601 date-time with a time zone, e.g. 2026-01-15T10:07:30.000Z, in years 1 to 9999 in UTC"),
    (_with(GOOD, profile="FancyProfile"), "$.data[0].profile", None),
    (_with(GOOD, profile="MediaProfile"), "$.data[0].type", "ToolUseEvent is not an event of the MediaProfile"),
    (_with(GOOD, type="ClickEvent"), "$.data[0].type", None),
    (_with(GOOD, action="Smiled"), "$.data[0].action", "unknown Caliper action"),
    (_with(GOOD, score=3), "$.data[0].score", "unknown property (custom data belongs in `extensions`)"),
    (_with(GOOD, actor={"id": "https://example.edu/users/1", "type": "Robot"}), "$.data[0].actor.type",
     "unknown Caliper entity type 'Robot'"),
    (_with(GOOD, object={"id": "https://example.edu/x", "type": "Person"}), "$.data[0].object.type",
     "Person is not allowed here (expected SoftwareApplication, or a subtype)"),
    (_with(GOOD, object={"type": "SoftwareApplication"}), "$.data[0].object.id", "required: the entity's IRI"),
    (_with(GOOD, actor="not an iri"), "$.data[0].actor", "must be an IRI or an entity object {id, type}"),
    (_with(GOOD, actor="https://example.edu/users/1\n"), "$.data[0].actor",  # was account.name "users/1\n"
     "must be an IRI or an entity object {id, type}"),
    (_with(GOOD, actor={"id": "https://example.edu/users/1\n", "type": "Person"}), "$.data[0].actor.id", None),
    (_with(GOOD, object={"id": "https://example.edu\n", "type": "SoftwareApplication"}), "$.data[0].object.id",
     None),
    (_with(GOOD, group={"id": "https://example.edu/g", "type": "Person"}), "$.data[0].group.type",
     "Person is not allowed here (expected Organization, or a subtype)"),
    (_with(GOOD, **{"@context": "http://purl.imsglobal.org/ctx/caliper/v1p1"}), "$.data[0].@context",
     f"must be {CONTEXT}, an inline context object, or an array ending with {CONTEXT}"),
    (_with(GOOD, **{"@context": [CONTEXT, "https://example.edu/ctx"]}), "$.data[0].@context", None),
    (_with(GOOD, object={"id": "https://example.edu", "type": "SoftwareApplication", "version": 2}),
     "$.data[0].object.version", "must be a string"),
    (_with(GOOD, group={"id": "https://example.edu/g", "type": "Group", "members": [{"type": "Person"}]}),
     "$.data[0].group.members[0].id", "required: the entity's IRI"),
    (_with(PROFILE_EVENTS["MediaProfile"][0], target={"id": "https://example.edu/v", "type": "Frame"}),
     "$.data[0].target.type", "Frame is not allowed here (expected MediaLocation, or a subtype)"),
    (_with(PROFILE_EVENTS["GradingProfile"][0], generated={
        "id": "https://example.edu/s", "type": "Score", "scoreGiven": "7"}), "$.data[0].generated.scoreGiven",
     "must be a number"),
    (_with(GOOD, extensions=[1]), "$.data[0].extensions", "must be an object"),
    (_with(PROFILE_EVENTS["AssessmentProfile"][0], generated={  # longer than a timedelta: was a 500
        **PROFILE_EVENTS["AssessmentProfile"][0]["generated"], "duration": "PT99999999999999999999S"}),
     "$.data[0].generated.duration", "must be an ISO 8601 duration, e.g. PT1M30S, of at most 999,999,999 days"),
    (_with(PROFILE_EVENTS["ToolLaunchProfile"][0], federatedSession=None), "$.data[0].federatedSession",
     "required for a ToolLaunchEvent Launched"),
    (_with(PROFILE_EVENTS["SessionProfile"][0], action="TimedOut"), "$.data[0].actor.type",
     "Person is not allowed here (expected SoftwareApplication, or a subtype)"),
]


@pytest.mark.parametrize("event,path,message", INVALID_EVENTS,
                         ids=[case[1] + str(i) for i, case in enumerate(INVALID_EVENTS)])
def test_invalid_event_is_refused_naming_path(refusing: Any, event: dict, path: str, message: str | None) -> None:
    response = post_in_process(refusing, envelope(event))
    assert response.status_code == 400
    body = response.get_json()
    assert body["status"] == "error"
    assert body["message"].startswith("1 invalid item(s); nothing was stored (")
    errors = [(e["index"], e["path"]) for e in body["errors"]]
    assert (0, path) in errors, body
    if message:
        assert {"index": 0, "path": path, "message": message} in body["errors"]
    assert statement_count(refusing) == 0


def test_an_event_time_before_year_1000_is_stored_in_utc_with_four_year_digits(client: Any) -> None:
    """It was a 500: the statement's timestamp was written "1-01-01T12:00:00.000Z", which the core refused."""
    event = _with(GOOD, id=f"urn:uuid:{uuid.uuid4()}", eventTime="0001-01-01T00:00:00.000-12:00")
    assert post_in_process(client, envelope(event)).status_code == 200
    assert read_statement(client, event["id"][9:])["timestamp"] == "0001-01-01T12:00:00.000Z"


def test_nested_entities_are_checked_by_their_own_type(refusing: Any) -> None:
    event = _with(SEED_002_EVENTS[0], object={"id": "https://example.edu/x", "type": "DigitalResource",
                                              "isPartOf": {"id": "not an iri", "type": "Collection"}})
    response = post_in_process(refusing, envelope(event))
    assert response.status_code == 400
    assert response.get_json()["errors"] == [
        {"index": 0, "path": "$.data[0].object.isPartOf.id", "message": "required: the entity's IRI"}]
    assert statement_count(refusing) == 0


SCHEMA_ORG = "https://schema.org/docs/jsonldcontext.json"


@pytest.mark.parametrize("context", [SCHEMA_ORG, [SCHEMA_ORG], [CONTEXT, {"isbn": "http://schema.org/isbn"}], []])
def test_a_nested_entity_may_add_a_local_context(client: Any, context: Any) -> None:
    """Caliper 1.2 (JSON-LD Context): local contexts may be added to any object, as an IRI, an
    object or an array; only the top-level one must end with Caliper's. They were refused."""
    event = _with(GOOD, id=f"urn:uuid:{uuid.uuid4()}",
                  object={"@context": context, "id": "https://example.edu", "type": "SoftwareApplication"})
    response = post_in_process(client, envelope(event))
    assert response.status_code == 200, response.get_json()
    assert read_statement(client, event["id"][9:])["context"]["extensions"][EVENT_EXTENSION] == event


@pytest.mark.parametrize("context", ["not a context", [SCHEMA_ORG, 7]])
def test_a_nested_context_is_still_iris_or_objects(refusing: Any, context: Any) -> None:
    event = _with(GOOD, object={"@context": context, "id": "https://example.edu", "type": "SoftwareApplication"})
    response = post_in_process(refusing, envelope(event))
    assert response.status_code == 400
    assert response.get_json()["errors"] == [{"index": 0, "path": "$.data[0].object.@context", "message":
                                              "must be a context IRI, an inline context object, or an array of them"}]
    assert statement_count(refusing) == 0


def _unset_as_null(entity: dict, *unset: str) -> dict:
    return {**entity, **dict.fromkeys(unset)}


# An event as IMS's caliper-python sends it with optimize_serialization=False: every property the
# sender did not set is there, as null, in the event and in each entity.
EVENT_WITH_NULLS = {
    "@context": CONTEXT, "id": "urn:uuid:5b4e1c0d-7a8f-4d6e-9b1a-2c3d4e5f6a7b", "type": "NavigationEvent",
    "profile": "ReadingProfile", "action": "NavigatedTo", "eventTime": "2019-11-15T10:15:00.000Z",
    "actor": _unset_as_null({"@context": CONTEXT, **PERSON}, "dateCreated", "description", "extensions", "name",
                            "otherIdentifiers"),
    "object": _unset_as_null({"@context": CONTEXT, "id": "https://example.edu/etexts/201.epub", "type": "Document",
                              "name": "IMS Caliper Specification"},
                             "creators", "dateCreated", "isPartOf", "keywords", "mediaType", "version"),
    "membership": _unset_as_null({"@context": CONTEXT, "id": "https://example.edu/rosters/1", "type": "Membership",
                                  "member": PERSON["id"], "roles": ["Learner"], "status": "Active"},
                                 "organization", "description", "extensions"),
    **dict.fromkeys(("edApp", "federatedSession", "generated", "group", "referrer", "session", "target",
                     "extensions")),
}


def test_properties_sent_as_null_are_absent(client: Any) -> None:
    """JSON-LD ignores a property whose value is null. caliper-python, IMS's reference sensor, sends
    every unset property so when not optimizing its serialization: all its events were refused
    (`dateCreated: must be an ISO 8601 date-time`, `group: must be an IRI or an entity object`)."""
    described = _unset_as_null({"@context": CONTEXT, **PERSON, "name": "Ana"}, "dateCreated", "extensions")
    response = post_in_process(client, envelope(EVENT_WITH_NULLS, described))
    assert response.status_code == 200, response.get_json()
    stored = read_statement(client, EVENT_WITH_NULLS["id"][9:])
    assert stored["context"]["extensions"][EVENT_EXTENSION] == EVENT_WITH_NULLS  # kept as sent, nulls included
    assert stored["object"]["definition"] == {"type": CALIPER + "Document", "name": {"und": "IMS Caliper Specification"}}
    assert "platform" not in stored["context"] and "registration" not in stored["context"]
    assert "contextActivities" not in stored["context"] and "result" not in stored
    assert stored["context"]["extensions"][CALIPER + "membership"]["roles"] == ["Learner"]


def test_a_required_property_sent_as_null_is_missing(refusing: Any) -> None:
    response = post_in_process(refusing, envelope(dict(EVENT_WITH_NULLS, eventTime=None, object={
        "id": "https://example.edu/etexts/201.epub", "type": None})))
    assert response.status_code == 400
    assert response.get_json()["errors"] == [
        {"index": 0, "path": "$.data[0].eventTime", "message": "required"},
        {"index": 0, "path": "$.data[0].object.type", "message": "required: the entity's Caliper type"}]
    assert statement_count(refusing) == 0


def test_an_unknown_local_offset_is_refused_on_the_event_property(refusing: Any) -> None:
    event = _with(GOOD, id=f"urn:uuid:{uuid.uuid4()}", eventTime="2023-08-15T14:12:00.000-00:00")
    response = post_in_process(refusing, envelope(GOOD, event))
    assert response.status_code == 400
    [error] = response.get_json()["errors"]
    assert error["index"] == 1 and error["path"] == "$.data[1].eventTime"
    assert statement_count(refusing) == 0


def test_one_bad_event_stores_nothing(client: Any) -> None:
    good = [dict(GOOD, id=f"urn:uuid:{uuid.uuid4()}") for _ in range(3)]
    bad = _with(GOOD, id=f"urn:uuid:{uuid.uuid4()}", action="Viewed")
    entity = {"id": "https://example.edu/users/554433", "type": "Person"}
    response = post_in_process(client, envelope(good[0], entity, bad, good[1], good[2]))
    assert response.status_code == 400
    assert [e["index"] for e in response.get_json()["errors"]] == [2]
    assert statement_count(client) == 0
    lrs = client.application.extensions["lrs"]
    assert lrs.plugin_collection("caliper", "entities").count_documents({}) == 0


@pytest.mark.parametrize("body,path,message", [
    ([], "$", "the body must be a Caliper envelope object {sensor, sendTime, dataVersion, data}"),
    ({"data": [GOOD]}, "$.sensor", "required"),
    (dict(envelope(GOOD), dataVersion=1.2), "$.dataVersion", "must be a string, http://purl.imsglobal.org/ctx/caliper/v1p2"),
    (dict(envelope(GOOD), data=[]), "$.data", "must be a non-empty array of Caliper events and entities"),
    (dict(envelope(GOOD), sendTime="yesterday"), "$.sendTime",
     "must be an ISO 8601 date-time with a time zone, e.g. 2026-01-15T10:07:30.000Z, in years 1 to 9999 in UTC"),
    (dict(envelope(GOOD), sensor="not an iri"), "$.sensor", "must be an IRI identifying the sensor"),
])
def test_bad_envelope(refusing: Any, body: Any, path: str, message: str) -> None:
    response = post_in_process(refusing, body)
    assert response.status_code == 400
    result = response.get_json()
    assert result["status"] == "error" and result["message"].startswith("invalid envelope; nothing was stored (")
    assert {"index": None, "path": path, "message": message} in result["errors"]
    assert statement_count(refusing) == 0


@pytest.mark.parametrize("version", ["http://purl.imsglobal.org/ctx/caliper/v1p1", "1.2", ""])
def test_an_unsupported_data_version_is_422(refusing: Any, version: str) -> None:
    """Caliper 1.2 section 6.1: a dataVersion the endpoint cannot support gets 422, not 400; the
    items, of another version, are not judged by 1.2's model (this one's action is unknown to it)."""
    response = post_in_process(refusing, dict(envelope(_with(GOOD, action="Smiled")), dataVersion=version))
    assert response.status_code == 422
    assert response.get_json()["errors"] == [
        {"index": None, "path": "$.dataVersion", "message": "unsupported Caliper version: this endpoint takes "
         "http://purl.imsglobal.org/ctx/caliper/v1p2 (GET /caliper/event lists the versions it supports)"}]
    assert statement_count(refusing) == 0


def test_the_endpoint_configuration(live_server: LiveServer) -> None:
    """Caliper 1.2 section 6.2: GET on the endpoint, with the authorization a POST needs, answers
    200 with the configuration (the shape of IMS's caliperEndpointConfigPayload.json)."""
    access = live_token(live_server)
    for route in ("/caliper/event", "/caliper/v1p2"):
        response = requests.get(live_server.url + route, headers=bearer(access), timeout=TIMEOUT)
        assert response.status_code == 200, response.text
        assert response.json() == {
            "caliper_maximum_payload_size": 20 * 1024,
            "caliper_supported_versions": [CONTEXT, "https://purl.imsglobal.org/ctx/caliper/v1p2"],
            "caliper_supported_extensions": {"endpoint_name": "lrs Caliper endpoint", "endpoint_version": __version__,
                                             "maximum_events_per_envelope": 1000}}
    refused = requests.get(live_server.url + "/caliper/event", timeout=TIMEOUT)
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Bearer")
    narrow = live_token(live_server, scope="events.write")  # the Events API's scope only
    # 401, not 403: a sensor takes a ping's status other than 200 or 401 for an endpoint out of service
    assert requests.get(live_server.url + "/caliper/event", headers=bearer(narrow), timeout=TIMEOUT).status_code == 401


def test_a_bad_envelope_lists_its_items_problems_too(refusing: Any) -> None:
    body = dict(envelope(GOOD, _with(GOOD, action="Viewed")), sendTime="yesterday")
    response = post_in_process(refusing, body)
    result = response.get_json()
    assert response.status_code == 400
    assert result["message"].startswith("invalid envelope and 1 invalid item(s); nothing was stored (")
    assert [(error["index"], error["path"]) for error in result["errors"]] == [(None, "$.sendTime"),
                                                                              (1, "$.data[1].action")]
    assert statement_count(refusing) == 0


def test_bad_entity_in_data(refusing: Any) -> None:
    entity = {"id": "https://example.edu/res/1", "type": "DigitalResource", "mediaType": "text/html",
              "colour": "red", "dateModified": "now"}
    response = post_in_process(refusing, envelope(GOOD, entity))
    assert response.status_code == 400
    assert response.get_json()["errors"] == [
        {"index": 1, "path": "$.data[1].colour",
         "message": "unknown property of a DigitalResource (custom data belongs in `extensions`)"},
        {"index": 1, "path": "$.data[1].dateModified",
         "message": "must be an ISO 8601 date-time with a time zone, e.g. 2026-01-15T10:07:30.000Z, in years 1 to 9999 in UTC"},
    ]


def test_not_json(refusing: Any) -> None:
    response = refusing.post("/caliper/event", data="{nope", headers=bearer(token(refusing)),
                             content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["status"] == "error"
    assert "malformed JSON" in response.get_json()["message"]


@pytest.mark.parametrize("path", ["/caliper/event", "/caliper/v1p2", "/caliper/event/validate", "/events/1.0/"])
@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "application/x-www-form-urlencoded",
                                          "application/ld+json", None])
def test_a_body_that_is_not_sent_as_json_is_a_415_and_nothing_is_stored(client: Any, path: str,
                                                                         content_type: str | None) -> None:
    """Caliper 1.2 §5.4: a sensor MUST send Content-Type application/json; §6.1: otherwise 415."""
    body = json.dumps(envelope(SEED_002_EVENTS[0]) if path.startswith("/caliper") else fill_placeholders(SEED_003_XP))
    headers = {**bearer(token(client)), **({"Content-Type": content_type} if content_type else {})}
    response = client.post(path, data=body, headers=headers)
    assert response.status_code == 415
    given = repr(content_type) if content_type else "missing"
    assert response.get_json() == {"status": "error", "errors": [],
                                   "message": f"Content-Type {given}: Caliper 1.2 takes application/json only"}
    assert statement_count(client) == 0
    for taken in ("application/json; charset=utf-8", "Application/JSON"):  # parameters and case do not matter
        response = client.post(path, data=body, headers={**headers, "Content-Type": taken})
        assert response.status_code in (200, 202), response.get_json()
    assert statement_count(client) == (0 if path.endswith("/validate") else 1)
