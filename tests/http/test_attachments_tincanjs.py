"""TinCanJS, a standard JavaScript xAPI client (its Node.js build), reads a statement with its
attachment contents. It matches each content part to an attachment by the exact text of the
part's X-Experience-API-Hash and the attachment's sha2, so the LRS must head each part with the
sha2 as the statement writes it. Needs Node.js and npm (see tests/xapijs.py); skipped without them.
"""
from __future__ import annotations

import json
import subprocess

from tests.conftest import ADMIN_KEY, ADMIN_SECRET
from tests.http.test_attachments import ESSAY, attachment, post, statement
from tests.http.test_attachments_headers import LOWER, UPPER, part, request_body
from tests.xapijs import TINCANJS_MODULES, install_tincanjs

SCRIPT = r"""
const TinCan = require("tincanjs");
const [endpoint, key, secret, statementId] = process.argv.slice(1);
const lrs = new TinCan.LRS({endpoint, username: key, password: secret, allowFail: false, version: "1.0.2"});
lrs.retrieveStatement(statementId, {params: {attachments: true}, callback: (error, statement) => {
  if (error) { console.error(String(error)); process.exit(1); }
  console.log(JSON.stringify(statement.attachments.map((a) => a.content ? Buffer.from(a.content).toString() : null)));
}});
"""


def test_tincanjs_gets_the_content_of_an_attachment_whose_sha2_is_upper_case(client, live_server, xapi_headers,
                                                                              node_env):
    install_tincanjs()
    upper = statement(attachment(ESSAY, sha2=UPPER))
    [statement_id] = post(client, xapi_headers, request_body(upper, part(ESSAY, LOWER, "text/plain"))).get_json()
    run = subprocess.run(["node", "-e", SCRIPT, live_server.url + "/xapi/", ADMIN_KEY, ADMIN_SECRET, statement_id],
                         capture_output=True, text=True, timeout=60,
                         env={**node_env, "NODE_PATH": str(TINCANJS_MODULES)})
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == [ESSAY.decode()]
