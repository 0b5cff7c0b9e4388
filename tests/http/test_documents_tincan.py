"""TinCanPython's State, Activity Profile and Agent Profile calls against a real `lrs serve`.

TinCanPython speaks xAPI 1.0.x. It reads no response header (it looks names up in the list of
header pairs), so ETags come from the raw response; and it never sends If-None-Match: it creates a
profile with a plain PUT, which the LRS accepts for a missing document, and replaces one with
If-Match. A plain PUT over an existing profile is the 409 of Communication 3.1.
"""
from __future__ import annotations

import uuid

from tincan import (
    Activity,
    ActivityProfileDocument,
    Agent,
    AgentAccount,
    AgentProfileDocument,
    RemoteLRS,
    StateDocument,
)
from tincan.http_request import HTTPRequest

from tests.conftest import ADMIN_KEY, ADMIN_SECRET

ANN = Agent(name="Ann", mbox="mailto:ann@example.com")
COURSE = Activity(id="http://example.com/activities/course")


def remote(url: str) -> RemoteLRS:
    return RemoteLRS(endpoint=url + "/xapi/", version="1.0.3", username=ADMIN_KEY, password=ADMIN_SECRET)


def etag_of(response) -> str:
    return response.response.getheader("ETag")


def test_state_save_retrieve_list_delete_and_clear(lrs_serve):
    lrs = remote(lrs_serve)
    bookmark = StateDocument(id="bookmark", activity=COURSE, agent=ANN, content='{"page": 3}',
                             content_type="application/json")
    assert lrs.save_state(bookmark).success
    assert lrs.save_state(StateDocument(id="score", activity=COURSE, agent=ANN, content="42")).success

    got = lrs.retrieve_state(COURSE, ANN, "bookmark")
    assert got.success and bytes(got.content.content) == b'{"page": 3}'
    assert got.response.getheader("Content-Type") == "application/json"
    assert etag_of(got).strip('"') and got.response.getheader("Last-Modified")

    ids = lrs.retrieve_state_ids(COURSE, ANN, since="2020-01-01T00:00:00Z")
    assert ids.success and ids.content == ["bookmark", "score"]

    bookmark.etag = etag_of(got)
    assert lrs.delete_state(bookmark).success
    assert lrs.retrieve_state_ids(COURSE, ANN).content == ["score"]
    assert lrs.clear_state(COURSE, ANN).success
    assert lrs.retrieve_state_ids(COURSE, ANN).content == []


def test_activity_profile_round_trip_with_etags(lrs_serve):
    lrs = remote(lrs_serve)
    profile = ActivityProfileDocument(id="settings", activity=COURSE, content='{"theme": "dark"}',
                                      content_type="application/json")
    assert lrs.save_activity_profile(profile).success  # created without any precondition header

    got = lrs.retrieve_activity_profile(COURSE, "settings")
    assert got.success and bytes(got.content.content) == b'{"theme": "dark"}'
    profile.content = '{"theme": "light"}'
    blind = lrs.save_activity_profile(profile)
    assert not blind.success and blind.response.status == 409 and "If-Match" in blind.data
    profile.etag = '"0000000000000000000000000000000000000000"'
    stale = lrs.save_activity_profile(profile)
    assert not stale.success and stale.response.status == 412
    profile.etag = etag_of(got)
    assert lrs.save_activity_profile(profile).success
    assert bytes(lrs.retrieve_activity_profile(COURSE, "settings").content.content) == b'{"theme": "light"}'
    assert lrs.retrieve_activity_profile_ids(COURSE).content == ["settings"]

    profile.etag = etag_of(lrs.retrieve_activity_profile(COURSE, "settings"))
    assert lrs.delete_activity_profile(profile).success
    assert lrs.retrieve_activity_profile_ids(COURSE).content == []


def test_agent_profile_round_trip_with_etags(lrs_serve):
    lrs = remote(lrs_serve)
    profile = AgentProfileDocument(id="prefs", agent=ANN, content="large print", content_type="text/plain")
    assert lrs.save_agent_profile(profile).success  # created without any precondition header

    got = lrs.retrieve_agent_profile(ANN, "prefs")
    assert got.success and bytes(got.content.content) == b"large print"
    assert got.response.getheader("Content-Type") == "text/plain"
    profile.content = "audio"
    assert lrs.save_agent_profile(profile).response.status == 409
    profile.etag = etag_of(got)
    assert lrs.save_agent_profile(profile).success
    assert bytes(lrs.retrieve_agent_profile(ANN, "prefs").content.content) == b"audio"
    assert lrs.retrieve_agent_profile_ids(ANN).content == ["prefs"]

    profile.etag = etag_of(lrs.retrieve_agent_profile(ANN, "prefs"))
    assert lrs.delete_agent_profile(profile).success
    assert lrs.retrieve_agent_profile_ids(ANN).content == []


def test_registrations_and_every_kind_of_agent_identifier(lrs_serve):
    """Each registration keeps its own documents, and clear_state of one leaves the others'. save_state
    sends no registration (the library drops it), so the registered documents are written here with
    the registration in the agent's own words: retrieve_state_ids, retrieve_state and clear_state do
    send it, upper case or not."""
    lrs = remote(lrs_serve)
    first, second = uuid.uuid4(), uuid.uuid4()
    for agent in (Agent(mbox="mailto:Ann@Example.com"), Agent(mbox_sha1sum="A" * 40),
                  Agent(openid="http://openid.example.org/ann"),
                  Agent(account=AgentAccount(home_page="http://lms.example.com", name="ann"))):
        assert lrs.save_state(StateDocument(id="unregistered", activity=COURSE, agent=agent, content="0")).success
        for registration in (first, second):
            stored = lrs._send_request(_registered_state_put(agent, registration))
            assert stored.response.status == 204, stored.data
        got = lrs.retrieve_state(COURSE, agent, "bookmark", registration=str(first).upper())
        assert got.success and bytes(got.content.content) == str(first).upper().encode()
        assert lrs.retrieve_state_ids(COURSE, agent, registration=first, since="2020-01-01T05:30:00+05:30").content \
            == ["bookmark"]
        assert lrs.retrieve_state_ids(COURSE, agent).content == ["bookmark", "unregistered"]
        assert lrs.clear_state(COURSE, agent, registration=first).success
        assert lrs.retrieve_state(COURSE, agent, "bookmark", registration=first).response.status == 404
        left = lrs.retrieve_state(COURSE, agent, "bookmark", registration=second)
        assert left.success and bytes(left.content.content) == str(second).upper().encode()
        assert lrs.retrieve_state_ids(COURSE, agent).content == ["bookmark", "unregistered"]
        assert lrs.clear_state(COURSE, agent).success
        assert lrs.retrieve_state_ids(COURSE, agent).content == []


def _registered_state_put(agent: Agent, registration: uuid.UUID) -> HTTPRequest:
    """What save_state would send if it sent the registration: here in upper case, the content too."""
    request = HTTPRequest(method="PUT", resource="activities/state", content=str(registration).upper())
    request.headers["Content-Type"] = "text/plain"
    request.query_params = {"stateId": "bookmark", "activityId": COURSE.id, "agent": agent.to_json("1.0.3"),
                            "registration": str(registration).upper()}
    return request
