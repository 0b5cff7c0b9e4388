"""`lrs serve` keeps a client's connection open across answers without content (204): every
stored statement, document write and CORS preflight is one. (waitress closed the connection
after each, as after any HTTP/1.1 answer without a Content-Length, which a 204 must not have.)
A client that asks to close still has its connection closed."""
from __future__ import annotations

import http.client
import json
import uuid
from urllib.parse import urlencode, urlsplit

from lrs.server import spawned
from tests.conftest import basic_auth

AUTH = ("admin", "change-me")
XAPI = {"Authorization": basic_auth(*AUTH), "X-Experience-API-Version": "1.0.3", "Content-Type": "application/json"}
STATE = urlencode({"activityId": "http://example.com/activities/a", "stateId": "progress",
                   "agent": json.dumps({"mbox": "mailto:ada@example.com"})})
STATEMENT = json.dumps({"actor": {"mbox": "mailto:ada@example.com"}, "verb": {"id": "http://example.com/verbs/did"},
                        "object": {"id": "http://example.com/activities/a"}})
PREFLIGHT = {"Origin": "https://lms.example.org", "Access-Control-Request-Method": "PUT",
             "Access-Control-Request-Headers": "authorization,content-type,x-experience-api-version"}


def test_answers_without_content_keep_the_connection_open() -> None:
    env = {"LRS_ADMIN_KEY": AUTH[0], "LRS_ADMIN_SECRET": AUTH[1], "LRS_LOG_LEVEL": "WARNING"}
    with spawned(env) as (endpoint, _):
        url = urlsplit(endpoint)
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        try:
            connection.connect()
            sock = connection.sock
            requests = [
                ("PUT", f"/xapi/statements?statementId={uuid.uuid4()}", STATEMENT, XAPI),
                ("PUT", f"/xapi/activities/state?{STATE}", '{"page": 1}', XAPI),
                ("POST", f"/xapi/activities/state?{STATE}", '{"done": false}', XAPI),
                ("DELETE", f"/xapi/activities/state?{STATE}", None, XAPI),
                ("OPTIONS", "/xapi/statements", None, PREFLIGHT),
                ("GET", "/xapi/about", None, {}),
                ("DELETE", f"/xapi/activities/state?{STATE}", None, {**XAPI, "Connection": "close"}),
            ]
            answers = []
            for method, path, body, headers in requests:
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                answers.append((method, response.status, response.getheader("Content-Type"),
                                response.getheader("Connection"), connection.sock is sock))
        finally:
            connection.close()
    assert answers == [(method, 204, None, None, True) for method, *_ in requests[:5]] + [
        ("GET", 200, "application/json", None, True), ("DELETE", 204, None, "close", False)]  # asked to close
