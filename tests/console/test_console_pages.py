"""Console pages through the Flask test client: what each shows and does, on the same services
as the xAPI resource and the admin API. (The browser tests in test_console_e2e.py drive them
for real; these cover the details quickly.)"""
from __future__ import annotations

import datetime as dt
import html
import json
import logging
import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from lrs.forwarding.dead_letters import DeadLetters
from lrs.forwarding.state import TargetStates
from tests.conftest import ADMIN_SECRET, basic_auth
from tests.console.signin import session_csrf, sign_in
from tests.http.test_admin_credentials import many_credentials

XAPI = {"X-Experience-API-Version": "1.0.3", "Authorization": basic_auth()}
COMPLETED = "http://adlnet.gov/expapi/verbs/completed"
VOIDED = "http://adlnet.gov/expapi/verbs/voided"


def statement(mbox: str, verb: str = COMPLETED, **extra) -> dict:
    return {"id": str(uuid.uuid4()), "actor": {"mbox": f"mailto:{mbox}"}, "verb": {"id": verb},
            "object": {"id": "http://example.com/course", "definition": {"name": {"en-US": "Course"}}}, **extra}


@pytest.fixture
def client(app):
    client = app.test_client()
    assert sign_in(client).status_code == 303
    return client


def post(app, statements: list[dict]) -> None:
    assert app.test_client().post("/xapi/statements", json=statements, headers=XAPI).status_code == 200


def notice(client, redirected) -> str:
    """The notice on the page an action redirected to."""
    found = re.search(r'<p class="notice" role="status">([^<]*)</p>', client.get(redirected.location).get_data(as_text=True))
    return found.group(1) if found else ""


def rows(page) -> int:
    return page.get_data(as_text=True).count("<tr>") - 1  # less the header row


def test_filter_by_agent_and_follow_more(app, client):
    post(app, [statement("ada@example.com") for _ in range(30)] + [statement("bob@example.com")])
    first = client.get("/console/statements?agent=ada@example.com")
    assert first.status_code == 200 and rows(first) == 25 and "bob@example.com" not in first.get_data(as_text=True)
    more = re.search(r'href="(/console/statements\?more=[^"]+)"', first.get_data(as_text=True)).group(1)
    second = client.get(more)
    assert rows(second) == 5 and 'rel="next"' not in second.get_data(as_text=True)
    assert 'value="{&#34;mbox&#34;: &#34;mailto:ada@example.com&#34;}"' in second.get_data(as_text=True)
    bad = client.get("/console/statements?verb=not-an-iri")
    assert bad.status_code == 400 and "verb" in bad.get_data(as_text=True)


def test_one_statement_with_its_attachments_and_voiding_it(app, client):
    attachment = {"usageType": "http://example.com/usage/report", "display": {"en-US": "Report"},
                  "contentType": "application/pdf", "length": 1234, "sha2": "ab" * 32,
                  "fileUrl": "https://files.example.com/report.pdf"}
    target = statement("ada@example.com", attachments=[attachment])
    app.extensions["lrs"].create_credential("lms", "lms-secret", ["statements/write"])
    lms = {**XAPI, "Authorization": basic_auth("lms", "lms-secret")}
    assert app.test_client().post("/xapi/statements", json=target, headers=lms).status_code == 200  # not the admin's
    page = client.get(f"/console/statements/{target['id']}").get_data(as_text=True)
    assert "http://example.com/usage/report" in page and "application/pdf" in page and "fileUrl" in page
    assert "&#34;actor&#34;" in page
    voided = client.post(f"/console/statements/{target['id']}/void", data={"csrf": session_csrf(client)})
    assert voided.status_code == 303 and voided.location == f"/console/statements/{target['id']}"
    assert "Voided by statement" in client.get(voided.location).get_data(as_text=True)
    assert app.test_client().get(f"/xapi/statements?statementId={target['id']}", headers=XAPI).status_code == 404
    assert app.test_client().get(f"/xapi/statements?voidedStatementId={target['id']}", headers=XAPI).status_code == 200
    assert "Void this statement" not in client.get(f"/console/statements/{target['id']}").get_data(as_text=True)
    assert client.get(f"/console/statements/{uuid.uuid4()}").status_code == 404


def test_the_chart_counts_per_day_by_verb_and_by_source(app, client):
    post(app, [statement("a@example.com"), statement("b@example.com"),
               statement("c@example.com", verb="http://adlnet.gov/expapi/verbs/attempted")])
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    by_verb = client.get(f"/console/chart?by=verb&since={today}&until={today}").get_data(as_text=True)
    assert f"<th scope=\"row\">{today}</th><td>2</td><td>1</td>" in by_verb
    assert "completed" in by_verb and "attempted" in by_verb
    by_source = client.get("/console/chart?by=source").get_data(as_text=True)
    assert f"<th scope=\"row\">{today}</th><td>3</td>" in by_source
    assert client.get("/console/chart?since=2026-01-10&until=2026-01-01").status_code == 400
    assert client.get("/console/chart?by=actor").status_code == 400
    assert client.get("/console/chart?by=verb&by=source").status_code == 400


@pytest.mark.parametrize("query", ["until=9999-12-31", "until=0001-01-05", "since=9999-12-31&until=9999-12-31"])
def test_a_chart_past_the_ends_of_the_calendar_is_the_consoles_400_page(client, query):
    refused = client.get(f"/console/chart?{query}")
    assert refused.status_code == 400 and refused.mimetype == "text/html"
    assert "until: must be at most 9999-12-30, and from 0001-01-14 unless since is given" in refused.get_data(as_text=True)
    assert client.get("/console/chart?since=0001-01-01&until=0001-01-05").status_code == 200
    assert client.get("/console/chart?until=9999-12-30").status_code == 200


def test_credentials_create_edit_rotate_revoke(app, client, caplog):
    caplog.set_level(logging.INFO, logger="lrs.credentials")
    created = client.post("/console/credentials", data={"csrf": session_csrf(client), "label": "LMS",
                                                       "scope": ["statements/write", "statements/read"]})
    page = created.get_data(as_text=True)
    key = re.search(r'id="new-key"[^>]*>([^<]+)<', page).group(1)
    secret = re.search(r'id="new-secret"[^>]*>([^<]+)<', page).group(1)
    assert "TinCanPython" in page and f'password: "{secret}"' in page.replace("&#34;", '"')
    lms = {"X-Experience-API-Version": "1.0.3", "Authorization": basic_auth(key, secret)}
    assert app.test_client().get("/xapi/statements", headers=lms).status_code == 200
    client.post(f"/console/credentials/{key}/change", data={"csrf": session_csrf(client), "label": "LMS 2",
                                                     "scope": ["statements/write"]})
    assert app.test_client().get("/xapi/statements", headers=lms).status_code == 403
    rotated = client.post(f"/console/credentials/{key}/secret", data={"csrf": session_csrf(client)})
    assert rotated.status_code == 200 and "<h1>New secret</h1>" in rotated.get_data(as_text=True)
    new_secret = re.search(r'id="new-secret"[^>]*>([^<]+)<', rotated.get_data(as_text=True)).group(1)
    assert new_secret != secret
    assert app.test_client().get("/xapi/statements", headers=lms).status_code == 401
    lms = {"X-Experience-API-Version": "1.0.3", "Authorization": basic_auth(key, new_secret)}
    assert app.test_client().post("/xapi/statements", json=statement("ada@example.com"), headers=lms).status_code == 200
    client.post(f"/console/credentials/{key}/revoke", data={"csrf": session_csrf(client)})
    assert app.test_client().get("/xapi/statements", headers=lms).status_code == 401
    listed = client.get("/console/credentials").get_data(as_text=True)
    assert "LMS 2" in listed and "revoked" in listed
    assert [r.getMessage() for r in caplog.records if r.name == "lrs.credentials"] == [
        f"credential {key!r} created by credential test-admin in the console: scopes statements/read,statements/write, "
        "label 'LMS'",
        f"credential {key!r} changed by credential test-admin in the console: scopes statements/read,statements/write "
        "-> statements/write, label 'LMS' -> 'LMS 2'",
        f"credential {key!r} given a new secret by credential test-admin in the console",
        f"credential {key!r} revoked by credential test-admin in the console"]
    assert secret not in caplog.text and new_secret not in caplog.text
    refused = client.post("/console/credentials", data={"csrf": session_csrf(client), "scope": ["nope"]})
    assert refused.status_code == 400 and "unknown scopes: nope" in refused.get_data(as_text=True)
    last = client.post("/console/credentials/test-admin/revoke", data={"csrf": session_csrf(client)})
    assert last.status_code == 409 and "last active credential with scope admin" in last.get_data(as_text=True)


def test_the_credential_form_offers_scope_metrics_for_a_scraper_that_cannot_sign_in(app, client):
    form = client.get("/console/credentials").get_data(as_text=True)
    administration = form[form.index("<legend>Administration scopes</legend>"):]
    assert 'value="metrics"' in administration[:administration.index("</fieldset>")]
    created = client.post("/console/credentials", data={"csrf": session_csrf(client), "label": "Prometheus",
                                                       "scope": ["metrics"]}).get_data(as_text=True)
    key = re.search(r'id="new-key"[^>]*>([^<]+)<', created).group(1)
    secret = re.search(r'id="new-secret"[^>]*>([^<]+)<', created).group(1)
    assert app.test_client().get("/metrics", headers={"Authorization": basic_auth(key, secret)}).status_code == 200
    assert sign_in(app.test_client(), key, secret).status_code == 403


def test_about_masks_secrets_and_offers_client_snippets(make_app):
    app = make_app(plugins="simple_events")
    client = app.test_client()
    sign_in(client)
    page = client.get("/console/about").get_data(as_text=True)
    assert ADMIN_SECRET not in page and "LRS_ADMIN_SECRET" in page and "••••••••" in page
    assert "simple_events" in page and "2.0.0" in page and "http://127.0.0.1:8000/xapi/" in page
    assert "new TinCan.LRS" in page and "RemoteLRS" in page


def test_forwarding_page_replays_dead_letters_and_backfills(make_app):
    target = {"name": "replica", "endpoint": "http://127.0.0.1:9/xapi"}  # never reached: no worker runs here
    app = make_app(plugins="forward_xapi", forward_xapi_targets=json.dumps([target]))
    lrs = app.extensions["lrs"]
    refused = [statement("a@example.com"), statement("b@example.com")]
    post(app, refused)
    letters = DeadLetters(lrs.db)
    for seq, item in enumerate(refused):
        letters.record("replica", item["id"], seq, 409, "conflict", dt.datetime.now(dt.timezone.utc))
    client = app.test_client()
    sign_in(client)
    page = client.get("/console/forwarding").get_data(as_text=True)
    assert "replica" in page and refused[0]["id"] in page and "conflict" in page and "Replay all 2" in page
    one = client.post("/console/forwarding/replica/replay", data={"csrf": session_csrf(client),
                                                                  "statement_id": refused[0]["id"]})
    assert one.status_code == 303 and "1 dead letter(s) of replica" in notice(client, one)
    assert [letter["statement_id"] for letter in letters.to_replay("replica", 10)] == [refused[0]["id"]]
    every = client.post("/console/forwarding/replica/replay", data={"csrf": session_csrf(client)})
    assert "2 dead letter(s) of replica" in notice(client, every)
    backfill = client.post("/console/forwarding/replica/backfill", data={"csrf": session_csrf(client),
                                                                        "since": "2000-01-01T00:00"})
    assert backfill.status_code == 303 and "replica goes on from sequence 0" in notice(client, backfill)
    bad = client.post("/console/forwarding/replica/backfill", data={"csrf": session_csrf(client), "since": "soon"})
    assert bad.status_code == 400 and "since" in bad.get_data(as_text=True)
    assert "since: since" not in bad.get_data(as_text=True)
    assert client.post("/console/forwarding/nowhere/replay", data={"csrf": session_csrf(client)}).status_code == 404


FAILED_AT = dt.datetime(2026, 12, 5, 1, 2, 3, tzinfo=dt.timezone.utc)


def failing_target(make_app, error: str, status: int, paused: str | None = None) -> tuple:
    """An app with target `replica` whose last attempt, at FAILED_AT, failed (no worker runs:
    the state is the one a worker writes), and the target states."""
    target = {"name": "replica", "endpoint": "http://127.0.0.1:9/xapi"}  # never reached
    app = make_app(plugins="forward_xapi", forward_xapi_targets=json.dumps([target]))
    states = TargetStates(app.extensions["lrs"].db)
    states.create("replica", 0, FAILED_AT)
    state = states.acquire("replica", "worker-1", FAILED_AT, 60)
    states.failed(state, "worker-1", FAILED_AT + dt.timedelta(seconds=30), error, status, FAILED_AT, paused=paused)
    return app, states


def test_forwarding_page_shows_the_failure_of_the_moment_and_keeps_the_last_one_after_recovery(make_app):
    app, states = failing_target(make_app, "503 from the target", 503)
    client = app.test_client()
    sign_in(client)
    failing = client.get("/console/forwarding").get_data(as_text=True)
    assert "2026-12-05T01:02:03" in failing and "503 from the target" in failing
    states.advance(states.get("replica"), "worker-1", 0, [], 1, FAILED_AT + dt.timedelta(minutes=1))
    recovered = client.get("/console/forwarding").get_data(as_text=True)
    assert "503 from the target" not in recovered
    assert "none now (the last failed attempt was at 2026-12-05T01:02:03" in recovered


def test_a_key_with_a_slash_from_an_earlier_release_is_edited_rotated_and_revoked_through_its_links(app, client):
    """The pages' own links and form actions reach `lms/eu` and `a/secret`, and never the key `a`."""
    lrs = app.extensions["lrs"]
    for key in ("lms/eu", "a/secret", "a"):
        lrs.create_credential(key, "old-secret-1", ["statements/read"], label=key)
    for key in ("lms/eu", "a/secret"):
        listing = client.get("/console/credentials").get_data(as_text=True)
        edit = re.search(rf'<a href="([^"]+)" aria-label="Edit {re.escape(key)}"', listing).group(1)
        revoke = re.search(rf'action="([^"]+)" data-confirm="Revoke {re.escape(key)}\?', listing).group(1)
        page = client.get(edit)
        assert page.status_code == 200, edit
        change, rotate = re.findall(r'action="([^"]+/(?:change|secret))"', page.get_data(as_text=True))
        changed = client.post(change, data={"csrf": session_csrf(client), "label": "moved", "scope": ["all"]})
        assert changed.status_code == 303 and lrs.credentials.get(key).label == "moved"
        rotated = client.post(rotate, data={"csrf": session_csrf(client)})
        secret = re.search(r'id="new-secret"[^>]*>([^<]+)<', rotated.get_data(as_text=True)).group(1)
        assert lrs.credentials.verify(key, secret)
        assert client.post(revoke, data={"csrf": session_csrf(client)}).status_code == 303
        assert lrs.credentials.get(key).active is False
    untouched = lrs.credentials.get("a")
    assert untouched.active and untouched.label == "a" and lrs.credentials.verify("a", "old-secret-1")


def test_voiding_again_or_voiding_a_voiding_statement_is_refused_and_stores_nothing(app, client):
    """The form is for one valid statement; a second click (another tab, a resubmitted form) or a
    crafted POST stored one more voiding statement each time, and said 'Voided by' a new one."""
    target = statement("ada@example.com")
    post(app, [target])
    csrf = session_csrf(client)
    assert client.post(f"/console/statements/{target['id']}/void", data={"csrf": csrf}).status_code == 303
    voiding = app.test_client().get(f"/xapi/statements?verb={VOIDED}", headers=XAPI).get_json()["statements"]
    assert len(voiding) == 1
    refusals = [(target["id"], "is voided already"),
                (voiding[0]["id"], "a voiding statement cannot be voided"),
                (str(uuid.uuid4()), "no statement with id")]
    for statement_id, reason in refusals:
        refused = client.post(f"/console/statements/{statement_id}/void", data={"csrf": csrf})
        assert refused.status_code in (404, 409) and reason in refused.get_data(as_text=True), statement_id
    again = app.test_client().get(f"/xapi/statements?verb={VOIDED}", headers=XAPI).get_json()["statements"]
    assert again == voiding


@pytest.mark.parametrize(("form", "status", "message"), [
    ({"label": "no scope"}, 400, "scopes: at least one scope is required"),
    ({"scope": ["all", "root"]}, 400, "scopes: unknown scopes: root (known: "),
    ({"scope": ["all"], "label": "x" * 5000}, 400, "label: must be at most 200 characters, none of them a control character"),
    ({"scope": ["all"], "key": "a b"}, 400, "key: must be 1 to 128 printable ASCII characters without spaces"),
    ({"scope": ["all"], "key": "test-admin"}, 409, "key: a credential with key &#39;test-admin&#39; exists already"),
])
def test_a_refused_credential_form_says_why_and_creates_nothing(app, client, form, status, message):
    refused = client.post("/console/credentials", data={"csrf": session_csrf(client), **form})
    assert refused.status_code == status and message in refused.get_data(as_text=True)
    assert [c.key for c in app.extensions["lrs"].credentials.all()] == ["test-admin"]


def test_the_list_shows_who_and_what_a_statement_is_about_beside_the_names_its_client_chose(app, client):
    """A name is free text: the list showed only it, so Mallory's statement named "ada@example.com"
    read as Ada's, and the e-mail to filter by was nowhere on the list."""
    spoof = statement("mallory@example.com")
    spoof["actor"]["name"] = "ada@example.com"
    by_account = statement("x@example.com")
    by_account["actor"] = {"name": "Bob", "account": {"homePage": "https://lms.example.com", "name": "u-42"}}
    post(app, [spoof, by_account])
    page = client.get("/console/statements").get_data(as_text=True)
    cells = [re.sub(r"<[^>]+>", "|", cell) for cell in re.findall(r'<td class="wrap">(.*?)</td>', page)]
    assert cells == ["Bob||u-42 on https://lms.example.com|", "Course||http://example.com/course|",
                     "ada@example.com||mallory@example.com|", "Course||http://example.com/course|"]
    assert '<th scope="col">Stored (UTC)</th>' in page


def test_an_agent_an_activity_or_a_statement_ref_in_the_list_leads_to_what_it_names(app, client):
    """To see one learner's statements, the operator had to type their e-mail (or an account as
    Agent JSON) into the filter; a voiding statement did not lead to the one it voided."""
    target = statement("ada@example.com")
    by_account = statement("x@example.com", object={"id": "http://example.com/quiz"})
    by_account["actor"] = {"account": {"homePage": "https://lms.example.com", "name": "u-42"}}
    post(app, [target, by_account, statement("bob@example.com")])
    assert client.post(f"/console/statements/{target['id']}/void", data={"csrf": session_csrf(client)}).status_code == 303
    page = client.get("/console/statements").get_data(as_text=True)
    links = {html.unescape(text): html.unescape(href) for href, text in re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', page)}
    assert rows(client.get(links["u-42 on https://lms.example.com"])) == 1
    assert rows(client.get(links["http://example.com/quiz"])) == 1
    assert rows(client.get(links["bob@example.com"])) == 1
    assert links[target["id"]] == f"/console/statements/{target['id']}"  # the voiding statement's object


def test_a_mistyped_console_address_is_the_consoles_404_page(app, client):
    """It was the API's JSON error, without the console's links or its headers."""
    for url in ("/console/statement", "/console/credentials/", "/console/a/b/c"):
        page = client.get(url)
        assert page.status_code == 404 and page.mimetype == "text/html", url
        assert "no console page at " in page.get_data(as_text=True) and 'aria-label="Console pages"' in page.get_data(as_text=True)
        assert page.headers["X-Frame-Options"] == "DENY" and "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert app.test_client().get("/console/statement").location.startswith("/console/sign-in?next=")
    assert client.post("/console/nope", data={"csrf": session_csrf(client)}).status_code == 404
    assert client.get("/xapi/nope").mimetype == "application/json"


def test_forwarding_page_says_a_target_refusing_everything_is_paused_and_how_it_resumes(make_app):
    """The browser test pauses a target for its configuration; a refusing one gets its own reason."""
    app, _ = failing_target(make_app, "the target refuses every statement", 400, paused="refusing")
    client = app.test_client()
    sign_in(client)
    page = html.unescape(client.get("/console/forwarding").get_data(as_text=True))
    assert "replica (paused)" in page and "Paused: refusing." in page and "The target refuses every statement" in page
    assert "its refusals become dead letters" in page and "To resume, fix the cause." in page
    assert "401, 403" not in page


def test_forwarding_page_retries_a_paused_target_now(make_app):
    """Its next attempt was up to LRS_FORWARD_RETRY_MAX_SECONDS away, with no way to say "now"
    once the target was fixed; the button brings it forward in the store, for whichever worker."""
    target = {"name": "replica", "endpoint": "http://127.0.0.1:9/xapi"}  # never reached: no worker runs here
    app = make_app(plugins="forward_xapi", forward_xapi_targets=json.dumps([target]))
    states = TargetStates(app.extensions["lrs"].db)
    now = dt.datetime.now(dt.timezone.utc)
    states.create("replica", 0, now)
    states.failed(states.acquire("replica", "worker-1", now, 60), "worker-1", now + dt.timedelta(minutes=4),
                  "HTTP 401: Unauthorised", 401, now, paused="misconfigured")
    client = app.test_client()
    sign_in(client)
    page = html.unescape(client.get("/console/forwarding").get_data(as_text=True))
    assert "Retry now</button>" in page and "or at once with <em>Retry now</em>" in page
    retried = client.post("/console/forwarding/replica/retry", data={"csrf": session_csrf(client)})
    assert retried.status_code == 303
    assert notice(client, retried).startswith("replica: retried at the worker&#39;s next cycle (the next attempt was due at ")
    assert states.get("replica").next_attempt <= dt.datetime.now(dt.timezone.utc)  # due: the worker's next cycle takes it
    again = client.post("/console/forwarding/replica/retry", data={"csrf": session_csrf(client)})
    assert notice(client, again) == "replica: nothing was waiting (no retry pending), nothing changed"
    assert client.post("/console/forwarding/nowhere/retry", data={"csrf": session_csrf(client)}).status_code == 404


def test_the_forwarding_page_says_when_it_lists_only_some_dead_letters(make_app):
    """It listed 50 under 'Replay all 120' without saying where the other 70 were."""
    target = {"name": "replica", "endpoint": "http://127.0.0.1:9/xapi"}  # never reached: no worker runs here
    app = make_app(plugins="forward_xapi", forward_xapi_targets=json.dumps([target]))
    letters = DeadLetters(app.extensions["lrs"].db)
    for seq in range(60):
        letters.record("replica", str(uuid.uuid4()), seq, 409, "conflict", dt.datetime.now(dt.timezone.utc))
    client = app.test_client()
    sign_in(client)
    page = client.get("/console/forwarding").get_data(as_text=True)
    assert "Replay all 60" in page and page.count('aria-label="Replay ') == 50
    assert "The first 50 of 60, in the order they were stored; every one: <code>lrs forward dead-letters replica" in page


def test_the_json_view_shows_invisible_characters_as_escapes_of_the_same_json(app, client):
    """A name with U+202E showed the rest of its line reversed, and one with U+200B looked like
    another's; the JSON an operator reads (and copies) now spells them out."""
    tricky = statement("ada@example.com")
    tricky["actor"]["name"] = "Ada\u200b\u202egnp.exe\u0085 \U000e0041 Lovelace, Zoë, \u0627\u0644"
    post(app, [tricky])
    page = client.get(f"/console/statements/{tricky['id']}").get_data(as_text=True)
    shown = re.search(r'<pre id="statement-json"[^>]*>(.*?)</pre>', page, re.S).group(1)
    assert r"&#34;Ada\u200b\u202egnp.exe\u0085 \udb40\udc41 Lovelace, Zoë, ال&#34;" in shown  # Arabic as it is
    assert json.loads(html.unescape(shown))["actor"]["name"] == tricky["actor"]["name"]


def test_the_credential_form_says_what_each_scope_allows(make_app):
    """Only the names were there: a newcomer could not tell `all/read` from `statements/read/mine`."""
    client = make_app(plugins="simple_events").test_client()
    sign_in(client)
    form = client.get("/console/credentials").get_data(as_text=True)
    hints = dict(re.findall(r'value="([^"]+)"> <span><code>[^<]+</code> <span class="hint">([^<]+)</span>', form))
    assert hints["statements/read/mine"] == "read only the statements this credential stored"
    assert hints["all"] == "read and write every xAPI resource (not admin, not metrics)"
    assert hints["simple_events"].startswith("a scope of an enabled adapter")
    assert len(hints) == 11


def test_editing_the_credential_one_is_signed_in_with_warns_that_a_change_signs_out(app, client):
    """Taking a scope away ended the session at once: the next page was the sign-in form, unexplained."""
    app.extensions["lrs"].create_credential("lms", "lms-secret-1", ["all"])
    warning = "You are signed in with this credential"
    assert warning in client.get("/console/credentials/test-admin").get_data(as_text=True)
    assert warning not in client.get("/console/credentials/lms").get_data(as_text=True)
    app.extensions["lrs"].create_credential("ops", "ops-secret-1", ["admin", "all"])
    saved = client.post("/console/credentials/test-admin/change", data={"csrf": session_csrf(client), "scope": ["admin"]})
    assert saved.status_code == 303 and client.get("/console/credentials").status_code == 303  # as it warned


def test_the_forwarding_page_says_in_words_which_statements_a_target_gets(make_app):
    """It showed the filter as a Python dict: {} for every statement, {'verbs': [...]} otherwise."""
    targets = [{"name": "everything", "endpoint": "http://127.0.0.1:9/xapi"},
               {"name": "some", "endpoint": "http://127.0.0.1:9/xapi",
                "filter": {"verbs": [COMPLETED, VOIDED], "sources": ["h5p"]}}]
    app = make_app(plugins="forward_xapi", forward_xapi_targets=json.dumps(targets))
    client = app.test_client()
    sign_in(client)
    page = client.get("/console/forwarding").get_data(as_text=True)
    said = re.findall(r"<dt>Forwards</dt><dd[^>]*>([^<]*)</dd>", page)
    assert said == ["every statement", f"verbs: {COMPLETED} or {VOIDED}; and sources: h5p"]


@pytest.mark.parametrize("since", ["2000-01-01T00:00", "2000-01-01T00:00:30", "2000-01-01T00:00:30.5"])
def test_a_time_without_a_zone_is_utc_with_seconds_or_without(make_app, since):
    """A browser's datetime-local field sends seconds (and their fraction) when they are not zero,
    as does an operator typing a URL; with them it was a 400 ('not an RFC 3339 date and time')."""
    target = {"name": "replica", "endpoint": "http://127.0.0.1:9/xapi"}  # never reached: no worker runs here
    app = make_app(plugins="forward_xapi", forward_xapi_targets=json.dumps([target]))
    post(app, [statement("ada@example.com")])
    client = app.test_client()
    sign_in(client)
    listed = client.get("/console/statements", query_string={"since": since})
    assert listed.status_code == 200 and rows(listed) == 1
    assert "No statement matches." in client.get("/console/statements", query_string={"until": since}).get_data(as_text=True)
    backfill = client.post("/console/forwarding/replica/backfill", data={"csrf": session_csrf(client), "since": since})
    assert backfill.status_code == 303 and "replica goes on from sequence 0" in notice(client, backfill)


ONCE = re.compile(r'name="once" value="([^"]+)"')


def test_a_create_or_new_secret_form_sent_again_does_nothing_again(app, client):
    """A reload or Back after 'Credential created' sends the form again: that made one more
    credential, or replaced the secret just shown (perhaps pasted into a client already)."""
    lrs = app.extensions["lrs"]
    form = client.get("/console/credentials").get_data(as_text=True)
    sent = {"csrf": session_csrf(client), "once": ONCE.search(form).group(1), "label": "LMS", "scope": ["all"]}
    assert client.post("/console/credentials", data=sent).status_code == 200
    again = client.post("/console/credentials", data=sent)
    assert again.status_code == 409 and "This form was sent already" in again.get_data(as_text=True)
    assert sorted(c.label for c in lrs.credentials.all()) == ["LMS", "admin"]  # one made, not two
    key = next(c.key for c in lrs.credentials.all() if c.label == "LMS")

    edit = client.get(f"/console/credentials/{key}").get_data(as_text=True)
    rotate = {"csrf": session_csrf(client), "once": ONCE.search(edit).group(1)}
    shown = client.post(f"/console/credentials/{key}/secret", data=rotate).get_data(as_text=True)
    secret = re.search(r'id="new-secret"[^>]*>([^<]+)<', shown).group(1)
    assert client.post(f"/console/credentials/{key}/secret", data=rotate).status_code == 409
    assert lrs.credentials.verify(key, secret)  # the secret shown still works
    fresh = ONCE.search(client.get(f"/console/credentials/{key}").get_data(as_text=True)).group(1)
    assert fresh != rotate["once"]  # the page opened again gives a new secret
    assert client.post(f"/console/credentials/{key}/secret", data={**rotate, "once": fresh}).status_code == 200


def test_a_revoked_credential_has_no_edit_form_and_a_change_sent_anyway_is_refused(app, client):
    """Its edit page still offered the form (by URL: the list hides the link), and a change sent
    from a page opened before the revoke relabelled and rescoped the revoked key."""
    lrs = app.extensions["lrs"]
    lrs.create_credential("lms", "lms-secret-1", ["statements/write"], label="LMS")
    csrf = session_csrf(client)
    assert client.post("/console/credentials/lms/revoke", data={"csrf": csrf}).status_code == 303
    rule = "credential &#39;lms&#39; is revoked: a revoked credential cannot be changed"
    page = client.get("/console/credentials/lms")
    assert page.status_code == 409 and rule in page.get_data(as_text=True)
    assert 'name="label"' not in page.get_data(as_text=True)
    changed = client.post("/console/credentials/lms/change", data={"csrf": csrf, "label": "renamed", "scope": ["all"]})
    assert changed.status_code == 409 and rule in changed.get_data(as_text=True)
    kept = lrs.credentials.get("lms")
    assert (kept.label, kept.scopes, kept.active) == ("LMS", frozenset({"statements/write"}), False)


def listed_keys(page) -> list[str]:
    return re.findall(r"<tr>\s*<td><code>([^<]+)</code>", page.get_data(as_text=True))


def page_link(page, rel: str) -> str | None:
    found = re.search(rf'rel="{rel}" href="([^"]+)"', page.get_data(as_text=True))
    return html.unescape(found.group(1)) if found else None


def test_the_credentials_page_shows_a_page_at_a_time_with_next_and_previous(app, client):
    """It rendered every credential (an LRS with a credential per H5P learner: thousands) where the
    admin API and `lrs credentials list` page them."""
    many_credentials(app, 250)
    first = client.get("/console/credentials")
    assert listed_keys(first) == [f"learner-{n:05d}" for n in range(100)] and page_link(first, "prev") is None
    second = client.get(page_link(first, "next"))
    assert listed_keys(second) == [f"learner-{n:05d}" for n in range(100, 200)]
    last = client.get(page_link(second, "next"))
    assert listed_keys(last) == [f"learner-{n:05d}" for n in range(200, 250)] + ["test-admin"]
    assert page_link(last, "next") is None
    back = client.get(page_link(last, "prev"))
    assert listed_keys(back) == listed_keys(second)
    assert listed_keys(client.get(page_link(back, "prev"))) == listed_keys(first)
    assert page_link(client.get(page_link(back, "prev")), "prev") is None


def test_the_credentials_pages_keep_their_filters(app, client):
    many_credentials(app, 1000)  # scope admin: every hundredth; learner-00007 revoked
    admins = client.get("/console/credentials?scope=admin&active=true&limit=4")
    assert listed_keys(admins) == [f"learner-{n:05d}" for n in range(0, 400, 100)]
    assert page_link(admins, "next") == "/console/credentials?after=learner-00300&limit=4&active=true&scope=admin"
    following = client.get(page_link(admins, "next"))
    assert listed_keys(following) == [f"learner-{n:05d}" for n in range(400, 800, 100)]
    assert listed_keys(client.get(page_link(following, "prev"))) == listed_keys(admins)
    revoked = client.get("/console/credentials?active=false&scope=")  # the form's empty field: any scope
    assert listed_keys(revoked) == ["learner-00007"] and 'value="false" selected' in revoked.get_data(as_text=True)
    assert "No credential matches." in client.get("/console/credentials?scope=metrics").get_data(as_text=True)
    both = client.get("/console/credentials?after=a&before=b")
    assert both.status_code == 400 and "before: cannot be given with after" in both.get_data(as_text=True)
    assert client.get("/console/credentials?limit=0").status_code == 400


def test_two_voids_of_one_statement_at_the_same_moment_store_one_voiding_statement(either_store_app, monkeypatch):
    """Both requests found the statement not voided yet and both stored a voiding statement (two
    admins, or one in two tabs): the check and the write were two steps. Now one voids it, the
    other is the 409 a second void gets, on either store. (A write slowed by 50 ms, as under
    load, makes the two steps' gap one that every try falls into.)"""
    app = either_store_app
    service = app.extensions["lrs"].statements
    store = service.store
    monkeypatch.setattr(service, "store", lambda *args, **kwargs: time.sleep(0.05) or store(*args, **kwargs))
    consoles = [app.test_client() for _ in range(2)]
    forms = []
    for console in consoles:
        assert sign_in(console).status_code == 303
        forms.append({"csrf": session_csrf(console)})
    targets = [statement("ada@example.com") for _ in range(4)]
    post(app, targets)
    for target in targets:
        start = threading.Barrier(2, timeout=30)

        def void(number: int, target_id: str = target["id"], start: threading.Barrier = start) -> tuple[int, str]:
            start.wait()
            answer = consoles[number].post(f"/console/statements/{target_id}/void", data=forms[number])
            return answer.status_code, answer.get_data(as_text=True)

        with ThreadPoolExecutor(2) as pool:
            answers = sorted(pool.map(void, range(2)))
        voiding = app.test_client().get(f"/xapi/statements?verb={VOIDED}&limit=0", headers=XAPI).get_json()["statements"]
        assert sum(s["object"]["id"] == target["id"] for s in voiding) == 1, answers
        assert [status for status, _ in answers] == [303, 409]
        assert f"statement {target['id']} is voided already" in answers[1][1]


def test_a_void_claimed_by_a_request_that_died_is_taken_over_after_a_minute(app, client):
    """The claim that keeps two voids apart outlives a process killed while holding it."""
    held, left = statement("ada@example.com"), statement("grace@example.com")
    post(app, [held, left])
    claims, now = app.extensions["lrs"].db["console_voiding"], dt.datetime.now(dt.timezone.utc)
    claims.insert_one({"_id": held["id"], "until": now + dt.timedelta(seconds=50), "by": "another request"})
    claims.insert_one({"_id": left["id"], "until": now - dt.timedelta(seconds=1), "by": "a dead process"})
    csrf = session_csrf(client)
    refused = client.post(f"/console/statements/{held['id']}/void", data={"csrf": csrf})
    assert refused.status_code == 409 and "being voided by another request" in refused.get_data(as_text=True)
    assert client.post(f"/console/statements/{left['id']}/void", data={"csrf": csrf}).status_code == 303
    voiding = app.test_client().get(f"/xapi/statements?verb={VOIDED}", headers=XAPI).get_json()["statements"]
    assert [s["object"]["id"] for s in voiding] == [left["id"]]
    assert claims.count_documents({}) == 1  # the live one's, its request still to end


@pytest.mark.parametrize("path", ["/console/sign-in", "/console/statements", "/console/about"])
def test_every_page_names_its_icon_so_the_browser_asks_for_no_favicon_ico(app, path):
    """Without a named icon the browser fetched /favicon.ico, a 404 that its console reported as an
    error on every page."""
    client = app.test_client()
    if path != "/console/sign-in":
        sign_in(client)
    page = client.get(path).get_data(as_text=True)
    [icon] = re.findall(r'<link rel="icon" type="image/svg\+xml" href="([^"]+)">', page)
    served = client.get(icon)
    assert served.status_code == 200 and served.mimetype == "image/svg+xml"
