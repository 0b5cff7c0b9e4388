"""Documents opened in a browser run nothing in the LRS's origin.

A State or profile document goes back with the Content-Type its writer chose. Any client with the
`state` scope (content packages ship such credentials to every learner's browser) can store HTML
or SVG with a script, and a page on any site can make a visitor's browser GET it: a form POST in
the alternate syntax that carries the page's own credentials. Here beside the console's tests for
their session browser (headless Chromium); the console and the admin API share the LRS's origin.
"""
from __future__ import annotations

import html
import json
from typing import Any, Iterator

import pytest
import requests
from flask import Flask, Response, request

from tests.conftest import LiveServer, basic_auth

CREDENTIAL = ("course-package", "course-package-secret")
STATE = {"activityId": "http://example.com/activities/course", "agent": json.dumps({"mbox": "mailto:eve@example.com"}),
         "stateId": "bookmark"}
# Each asks the LRS for a URL of its own origin, as a script reaching the console or the admin API would.
SCRIPT = "fetch('/xapi/about?ran=1')"
DOCUMENTS = {
    "text/html": f"<!doctype html><title>bookmark</title><script>{SCRIPT}</script>",
    "image/svg+xml": f'<svg xmlns="http://www.w3.org/2000/svg"><script>{SCRIPT}</script></svg>',
}
# The form a page on another site submits: the alternate syntax's GET, with the page's own credentials.
FORM = """<!doctype html><title>prize</title><form method="post" action="{action}?method=GET">{fields}</form>"""


@pytest.fixture
def page_server() -> Iterator[LiveServer]:
    site = Flask(__name__)

    @site.get("/")
    def page() -> Response:
        fields = "".join(f'<input name="{html.escape(name)}" value="{html.escape(value)}">'
                         for name, value in request.args.items() if name != "action")
        return Response(FORM.format(action=html.escape(request.args["action"]), fields=fields), mimetype="text/html")

    with LiveServer(site) as server:
        yield server


@pytest.mark.parametrize("content_type", sorted(DOCUMENTS))
def test_a_document_a_page_makes_the_browser_open_runs_no_script(
        browser: Any, page_server: LiveServer, app: Any, content_type: str) -> None:
    app.extensions["lrs"].create_credential(*CREDENTIAL, ["state"])
    auth = basic_auth(*CREDENTIAL)
    with LiveServer(app) as lrs:
        stored = requests.put(lrs.url + "/xapi/activities/state", params=STATE, data=DOCUMENTS[content_type].encode(),
                              timeout=30, headers={"Authorization": auth, "X-Experience-API-Version": "1.0.3",
                                                   "Content-Type": content_type})
        assert stored.status_code == 204
        page = browser.new_page()
        sent: list[str] = []
        page.on("request", lambda request: sent.append(request.url))
        try:
            page.goto(page_server.url + "/?" + requests.compat.urlencode({
                "action": lrs.url + "/xapi/activities/state", "Authorization": auth,
                "X-Experience-API-Version": "1.0.3", **STATE}))
            with page.expect_response(lambda response: response.url.startswith(lrs.url)) as answer:
                page.evaluate("document.forms[0].submit()")
            page.wait_for_load_state("load")
            page.wait_for_timeout(300)
        finally:
            page.close()
    assert answer.value.status == 200 and answer.value.headers["content-type"] == content_type
    assert not [url for url in sent if "ran=1" in url]
