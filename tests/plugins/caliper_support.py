"""Shared by the Caliper tests (a helper module, not a test module): the seeds' examples as data, an app with OAuth clients, helpers.

The examples are those of seeds/002 and seeds/003 verbatim, except their placeholders
(`<dynamic-timestamp>`, `urn:uuid:event-unique-id`, `"..."`), which are filled with real values
the way a client would.
"""
from __future__ import annotations

import copy
import uuid
from typing import Any, Callable

import pytest
import requests

from tests.conftest import LiveServer, basic_auth

CLIENT_ID, CLIENT_SECRET = "alpha-read", "alpha-read-secret"
PUBLIC_URL = "https://lrs.example.org"
CONTEXT = "http://purl.imsglobal.org/ctx/caliper/v1p2"
EVENT_EXTENSION = "http://purl.imsglobal.org/caliper/Event"
EVENT_CREATE = "https://purl.imsglobal.org/spec/caliper/v1p1/scope/event.create"
XAPI_HEADERS = {"Authorization": basic_auth(), "X-Experience-API-Version": "1.0.3"}
TIMEOUT = 10

# seeds/002, POST /caliper/event, the `data` of examples 1 to 4.
SEED_002_EVENTS: list[dict] = [
    {
        "id": "urn:uuid:c51570e4-f8ed-4c18-bb3a-dfe51b2cc594",
        "type": "Event",
        "actor": "https://example.edu/users/554433",
        "action": "Created",
        "object": "https://example.edu/terms/201801/courses/7/sections/1/assignments/1",
        "eventTime": "2023-08-15T14:12:00.000Z",
    },
    {
        "@context": "http://purl.imsglobal.org/ctx/caliper/v1p2",
        "id": "urn:uuid:7e10e4f3-a0d8-4430-95bd-783ffae4d916",
        "type": "ToolUseEvent",
        "profile": "ToolUseProfile",
        "actor": {"id": "https://example.edu/users/554433", "type": "Person"},
        "action": "Used",
        "object": {"id": "https://example.edu", "type": "SoftwareApplication"},
        "eventTime": "2016-11-15T10:15:00.000Z",
        "edApp": "https://example.edu",
        "group": {
            "id": "https://example.edu/terms/201601/courses/7/sections/1",
            "type": "CourseSection",
            "extensions": {"courseNumber": "CPS 435-01", "academicSession": "Fall 2016"},
        },
    },
    {
        "@context": "http://purl.imsglobal.org/ctx/caliper/v1p2",
        "id": "urn:uuid:7e10e4f3-a0d8-4430-95bd-783ffae4d916",
        "type": "AnnotationEvent",
        "profile": "AnnotationProfile",
        "actor": {"id": "https://example.edu/users/554433", "type": "Person"},
        "action": "Highlighted",
        "object": {"id": "https://example.edu/terms/201801/courses/7/resources/1", "type": "DigitalResource"},
        "generated": {
            "id": "https://example.edu/users/554433/annotations/1",
            "type": "HighlightAnnotation",
            "annotator": "https://example.edu/users/554433",
            "annotated": "https://example.edu/terms/201801/courses/7/resources/1",
            "selection": {"type": "TextPositionSelector", "start": 412, "end": 795},
        },
        "eventTime": "2023-08-01T06:00:00.000Z",
        "edApp": "https://example.edu/apps/annotation-tool",
    },
    {
        "id": "urn:uuid:c51570e4-f8ed-4c18-bb3a-dfe51b2cc594",
        "type": "ToolUseEvent",
        "profile": "ToolUseProfile",
        "actor": {
            "id": "https:/your-app.domain/users/fdeb7d92-b3a4-4b6c-a201-cb590b43bce1",
            "type": "Person",
            "extensions": {"email": "noemail@student.com"},
        },
        "action": "Used",
        "object": {"id": "https:/your-app.domain", "name": "Learning", "type": "SoftwareApplication"},
        "generated": {
            "id": "https:/your-app.domain/session/adac039d-4ff4-48b9-bfb0-8ec37ac9d1ea",
            "type": "AggregateMeasureCollection",
            "items": [
                {"id": "https:/your-app.domain/session/adac039d-4ff4-48b9-bfb0-8ec37ac9d1ea",
                 "type": "AggregateMeasure", "metric": "Facts Learnt", "metricValue": 2},
                {"id": "https:/your-app.domain/session/adac039d-4ff4-48b9-bfb0-8ec37ac9d1ea",
                 "type": "AggregateMeasure", "metric": "Facts Practiced", "metricValue": 4},
                {"id": "https:/your-app.domain/session/adac039d-4ff4-48b9-bfb0-8ec37ac9d1ea",
                 "type": "AggregateMeasure", "metric": "Facts Assessed", "metricValue": 3},
            ],
        },
        "session": {
            "id": "https:/your-app.domain/session/adac039d-4ff4-48b9-bfb0-8ec37ac9d1ea",
            "type": "Session",
            "extensions": {"session_id": "adac039d-4ff4-48b9-bfb0-8ec37ac9d1ea"},
        },
        "eventTime": "2025-03-25T14:12:00.000Z",
    },
]

APP = {"@context": CONTEXT, "id": "https://api.alpha-1edtech.ai/applications/1.0/your-app",
       "type": "SoftwareApplication"}
STUDENT = "https://api.alpha-1edtech.ai/rostering/1.0/users/student-123"
COURSE_EXTENSIONS = {"subject": "Math",
                     "course": {"id": "https://api.alpha-1edtech.ai/rostering/1.0/courses/COURSE_SOURCED_ID"}}


def _grade(object_: dict, generated: dict, event_time: str) -> dict:
    return {"@context": CONTEXT, "id": "urn:uuid:event-unique-id", "type": "GradeEvent",
            "profile": "GradingProfile", "actor": dict(APP), "action": "Graded", "object": object_,
            "generated": generated, "eventTime": event_time, "edApp": dict(APP),
            "extensions": copy.deepcopy(COURSE_EXTENSIONS), "session": "urn:tag:auto-attach"}


# seeds/003, POST /events/1.0/, the three GradeEvent examples.
SEED_003_QUESTION_RESULT = _grade(
    {"id": "https://vendor.example.com/attempts/question-attempt-123", "type": "Attempt", "count": 1,
     "assignee": {"id": STUDENT, "type": "Person"},
     "assignable": {"id": "https://vendor.example.com/questions/fraction-addition-q1", "type": "DigitalResource",
                    "mediaType": "application/json",
                    "isPartOf": {"id": "https://vendor.example.com/collections/fractions-quiz",
                                 "type": "DigitalResourceCollection"}},
     "extensions": {"activityName": "Fraction Addition Question 1"}},
    {"id": "https://vendor.example.com/scores/score-qr-123", "type": "Score",
     "attempt": "https://vendor.example.com/attempts/question-attempt-123", "maxScore": 1, "scoreGiven": 1,
     "extensions": {"scoreType": "QUESTION_RESULT"}},
    "2026-01-15T10:07:30.000Z")
SEED_003_XP = _grade(
    {"id": "https://vendor.example.com/attempts/xp-attempt-123", "type": "Attempt",
     "assignee": {"id": STUDENT, "type": "Person"}, "extensions": {"activityName": "Fractions Practice Session"}},
    {"id": "https://vendor.example.com/scores/score-xp-123", "type": "Score",
     "attempt": "https://vendor.example.com/attempts/xp-attempt-123", "scoreGiven": 150,
     "extensions": {"scoreType": "XP"}},
    "2026-01-15T14:30:00.000Z")
SEED_003_MASTERY = _grade(
    {"id": "https://vendor.example.com/attempts/mastery-attempt-123", "type": "Attempt",
     "assignee": {"id": STUDENT, "type": "Person"},
     "assignable": {"id": "https://vendor.example.com/standards/fractions-basics",
                    "type": "AssignableDigitalResource", "mediaType": "curriculum/standard",
                    "name": "Basic Fractions Understanding"},
     "extensions": {"activityName": "Basic Fractions Mastery"}},
    {"id": "https://vendor.example.com/scores/score-mastery-123", "type": "Score",
     "attempt": "https://vendor.example.com/attempts/mastery-attempt-123", "maxScore": 100, "scoreGiven": 100,
     "extensions": {"scoreType": "MASTERY"}},
    "2026-01-15T14:30:00.000Z")
SEED_003_LOGGED_IN = {
    "@context": CONTEXT,
    "id": "urn:uuid:f6a7b8c9-d0e1-2345-f012-678901234567",
    "type": "SessionEvent",
    "profile": "SessionProfile",
    "actor": {"id": STUDENT, "type": "Person"},
    "action": "LoggedIn",
    "object": dict(APP),
    "eventTime": "2026-02-26T15:00:00Z",
    "edApp": dict(APP),
    "extensions": {"subject": "Math"},
    "session": {"id": "https://vendor.example.com/sessions/session-123", "type": "Session",
                "startedAtTime": "2026-02-26T15:00:00Z",
                "extensions": {"requiresHeartbeat": True, "processInsights": False}},
}
# The body of seeds/003's "LoggedOut" curl example (which is in fact a GradeEvent).
SEED_003_CURL = {
    "@context": CONTEXT, "id": "urn:uuid:...", "type": "GradeEvent", "action": "Graded",
    "actor": {"id": "...", "type": "SoftwareApplication"},
    "object": {"id": "...", "type": "Attempt", "assignee": {"id": STUDENT, "type": "Person"}},
    "generated": {"id": "...", "type": "Score", "scoreGiven": 85, "maxScore": 100,
                  "extensions": {"scoreType": "QUESTION_RESULT"}},
    "eventTime": "2026-01-15T10:07:30.000Z", "extensions": {"subject": "Math"}, "session": "urn:tag:auto-attach",
}


def fill_placeholders(event: dict) -> dict:
    """A copy with a fresh urn:uuid id and real IRIs where the seed shows "..."."""
    filled = copy.deepcopy(event)
    filled["id"] = f"urn:uuid:{uuid.uuid4()}"
    for name, iri in (("actor", APP["id"]), ("object", "https://vendor.example.com/attempts/a-1"),
                      ("generated", "https://vendor.example.com/scores/s-1")):
        if isinstance(filled.get(name), dict) and filled[name].get("id") == "...":
            filled[name]["id"] = iri
    return filled


def envelope(*data: dict, send_time: str = "2026-01-15T10:08:00.000Z") -> dict:
    return {"sensor": "https://alpharead.alpha.school", "sendTime": send_time,
            "dataVersion": "http://purl.imsglobal.org/ctx/caliper/v1p2", "data": list(data)}


def caliper_app(make_app: Any, **settings: Any) -> Any:
    """A fresh LRS with the caliper plugin and one OAuth client (credential CLIENT_ID)."""
    app = make_app(plugins="caliper", public_url=PUBLIC_URL, **settings)
    app.extensions["lrs"].create_credential(CLIENT_ID, CLIENT_SECRET, ["caliper/events.write"], label="AlphaRead")
    return app


def caliper_app_fixture(**settings: Any) -> Callable[..., Any]:
    """The `app` fixture of a test module (`app = caliper_app_fixture(...)`): a caliper_app with
    these settings, which tests/conftest.py's `client` and `live_server` serve."""
    @pytest.fixture
    def app(make_app: Any) -> Any:
        return caliper_app(make_app, **settings)

    return app


def token(client: Any, scope: str | None = None, client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET) -> str:
    """An access token from POST /oauth/token through the Flask test client."""
    response = client.post("/oauth/token", data=_token_form(scope, client_id, secret))
    assert response.status_code == 200, response.get_json()
    return response.get_json()["access_token"]


def live_token(server: LiveServer, scope: str | None = None) -> str:
    """The same over HTTP, from a LiveServer."""
    response = requests.post(server.url + "/oauth/token", data=_token_form(scope), timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def _token_form(scope: str | None, client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET) -> dict[str, str]:
    """The client credentials grant; without a scope, the token gets every scope the client may request."""
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    return form if scope is None else {**form, "scope": scope}


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


def read_statement(target: Any, statement_id: str) -> dict:
    """GET /xapi/statements?statementId=... from a LiveServer (over HTTP) or a Flask test client."""
    if hasattr(target, "url"):  # a LiveServer
        response = requests.get(target.url + "/xapi/statements", params={"statementId": statement_id},
                                headers=XAPI_HEADERS, timeout=TIMEOUT)
        assert response.status_code == 200, response.text
        return response.json()
    response = target.get("/xapi/statements", query_string={"statementId": statement_id}, headers=XAPI_HEADERS)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def statement_count(client: Any) -> int:
    response = client.get("/xapi/statements", query_string={"limit": 0}, headers=XAPI_HEADERS)
    assert response.status_code == 200, response.get_json()
    return len(response.get_json()["statements"])
