"""Adapters write only as themselves: through every adapter endpoint, a credential defines
Activities only with scope `define`, voids at most its own statements, never learns what another
client's statement holds, and owns the Caliper sessions it opens.
"""
from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest
import requests

from tests.conftest import LiveServer, basic_auth
from tests.plugins.caliper_support import (
    CLIENT_ID,
    CLIENT_SECRET,
    SEED_003_LOGGED_IN,
    SEED_003_XP,
    TIMEOUT,
    fill_placeholders,
)

XAPI = {"Authorization": basic_auth(), "X-Experience-API-Version": "1.0.3"}
ADL = "http://adlnet.gov/expapi/verbs/"
COURSE = "http://example.com/courses/xapi-101"
LEARNER, OTHER, DEFINER = "learner-1:learner-secret", "learner-2:other-secret", "author-1:author-secret"
SECOND_CLIENT = "second-client:second-secret"


@pytest.fixture
def app(make_app: Any) -> Any:
    app = make_app(plugins="h5p,simple_events,caliper", h5p_base_url="https://creatiq.app")
    lrs = app.extensions["lrs"]
    for token, scopes in ((LEARNER, ["h5p", "simple_events"]), (OTHER, ["h5p"]),
                          (DEFINER, ["h5p", "simple_events", "define"])):
        lrs.create_credential(*token.split(":"), scopes)
    lrs.create_credential(CLIENT_ID, CLIENT_SECRET, ["caliper/events.write"])
    lrs.create_credential(*SECOND_CLIENT.split(":"), ["caliper/events.write"])
    return app


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def h5p_post(server: LiveServer, token: str, body: Any) -> requests.Response:
    return requests.post(server.url + "/api/xapi/statements", json=body, headers=bearer(token), timeout=TIMEOUT)


def xapi_get(server: LiveServer, path: str, **params: str) -> requests.Response:
    return requests.get(server.url + "/xapi" + path, params=params, headers=XAPI, timeout=TIMEOUT)


def statement(verb: str = "completed", obj: dict | None = None) -> dict:
    return {"actor": {"mbox": "mailto:someone@example.com"}, "verb": {"id": ADL + verb},
            "object": obj or {"id": COURSE}}


def voiding(target: str) -> dict:
    return statement("voided", {"objectType": "StatementRef", "id": target})


def admin_statement(server: LiveServer) -> str:
    response = requests.post(server.url + "/xapi/statements", json=statement(), headers=XAPI, timeout=TIMEOUT)
    assert response.status_code == 200
    return response.json()[0]


def is_voided(server: LiveServer, statement_id: str) -> bool:
    return xapi_get(server, "/statements", voidedStatementId=statement_id).status_code == 200


# -- voiding -------------------------------------------------------------------------------------

def test_an_h5p_learner_cannot_void_another_credentials_statement(live_server: LiveServer) -> None:
    target = admin_statement(live_server)
    response = h5p_post(live_server, LEARNER, voiding(target))
    assert response.status_code == 400
    assert response.json()["details"] == [
        {"index": 0, "field": "object.id", "message": "may only void a statement stored earlier with the same credential"}]
    assert xapi_get(live_server, "/statements", statementId=target).status_code == 200
    assert not is_voided(live_server, target)


def test_an_h5p_learner_cannot_void_an_id_not_stored_yet(live_server: LiveServer) -> None:
    """Else the voiding would wait for the id and void whatever another client stores under it."""
    future = str(uuid.uuid4())
    assert h5p_post(live_server, LEARNER, voiding(future)).status_code == 400
    response = requests.put(live_server.url + "/xapi/statements", params={"statementId": future},
                            json=statement(), headers=XAPI, timeout=TIMEOUT)
    assert response.status_code == 204
    assert not is_voided(live_server, future)


def test_an_h5p_learner_voids_their_own_statements(live_server: LiveServer) -> None:
    [own] = h5p_post(live_server, LEARNER, statement()).json()["data"]["ids"]
    assert h5p_post(live_server, OTHER, voiding(own)).status_code == 400
    assert h5p_post(live_server, LEARNER, voiding(own)).status_code == 200
    assert is_voided(live_server, own)


# -- define --------------------------------------------------------------------------------------

def canonical(server: LiveServer, activity_id: str) -> dict:
    response = xapi_get(server, "/activities", activityId=activity_id)
    assert response.status_code == 200
    return response.json()


def test_h5p_statements_define_activities_only_with_the_define_scope(live_server: LiveServer) -> None:
    defined = {"id": COURSE, "definition": {"name": {"en-US": "xAPI 101"}}}
    requests.post(live_server.url + "/xapi/statements", json=statement(obj=defined), headers=XAPI,
                  timeout=TIMEOUT).raise_for_status()
    hijack = {"id": COURSE, "definition": {"name": {"en-US": "Phishing course"}, "moreInfo": "http://evil.example"}}
    assert h5p_post(live_server, LEARNER, statement(obj=hijack)).status_code == 200
    assert canonical(live_server, COURSE)["definition"] == {"name": {"en-US": "xAPI 101"}}
    assert h5p_post(live_server, DEFINER, statement(obj=hijack)).status_code == 200
    assert canonical(live_server, COURSE)["definition"]["name"] == {"en-US": "Phishing course"}


def test_simple_events_define_activities_only_with_the_define_scope(live_server: LiveServer) -> None:
    event = {"event": "completed", "userId": "u1", "traits": {"classId": "7b", "className": "Renamed"}}
    class_iri = "http://127.0.0.1:8000/simple-events/classes/7b"  # under the default LRS_PUBLIC_URL
    for token, expected in ((LEARNER, None), (DEFINER, {"en-US": "Renamed"})):
        response = requests.post(live_server.url + "/events", json=event, headers=bearer(token), timeout=TIMEOUT)
        assert response.status_code == 200, response.text
        assert canonical(live_server, class_iri).get("definition", {}).get("name") == expected


# -- Caliper: another client's events and sessions --------------------------------------------

class CaliperClient:
    def __init__(self, server: LiveServer, client_id: str, secret: str):
        form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
        token = requests.post(server.url + "/oauth/token", data=form, timeout=TIMEOUT).json()["access_token"]
        self.server, self.headers = server, {"Authorization": f"Bearer {token}"}

    def post(self, path: str, body: dict) -> requests.Response:
        return requests.post(self.server.url + path, json=body, headers=self.headers, timeout=TIMEOUT)


@pytest.fixture
def clients(live_server: LiveServer) -> tuple[CaliperClient, CaliperClient]:
    return (CaliperClient(live_server, CLIENT_ID, CLIENT_SECRET),
            CaliperClient(live_server, *SECOND_CLIENT.split(":")))


def test_a_caliper_client_cannot_tell_whether_it_guessed_another_clients_event(clients: Any) -> None:
    first, second = clients
    event = fill_placeholders(copy.deepcopy(SEED_003_XP))
    assert first.post("/events/1.0/", event).status_code == 202
    assert first.post("/events/1.0/", event).status_code == 202  # its own retry is a no-op
    guessed, wrong = second.post("/events/1.0/", event), second.post("/events/1.0/", {**event, "eventTime":
                                                                                       "2026-01-01T00:00:00Z"})
    assert guessed.status_code == wrong.status_code == 400
    assert guessed.json()["errors"] == wrong.json()["errors"]


def test_only_the_client_that_opened_a_caliper_session_can_change_it(clients: Any) -> None:
    first, second = clients
    login = copy.deepcopy(SEED_003_LOGGED_IN)
    login["session"]["extensions"]["requiresHeartbeat"] = True
    session_id = first.post("/events/1.0/", login).json()["sessionId"]
    late = {"sessionId": session_id, "eventTime": "2030-01-01T00:00:00Z"}
    for response in (second.post(f"/events/1.0/sessions/{session_id}/heartbeat", late),
                     second.post("/events/1.0/heartbeat", late)):
        assert response.status_code == 404, response.text
    logout = {**login, "id": f"urn:uuid:{uuid.uuid4()}", "action": "LoggedOut", "eventTime": "2030-01-01T00:00:00Z"}
    assert second.post("/events/1.0/", logout).status_code == 404
    relogin = {**login, "id": f"urn:uuid:{uuid.uuid4()}"}
    assert second.post("/events/1.0/", relogin).status_code == 409
    # The owner still has it, untouched.
    response = first.post(f"/events/1.0/sessions/{session_id}/heartbeat", {"eventTime": "2026-02-26T15:05:00Z"})
    assert response.status_code == 200 and response.json()["endedAtTime"] == "2026-02-26T15:05:00.000Z"
    closed = first.post("/events/1.0/", {**logout, "id": f"urn:uuid:{uuid.uuid4()}",
                                         "eventTime": "2026-02-26T16:00:00Z"}).json()
    assert closed["status"] == "closed" and closed["sessionId"] == session_id


def test_auto_attach_never_joins_another_clients_session(clients: Any, live_server: LiveServer) -> None:
    first, second = clients
    assert first.post("/events/1.0/", copy.deepcopy(SEED_003_LOGGED_IN)).status_code == 200
    theirs, own = fill_placeholders(SEED_003_XP), fill_placeholders(SEED_003_XP)
    assert theirs["session"] == own["session"] == "urn:tag:auto-attach"
    assert second.post("/events/1.0/", theirs).status_code == 202
    assert first.post("/events/1.0/", own).status_code == 202
    contexts = [xapi_get(live_server, "/statements", statementId=event["id"][len("urn:uuid:"):]).json()["context"]
                for event in (theirs, own)]
    assert "registration" not in contexts[0] and "registration" in contexts[1]
