"""xAPI.js (@xapi/xapi) document calls with ETags against a real `lrs serve`, the way the library makes them.

Needs Node.js and npm: @xapi/xapi is installed once per machine into ~/.cache/lrs-tests/xapijs
(outside the repository; or found through NODE_PATH). Skipped, saying why, when that fails.
"""
from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from tests.conftest import ADMIN_KEY, ADMIN_SECRET

SCRIPT = r"""
const XAPI = require("@xapi/xapi");
const [endpoint, key, secret] = process.argv.slice(1);
const xapi = new XAPI({endpoint, auth: XAPI.toBasicAuth(key, secret), version: "2.0.0"});
const where = {agent: {objectType: "Agent", mbox: "mailto:js@example.com"},
               activityId: "http://example.com/activities/js", stateId: "bookmark"};
const status = (promise) => promise.then((r) => r.status, (e) => (e.response ? e.response.status : String(e)));
(async () => {
  const created = await status(xapi.setState({...where, state: {page: 1}}));
  const first = await xapi.getState(where);
  const etag = first.headers.etag;
  const blind = await status(xapi.setState({...where, state: {page: 99}}));
  const replaced = await status(xapi.setState({...where, state: {page: 2}, etag, matchHeader: "If-Match"}));
  const stale = await status(xapi.setState({...where, state: {page: 3}, etag, matchHeader: "If-Match"}));
  const merged = await status(xapi.createState({...where, state: {chapter: "b"}}));
  const last = await xapi.getState(where);
  console.log(JSON.stringify({created, first: first.data, etag, blind, replaced, stale, merged,
                              last: last.data, lastEtag: last.headers.etag}));
})().catch((error) => { console.error(String(error)); process.exit(1); });
"""


def run_script(script: str, lrs_serve: str, node_env: dict[str, str], *args: str) -> Any:
    """What the script prints as JSON, run by Node.js against the LRS with the admin credential."""
    run = subprocess.run(["node", "-e", script, lrs_serve + "/xapi", ADMIN_KEY, ADMIN_SECRET, *args],
                         env=node_env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_xapijs_set_and_get_state_with_etags(lrs_serve, node_env):
    result = run_script(SCRIPT, lrs_serve, node_env)
    assert result["created"] == 204 and result["first"] == {"page": 1}
    assert result["blind"] == 409  # 2.0: no overwriting without If-Match
    assert result["replaced"] == 204 and result["stale"] == 412
    assert result["merged"] == 204 and result["last"] == {"page": 2, "chapter": "b"}
    assert result["lastEtag"] != result["etag"] and result["lastEtag"].startswith('"')


PROFILES_SCRIPT = r"""
const XAPI = require("@xapi/xapi");
const [endpoint, key, secret, version] = process.argv.slice(1);
const xapi = new XAPI({endpoint, auth: XAPI.toBasicAuth(key, secret), version});
const status = (promise) => promise.then((r) => r.status, (e) => (e.response ? e.response.status : String(e)));
const agent = {objectType: "Agent", mbox: `mailto:profiles-${version}@example.com`};
const activityId = `http://example.com/activities/profiles-${version}`;
async function roundTrip(set, get, where, field) {
  const created = await status(set({...where, [field]: {theme: "dark"}}));  // no ETag: the library's default
  const first = await get(where);
  const blind = await status(set({...where, [field]: {theme: "blind"}}));
  const etag = first.headers.etag;
  const replaced = await status(set({...where, [field]: {theme: "light"}, etag, matchHeader: "If-Match"}));
  const last = await get(where);
  return {created, first: first.data, blind, replaced, last: last.data};
}
(async () => {
  const agentProfile = await roundTrip((p) => xapi.setAgentProfile(p), (p) => xapi.getAgentProfile(p),
                                       {agent, profileId: "prefs"}, "profile");
  const activityProfile = await roundTrip((p) => xapi.setActivityProfile(p), (p) => xapi.getActivityProfile(p),
                                          {activityId, profileId: "settings"}, "profile");
  console.log(JSON.stringify({agentProfile, activityProfile}));
})().catch((error) => { console.error(String(error)); process.exit(1); });
"""


@pytest.mark.parametrize("version", ["1.0.3", "2.0.0"])
def test_xapijs_creates_and_replaces_profiles_the_library_way(lrs_serve, node_env, version):
    """setAgentProfile / setActivityProfile without an ETag create; with If-Match they replace."""
    for result in run_script(PROFILES_SCRIPT, lrs_serve, node_env, version).values():
        assert result["created"] == 204 and result["first"] == {"theme": "dark"}
        assert result["blind"] == 409  # an existing profile is never overwritten blind
        assert result["replaced"] == 204 and result["last"] == {"theme": "light"}


REGISTRATIONS_SCRIPT = r"""
const XAPI = require("@xapi/xapi");
const [endpoint, key, secret, version] = process.argv.slice(1);
const xapi = new XAPI({endpoint, auth: XAPI.toBasicAuth(key, secret), version});
const agent = {objectType: "Agent", account: {homePage: "http://lms.example.com", name: `js-${version}`}};
const activityId = `http://example.com/activities/registrations-${version}`;
const first = "0F3E2A8C-0000-4000-8000-00000000000A", second = "1f3e2a8c-0000-4000-8000-00000000000b";
(async () => {
  const at = (registration) => ({agent, activityId, stateId: "bookmark", registration});
  await xapi.setState({...at(first), state: {attempt: 1}});
  await xapi.setState({...at(second), state: {attempt: 2}});
  await xapi.setState({agent, activityId, stateId: "bytes", registration: second, state: Buffer.from([0, 1, 254, 255]),
                       contentType: "application/octet-stream"});
  const bytes = await xapi.getState({agent, activityId, stateId: "bytes", registration: second});
  const firstIds = (await xapi.getStates({agent, activityId, registration: first.toLowerCase(),
                                          since: "2020-01-01T02:00:00+02:00"})).data;
  const deleted = (await xapi.deleteStates({agent, activityId, registration: first})).status;
  const gone = await xapi.getState(at(first)).then((r) => r.status, (e) => e.response.status);
  const kept = (await xapi.getState(at(second))).data;
  const allIds = (await xapi.getStates({agent, activityId})).data;
  console.log(JSON.stringify({bytesType: bytes.headers["content-type"], firstIds, deleted, gone, kept, allIds}));
})().catch((error) => { console.error(String(error)); process.exit(1); });
"""


@pytest.mark.parametrize("version", ["1.0.3", "2.0.0"])
def test_xapijs_keeps_each_registrations_state_apart(lrs_serve, node_env, version):
    """deleteStates of one registration leaves another's; a registration in upper case is the same one."""
    assert run_script(REGISTRATIONS_SCRIPT, lrs_serve, node_env, version) == {
        "bytesType": "application/octet-stream", "firstIds": ["bookmark"], "deleted": 204, "gone": 404,
        "kept": {"attempt": 2}, "allIds": ["bookmark", "bytes"]}
