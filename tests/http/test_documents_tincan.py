"""TinCanPython's State, Activity Profile and Agent Profile calls against the live server.

TinCanPython speaks xAPI 1.0.x. It reads no response header (it looks names up in the list of
header pairs), so ETags come from the raw response; and it never sends If-None-Match: it creates a
profile with a plain PUT, which the LRS accepts for a missing document, and replaces one with
If-Match. A plain PUT over an existing profile is the 409 of Communication 3.1.
"""
from __future__ import annotations

from tincan import Activity, ActivityProfileDocument, Agent, AgentProfileDocument, RemoteLRS, StateDocument

from tests.conftest import ADMIN_KEY, ADMIN_SECRET

ANN = Agent(name="Ann", mbox="mailto:ann@example.com")
COURSE = Activity(id="http://example.com/activities/course")


def remote(live_server) -> RemoteLRS:
    return RemoteLRS(endpoint=live_server.url + "/xapi/", version="1.0.3", username=ADMIN_KEY, password=ADMIN_SECRET)


def etag_of(response) -> str:
    return response.response.getheader("ETag")


def test_state_save_retrieve_list_delete_and_clear(live_server):
    lrs = remote(live_server)
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


def test_activity_profile_round_trip_with_etags(live_server):
    lrs = remote(live_server)
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


def test_agent_profile_round_trip_with_etags(live_server):
    lrs = remote(live_server)
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
