"""Our own conformance checks: MUSTs of xAPI 1.0.3 that the ADL suite leaves untested.

Each check quotes the requirement it tests (shared/spec/xapi-1.0.3, or the ADL suite's
test/Untested folder) and talks HTTP only, so it holds for any LRS:

    pytest tests/conformance/test_own_checks.py --lrs-endpoint URL --lrs-user K --lrs-password S

In the normal test run they check this LRS, served on 127.0.0.1 on a fresh store.
"""
from __future__ import annotations

import base64
import json
import time
import uuid
from urllib.parse import urlencode

import pytest

from tests.conformance.conftest import Target, statement
from tests.conftest import ADMIN_KEY, ADMIN_SECRET, LiveServer

VOIDED = "http://adlnet.gov/expapi/verbs/voided"


@pytest.mark.parametrize("version", ["1.0.3", "2.0.0"])
@pytest.mark.parametrize("kind", ["ok", "bad request", "not found", "unauthorized"])
def test_every_response_carries_the_version_header(lrs_target: Target, kind: str, version: str):
    """Communication 3.3: "The LRS MUST include the X-Experience-API-Version header in every
    response." The suite checks it on successful requests; errors are responses too."""
    requests_by_kind = {
        "ok": lambda: lrs_target.call("GET", "about", version),
        "bad request": lambda: lrs_target.call("POST", "statements", version, json={"actor": "nobody"}),
        "not found": lambda: lrs_target.call("GET", "statements", version, params={"statementId": str(uuid.uuid4())}),
        "unauthorized": lambda: lrs_target.call("GET", "statements", version, auth=False),
    }
    response = requests_by_kind[kind]()

    assert response.status_code in {"ok": {200}, "bad request": {400}, "not found": {404},
                                    "unauthorized": {401, 403}}[kind], response.text
    assert response.headers.get("X-Experience-API-Version", "").startswith(version[:4])


def test_a_version_header_of_1_0_is_accepted_as_1_0_0(lrs_target: Target):
    """Communication 3.3: "The LRS MUST accept requests with a version header of 1.0 as if the
    version header was 1.0.0." """
    response = lrs_target.call("GET", "statements", "1.0", params={"limit": 1})

    assert response.status_code == 200, response.text


def test_the_about_resource_has_no_properties_outside_version_and_extensions(lrs_target: Target):
    """Communication 2.8: "Additional properties MUST NOT be added to this object outside of
    extensions and each property MUST occur only once." """
    response = lrs_target.call("GET", "about")

    assert response.status_code == 200
    assert set(response.json()) <= {"version", "extensions"}


def test_canonical_format_returns_one_language_per_map_chosen_map_by_map(lrs_target: Target):
    """Communication 2.1.3: "Activity Objects contain Language Map Objects within their name,
    description and various interaction components. The LRS MUST return only one language in
    each of these maps." and "the LRS MUST apply the Accept-Language header ... to each
    language map individually"."""
    activity = statement()["object"]
    activity["definition"] = {
        "name": {"en-US": "Quiz", "fr-FR": "Questionnaire"},
        "description": {"en-US": "A quiz", "fr-FR": "Un questionnaire"},
        "interactionType": "choice", "correctResponsesPattern": ["a"],
        "choices": [{"id": "a", "description": {"en-US": "Answer A"}}]}
    [statement_id] = lrs_target.post_statements([statement(object=activity)])

    response = lrs_target.call("GET", "statements", params={"statementId": statement_id, "format": "canonical"},
                               headers={"Accept-Language": "fr-FR"})

    definition = response.json()["object"]["definition"]
    assert definition["name"] == {"fr-FR": "Questionnaire"}
    assert definition["description"] == {"fr-FR": "Un questionnaire"}
    assert definition["choices"][0]["description"] == {"en-US": "Answer A"}


def test_a_statement_comes_back_exactly_as_it_was_sent(lrs_target: Target):
    """Data 2.2: "The LRS MUST NOT return a different serialization of any properties except
    those listed as exceptions" (Data 2.3.1: id, authority, stored, timestamp and version may be
    assigned; activity definitions, timestamps' serialization, group member order and case
    insensitive parts may vary). Everything sent here is outside those exceptions."""
    sent = statement(
        actor={"objectType": "Agent", "name": "Zoë Ünïcode 学习者", "mbox": "mailto:zoe@example.com"},
        result={"score": {"scaled": 0.875, "raw": 87.5, "min": 0, "max": 100}, "success": True,
                "completion": False, "response": "a[,]b", "duration": "PT1M30S",
                "extensions": {"http://example.com/ext/nested": {"list": [1, 2.5, "three", None, {"k": []}],
                                                                 "flag": False}}},
        context={"registration": str(uuid.uuid4()), "revision": "r1", "platform": "own checks",
                 "language": "fr-CA", "contextActivities": {"parent": [{"id": "http://example.com/parent",
                                                                        "objectType": "Activity"}]},
                 "extensions": {"http://example.com/ext/n": 1.0e-7}})
    [statement_id] = lrs_target.post_statements([sent])

    returned = lrs_target.call("GET", "statements", params={"statementId": statement_id, "format": "exact"}).json()

    assert {key: returned[key] for key in sent} == sent


def test_a_single_context_activity_comes_back_as_an_array_of_one(lrs_target: Target):
    """Data 2.4.6.2: "The LRS MUST return every value in the contextActivities Object as an array,
    even if it arrived as a single Activity Object" and "MUST return single Activity Objects as an
    array of length one containing the same Activity"."""
    grouping = {"id": "http://example.com/own-checks/grouping", "objectType": "Activity"}
    [statement_id] = lrs_target.post_statements([statement(context={"contextActivities": {"grouping": grouping}})])

    returned = lrs_target.call("GET", "statements", params={"statementId": statement_id}).json()

    assert returned["context"]["contextActivities"]["grouping"] == [grouping]


def test_a_statement_without_version_is_returned_as_1_0_0(lrs_target: Target):
    """Data 2.4.10: "Statements returned by an LRS MUST retain the version they are accepted with.
    If they lack a version, the version MUST be set to 1.0.0." """
    [statement_id] = lrs_target.post_statements([statement()])

    returned = lrs_target.call("GET", "statements", params={"statementId": statement_id}).json()

    assert returned["version"] == "1.0.0"


def test_the_basic_auth_user_is_the_entire_authority(lrs_target: Target):
    """Data 2.4.9: "The LRS MUST include the user as an Agent as the entire authority if a user
    connects directly (using HTTP Basic Authentication)" and "MUST ensure that all Statements
    stored have an authority". A claimed authority is therefore replaced by the credential's; an
    LRS that refuses the statement outright (400 or 403) is skipped, saying so (this LRS replaces
    it: tests/http/test_statements_write.py pins that strictly)."""
    claimed = {"objectType": "Agent", "mbox": "mailto:impostor@example.com"}
    [plain_id] = lrs_target.post_statements([statement()])
    response = lrs_target.call("POST", "statements", json=statement(authority=claimed))
    if response.status_code in (400, 403):
        pytest.skip(f"the LRS refuses a statement with a claimed authority ({response.status_code}), which "
                    "the spec allows: the replacement rule cannot be checked on it")
    assert response.status_code == 200, response.text

    def authority(statement_id: str) -> dict:
        return lrs_target.call("GET", "statements", params={"statementId": statement_id}).json()["authority"]

    assert authority(response.json()[0]) == authority(plain_id) != claimed


def test_statements_targeting_a_voided_statement_still_match_its_filters(lrs_target: Target):
    """Communication 2.1.4: "The LRS MUST not return any Statement which has been voided" and
    "MUST still return any Statements targeting the voided Statement, following the process and
    conditions described in the section on filter conditions for StatementRefs". The suite
    checks this without a filter; here the filter is the voided statement's activity."""
    voided = statement()
    activity = voided["object"]["id"]
    [voided_id] = lrs_target.post_statements([voided])
    [voiding_id] = lrs_target.post_statements([statement(
        verb={"id": VOIDED}, object={"objectType": "StatementRef", "id": voided_id})])
    [targeting_id] = lrs_target.post_statements([statement(
        object={"objectType": "StatementRef", "id": voided_id})])

    found = {s["id"] for s in lrs_target.query(expected=2, activity=activity)}

    assert found == {voiding_id, targeting_id}


def test_statementref_filter_matching_applies_recursively(lrs_target: Target):
    """Communication 2.1.3, Filter Conditions for StatementRefs: a targeting Statement meets a
    filter if its target does, and "This rule applies recursively, so that Statement a is a match
    when a targets b which targets c and the filter conditions ... match for Statement c"."""
    c = statement()
    [c_id] = lrs_target.post_statements([c])
    [b_id] = lrs_target.post_statements([statement(object={"objectType": "StatementRef", "id": c_id})])
    [a_id] = lrs_target.post_statements([statement(object={"objectType": "StatementRef", "id": b_id})])

    found = {s["id"] for s in lrs_target.query(expected=3, activity=c["object"]["id"])}

    assert found == {a_id, b_id, c_id}


def test_since_applies_to_the_targeting_statement_not_its_target(lrs_target: Target):
    """Communication 2.1.3: "The time and sequence based parameters MUST still be applied to the
    Statement making the StatementRef in this manner." """
    target = statement()
    [target_id] = lrs_target.post_statements([target])
    stored = lrs_target.call("GET", "statements", params={"statementId": target_id}).json()["stored"]
    time.sleep(0.05)
    [targeting_id] = lrs_target.post_statements([statement(object={"objectType": "StatementRef", "id": target_id})])

    found = {s["id"] for s in lrs_target.query(expected=1, activity=target["object"]["id"], since=stored)}

    assert found == {targeting_id}


def test_since_is_exclusive_and_until_inclusive_at_a_statements_own_stored_time(lrs_target: Target):
    """Communication 2.1.3: since returns "Only Statements stored since the specified Timestamp
    (exclusive)", until "Only Statements stored at or before the specified Timestamp". The suite
    checks either side of a statement, never the instant it was stored at."""
    sent = statement()
    [statement_id] = lrs_target.post_statements([sent])
    stored = lrs_target.call("GET", "statements", params={"statementId": statement_id}).json()["stored"]
    activity = sent["object"]["id"]

    assert lrs_target.query(expected=1, activity=activity, until=stored)[0]["id"] == statement_id
    assert lrs_target.call("GET", "statements", params={"activity": activity, "since": stored}).json()["statements"] == []


def test_a_refused_statement_changes_no_activity_or_agent(lrs_target: Target):
    """Communication 2.1.1 and 2.1.2: "An LRS MUST NOT make any modifications to its state based on
    receiving a Statement with a statementID that it already has a Statement for", and Communication
    3.2: "The LRS MUST reject a batch of statements if any Statement within that batch is rejected"
    (all of it: its definitions and names too). The Activities and Agents resources must not learn
    from either."""
    agent = {"mbox": f"mailto:own-checks-{uuid.uuid4()}@example.com"}
    first = statement(actor={**agent, "name": "First"})
    first["object"]["definition"] = {"name": {"en-US": "first"}}
    [statement_id] = lrs_target.post_statements([first])
    changed = {**first, "id": statement_id, "actor": {**agent, "name": "Second"},
               "object": {**first["object"], "definition": {"name": {"en-US": "second", "fr-FR": "seconde"}}}}
    invalid = statement(verb={"id": "not an IRI"})

    # 409 is a SHOULD (Communication 2.1.2); another LRS may accept the POST as a no-op
    assert lrs_target.call("POST", "statements", json=[changed]).status_code in (200, 409)
    assert lrs_target.call("POST", "statements", json=[{**changed, "id": str(uuid.uuid4())}, invalid]).status_code == 400

    activity = lrs_target.call("GET", "activities", params={"activityId": first["object"]["id"]}).json()
    person = lrs_target.call("GET", "agents", params={"agent": json.dumps(agent)}).json()
    assert activity["definition"]["name"] == {"en-US": "first"}
    assert person.get("name") == ["First"]


def test_alternate_syntax_content_is_read_as_utf_8_whatever_the_form_says(lrs_target: Target):
    """Communication 1.3: "The LRS MUST interpret this content as a UTF-8 string", here with the
    form's own Content-Type naming ISO-8859-1, which would read the bytes of "é" as "Ã©"."""
    params = {"activityId": f"http://example.com/own-checks/{uuid.uuid4()}",
              "agent": json.dumps({"mbox": "mailto:own-checks@example.com"}), "stateId": "utf8"}
    form = {**params, "content": "café ✓", "Content-Type": "text/plain",
            "X-Experience-API-Version": "1.0.3", "Authorization": _basic(lrs_target)}

    put = lrs_target.call("POST", "activities/state", auth=False, params={"method": "PUT"}, data=urlencode(form),
                          headers={"Content-Type": "application/x-www-form-urlencoded; charset=ISO-8859-1"})

    assert put.status_code == 204, put.text
    assert lrs_target.call("GET", "activities/state", params=params).content == "café ✓".encode()


def test_deleting_state_without_registration_deletes_every_registrations_state(lrs_target: Target):
    """Communication 2.3, Multiple Document DELETE: "Deletes all state data for this context
    (Activity + Agent [+ registration if specified])": without a registration, the documents
    stored under registrations go too."""
    context = {"activityId": f"http://example.com/own-checks/{uuid.uuid4()}",
               "agent": json.dumps({"mbox": "mailto:own-checks@example.com"})}
    registration = {**context, "registration": str(uuid.uuid4())}
    for params in (context, registration):
        stored = lrs_target.call("PUT", "activities/state", params={**params, "stateId": "s"}, data=b"x",
                                 headers={"Content-Type": "text/plain"})
        assert stored.status_code == 204, stored.text

    assert lrs_target.call("DELETE", "activities/state", params=context).status_code == 204

    for params in (context, registration):
        assert lrs_target.call("GET", "activities/state", params=params).json() == []


def _basic(target: Target) -> str:
    return "Basic " + base64.b64encode(f"{target.user}:{target.password}".encode()).decode()


def test_the_more_irl_pages_through_every_result_right_away(lrs_target: Target):
    """ADL suite, Untested: "A more property IRL is accessible for at least 24 hours after
    being returned (4.2.a)". The 24 hours cannot be waited for here; that the IRL works at once,
    resolved as a relative IRL against the LRS, and pages without repeats or gaps can."""
    registration = str(uuid.uuid4())
    posted = lrs_target.post_statements([statement(context={"registration": registration}) for _ in range(3)])
    lrs_target.query(expected=3, registration=registration)

    seen, page = [], lrs_target.call("GET", "statements", params={"registration": registration, "limit": 1})
    while True:
        assert page.status_code == 200, page.text
        seen += [s["id"] for s in page.json()["statements"]]
        more = page.json().get("more", "")
        if not more:
            break
        page = lrs_target.call("GET", more)

    assert sorted(seen) == sorted(posted)


def test_statement_responses_say_they_are_json(lrs_target: Target):
    """ADL suite, Untested: "An LRS's Statement API, upon receiving a GET request, had a field in
    the header with name Content-Type"; Communication 2.1.3 wants application/json unless
    attachments are asked for."""
    [statement_id] = lrs_target.post_statements([statement()])

    single = lrs_target.call("GET", "statements", params={"statementId": statement_id})
    listing = lrs_target.call("GET", "statements", params={"limit": 1})

    for response in (single, listing):
        assert response.headers["Content-Type"].split(";")[0].strip() == "application/json"


def test_delete_on_statements_is_refused_and_deletes_nothing(lrs_target: Target):
    """ADL suite, Untested: "An LRS's Statement API rejects with Error Code 400 Bad Request any
    DELETE request (7.2)"; the suite notes an LRS may answer 405. Statements are immutable
    (Data 2.3), so either way the statement stays."""
    [statement_id] = lrs_target.post_statements([statement()])

    response = lrs_target.call("DELETE", "statements", params={"statementId": statement_id})

    assert response.status_code in (400, 405)
    assert lrs_target.call("GET", "statements", params={"statementId": statement_id}).status_code == 200


def test_a_statement_over_the_size_limit_is_refused_with_413(request: pytest.FixtureRequest, make_app):
    """Communication 3.2: "The LRS MUST reject with 413 Request Entity Too Large status any
    request rejected by the LRS where the size of the Attachment, Statement, or document is
    larger than the maximum allowed by the LRS." The ADL suite cannot know an LRS's limit
    (Untested, 7.1); we know ours, so this check runs against this LRS only."""
    if request.config.getoption("--lrs-endpoint", default=None):
        pytest.skip("needs an LRS whose size limit is known: runs against this LRS only")
    with LiveServer(make_app(max_body_bytes=10_000)) as server:
        target = Target(server.url + "/xapi", ADMIN_KEY, ADMIN_SECRET)
        big = statement(result={"response": "x" * 20_000})

        response = target.call("POST", "statements", json=big)

    assert response.status_code == 413
