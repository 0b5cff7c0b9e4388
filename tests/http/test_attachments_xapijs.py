"""xAPI.js (@xapi/xapi), a standard JavaScript xAPI client, sends and fetches an attachment.

Needs Node.js and npm (see tests/xapijs.py); skipped, saying why, without them. xAPI.js goes
through its `fetch` adapter: with its default axios adapter under Node.js, axios replaces the
multipart Content-Type (and its boundary) by the Blob's type, application/octet-stream, which no
LRS can parse.
"""
from __future__ import annotations

import json
import subprocess

from tests.conftest import ADMIN_KEY, ADMIN_SECRET

SCRIPT = r"""
const XAPI = require("@xapi/xapi");
const crypto = require("crypto");
const [endpoint, key, secret] = process.argv.slice(1);
const xapi = new XAPI({endpoint, auth: XAPI.toBasicAuth(key, secret), version: "1.0.3", adapter: "fetch"});
const content = "an essay written with xAPI.js";
const statement = {
  actor: {mbox: "mailto:js@example.com", name: "JS"}, verb: XAPI.Verbs.COMPLETED,
  object: {id: "http://example.com/activities/essay"},
  attachments: [{usageType: XAPI.AttachmentUsages.SUPPORTING_MEDIA, display: {"en-US": "essay"},
                 contentType: "text/plain", length: Buffer.byteLength(content),
                 sha2: crypto.createHash("sha256").update(content).digest("hex")}]};
(async () => {
  const sent = await xapi.sendStatement({statement, attachments: [content]});
  const got = await xapi.getStatement({statementId: sent.data[0], attachments: true});
  console.log(JSON.stringify({id: sent.data[0], contentType: got.headers["content-type"], parts: got.data}));
})().catch((error) => { console.error(String(error)); process.exit(1); });
"""


def test_xapijs_sends_a_statement_with_an_attachment_and_gets_it_back(live_server, node_env):
    run = subprocess.run(["node", "-e", SCRIPT, live_server.url + "/xapi", ADMIN_KEY, ADMIN_SECRET],
                         capture_output=True, text=True, timeout=60, env=node_env)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["contentType"].startswith("multipart/mixed; boundary=")
    statement, content = result["parts"]
    assert statement["id"] == result["id"] and statement["attachments"][0]["length"] == len(content)
    assert content == "an essay written with xAPI.js"
