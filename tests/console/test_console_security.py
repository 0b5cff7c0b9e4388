"""The console refuses everyone without a live admin session, and every change without the
session's CSRF token; its pages carry a strict CSP and its cookie the safe flags."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from tests.conftest import basic_auth
from tests.console.signin import session_csrf, sign_in

XAPI = {"X-Experience-API-Version": "1.0.3"}
STATEMENT_ID = "5f1e0c1a-4d8e-4a57-9a8f-2f2c5a1b7c10"
OPEN = {"console.signin.sign_in", "console.static"}


def console_routes(app) -> list[tuple[str, str]]:
    """Every console route but sign-in and static files, as (method, URL) with sample arguments."""
    samples = {"statement_id": STATEMENT_ID, "key": "test-admin", "target": "backup", "unknown": "nope"}
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("console.") and rule.endpoint not in OPEN:
            url = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: samples[m.group(1)], rule.rule)
            routes += [(method, url) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return routes


@pytest.fixture
def app(make_app):
    app = make_app()
    app.extensions["lrs"].create_credential("lms", "lms-secret", ["all"])
    statement = {"id": STATEMENT_ID, "actor": {"mbox": "mailto:ada@example.com"},
                 "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"}, "object": {"id": "http://example.com/c"}}
    assert app.test_client().post("/xapi/statements", json=statement, headers={**XAPI, **_basic()}).status_code == 200
    return app


def _basic(key: str = "test-admin", secret: str = "test-admin-secret") -> dict[str, str]:
    return {"Authorization": basic_auth(key, secret)}


def test_every_page_and_action_refuses_a_missing_session(app):
    routes = console_routes(app)
    assert len(routes) >= 14, routes
    client = app.test_client()
    for method, url in routes:
        response = client.open(url, method=method)
        if method == "GET":
            assert response.status_code == 303 and response.location.startswith("/console/sign-in"), url
        else:
            assert response.status_code == 401, (method, url)
    client.set_cookie("lrs_console", "forged-token", path="/console")
    assert all(client.open(url, method=m).status_code in (303, 401) for m, url in routes)


def test_a_credential_without_admin_cannot_sign_in(app):
    client = app.test_client()
    refused = sign_in(client, "lms", "lms-secret")
    assert refused.status_code == 403 and "no admin scope" in refused.get_data(as_text=True)
    assert client.get_cookie("lrs_console", path="/console") is None
    assert sign_in(client, "test-admin", "wrong").status_code == 401
    assert client.get("/console/statements").status_code == 303


def test_a_session_ends_when_its_credential_loses_admin_or_signs_out(app):
    lrs = app.extensions["lrs"]
    lrs.create_credential("ops", "ops-secret", ["admin"])
    client = app.test_client()
    assert sign_in(client, "ops", "ops-secret").status_code == 303
    assert client.get("/console/statements").status_code == 200
    lrs.credentials.update("ops", {"scopes": ["statements/read"]})
    assert client.get("/console/statements").status_code == 303
    assert sign_in(client).status_code == 303
    signed_out = client.post("/console/sign-out", data={"csrf": session_csrf(client)})
    assert signed_out.status_code == 303
    assert client.get("/console/statements").status_code == 303


def test_a_session_ends_for_good_when_its_secret_is_replaced_or_it_loses_a_scope(app):
    """Rotation is the remedy for a leaked secret: whoever signed in with it must be out too, and
    a session ended by a lost scope stays ended when the scope comes back."""
    admin = app.test_client()
    for key in ("ops", "ops2"):
        made = admin.post("/admin/credentials", json={"key": key, "scopes": ["admin"], "secret": f"{key}-secret"},
                          headers=_basic())
        assert made.status_code == 201
    leaked, demoted = app.test_client(), app.test_client()
    assert sign_in(leaked, "ops", "ops-secret").status_code == 303
    assert sign_in(demoted, "ops2", "ops2-secret").status_code == 303
    csrf = session_csrf(leaked)

    assert admin.post("/admin/credentials/ops/secret", json={}, headers=_basic()).status_code == 200
    assert leaked.get("/console/credentials").status_code == 303
    minted = leaked.post("/console/credentials", data={"csrf": csrf, "scope": ["all", "admin"], "key": "attacker"})
    assert minted.status_code == 401
    assert admin.get("/admin/credentials/attacker", headers=_basic()).status_code == 404

    for scopes in (["all"], ["admin"]):
        assert admin.patch("/admin/credentials/ops2", json={"scopes": scopes}, headers=_basic()).status_code == 200
    assert demoted.get("/console/credentials").status_code == 303
    assert sign_in(demoted, "ops2", "ops2-secret").status_code == 303  # signing in again works
    assert demoted.get("/console/credentials").status_code == 200


def test_cross_site_posts_without_the_csrf_token_change_nothing(app):
    client = app.test_client()
    sign_in(client)
    forged = {"Origin": "https://evil.example", "Referer": "https://evil.example/"}
    attempts = [
        ("/console/credentials", {"scope": "all", "label": "evil"}),
        ("/console/credentials/lms/revoke", {}),
        ("/console/credentials/lms/secret", {}),
        ("/console/credentials/lms/change", {"scope": "admin", "label": "evil"}),
        (f"/console/statements/{STATEMENT_ID}/void", {}),
        ("/console/forwarding/backup/replay", {}),
        ("/console/forwarding/backup/backfill", {"since": "now"}),
        ("/console/forwarding/backup/retry", {}),
        ("/console/sign-out", {}),
    ]
    for url, form in attempts:
        for token in (None, "wrong-token"):
            data = form if token is None else {**form, "csrf": token}
            response = client.post(url, data=data, headers=forged)
            assert response.status_code == 403 and "nothing was changed" in response.get_data(as_text=True), url
    listed = app.test_client().get("/admin/credentials", headers=_basic()).get_json()["credentials"]
    assert [(c["key"], c["label"], c["scopes"], c["active"]) for c in listed] == [
        ("lms", "", ["all"], True), ("test-admin", "admin", ["admin", "all"], True)]
    voided = app.test_client().get(f"/xapi/statements?statementId={STATEMENT_ID}", headers={**XAPI, **_basic()})
    assert voided.status_code == 200
    assert client.get("/console/statements").status_code == 200  # still signed in


def test_the_sign_in_form_needs_its_own_token_and_never_redirects_off_site(app):
    client = app.test_client()
    forged = client.post("/console/sign-in", data={"key": "test-admin", "secret": "test-admin-secret"})
    assert forged.status_code == 403 and client.get_cookie("lrs_console", path="/console") is None
    response = client.get("/console/sign-in")
    token = re.search(r'name="csrf" value="([^"]+)"', response.get_data(as_text=True)).group(1)
    landed = client.post("/console/sign-in", data={"csrf": token, "key": "test-admin", "secret": "test-admin-secret",
                                                   "next": "https://evil.example/"})
    assert landed.status_code == 303 and landed.location == "/console/statements"


def test_pages_carry_a_strict_csp_and_the_cookie_is_httponly_strict_and_secure_over_https(app):
    client = app.test_client()
    sign_in(client)
    page = client.get("/console/statements")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY" and page.headers["Cache-Control"] == "no-store"
    assert "<script>" not in page.get_data(as_text=True) and " style=" not in page.get_data(as_text=True)
    secure = app.test_client()
    token = re.search(r'value="([^"]+)"', secure.get("/console/sign-in", base_url="https://lrs.example").get_data(as_text=True)).group(1)
    answer = secure.post("/console/sign-in", base_url="https://lrs.example",
                         data={"csrf": token, "key": "test-admin", "secret": "test-admin-secret"})
    cookie = next(c for c in answer.headers.get_all("Set-Cookie") if c.startswith("lrs_console="))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" in cookie and "Path=/console" in cookie


def test_expired_sessions_are_removed_at_the_next_sign_in(app):
    """MongoDB's TTL index removes them there; the embedded store has no TTL, so they piled up."""
    sessions = app.extensions["lrs"].db["console_sessions"]
    assert sign_in(app.test_client()).status_code == 303
    sessions.update_many({}, {"$set": {"expires": dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)}})
    assert sign_in(app.test_client()).status_code == 303
    assert sessions.count_documents({}) == 1


def test_a_start_that_gives_the_admin_key_another_secret_ends_its_sessions(app):
    """LRS_ADMIN_SECRET changed and the server restarted (create_credential is what start runs for
    it): the old secret's sessions end, as after a rotation; a restart with the same secret ends none."""
    lrs, client = app.extensions["lrs"], app.test_client()
    assert sign_in(client).status_code == 303
    lrs.create_credential("test-admin", "test-admin-secret", ["all", "admin"], label="admin")
    assert client.get("/console/credentials").status_code == 200
    lrs.create_credential("test-admin", "a-new-admin-secret", ["all", "admin"], label="admin")
    assert client.get("/console/credentials").status_code == 303


def test_a_link_cannot_put_its_own_words_on_a_console_page(app):
    """A notice comes from the action just done, kept in the session, never from the URL: a link
    saying `?done=Your secret leaked, sign in at https://evil.example` showed that in the console's
    notice box (after sign-in, if need be)."""
    client, other = app.test_client(), app.test_client()
    sign_in(client)
    sign_in(other)
    lie = "Your secret leaked: sign in at https://evil.example"
    for url in (f"/console/forwarding?done={lie}", f"/console/statements/{STATEMENT_ID}?voided_by={lie}"):
        page = client.get(url).get_data(as_text=True)
        assert "evil.example" not in page and 'class="notice"' not in page, url
    voided = client.post(f"/console/statements/{STATEMENT_ID}/void", data={"csrf": session_csrf(client)})
    assert voided.status_code == 303 and voided.location == f"/console/statements/{STATEMENT_ID}"
    assert "evil" not in voided.location
    assert "Voided by statement" not in other.get(voided.location).get_data(as_text=True)  # another session
    assert 'class="notice" role="status">Voided by statement' in client.get(voided.location).get_data(as_text=True)
    assert "Voided by statement" not in client.get(voided.location).get_data(as_text=True)  # once


def test_a_refusals_back_link_is_the_console_page_it_came_from_and_never_another_site(app):
    client = app.test_client()
    sign_in(client)
    page = client.get("/console/credentials")
    assert page.headers["Referrer-Policy"] == "same-origin"  # browsers say which page a form was on
    csrf = session_csrf(client)
    cases = [("http://localhost/console/credentials", "/console/credentials"),
             ("https://lrs.example/console/statements?verb=x", "/console/statements?verb=x"),  # Host a proxy rewrote
             ("https://evil.example/phish", "/console/statements"),
             ("javascript:alert(1)//console/", "/console/statements"),
             ("http://localhost//console/x", "/console/statements"),
             (None, "/console/statements")]
    for referrer, back in cases:
        headers = {"Referer": referrer} if referrer else {}
        refused = client.post("/console/credentials", data={"csrf": csrf}, headers=headers)
        assert refused.status_code == 400
        assert f'<a href="{back}">Back</a>' in refused.get_data(as_text=True), referrer


def test_signing_out_or_revoking_ends_the_session_on_the_server_not_only_in_the_browser(app):
    """The cookie the browser drops at sign-out, replayed by whoever copied it, opens nothing."""
    lrs = app.extensions["lrs"]
    lrs.create_credential("ops", "ops-secret-1", ["admin"])
    leaving, revoked = app.test_client(), app.test_client()
    sign_in(leaving)
    sign_in(revoked, "ops", "ops-secret-1")
    copied = leaving.get_cookie("lrs_console", path="/console").value
    assert leaving.post("/console/sign-out", data={"csrf": session_csrf(leaving)}).status_code == 303
    replay = app.test_client()
    replay.set_cookie("lrs_console", copied, path="/console")
    assert replay.get("/console/credentials").status_code == 303
    assert app.test_client().post("/admin/credentials/ops/revoke", headers=_basic()).status_code == 200
    assert revoked.get("/console/credentials").status_code == 303


@pytest.mark.parametrize(("hops", "secure"), [(0, False), (1, True)])
def test_the_cookie_is_secure_behind_a_tls_proxy_only_when_lrs_proxy_hops_trusts_it(make_app, hops, secure):
    """X-Forwarded-Proto from a client that reaches the port itself must not decide; from the proxy
    LRS_PROXY_HOPS names, it does (README: the cookie is Secure behind a TLS-terminating proxy)."""
    client = make_app(proxy_hops=hops).test_client()
    client.environ_base.update({"HTTP_X_FORWARDED_PROTO": "https", "HTTP_X_FORWARDED_FOR": "203.0.113.7"})
    answer = sign_in(client)
    cookie = next(c for c in answer.headers.get_all("Set-Cookie") if c.startswith("lrs_console="))
    assert ("; Secure" in cookie) is secure and "HttpOnly" in cookie


def test_every_tab_showing_the_sign_in_form_can_sign_in(app):
    """Each form shown minted a new token and cookie, so of several console tabs reopened signed
    out only the last one loaded could sign in; the others said the form had expired."""
    client = app.test_client()
    tabs = [re.search(r'name="csrf" value="([^"]+)"', client.get("/console/sign-in").get_data(as_text=True)).group(1)
            for _ in range(3)]
    wrong = client.post("/console/sign-in", data={"csrf": tabs[1], "key": "test-admin", "secret": "mistyped"})
    assert wrong.status_code == 401
    signed_in = client.post("/console/sign-in", data={"csrf": tabs[0], "key": "test-admin", "secret": "test-admin-secret"})
    assert signed_in.status_code == 303 and signed_in.location == "/console/statements"
    forged = app.test_client()
    forged.set_cookie("lrs_console_sign_in", "x" * 43, path="/console")
    assert forged.post("/console/sign-in", data={"csrf": "y" * 43, "key": "test-admin",
                                                 "secret": "test-admin-secret"}).status_code == 403


def test_a_sign_in_refused_for_too_many_failures_says_when_to_come_back(make_app):
    client = make_app(auth_max_failures_per_key=2).test_client()
    for _ in range(2):
        assert sign_in(client, "test-admin", "wrong").status_code == 401
    refused = sign_in(client)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "300"
    assert "too many failed authentications for this key; retry in 300 s" in refused.get_data(as_text=True)


def test_signing_in_again_ends_the_session_the_browser_had(app):
    """Its cookie is replaced, but the session it named stayed valid for its 8 hours on the
    server, for anyone who had copied the cookie."""
    app.extensions["lrs"].create_credential("ops", "ops-secret-1", ["admin"])
    client = app.test_client()
    sign_in(client)
    first = client.get_cookie("lrs_console", path="/console").value
    assert sign_in(client, "ops", "ops-secret-1").status_code == 303
    assert client.get_cookie("lrs_console", path="/console").value != first
    copied = app.test_client()
    copied.set_cookie("lrs_console", first, path="/console")
    assert copied.get("/console/credentials").status_code == 303
    assert "Sign out ops" in client.get("/console/credentials").get_data(as_text=True)


class Clock:
    """The console sessions' clock, moved on by hand: no test waits real minutes."""

    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.timezone.utc)

    def __call__(self) -> dt.datetime:
        return self.now

    def wait(self, **span: float) -> None:
        self.now += dt.timedelta(**span)


@pytest.fixture
def clock(app, monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(app.extensions["console_sessions"], "clock", clock)
    return clock


def test_a_session_without_requests_for_the_idle_minutes_ends_and_sign_in_says_why(app, clock):
    """A session stayed valid for its 8 hours however long the console sat untouched: whoever
    found the browser open was an admin."""
    client = app.test_client()
    assert sign_in(client).status_code == 303
    for _ in range(3):  # each request starts the 30 minutes again
        clock.wait(minutes=29)
        assert client.get("/console/credentials").status_code == 200
    clock.wait(minutes=30)
    gone = client.get("/console/credentials")
    assert gone.status_code == 303 and gone.location.startswith("/console/sign-in?next=")
    page = client.get(gone.location).get_data(as_text=True)
    assert ('<p class="notice" role="status">Your session ended for inactivity: no request for 30 minutes '
            "(LRS_CONSOLE_IDLE_MINUTES). Sign in again.</p>") in page
    assert "ended for inactivity" not in client.get("/console/sign-in").get_data(as_text=True)  # said once
    assert client.get("/console/credentials").status_code == 303  # and it stays ended
    assert sign_in(client).status_code == 303 and client.get("/console/credentials").status_code == 200


def test_an_action_after_the_idle_minutes_is_refused_saying_why_and_changes_nothing(app, clock):
    client = app.test_client()
    sign_in(client)
    csrf = session_csrf(client)
    clock.wait(minutes=31)
    refused = client.post("/console/credentials/lms/revoke", data={"csrf": csrf})
    assert refused.status_code == 401
    assert "Your session ended for inactivity" in refused.get_data(as_text=True)
    assert "nothing was changed" in refused.get_data(as_text=True)
    assert app.extensions["lrs"].credentials.get("lms").active


def test_a_busy_session_still_ends_8_hours_after_sign_in(app, clock):
    client = app.test_client()
    sign_in(client)
    for _ in range(16):  # a request every 29 minutes: 7 h 44 min
        clock.wait(minutes=29)
        assert client.get("/console/statements").status_code == 200
    clock.wait(minutes=16)
    gone = client.get("/console/statements")
    assert gone.status_code == 303
    assert ("Your session ended: a session lasts 8 hours at most. Sign in again."
            in client.get(gone.location).get_data(as_text=True))


def test_the_idle_minutes_are_a_setting(make_app, monkeypatch):
    app = make_app(console_idle_minutes=5)
    clock = Clock()
    monkeypatch.setattr(app.extensions["console_sessions"], "clock", clock)
    client = app.test_client()
    sign_in(client)
    clock.wait(minutes=4, seconds=59)
    assert client.get("/console/about").status_code == 200
    clock.wait(minutes=5)
    assert "no request for 5 minutes" in client.get("/console/about", follow_redirects=True).get_data(as_text=True)


@pytest.mark.parametrize("signed_in", [False, True])
def test_a_form_over_the_parsers_limits_is_refused_with_the_consoles_page_naming_them(app, signed_in):
    """werkzeug's 413 for a form of more than 1000 parts (anyone may post to the sign-in form)
    was the API's JSON with werkzeug's words, "The data value transmitted exceeds the capacity limit"."""
    client = app.test_client()
    if signed_in:
        assert sign_in(client).status_code == 303
    parts = "".join(f'--b\r\nContent-Disposition: form-data; name="f{n}"\r\n\r\nx\r\n' for n in range(1001)) + "--b--\r\n"
    for path in ("/console/sign-in", "/console/credentials") if signed_in else ("/console/sign-in",):
        response = client.post(path, data=parts, headers={"Content-Type": "multipart/form-data; boundary=b"})
        assert response.status_code == 413 and response.mimetype == "text/html", path
        assert "Content-Security-Policy" in response.headers
        assert "form: more than 1000 parts, or a field over 500000 bytes" in response.get_data(as_text=True)
