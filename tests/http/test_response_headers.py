"""What every response says about itself (lrs/http/responses.py), whatever made it: caches must
not store it unless its route says otherwise, and a 204 names no Content-Type."""
from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import urlencode

from tests.conftest import basic_auth

XAPI = {"Authorization": basic_auth(), "X-Experience-API-Version": "1.0.3"}
AGENT = json.dumps({"mbox": "mailto:ada@example.com"})
STATE = {"activityId": "http://example.com/activities/a", "agent": AGENT, "stateId": "progress"}
STATEMENT = {"actor": {"mbox": "mailto:ada@example.com"}, "verb": {"id": "http://example.com/verbs/did"},
             "object": {"id": "http://example.com/activities/a"}}
PREFLIGHT = {"Origin": "https://lms.example.org", "Access-Control-Request-Method": "PUT",
             "Access-Control-Request-Headers": "authorization,content-type,x-experience-api-version"}


def test_no_answer_is_kept_by_a_cache_unless_its_route_says_so(make_app: Any) -> None:
    """Browsers keep answers with a Last-Modified and no Cache-Control for a while (heuristic
    freshness): a client would read an old page of statements, or an old document and its ETag."""
    app = make_app(plugins="h5p", h5p_base_url="https://h5p.example.org")
    app.extensions["lrs"].create_credential("teacher", "s3cret", ["h5p/read"])
    client = app.test_client()
    statement_id = client.post("/xapi/statements", json=STATEMENT, headers=XAPI).get_json()[0]
    assert client.put("/xapi/activities/state", query_string=STATE, json={"page": 1}, headers=XAPI).status_code == 204
    form = urlencode({**XAPI, "statementId": statement_id})
    answers = {
        "statements": client.get("/xapi/statements", headers=XAPI),
        "one statement": client.get("/xapi/statements", query_string={"statementId": statement_id}, headers=XAPI),
        "HEAD": client.head("/xapi/statements", headers=XAPI),
        "missing": client.get("/xapi/statements", query_string={"statementId": str(uuid.uuid4())}, headers=XAPI),
        "refused": client.get("/xapi/statements", headers={"X-Experience-API-Version": "1.0.3"}),
        "state": client.get("/xapi/activities/state", query_string=STATE, headers=XAPI),
        "state ids": client.get("/xapi/activities/state", headers=XAPI,
                                query_string={"activityId": STATE["activityId"], "agent": AGENT}),
        "agents": client.get("/xapi/agents", query_string={"agent": AGENT}, headers=XAPI),
        "about": client.get("/xapi/about"),
        "alternate GET": client.post("/xapi/statements?method=GET", data=form,
                                     content_type="application/x-www-form-urlencoded"),
        "H5P read": client.get("/api/xapi/statements", headers={"Authorization": "Bearer teacher:s3cret"}),
        "admin": client.get("/admin/forwarding", headers={"Authorization": basic_auth()}),
    }
    assert {name: (answer.status_code, answer.headers.get("Cache-Control")) for name, answer in answers.items()} == {
        name: (status, "no-store") for name, status in {
            "statements": 200, "one statement": 200, "HEAD": 200, "missing": 404, "refused": 401, "state": 200,
            "state ids": 200, "agents": 200, "about": 200, "alternate GET": 200, "H5P read": 200,
            "admin": 200}.items()}
    assert answers["one statement"].headers["Last-Modified"]
    # The console's static files say how to keep them themselves.
    assert client.get("/console/static/console.css").headers["Cache-Control"] == "no-cache"


def test_an_answer_without_content_names_no_content_type(client: Any) -> None:
    answers = [
        client.put("/xapi/statements", query_string={"statementId": str(uuid.uuid4())}, json=STATEMENT, headers=XAPI),
        client.put("/xapi/activities/state", query_string=STATE, json={"page": 1}, headers=XAPI),
        client.post("/xapi/activities/state", query_string=STATE, json={"done": False}, headers=XAPI),
        client.delete("/xapi/activities/state", query_string=STATE, headers=XAPI),
        client.options("/xapi/statements", headers=PREFLIGHT),
    ]
    assert [(answer.status_code, answer.headers.get("Content-Type")) for answer in answers] == [(204, None)] * 5
    assert client.get("/xapi/about").headers["Content-Type"] == "application/json"
