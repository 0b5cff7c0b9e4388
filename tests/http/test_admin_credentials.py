"""The admin API for credentials: scope `admin` (not xAPI's `all`), create/list/change/new secret/revoke,
marshmallow-validated bodies with paths in the messages, and the effect on the xAPI resources."""
from __future__ import annotations

import contextlib
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from lrs.credentials import LABEL_RULE
from lrs.server import spawned
from tests.conftest import basic_auth

ADMIN = {"Authorization": basic_auth()}
XAPI = {"X-Experience-API-Version": "1.0.3"}


def auth(key: str, secret: str) -> dict[str, str]:
    return {"Authorization": basic_auth(key, secret)}


@pytest.fixture
def plugin_app(make_app):
    return make_app(plugins="simple_events,caliper")


def test_every_admin_route_needs_scope_admin_which_all_does_not_include(plugin_app):
    client = plugin_app.test_client()
    plugin_app.extensions["lrs"].create_credential("lms", "lms-secret", ["all"])
    routes = [("GET", "/admin/credentials"), ("POST", "/admin/credentials"), ("GET", "/admin/credentials/lms"),
              ("PATCH", "/admin/credentials/lms"), ("POST", "/admin/credentials/lms/secret"),
              ("POST", "/admin/credentials/lms/revoke"),
              ("GET", "/admin/forwarding")]
    for method, path in routes:
        assert client.open(path, method=method, json={"scopes": ["all"]}).status_code == 401, path
        response = client.open(path, method=method, json={"scopes": ["all"]}, headers=auth("lms", "lms-secret"))
        assert response.status_code == 403, path
        assert "admin" in response.get_json()["error"]["message"]
    assert client.get("/admin/credentials/lms", headers=ADMIN).get_json()["active"] is True


def test_the_admin_key_credential_holds_all_and_admin(app):
    listed = app.test_client().get("/admin/credentials", headers=ADMIN).get_json()["credentials"]
    assert [(c["key"], c["scopes"]) for c in listed] == [("test-admin", ["admin", "all"])]


def test_create_shows_the_secret_once_and_it_works_with_a_plugin_scope(plugin_app):
    client = plugin_app.test_client()
    response = client.post("/admin/credentials", json={"scopes": ["simple_events"], "label": "Oakwood app"},
                           headers=ADMIN)
    assert response.status_code == 201 and response.headers["Cache-Control"] == "no-store"
    made = response.get_json()
    assert made["scopes"] == ["simple_events"] and made["label"] == "Oakwood app" and made["active"]
    assert made["authority"]["account"]["name"] == made["key"] and len(made["secret"]) >= 16
    shown = client.get(f"/admin/credentials/{made['key']}", headers=ADMIN).get_json()
    assert "secret" not in shown and "secret_hash" not in shown
    assert all("secret" not in c for c in client.get("/admin/credentials", headers=ADMIN).get_json()["credentials"])
    event = {"event": "completed", "userId": "12345"}
    stored = client.post("/events", json=event, headers={"Authorization": f"Bearer {made['key']}:{made['secret']}"})
    assert stored.status_code == 200, stored.get_json()


def test_create_with_a_given_key_refuses_an_existing_key(app):
    client = app.test_client()
    body = {"scopes": ["statements/read"], "key": "reader-1", "secret": "reader-secret"}
    assert client.post("/admin/credentials", json=body, headers=ADMIN).status_code == 201
    again = client.post("/admin/credentials", json={**body, "secret": "other-secret"}, headers=ADMIN)
    assert again.status_code == 409 and again.get_json()["error"]["message"].startswith("key:")
    assert "new secret" in again.get_json()["error"]["message"]
    assert client.get("/xapi/statements", headers={**XAPI, **auth("reader-1", "reader-secret")}).status_code == 200


def test_a_revoked_key_is_never_created_again_and_the_409_says_so(app):
    client = app.test_client()
    body = {"scopes": ["statements/read"], "key": "reader-1", "secret": "reader-secret"}
    client.post("/admin/credentials", json=body, headers=ADMIN)
    assert client.post("/admin/credentials/reader-1/revoke", headers=ADMIN).status_code == 200
    again = client.post("/admin/credentials", json=body, headers=ADMIN)
    message = again.get_json()["error"]["message"]
    assert again.status_code == 409 and "revoked" in message and "choose another key" in message
    assert "revoke it" not in message
    assert client.get("/xapi/statements", headers={**XAPI, **auth("reader-1", "reader-secret")}).status_code == 401


def test_a_new_secret_replaces_the_old_one_at_once(plugin_app):
    client = plugin_app.test_client()
    made = client.post("/admin/credentials", json={"scopes": ["all", "simple_events", "caliper/events.write"],
                                                   "key": "learner-1", "label": "Ann"}, headers=ADMIN).get_json()
    old = {**XAPI, **auth("learner-1", made["secret"])}
    assert client.get("/xapi/statements", headers=old).status_code == 200  # the verified pair is remembered
    form = {"grant_type": "client_credentials", "client_id": "learner-1", "client_secret": made["secret"]}
    old_token = client.post("/oauth/token", data=form).get_json()["access_token"]
    rotated = client.post("/admin/credentials/learner-1/secret", headers=ADMIN)
    assert rotated.status_code == 200 and rotated.headers["Cache-Control"] == "no-store"
    fresh = rotated.get_json()
    assert fresh["key"] == "learner-1" and fresh["label"] == "Ann" and fresh["active"]
    assert fresh["scopes"] == made["scopes"] and fresh["authority"] == made["authority"]
    assert fresh["secret"] != made["secret"] and len(fresh["secret"]) >= 16
    assert client.get("/xapi/statements", headers=old).status_code == 401
    event = {"event": "completed", "userId": "12345"}
    assert client.post("/events", json=event,
                       headers={"Authorization": f"Bearer learner-1:{made['secret']}"}).status_code == 401
    assert client.post("/events", json=event,
                       headers={"Authorization": f"Bearer learner-1:{fresh['secret']}"}).status_code == 200
    assert client.get("/xapi/statements", headers={**XAPI, **auth("learner-1", fresh["secret"])}).status_code == 200
    caliper = client.post("/caliper/event", json={}, headers={"Authorization": f"Bearer {old_token}"})
    assert caliper.status_code == 401, caliper.get_json()
    assert client.post("/oauth/token", data=form).status_code == 401
    assert client.post("/oauth/token", data={**form, "client_secret": fresh["secret"]}).status_code == 200
    assert "secret" not in client.get("/admin/credentials/learner-1", headers=ADMIN).get_json()


def test_a_new_secret_can_be_given_and_only_an_active_credential_gets_one(app):
    client = app.test_client()
    client.post("/admin/credentials", json={"scopes": ["all"], "key": "lms"}, headers=ADMIN)
    chosen = client.post("/admin/credentials/lms/secret", json={"secret": "chosen-secret"}, headers=ADMIN)
    assert chosen.status_code == 200 and chosen.get_json()["secret"] == "chosen-secret"
    assert client.get("/xapi/statements", headers={**XAPI, **auth("lms", "chosen-secret")}).status_code == 200
    for body, message in (({"secret": "short"}, "secret: Length must be between 8 and 200."),
                          ({"scopes": ["all"]}, "scopes: is not a known field")):
        bad = client.post("/admin/credentials/lms/secret", json=body, headers=ADMIN)
        assert bad.status_code == 400 and bad.get_json()["error"]["message"].startswith(message), bad.get_json()
    assert client.post("/admin/credentials/missing/secret", headers=ADMIN).status_code == 404
    client.post("/admin/credentials/lms/revoke", headers=ADMIN)
    revoked = client.post("/admin/credentials/lms/secret", headers=ADMIN)
    assert revoked.status_code == 409 and "revoked" in revoked.get_json()["error"]["message"]
    assert client.get("/xapi/statements", headers={**XAPI, **auth("lms", "chosen-secret")}).status_code == 401


@pytest.mark.parametrize(("body", "message"), [
    ({}, "scopes: is required"),
    ({"scopes": []}, "scopes: at least one scope is required"),
    ({"scopes": "all"}, "scopes: Not a valid list."),
    ({"scopes": ["all", 3]}, "scopes.1: Not a valid string."),
    ({"scopes": ["everything"]}, "scopes: unknown scopes: everything"),
    ({"scopes": ["all"], "key": "a:b"}, "key: must be 1 to 128 printable ASCII characters without spaces, colons or slashes"),
    ({"scopes": ["all"], "key": "lms/eu"}, "key: must be 1 to 128 printable ASCII characters without spaces, colons or slashes"),
    ({"scopes": ["all"], "key": "."}, "key: must be 1 to 128 printable ASCII characters without spaces, colons or slashes, and not . or .."),
    ({"scopes": ["all"], "key": ".."}, "key: must be 1 to 128 printable ASCII characters without spaces, colons or slashes, and not . or .."),
    ({"scopes": ["all"], "secret": "short"}, "secret: Length must be between 8 and 200."),
    ({"scopes": ["all"], "label": {"$ne": 1}}, "label: Not a valid string."),
    ({"scopes": ["all"], "label": "x" * 201}, f"label: {LABEL_RULE}"),
    ({"scopes": ["all"], "label": "LMS\u0000"}, f"label: {LABEL_RULE}"),
    ({"scopes": ["all"], "label": "LMS\x1b[2J\x1b[31mrevoked"}, f"label: {LABEL_RULE}"),
    ({"scopes": ["all"], "label": "LMS\tactive\nadmin"}, f"label: {LABEL_RULE}"),
    ({"scopes": ["all"], "owner": "x"}, "owner: is not a known field"),
    ([{"scopes": ["all"]}], "request body: must be a JSON object"),
])
def test_bad_bodies_get_a_400_naming_the_path_and_nothing_is_created(app, body, message):
    client = app.test_client()
    response = client.post("/admin/credentials", json=body, headers=ADMIN)
    assert response.status_code == 400
    assert response.get_json()["error"]["message"].startswith(message)
    assert len(client.get("/admin/credentials", headers=ADMIN).get_json()["credentials"]) == 1


def test_a_label_with_a_control_character_is_refused_by_a_change_too_and_changes_nothing(app):
    """A label is the authority's name and a cell of `lrs credentials list`: a NUL, line break or
    terminal escape there garbled statements and the list. Before, any string up to 200 went."""
    client = app.test_client()
    app.extensions["lrs"].create_credential("lms", "lms-secret-1", ["all"], label="LMS")
    for label in ["a\u0000b", "a\u001b]8;;http://evil\u0007b", "two\nlines", "a\u0085b"]:
        response = client.patch("/admin/credentials/lms", json={"label": label, "scopes": ["state"]}, headers=ADMIN)
        assert response.status_code == 400 and response.get_json()["error"]["message"] == f"label: {LABEL_RULE}"
    assert client.get("/admin/credentials/lms", headers=ADMIN).get_json()["label"] == "LMS"
    assert client.get("/admin/credentials/lms", headers=ADMIN).get_json()["scopes"] == ["all"]
    accepted = client.patch("/admin/credentials/lms", json={"label": "Ünïcödé LMS \u200c\u05d0 🙂"}, headers=ADMIN)
    assert accepted.status_code == 200 and accepted.get_json()["label"] == "Ünïcödé LMS \u200c\u05d0 🙂"


def test_change_scopes_and_label_takes_effect_on_the_next_request(app):
    client = app.test_client()
    made = client.post("/admin/credentials", json={"scopes": ["statements/write"]}, headers=ADMIN).get_json()
    reader = auth(made["key"], made["secret"])
    assert client.get("/xapi/statements", headers={**XAPI, **reader}).status_code == 403
    changed = client.patch(f"/admin/credentials/{made['key']}", json={"scopes": ["statements/read"], "label": "BI"},
                           headers=ADMIN)
    assert changed.status_code == 200
    assert changed.get_json()["scopes"] == ["statements/read"] and changed.get_json()["label"] == "BI"
    assert client.get("/xapi/statements", headers={**XAPI, **reader}).status_code == 200
    bad = client.patch(f"/admin/credentials/{made['key']}", json={"scopes": ["nope"]}, headers=ADMIN)
    assert bad.status_code == 400 and bad.get_json()["error"]["message"].startswith("scopes: unknown scopes: nope")
    assert client.patch("/admin/credentials/missing", json={"label": "x"}, headers=ADMIN).status_code == 404


def test_revoke_is_immediate_and_the_key_stays_listed(app):
    client = app.test_client()
    made = client.post("/admin/credentials", json={"scopes": ["all"]}, headers=ADMIN).get_json()
    user = {**XAPI, **auth(made["key"], made["secret"])}
    assert client.get("/xapi/statements", headers=user).status_code == 200
    revoked = client.post(f"/admin/credentials/{made['key']}/revoke", headers=ADMIN)
    assert revoked.status_code == 200 and revoked.get_json()["active"] is False
    assert client.get("/xapi/statements", headers=user).status_code == 401
    assert client.post("/admin/credentials/missing/revoke", headers=ADMIN).status_code == 404


def test_the_last_active_admin_can_be_neither_revoked_nor_demoted(app):
    client = app.test_client()
    for response in (client.post("/admin/credentials/test-admin/revoke", headers=ADMIN),
                     client.patch("/admin/credentials/test-admin", json={"scopes": ["all"]}, headers=ADMIN)):
        assert response.status_code == 409 and "last active credential with scope admin" in response.get_json()["error"]["message"]
    second = client.post("/admin/credentials", json={"scopes": ["admin"]}, headers=ADMIN).get_json()
    assert client.post("/admin/credentials/test-admin/revoke", headers=ADMIN).status_code == 200
    assert client.get("/admin/credentials", headers=ADMIN).status_code == 401
    assert client.get("/admin/credentials", headers=auth(second["key"], second["secret"])).status_code == 200


@pytest.mark.parametrize("change", [
    lambda client, key, headers: client.post(f"/admin/credentials/{key}/revoke", headers=headers),
    lambda client, key, headers: client.patch(f"/admin/credentials/{key}", json={"scopes": ["all"]}, headers=headers),
])
def test_two_admins_removing_each_other_at_once_leave_one_admin(app, monkeypatch, change):
    """Each request counted two admins before either changed anything, so both went through and
    no active credential had scope admin: /admin and the console were closed to everyone."""
    lrs = app.extensions["lrs"]
    lrs.create_credential("ops", "ops-secret-1", ["admin"])
    both_counted, waited = threading.Barrier(2, timeout=5), set()
    counted = lrs.credentials.count_active

    def count_then_wait(scope=None):  # each request's first count waits for the other's
        number = counted(scope)
        if threading.get_ident() not in waited:
            waited.add(threading.get_ident())
            with contextlib.suppress(threading.BrokenBarrierError):
                both_counted.wait()
        return number

    monkeypatch.setattr(lrs.credentials, "count_active", count_then_wait)
    pairs = [("test-admin", ADMIN), ("ops", auth("ops", "ops-secret-1"))]
    app.test_client().get("/admin/credentials", headers=pairs[1][1])  # verified once: no hash in the race
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda pair: change(app.test_client(), pair[0], pair[1]),
                                [(pairs[1][0], pairs[0][1]), (pairs[0][0], pairs[1][1])]))
    assert 409 in [answer.status_code for answer in answers]
    assert counted("admin") >= 1


def test_admin_key_without_secret_or_the_reverse_stops_the_start(make_app):
    for half in ({"admin_secret": ""}, {"admin_key": ""}):
        with pytest.raises(ValueError, match="set both"):
            make_app(**half)


def test_a_server_without_credentials_says_so_and_how_to_make_one(make_app, caplog):
    make_app(admin_key="", admin_secret="")
    assert "No credential exists" in caplog.text and "LRS_ADMIN_KEY" in caplog.text
    caplog.clear()
    make_app()
    assert "No credential" not in caplog.text


# Keys an earlier release created (its rule let `/` through, and `.` and `..`) or that were written
# into MongoDB directly: the API must still reach them, `/` sent as is or percent-encoded.
ODD_KEYS = [("lms/eu", ["lms/eu", "lms%2Feu"]), (".", ["%2E"]), ("..", ["%2E%2E"]),
            ("a/secret", ["a/secret", "a%2Fsecret"]), ("x//y", ["x%2F%2Fy"]), ("50%?#", ["50%25%3F%23"])]


@pytest.mark.parametrize(("key", "paths"), ODD_KEYS)
def test_a_key_of_an_earlier_release_with_slashes_or_dots_can_be_read_changed_rotated_and_revoked(app, key, paths):
    client = app.test_client()
    lrs = app.extensions["lrs"]
    for path in paths:
        lrs.create_credential(key, "old-secret-1", ["statements/read"])  # as it stood: active, old secret
        assert client.get(f"/admin/credentials/{path}", headers=ADMIN).get_json()["key"] == key
        changed = client.patch(f"/admin/credentials/{path}", json={"label": "EU"}, headers=ADMIN)
        assert changed.status_code == 200 and changed.get_json()["label"] == "EU"
        rotated = client.post(f"/admin/credentials/{path}/secret", json={"secret": "new-secret-1"}, headers=ADMIN)
        assert rotated.status_code == 200 and rotated.get_json()["key"] == key
        assert client.get("/xapi/statements", headers={**XAPI, **auth(key, "new-secret-1")}).status_code == 200
        revoked = client.post(f"/admin/credentials/{path}/revoke", headers=ADMIN)
        assert revoked.status_code == 200 and revoked.get_json()["active"] is False
        assert client.get("/xapi/statements", headers={**XAPI, **auth(key, "new-secret-1")}).status_code == 401
        lrs.credentials.collection.delete_one({"_id": key})
    assert client.get("/admin/credentials/a", headers=ADMIN).status_code == 404  # never the key before a `/`


def test_every_change_to_a_credential_is_logged_with_the_acting_key_and_never_a_secret(app, caplog):
    """The operator's audit trail: who created, changed, gave a new secret to and revoked which
    credential, in the log (INFO, with the time and request id of every line)."""
    caplog.set_level(logging.INFO, logger="lrs.credentials")
    client = app.test_client()
    app.extensions["lrs"].create_credential("ops", "ops-secret-1", ["admin"])
    made = client.post("/admin/credentials", json={"scopes": ["all"], "key": "lms", "label": "LMS",
                                                   "secret": "first-secret"}, headers=ADMIN).get_json()
    client.patch("/admin/credentials/lms", json={"scopes": ["statements/write"]}, headers=auth("ops", "ops-secret-1"))
    rotated = client.post("/admin/credentials/lms/secret", json={}, headers=ADMIN).get_json()
    client.post("/admin/credentials/lms/revoke", headers=auth("ops", "ops-secret-1"))
    client.post("/admin/credentials/lms/revoke", headers=ADMIN)  # revoked already: nothing changes, no line
    client.post("/admin/credentials", json={"scopes": ["nope"]}, headers=ADMIN)  # refused: nothing changed, no line
    assert [r.getMessage() for r in caplog.records if r.name == "lrs.credentials"] == [
        "credential 'lms' created by credential test-admin: scopes all, label 'LMS'",
        "credential 'lms' changed by credential ops: scopes all -> statements/write",
        "credential 'lms' given a new secret by credential test-admin",
        "credential 'lms' revoked by credential ops"]
    assert made["secret"] not in caplog.text and rotated["secret"] not in caplog.text


def many_credentials(app, count: int) -> None:
    lrs = app.extensions["lrs"]
    for number in range(count):
        key = f"learner-{number:05d}"
        lrs.credentials.insert(key, "learner-secret", ["admin"] if number % 100 == 0 else ["statements/write"],
                               lrs.default_authority(key, ""))
    lrs.credentials.revoke("learner-00007")


def test_the_list_is_paged_by_key_at_1000_and_filtered_by_state_and_scope(app):
    """An LRS with H5P learners holds a credential per learner: the list was one answer of them all
    (20,000 credentials: 4.4 MB in 1.3 s, the console and `lrs credentials list` waiting on it)."""
    many_credentials(app, 1203)
    client = app.test_client()
    first = client.get("/admin/credentials", headers=ADMIN).get_json()
    assert len(first["credentials"]) == 1000 and first["more_after"] == "learner-00999"
    rest = client.get("/admin/credentials?after=learner-00999", headers=ADMIN).get_json()
    assert [c["key"] for c in rest["credentials"]][::203] == ["learner-01000", "test-admin"]
    assert rest["more_after"] is None
    small = client.get("/admin/credentials?limit=2&after=learner-00005", headers=ADMIN).get_json()
    assert ([c["key"] for c in small["credentials"]], small["more_after"]) == (["learner-00006", "learner-00007"],
                                                                                "learner-00007")
    revoked = client.get("/admin/credentials?active=false", headers=ADMIN).get_json()
    assert [c["key"] for c in revoked["credentials"]] == ["learner-00007"]
    admins = client.get("/admin/credentials?scope=admin&active=true&limit=5", headers=ADMIN).get_json()
    assert [c["key"] for c in admins["credentials"]] == [f"learner-{n:05d}" for n in range(0, 500, 100)]
    assert admins["more_after"] == "learner-00400"


@pytest.mark.parametrize(("query", "message"), [
    ("limit=0", "limit: Must be greater than or equal to 1 and less than or equal to 1000."),
    ("limit=1001", "limit: Must be greater than or equal to 1 and less than or equal to 1000."),
    ("limit=ten", "limit: must be an integer of at most 18 ASCII digits (0-9)"),
    ("active=maybe", "active: must be true or false (in any case)"),
    ("after=", "after: Length must be between 1 and 1000."),
    ("after[$gt]=", "after[$gt]: is not a known field"),
    ("scope=admin&scope=all", "parameter 'scope': must be given once"),
])
def test_bad_list_parameters_get_a_400_naming_them(app, query, message):
    response = app.test_client().get(f"/admin/credentials?{query}", headers=ADMIN)
    assert response.status_code == 400 and response.get_json()["error"]["message"] == message


def test_a_revoke_or_new_secret_with_the_wrong_method_is_a_405_naming_post(app):
    """It was a 404 "no credential with key 'lms/revoke'", as if the key were wrong."""
    client = app.test_client()
    app.extensions["lrs"].create_credential("lms", "lms-secret-1", ["all"])
    for method, path in [("GET", "/admin/credentials/lms/revoke"), ("PATCH", "/admin/credentials/lms/secret"),
                         ("GET", "/admin/credentials/lms/secret")]:
        response = client.open(path, method=method, json={"scopes": ["state"]}, headers=ADMIN)
        assert response.status_code == 405 and response.headers["Allow"] == "OPTIONS, POST"
        assert response.get_json()["error"]["message"] == "method not allowed here; this URL answers OPTIONS, POST"
    assert client.get("/admin/credentials/lms", headers=ADMIN).get_json()["scopes"] == ["all"]
    missing = client.get("/admin/credentials/nobody/revoke", headers=ADMIN)
    assert missing.status_code == 404 and missing.get_json()["error"]["message"] == "no credential with key 'nobody/revoke'"


REVOKED_RULE = "a revoked credential cannot be changed"


def test_a_revoked_credential_keeps_its_label_and_scopes_and_a_change_is_a_409_naming_the_rule(app):
    """A PATCH changed a revoked credential's label and scopes (200): the record of a key that
    never works again no longer said what it had been allowed."""
    client = app.test_client()
    app.extensions["lrs"].create_credential("lms", "lms-secret-1", ["statements/write"], label="LMS")
    assert client.post("/admin/credentials/lms/revoke", headers=ADMIN).status_code == 200
    for body in ({"label": "renamed"}, {"scopes": ["all", "admin"]}, {"label": "x", "scopes": ["state"]}):
        refused = client.patch("/admin/credentials/lms", json=body, headers=ADMIN)
        assert refused.status_code == 409, body
        assert refused.get_json()["error"]["message"] == (
            "credential 'lms' is revoked: a revoked credential cannot be changed (its label and scopes stay as "
            "they were when it was revoked); create one with another key")
    kept = client.get("/admin/credentials/lms", headers=ADMIN).get_json()
    assert (kept["label"], kept["scopes"], kept["active"]) == ("LMS", ["statements/write"], False)


def test_a_credential_revoked_while_its_change_is_under_way_is_not_changed(app, monkeypatch):
    """The check and the write are two steps: a revoke between them must still win."""
    lrs = app.extensions["lrs"]
    lrs.create_credential("lms", "lms-secret-1", ["statements/write"], label="LMS")
    store_update = lrs.credentials.update

    def revoked_first(key, changes, scopes_reduced=False):
        lrs.credentials.revoke(key)
        return store_update(key, changes, scopes_reduced)

    monkeypatch.setattr(lrs.credentials, "update", revoked_first)
    refused = app.test_client().patch("/admin/credentials/lms", json={"label": "renamed"}, headers=ADMIN)
    assert refused.status_code == 409 and REVOKED_RULE in refused.get_json()["error"]["message"]
    assert lrs.credentials.get("lms").label == "LMS"


def test_a_404_for_an_unknown_key_clips_a_long_key(app):
    """The message repeated a 10,000-character key whole, in the answer and wherever it is logged."""
    client = app.test_client()
    key = "k" * 10_000
    for method, path, body in (("GET", key, None), ("PATCH", key, {"label": "x"}), ("POST", f"{key}/revoke", None),
                               ("POST", f"{key}/secret", {})):
        answer = client.open(f"/admin/credentials/{path}", method=method, json=body, headers=ADMIN)
        message = answer.get_json()["error"]["message"]
        assert answer.status_code == 404, (method, path[-10:])
        assert message == f"no credential with key '{'k' * 512}...(9488 more characters)'", (method, path[-10:])
    short = client.get("/admin/credentials/nobody", headers=ADMIN).get_json()["error"]["message"]
    assert short == "no credential with key 'nobody'"


def test_the_admin_keys_label_set_by_an_operator_survives_a_restart(tmp_path):
    """Every start saved LRS_ADMIN_KEY's credential with the label `admin`: a label given through
    the API or the console was gone after the next restart. Two real `lrs serve` on one data folder."""
    env = {"LRS_DATA_DIR": str(tmp_path / "data"), "LRS_ADMIN_KEY": "ops", "LRS_ADMIN_SECRET": "ops-secret-1",
           "LRS_LOG_LEVEL": "WARNING", "LRS_SECRET_HASH_COST": "14"}
    with spawned(env) as (endpoint, _):
        admin = endpoint.removesuffix("/xapi") + "/admin/credentials/ops"
        assert requests.get(admin, auth=("ops", "ops-secret-1"), timeout=30).json()["label"] == "admin"
        changed = requests.patch(admin, json={"label": "Operations (Ada)"}, auth=("ops", "ops-secret-1"), timeout=30)
        assert changed.status_code == 200, changed.text
    with spawned({**env, "LRS_ADMIN_SECRET": "ops-secret-2"}) as (endpoint, _):
        admin = endpoint.removesuffix("/xapi") + "/admin/credentials/ops"
        kept = requests.get(admin, auth=("ops", "ops-secret-2"), timeout=30).json()
    assert kept["label"] == "Operations (Ada)" and kept["scopes"] == ["admin", "all"] and kept["active"]
    assert kept["authority"]["name"] == "admin"  # the authority stays as first made, its name too
