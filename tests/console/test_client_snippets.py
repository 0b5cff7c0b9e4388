"""The console's client configuration (About, a new credential's page) offers only the client
libraries that work with the xAPI versions the LRS serves, and each snippet works as pasted.

TinCanJS (sends 1.0.2) and TinCanPython (its about() refuses 2.0.0) speak 1.0.x only; xAPI.js
speaks both. TinCanPython snippets run in this process and xAPI.js ones in Node (skipped, saying
why, without it) against the LRS over real HTTP; TinCanJS is a browser library and is only looked for.
"""
from __future__ import annotations

import html
import json
import re
import subprocess
from contextlib import contextmanager
from typing import Any, Iterator

import pytest
from tincan import Activity, Agent, Statement, Verb

from lrs.server import free_port
from tests.conftest import LiveServer
from tests.console.signin import session_csrf, sign_in
from tests.xapijs import node_env  # noqa: F401 (fixture)

SNIPPET = re.compile(r'<h3>([^<]+)</h3>\s*<div class="copyable">\s*<pre id="snippet-\d+"[^>]*>(.*?)</pre>', re.S)
COMPLETED = "http://adlnet.gov/expapi/verbs/completed"
# Run as CommonJS (node -e), where @xapi/xapi is found on NODE_PATH: the snippet's import line becomes a require.
XAPIJS_USE = r"""
xapi.sendStatement({statement: {actor: {mbox: "mailto:js@example.com"}, verb: {id: "%s"},
                                object: {id: "http://example.com/activities/snippet"}}})
  .then((sent) => xapi.getStatement({statementId: sent.data[0]}))
  .then((got) => console.log(JSON.stringify({version: got.headers["x-experience-api-version"], id: got.data.id})))
  .catch((error) => { console.error(String(error), error.response && error.response.data); process.exit(1); });
""" % COMPLETED


def offered(page: str) -> dict[str, str]:
    """The snippets on a console page, by library, as a user copies them."""
    return {name: html.unescape(text) for name, text in SNIPPET.findall(page)}


@contextmanager
def served(make_app: Any, versions: str) -> Iterator[Any]:
    """An LRS speaking `versions` over real HTTP at the public URL its snippets name."""
    port = free_port()
    app = make_app(xapi_versions=versions, public_url=f"http://127.0.0.1:{port}")
    with LiveServer(app, port):
        yield app


def new_credential_snippets(app: Any) -> dict[str, str]:
    client = app.test_client()
    sign_in(client)
    page = client.post("/console/credentials", data={"csrf": session_csrf(client), "scope": ["all"], "label": "app"})
    assert page.status_code == 200
    return offered(page.get_data(as_text=True))


@pytest.mark.parametrize("versions, libraries, newest", [
    ("2.0.0", ["xAPI.js"], "2.0.0"),
    ("1.0.3", ["TinCanJS", "TinCanPython", "xAPI.js"], "1.0.3"),
    ("1.0.3,2.0.0", ["TinCanJS", "TinCanPython", "xAPI.js"], "2.0.0"),
])
def test_only_libraries_that_speak_a_served_version_are_offered(make_app, versions, libraries, newest):
    app = make_app(xapi_versions=versions)
    client = app.test_client()
    sign_in(client)
    about = offered(client.get("/console/about").get_data(as_text=True))
    created = new_credential_snippets(app)
    for snippets in (about, created):
        assert list(snippets) == libraries
        assert f'version: "{newest}"' in snippets["xAPI.js"]
    page = client.get("/console/about").get_data(as_text=True)
    assert ("are not offered: they speak xAPI 1.0.x only" in page) == ("TinCanJS" not in libraries)


@pytest.mark.parametrize("versions", ["1.0.3", "1.0.3,2.0.0"])
def test_the_tincanpython_snippet_works_as_pasted(make_app, versions):
    with served(make_app, versions) as app:
        namespace: dict[str, Any] = {}
        exec(new_credential_snippets(app)["TinCanPython"], namespace)  # noqa: S102 (the snippet under test)
        lrs = namespace["lrs"]
        about = lrs.about()
        assert about.success, about.data
        saved = lrs.save_statement(Statement(actor=Agent(mbox="mailto:py@example.com"), verb=Verb(id=COMPLETED),
                                             object=Activity(id="http://example.com/activities/snippet")))
        assert saved.success, saved.data
        assert lrs.retrieve_statement(saved.content.id).success


@pytest.mark.parametrize("versions, answered", [("2.0.0", "2.0.0"), ("1.0.3", "1.0.3"), ("1.0.3,2.0.0", "2.0.0")])
def test_the_xapijs_snippet_works_as_pasted(make_app, node_env, versions, answered):  # noqa: F811 (fixture)
    with served(make_app, versions) as app:
        snippet = new_credential_snippets(app)["xAPI.js"]
        script = snippet.replace('import XAPI from "@xapi/xapi";', 'const XAPI = require("@xapi/xapi");') + XAPIJS_USE
        run = subprocess.run(["node", "-e", script], env=node_env, capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        assert json.loads(run.stdout)["version"] == answered
