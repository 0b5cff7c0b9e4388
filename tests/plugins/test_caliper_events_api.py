"""The Events API (seeds/003) against a live server: its examples, the session lifecycle (login,
heartbeat, logout, timeout, auto-attach) and its refusals.
"""
from __future__ import annotations

import copy
import datetime as dt
import json
import uuid
from typing import Any

import pytest
import requests

from lrs_plugins.caliper.sessions import SessionStore
from lrs_plugins.caliper.values import EVENT_ID_NAMESPACE, URN_UUID, session_uuid
from tests.conftest import LiveServer
from tests.plugins.caliper_support import (
    APP,
    CLIENT_ID,
    CONTEXT,
    EVENT_EXTENSION,
    SEED_003_CURL,
    SEED_003_LOGGED_IN,
    SEED_003_MASTERY,
    SEED_003_QUESTION_RESULT,
    SEED_003_XP,
    STUDENT,
    TIMEOUT,
    XAPI_HEADERS,
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
SESSION_123 = "https://vendor.example.com/sessions/session-123"
LEARNER = {"objectType": "Agent", "account": {"homePage": "https://api.alpha-1edtech.ai",
                                              "name": "rostering/1.0/users/student-123"}}


app = caliper_app_fixture(caliper_heartbeat_timeout=60)


class Client:
    """A seeds/003 client: one token, JSON posts to the live server."""

    def __init__(self, server: LiveServer):
        self.server = server
        self.headers = {**bearer(live_token(server)), "Content-Type": "application/json"}

    def post(self, path: str, body: Any = None, **params: str) -> requests.Response:
        data = json.dumps(body) if body is not None else None
        return requests.post(self.server.url + path, data=data, params=params, headers=self.headers,
                             timeout=TIMEOUT)

    def event(self, event: dict) -> requests.Response:
        return self.post("/events/1.0/", event)


@pytest.fixture
def api(live_server: LiveServer) -> Client:
    return Client(live_server)


def logout(**changes: Any) -> dict:
    event = {"@context": CONTEXT, "id": f"urn:uuid:{uuid.uuid4()}", "type": "SessionEvent",
             "profile": "SessionProfile", "actor": {"id": STUDENT, "type": "Person"}, "action": "LoggedOut",
             "object": dict(APP), "eventTime": "2026-02-26T16:00:00Z", "edApp": dict(APP),
             "extensions": {"subject": "Math"}, "session": SESSION_123}
    event.update(changes)
    return event


def login(session_iri: str = SESSION_123, heartbeat: bool = True, start: str = "2026-02-26T15:00:00Z") -> dict:
    event = copy.deepcopy(SEED_003_LOGGED_IN)
    event["id"] = f"urn:uuid:{uuid.uuid4()}"
    event["session"].update(id=session_iri, startedAtTime=start)
    event["session"]["extensions"]["requiresHeartbeat"] = heartbeat
    return event


def sessions(app: Any) -> Any:
    return app.extensions["lrs"].plugin_collection("caliper", "sessions")


def silence(app: Any, session_id: str, seconds: float) -> None:
    """Make a session look as if its last heartbeat arrived `seconds` ago (server time)."""
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=seconds)
    assert sessions(app).update_one({"_id": session_id}, {"$set": {"last_seen": past}}).matched_count == 1


# -- the seed's examples -----------------------------------------------------------------------

@pytest.mark.parametrize("example", [SEED_003_QUESTION_RESULT, SEED_003_XP, SEED_003_MASTERY, SEED_003_CURL],
                         ids=["question_result", "xp", "mastery", "curl"])
def test_seed_grade_examples_are_accepted(api: Client, example: dict) -> None:
    event = fill_placeholders(example)
    response = api.event(event)
    assert response.status_code == 202, response.text
    assert response.json() == {"status": "accepted", "eventCount": 1}
    stored = read_statement(api.server, event["id"][9:])
    assert stored["context"]["extensions"][EVENT_EXTENSION] == event
    assert stored["verb"]["id"] == CALIPER + "actions/Graded"
    assert stored["object"]["definition"]["type"] == CALIPER + "Attempt"
    assert stored["actor"]["account"]["homePage"] == "https://api.alpha-1edtech.ai" or example is SEED_003_CURL


@pytest.mark.parametrize("versions", ["1.0.3", "2.0.0", "1.0.3,2.0.0"])
def test_a_grade_is_found_among_the_learners_statements(make_app: Any, versions: str) -> None:
    """The learner of a graded Attempt (its assignee) is in context.team: `agent=<learner>` with
    related_agents=true finds the grade, whichever xAPI versions the LRS serves; the actor stays
    the grader, so plain `agent=` finds only what the learner did. A learner who is the actor is
    no team too (xAPI: "if not included as the Actor")."""
    app = caliper_app(make_app, xapi_versions=versions)
    other = copy.deepcopy(SEED_003_MASTERY)
    other["object"]["assignee"]["id"] = STUDENT.replace("student-123", "student-456")
    grade, others, own = fill_placeholders(SEED_003_XP), fill_placeholders(other), fill_placeholders(SEED_003_XP)
    own["actor"] = {"id": STUDENT, "type": "Person"}
    with LiveServer(app) as server:
        api = Client(server)
        assert [api.event(event).status_code for event in (grade, others, own)] == [202, 202, 202]
        for version in versions.split(","):
            broadly = learners_statements(server, version, related_agents="true")
            assert [s["id"] for s in broadly] == [own["id"][9:], grade["id"][9:]]
            assert broadly[1]["result"]["score"] == {"raw": 150}
            assert broadly[1]["actor"]["account"] == {"homePage": "https://api.alpha-1edtech.ai",
                                                      "name": "applications/1.0/your-app"}
            assert broadly[1]["context"]["team"] == {"objectType": "Group", "member": [LEARNER]}
            assert learners_statements(server, version) == broadly[:1] and "team" not in broadly[0]["context"]


def learners_statements(server: LiveServer, version: str, **params: str) -> list[dict]:
    response = requests.get(server.url + "/xapi/statements", params={"agent": json.dumps(LEARNER), **params},
                            headers={**XAPI_HEADERS, "X-Experience-API-Version": version}, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return response.json()["statements"]


def test_seed_placeholder_id_is_accepted_and_idempotent(api: Client) -> None:
    """The seed's own id `urn:uuid:event-unique-id` is no UUID: it gets a derived statement id."""
    event = copy.deepcopy(SEED_003_XP)
    assert event["id"] == "urn:uuid:event-unique-id"
    assert api.event(event).status_code == 202
    assert api.event(event).status_code == 202
    derived = str(uuid.uuid5(EVENT_ID_NAMESPACE, "urn:uuid:event-unique-id"))
    stored = read_statement(api.server, derived)
    assert stored["context"]["extensions"][EVENT_EXTENSION]["id"] == "urn:uuid:event-unique-id"
    other = copy.deepcopy(SEED_003_MASTERY)  # the same placeholder id, another event
    response = api.event(other)
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"index": 0, "path": "$.id", "message": "this id was already used for a different event"}]


def test_seed_scores_become_results(api: Client) -> None:
    results = {}
    for name, example in (("qr", SEED_003_QUESTION_RESULT), ("xp", SEED_003_XP), ("mastery", SEED_003_MASTERY)):
        event = fill_placeholders(example)
        assert api.event(event).status_code == 202
        results[name] = read_statement(api.server, event["id"][9:])
    assert results["qr"]["result"] == {"score": {"raw": 1, "max": 1, "scaled": 1.0}}
    assert results["xp"]["result"] == {"score": {"raw": 150}}
    assert results["mastery"]["result"] == {"score": {"raw": 100, "max": 100, "scaled": 1.0}}
    assert results["qr"]["context"]["contextActivities"]["parent"][0]["id"] == \
        "https://vendor.example.com/questions/fraction-addition-q1"
    assert results["mastery"]["context"]["contextActivities"]["parent"][0]["definition"] == {
        "type": CALIPER + "AssignableDigitalResource", "name": {"und": "Basic Fractions Understanding"}}


def test_seed_logged_in_creates_session(api: Client, app: Any) -> None:
    response = api.event(SEED_003_LOGGED_IN)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "created" and set(body) == {"status", "sessionId"}
    assert uuid.UUID(body["sessionId"])
    stored = read_statement(api.server, "f6a7b8c9-d0e1-2345-f012-678901234567")
    assert stored["verb"]["id"] == "https://w3id.org/xapi/adl/verbs/logged-in"
    assert stored["context"]["registration"] == body["sessionId"]
    assert stored["context"]["extensions"][EVENT_EXTENSION] == SEED_003_LOGGED_IN
    # Sent again (a retry): same session, nothing new stored.
    assert api.event(SEED_003_LOGGED_IN).json() == body
    assert sessions(app).count_documents({}) == 1


def test_seed_heartbeat_examples(api: Client) -> None:
    session_id = api.event(SEED_003_LOGGED_IN).json()["sessionId"]
    response = api.post(f"/events/1.0/sessions/{session_id}/heartbeat", {"eventTime": "2026-02-26T15:05:00Z"})
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok", "sessionId": session_id, "endedAtTime": "2026-02-26T15:05:00.000Z"}
    response = api.post("/events/1.0/heartbeat", {"sessionId": session_id, "eventTime": "2026-02-26T15:06:00Z"})
    assert response.json() == {"status": "ok", "sessionId": session_id, "endedAtTime": "2026-02-26T15:06:00.000Z"}
    response = api.post("/events/1.0/heartbeat", {"eventTime": "2026-02-26T15:07:00Z"}, sessionId=session_id)
    assert response.json() == {"status": "ok", "sessionId": session_id, "endedAtTime": "2026-02-26T15:07:00.000Z"}


# -- the session lifecycle ---------------------------------------------------------------------

def test_login_heartbeat_logout(api: Client, app: Any) -> None:
    session_id = api.event(login()).json()["sessionId"]
    assert api.post("/events/1.0/heartbeat", {"sessionId": session_id, "eventTime": "2026-02-26T15:30:00Z"}).ok
    out = logout()
    response = api.event(out)
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "closed", "sessionId": session_id, "durationInSeconds": 3600}
    stored = read_statement(api.server, out["id"][9:])
    assert stored["verb"]["id"] == "https://w3id.org/xapi/adl/verbs/logged-out"
    assert stored["context"]["registration"] == session_id
    document = sessions(app).find_one({"_id": session_id})
    assert document["status"] == "closed" and document["closed_by"] == "LoggedOut"
    # A retried logout answers the same; a heartbeat on the closed session is refused.
    assert api.event(out).json() == {"status": "closed", "sessionId": session_id, "durationInSeconds": 3600}
    response = api.post(f"/events/1.0/sessions/{session_id}/heartbeat", {"eventTime": "2026-02-26T16:01:00Z"})
    assert response.status_code == 400
    assert response.json()["message"] == f"session {session_id} is closed (LoggedOut)"


def test_session_events_retried_in_another_letter_case_are_the_same_events(api: Client) -> None:
    """An event id in upper case (RFC 8141, RFC 9562: case-insensitive) is accepted; retried in
    lower case after the session closed, the login is the same login (not one for an ended
    session), and the logout answers as before."""
    into, out = login(), logout()
    into["id"], out["id"] = into["id"].upper(), out["id"].upper()
    session_id = api.event(into).json()["sessionId"]
    closed = {"status": "closed", "sessionId": session_id, "durationInSeconds": 3600}
    assert api.event(out).json() == closed
    assert api.event(dict(into, id=into["id"].lower())).json() == {"status": "created", "sessionId": session_id}
    assert api.event(dict(out, id=out["id"].lower())).json() == closed


def test_sessions_an_earlier_release_stored_are_found_by_events_retried_in_another_letter_case(
        api: Client, app: Any) -> None:
    """Releases before event ids had one spelling stored a session's LoggedIn and LoggedOut ids as
    the client spelled them (then `urn:uuid:` and upper-case hex). The upgrade at start gives them
    the canonical spelling, so a logout of the learner's active session (named by no IRI) retried
    in lower case is found as the one that closed it, not a 404 for want of an active session.
    Opaque text keeps its case, and a second run changes nothing."""
    into, out = login(), logout(session="urn:tag:auto-attach")

    def as_sent(event: dict) -> str:
        return URN_UUID + event["id"].removeprefix(URN_UUID).upper()

    store, now = SessionStore(sessions(app), 60), dt.datetime.now(dt.timezone.utc)
    start, end = (dt.datetime(2026, 2, 26, hour, tzinfo=dt.timezone.utc) for hour in (15, 16))
    session = store.open(session_uuid(SESSION_123), SESSION_123, STUDENT, CLIENT_ID, start, True, as_sent(into), now)
    store.close(session, "LoggedOut", end, as_sent(out), now)  # as earlier releases called them
    opaque_iri = "https://vendor.example.com/sessions/opaque"
    store.open(session_uuid(opaque_iri), opaque_iri, STUDENT, CLIENT_ID, start, False, "urn:uuid:Login-42", now)
    lrs, step = app.extensions["lrs"], {"_id": "session-event-ids-canonical"}
    lrs.plugin_collection("caliper", "upgrades").delete_one(step)
    lrs.start()

    closed = {"status": "closed", "sessionId": session.id, "durationInSeconds": 3600}
    assert api.event(dict(out, id=out["id"].lower())).json() == closed
    assert api.event(dict(out, id=as_sent(out))).json() == closed
    assert api.event(dict(into, id=into["id"].lower())).json() == {"status": "created", "sessionId": session.id}
    assert sessions(app).find_one({"_id": session_uuid(opaque_iri)})["login_event"] == "urn:uuid:Login-42"
    upgraded = list(sessions(app).find())
    lrs.plugin_collection("caliper", "upgrades").delete_one(step)
    lrs.start()
    assert list(sessions(app).find()) == upgraded


def test_logout_without_session_closes_the_learners_active_one(api: Client) -> None:
    session_id = api.event(login(start="2026-02-26T15:00:00Z")).json()["sessionId"]
    response = api.event(logout(session="urn:tag:auto-attach", eventTime="2026-02-26T15:20:30Z"))
    assert response.json() == {"status": "closed", "sessionId": session_id, "durationInSeconds": 1230}
    no_session = logout()
    del no_session["session"]
    response = api.event(no_session)
    assert response.status_code == 404
    assert response.json()["message"] == f"no active session for {STUDENT}"


def test_auto_attach_uses_the_learners_active_session(api: Client) -> None:
    unattached = fill_placeholders(SEED_003_XP)
    assert api.event(unattached).status_code == 202
    assert "registration" not in read_statement(api.server, unattached["id"][9:])["context"]

    session_id = api.event(login()).json()["sessionId"]
    attached = fill_placeholders(SEED_003_XP)
    assert api.event(attached).status_code == 202
    context = read_statement(api.server, attached["id"][9:])["context"]
    assert context["registration"] == session_id
    assert context["extensions"][CALIPER + "session"] == SESSION_123
    assert context["extensions"][EVENT_EXTENSION]["session"] == "urn:tag:auto-attach"  # kept as sent

    # Re-sent after the session closed: still the same statement, no conflict.
    assert api.event(logout()).status_code == 200
    assert api.event(attached).status_code == 202


def test_silent_heartbeat_session_times_out_lazily(api: Client, app: Any) -> None:
    session_id = api.event(login()).json()["sessionId"]
    assert api.post("/events/1.0/heartbeat", {"sessionId": session_id, "eventTime": "2026-02-26T15:10:00Z"}).ok
    silence(app, session_id, 61)
    response = api.post("/events/1.0/heartbeat", {"sessionId": session_id, "eventTime": "2026-02-26T15:20:00Z"})
    assert response.status_code == 400
    assert response.json()["message"] == f"session {session_id} is closed (TimedOut)"
    document = sessions(app).find_one({"_id": session_id})
    assert document["closed_by"] == "TimedOut"
    ended = document["ended_at"].replace(tzinfo=dt.timezone.utc)
    assert ended == dt.datetime(2026, 2, 26, 15, 10, tzinfo=dt.timezone.utc)
    # The timed-out session is no longer attached to new events.
    attached = fill_placeholders(SEED_003_XP)
    api.event(attached)
    assert "registration" not in read_statement(api.server, attached["id"][9:])["context"]


def test_sweep_times_out_sessions_nobody_touches(api: Client, app: Any) -> None:
    silent = api.event(login("https://vendor.example.com/sessions/silent")).json()["sessionId"]
    alive = api.event(login("https://vendor.example.com/sessions/alive")).json()["sessionId"]
    no_heartbeat = api.event(login("https://vendor.example.com/sessions/plain", heartbeat=False)).json()["sessionId"]
    for session_id in (silent, no_heartbeat):
        silence(app, session_id, 3600)
    assert api.event(fill_placeholders(SEED_003_MASTERY)).status_code == 202  # any request sweeps
    states = {d["_id"]: (d["status"], d["closed_by"]) for d in sessions(app).find()}
    assert states == {silent: ("closed", "TimedOut"), alive: ("active", None), no_heartbeat: ("active", None)}


def test_timed_out_event_closes_the_session(api: Client) -> None:
    session_id = api.event(login()).json()["sessionId"]
    timed_out = {"@context": CONTEXT, "id": f"urn:uuid:{uuid.uuid4()}", "type": "SessionEvent",
                 "profile": "SessionProfile", "actor": dict(APP), "action": "TimedOut",
                 "object": {"id": SESSION_123, "type": "Session", "user": STUDENT,
                            "startedAtTime": "2026-02-26T15:00:00Z", "endedAtTime": "2026-02-26T15:45:00Z"},
                 "eventTime": "2026-02-26T16:15:00Z", "extensions": {"subject": "Math"}}
    response = api.event(timed_out)
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "closed", "sessionId": session_id, "durationInSeconds": 2700}
    stored = read_statement(api.server, timed_out["id"][9:])
    assert stored["verb"]["id"] == CALIPER + "actions/TimedOut"
    assert stored["object"]["definition"]["type"] == CALIPER + "Session"


def test_envelope_with_one_event(api: Client) -> None:
    event = fill_placeholders(SEED_003_XP)
    response = api.event(envelope(event))
    assert response.status_code == 202
    stored = read_statement(api.server, event["id"][9:])
    assert stored["context"]["extensions"][CALIPER + "sensor"] == "https://alpharead.alpha.school"


# -- refusals ----------------------------------------------------------------------------------

def test_heartbeat_refusals(api: Client) -> None:
    plain = api.event(login(heartbeat=False)).json()["sessionId"]
    response = api.post("/events/1.0/heartbeat", {"eventTime": "2026-02-26T15:05:00Z"})
    assert response.status_code == 400
    assert response.json()["message"] == "sessionId is required (in the JSON body or as ?sessionId=...)"
    unknown = str(uuid.uuid4())
    response = api.post(f"/events/1.0/sessions/{unknown}/heartbeat", {"eventTime": "2026-02-26T15:05:00Z"})
    assert response.status_code == 404
    assert response.json() == {"status": "error", "message": f"session {unknown} not found", "errors": []}
    for session_id in ({"$gt": ""}, {"$ne": None}, 12, ["a"]):
        response = api.post("/events/1.0/heartbeat", {"sessionId": session_id, "eventTime": "2026-02-26T15:05:00Z"})
        assert response.status_code == 400
        assert response.json()["message"] == ("sessionId must be a string: the sessionId a LoggedIn event was "
                                              "answered with")
        assert response.json()["errors"] == [{"index": None, "path": "$.sessionId", "message": "must be a string"}]
    response = api.post("/events/1.0/heartbeat", {"eventTime": "2026-02-26T15:05:00Z"}, sessionId=plain, other="1")
    assert response.status_code == 400
    assert response.json()["errors"] == [{"index": None, "path": "other",
                                          "message": "is not a parameter of this resource"}]
    response = api.post(f"/events/1.0/sessions/{plain}/heartbeat", {"eventTime": "2026-02-26T15:05:00Z"})
    assert response.status_code == 400
    assert response.json()["message"] == f"session {plain} was not created with requiresHeartbeat: true"
    response = api.post(f"/events/1.0/sessions/{plain}/heartbeat", {"eventTime": "soon"})
    assert response.status_code == 400
    assert response.json()["message"].startswith("eventTime is not a valid date-time")
    assert response.json()["errors"][0]["path"] == "$.eventTime"
    response = api.post(f"/events/1.0/sessions/{plain}/heartbeat", {})
    assert response.status_code == 400 and response.json()["message"].startswith("eventTime is required")


@pytest.mark.parametrize("change,path", [
    ({"extensions": {"course": {"id": "https://x.example/c"}}}, "$.extensions.subject"),
    ({"@context": None}, "$.@context"),
    ({"actor": STUDENT}, "$.actor"),
    ({"generated": None}, "$.generated"),
    ({"action": "Viewed"}, "$.action"),
    ({"id": "event-1"}, "$.id"),
    ({"eventTime": "2026-01-15"}, "$.eventTime"),
])
def test_invalid_events_api_event(refusing: Any, change: dict, path: str) -> None:
    event = fill_placeholders(SEED_003_XP)
    for key, value in change.items():
        if value is None:
            event.pop(key)
        else:
            event[key] = value
    response = refusing.post("/events/1.0/", data=json.dumps(event), headers=bearer(token(refusing)),
                             content_type="application/json")
    assert response.status_code == 400
    body = response.get_json()
    assert body["status"] == "error" and body["message"].startswith("1 invalid item(s); nothing was stored (")
    assert path in [error["path"] for error in body["errors"]]
    assert statement_count(refusing) == 0


def test_one_event_per_post(client: Any) -> None:
    body = envelope(fill_placeholders(SEED_003_XP), fill_placeholders(SEED_003_XP))
    response = client.post("/events/1.0/", json=body, headers=bearer(token(client)))
    assert response.status_code == 400
    assert response.get_json()["errors"] == [
        {"index": None, "path": "$.data", "message": "the Events API takes one event per POST"}]
    assert statement_count(client) == 0


def test_a_bad_one_event_envelope_lists_its_event_problems_with_its_own(client: Any) -> None:
    event = {**fill_placeholders(SEED_003_XP), "eventTime": "2026-01-15"}
    body = {**envelope(event), "sendTime": "yesterday"}
    response = client.post("/events/1.0/", json=body, headers=bearer(token(client)))
    assert response.status_code == 400
    problems = [(error["index"], error["path"]) for error in response.get_json()["errors"]]
    assert problems == [(None, "$.sendTime"), (0, "$.data[0].eventTime")]
    assert statement_count(client) == 0


def test_a_one_event_envelope_of_an_unsupported_version_is_422(client: Any) -> None:
    body = {**envelope(fill_placeholders(SEED_003_XP)), "dataVersion": "http://purl.imsglobal.org/ctx/caliper/v1p1"}
    response = client.post("/events/1.0/", json=body, headers=bearer(token(client)))
    assert response.status_code == 422
    assert [error["path"] for error in response.get_json()["errors"]] == ["$.dataVersion"]
    assert statement_count(client) == 0


def test_logout_of_unknown_session(client: Any) -> None:
    response = client.post("/events/1.0/", json=logout(session="https://vendor.example.com/sessions/x"),
                           headers=bearer(token(client)))
    assert response.status_code == 404
    assert statement_count(client) == 0
