"""xAPI clients in a real browser on another origin: TinCanJS and xAPI.js, loaded by a page served
from a second local server, store and read statements through CORS with the default
`LRS_CORS_ORIGINS=*` and with the page's origin configured; a page that asks the browser to add
its own credentials is refused by the browser unless its origin is configured.

Here beside the console's tests for their session browser (headless Chromium, Debian's, driven by
Playwright: one per test session); the two client libraries are npm packages installed once per
machine under ~/.cache/lrs-tests (pinned).
"""
from __future__ import annotations

import html
import json
import uuid
from typing import Any, Iterator
from urllib.parse import urlencode

import pytest
import requests
from flask import Flask, Response, request

from tests.conftest import ADMIN_KEY, ADMIN_SECRET, LiveServer, basic_auth
from tests.xapijs import CACHE as XAPIJS_CACHE
from tests.xapijs import TINCANJS_MODULES, install_tincanjs

SCRIPTS = {"xapi.js": XAPIJS_CACHE / "node_modules/@xapi/xapi/dist/XAPI.umd.js",
           "tincan.js": TINCANJS_MODULES / "tincanjs/build/tincan-min.js"}
PAGE = '<!doctype html><title>client</title><script src="/xapi.js"></script><script src="/tincan.js"></script>'
# A page that makes the browser POST a form to the LRS in the alternate syntax, with no credentials of its own.
FORGED = """<!doctype html><title>prize</title><form method="post" action="{action}?method=PUT">
<input name="X-Experience-API-Version" value="1.0.3"><input name="statementId" value="{statement_id}">
<input name="content" value="{content}"></form>"""
STATEMENT = {"actor": {"mbox": "mailto:browser@example.com"}, "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
             "object": {"id": "http://example.com/activities/cors"}}

# Store a statement and read it back with each library; then try a fetch with the browser's credentials.
CLIENTS = """async ([endpoint, key, secret]) => {
  const out = {};
  const xapi = new XAPI({endpoint, auth: XAPI.toBasicAuth(key, secret), version: "1.0.3"});
  const statement = {actor: {mbox: "mailto:browser@example.com"}, verb: {id: "http://adlnet.gov/expapi/verbs/experienced"},
                     object: {id: "http://example.com/activities/cors"}};
  try {
    const sent = await xapi.sendStatement({statement});
    const got = await xapi.getStatement({statementId: sent.data[0]});
    out.xapijs = got.data.id === sent.data[0] ? "ok" : "mismatch";
    out.consistentThrough = Boolean(got.headers["x-experience-api-consistent-through"]);
  } catch (error) { out.xapijs = "ERR " + error; }
  const lrs = new TinCan.LRS({endpoint, username: key, password: secret, allowFail: false, version: "1.0.2"});
  const tc = new TinCan.Statement({actor: {mbox: "mailto:tincan@example.com"},
                                   verb: {id: "http://adlnet.gov/expapi/verbs/experienced"},
                                   target: {id: "http://example.com/activities/cors"}});
  out.tincanjs = await new Promise((done) => lrs.saveStatement(tc, {callback: (err) => {
    if (err) { done("ERR save " + err); return; }
    lrs.retrieveStatement(tc.id, {callback: (err2, s) => done(err2 ? "ERR get " + err2 : (s && s.id === tc.id ? "ok" : "none"))});
  }}));
  try {
    const response = await fetch(endpoint + "about", {credentials: "include"});
    out.withBrowserCredentials = response.status;
  } catch (error) { out.withBrowserCredentials = "refused"; }
  return out;
}"""


@pytest.fixture(scope="module")
def page_server(node_env: dict[str, str]) -> Iterator[LiveServer]:
    """Another origin (another port) serving a page that loads both client libraries."""
    install_tincanjs()
    site = Flask(__name__)

    @site.get("/")
    def page() -> Response:
        return Response(PAGE, mimetype="text/html")

    @site.get("/forged")
    def forged() -> Response:
        fields = {name: html.escape(value) for name, value in request.args.items()}
        return Response(FORGED.format(**fields), mimetype="text/html")

    @site.get("/<name>")
    def script(name: str) -> Response:
        if name not in SCRIPTS:
            return Response(status=404)  # the browser's favicon.ico
        return Response(SCRIPTS[name].read_bytes(), mimetype="text/javascript")

    with LiveServer(site) as server:
        yield server


def run_clients(browser: Any, page_server: LiveServer, lrs: LiveServer) -> dict:
    page = browser.new_page()
    try:
        page.goto(page_server.url + "/")
        return page.evaluate(CLIENTS, [lrs.url + "/xapi/", ADMIN_KEY, ADMIN_SECRET])
    finally:
        page.close()


def test_clients_on_another_origin_work_with_the_default(browser: Any, page_server: LiveServer,
                                                         live_server: LiveServer) -> None:
    assert run_clients(browser, page_server, live_server) == {
        "xapijs": "ok", "consistentThrough": True, "tincanjs": "ok", "withBrowserCredentials": "refused"}


def test_clients_on_a_configured_origin_work_and_may_use_browser_credentials(
        browser: Any, page_server: LiveServer, make_app: Any) -> None:
    with LiveServer(make_app(cors_origins=page_server.url)) as lrs:
        assert run_clients(browser, page_server, lrs) == {
            "xapijs": "ok", "consistentThrough": True, "tincanjs": "ok", "withBrowserCredentials": 200}


@pytest.mark.parametrize("send", ["unauthorized", "always"])
def test_a_page_cannot_post_a_form_with_the_credentials_the_browser_remembers(
        browser: Any, page_server: LiveServer, live_server: LiveServer, send: str) -> None:
    """The browser knows the LRS's Basic credentials (its user answered the login prompt once): it
    answers the LRS's challenge with them ("unauthorized") or sends them unasked ("always")."""
    context = browser.new_context(http_credentials={"username": ADMIN_KEY, "password": ADMIN_SECRET,
                                                    "origin": live_server.url, "send": send})
    statement_id = str(uuid.uuid4())
    try:
        page = context.new_page()
        page.goto(page_server.url + "/forged?" + urlencode({
            "action": live_server.url + "/xapi/statements", "statement_id": statement_id,
            "content": json.dumps(STATEMENT)}))
        with page.expect_response(lambda response: response.url.startswith(live_server.url)
                                  and response.status != 401) as answer:  # the answer after any challenge
            page.evaluate("document.forms[0].submit()")
        status = answer.value.status
    finally:
        context.close()
    stored = requests.get(live_server.url + "/xapi/statements", params={"statementId": statement_id}, timeout=30,
                          headers={"Authorization": basic_auth(), "X-Experience-API-Version": "1.0.3"})
    assert stored.status_code == 404 and status == 403


# TinCanJS sends a request whose URL would pass 2,047 characters in the alternate syntax, with the
# credentials in the form (as well as in the header).
LONG_STATE = """async ([endpoint, key, secret, stateId]) => {
  const lrs = new TinCan.LRS({endpoint, username: key, password: secret, allowFail: false, version: "1.0.2"});
  const where = {activity: new TinCan.Activity({id: "http://example.com/activities/cors"}),
                 agent: new TinCan.Agent({mbox: "mailto:tincan@example.com"})};
  return await new Promise((done) => lrs.saveState(stateId, {page: 3}, {...where, contentType: "application/json",
    callback: (err) => err ? done("ERR save " + err) : lrs.retrieveState(stateId, {...where,
      callback: (err2, state) => done(err2 ? "ERR get " + err2 : state && state.contents)})}));
}"""


def test_tincanjs_long_requests_in_the_alternate_syntax_work_from_another_origin(
        browser: Any, page_server: LiveServer, live_server: LiveServer) -> None:
    page = browser.new_page()
    sent: list[str] = []
    page.on("request", lambda request: sent.append(f"{request.method} {request.url}"))
    try:
        page.goto(page_server.url + "/")
        state = page.evaluate(LONG_STATE, [live_server.url + "/xapi/", ADMIN_KEY, ADMIN_SECRET, "s" * 2100])
    finally:
        page.close()
    assert state == {"page": 3}
    state_url = live_server.url + "/xapi/activities/state"
    assert [line for line in sent if line.startswith("POST " + state_url)] == [
        f"POST {state_url}?method=PUT", f"POST {state_url}?method=GET"]
