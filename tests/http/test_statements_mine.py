"""`statements/read/mine` stays mine: a credential that reads only its own statements learns
nothing of another's by referring to it, by storing a guess under its id, or by declaring its
attachment's sha2. Over real HTTP against a live server.
"""
from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

from tests.conftest import LiveServer, basic_auth
from tests.http.test_attachments import BOUNDARY, ESSAY, attachment, multipart, sha2

ADMIN = {"Authorization": basic_auth(), "X-Experience-API-Version": "1.0.3"}
MINE = {"Authorization": basic_auth("mine", "mine-secret"), "X-Experience-API-Version": "1.0.3"}
WRITER = {"Authorization": basic_auth("writer", "writer-secret"), "X-Experience-API-Version": "1.0.3"}
SECRET_ACTOR = {"mbox": "mailto:patient@example.com"}
SECRET_VERB = "http://example.com/verbs/diagnosed-with"
SECRET_ACTIVITY = "http://example.com/conditions/rare-condition"
TIMEOUT = 10


@pytest.fixture
def app(make_app: Any) -> Any:
    app = make_app()
    lrs = app.extensions["lrs"]
    lrs.create_credential("mine", "mine-secret", ["statements/write", "statements/read/mine"])
    lrs.create_credential("writer", "writer-secret", ["statements/write"])
    return app


def secret_statement() -> dict:
    return {"actor": SECRET_ACTOR, "verb": {"id": SECRET_VERB}, "object": {"id": SECRET_ACTIVITY}}


def put(server: LiveServer, headers: dict, statement_id: str, statement: dict) -> requests.Response:
    return requests.put(server.url + "/xapi/statements", params={"statementId": statement_id}, json=statement,
                        headers=headers, timeout=TIMEOUT)


def get(server: LiveServer, headers: dict, **params: str) -> requests.Response:
    return requests.get(server.url + "/xapi/statements", params=params, headers=headers, timeout=TIMEOUT)


@pytest.fixture
def secret_id(live_server: LiveServer) -> str:
    """A statement the admin stored, whose id the read/mine credential has learnt."""
    statement_id = str(uuid.uuid4())
    assert put(live_server, ADMIN, statement_id, secret_statement()).status_code == 204
    return statement_id


def test_a_statement_ref_does_not_let_filters_reveal_its_target(live_server: LiveServer, secret_id: str) -> None:
    ref = {"actor": {"mbox": "mailto:me@example.com"}, "verb": {"id": "http://example.com/verbs/noted"},
           "object": {"objectType": "StatementRef", "id": secret_id}}
    assert requests.post(live_server.url + "/xapi/statements", json=ref, headers=MINE, timeout=TIMEOUT).ok
    for probe in ({"verb": SECRET_VERB}, {"activity": SECRET_ACTIVITY},
                  {"agent": '{"mbox": "mailto:patient@example.com"}'}):
        response = get(live_server, MINE, **probe)
        assert response.status_code == 200 and response.json()["statements"] == [], probe
    # A credential that reads everything still gets the referring statement (Communication 2.1.3),
    # and the owner's own references still match through its own targets.
    assert len(get(live_server, ADMIN, verb=SECRET_VERB).json()["statements"]) == 2
    own_id = str(uuid.uuid4())
    assert put(live_server, MINE, own_id, {**secret_statement(), "verb": {"id": "http://example.com/verbs/mine"}}).ok
    own_ref = {**ref, "object": {"objectType": "StatementRef", "id": own_id}}
    assert requests.post(live_server.url + "/xapi/statements", json=own_ref, headers=MINE, timeout=TIMEOUT).ok
    found = get(live_server, MINE, verb="http://example.com/verbs/mine").json()["statements"]
    assert sorted(s["verb"]["id"] for s in found) == ["http://example.com/verbs/mine", "http://example.com/verbs/noted"]


@pytest.mark.parametrize("headers", [MINE, WRITER], ids=["read-mine", "write-only"])
def test_a_put_under_a_taken_id_does_not_tell_a_right_guess_from_a_wrong_one(
        live_server: LiveServer, secret_id: str, headers: dict) -> None:
    right, wrong = put(live_server, headers, secret_id, secret_statement()), put(
        live_server, headers, secret_id, {**secret_statement(), "verb": {"id": "http://example.com/verbs/other"}})
    assert right.status_code == wrong.status_code == 409
    assert right.json() == wrong.json()
    posted = requests.post(live_server.url + "/xapi/statements", json={**secret_statement(), "id": secret_id},
                           headers=headers, timeout=TIMEOUT)
    assert posted.status_code == 409


def test_a_credential_still_re_sends_its_own_statement_and_a_reader_of_all_compares(live_server: LiveServer) -> None:
    own_id = str(uuid.uuid4())
    for headers in (MINE, MINE, ADMIN):  # its own retry, then a credential that may read it
        assert put(live_server, headers, own_id, secret_statement()).status_code == 204


def test_read_mine_with_an_authority_without_identifier_reads_nothing(app: Any, live_server: LiveServer,
                                                                     secret_id: str) -> None:
    """Such an authority has no key to filter on: failing open would read everything."""
    anonymous = {"objectType": "Group", "member": [{"mbox": "mailto:a@example.com"}, {"mbox": "mailto:b@example.com"}]}
    app.extensions["lrs"].create_credential("group", "group-secret", ["statements/read/mine"], authority=anonymous)
    headers = {"Authorization": basic_auth("group", "group-secret"), "X-Experience-API-Version": "1.0.3"}
    assert get(live_server, headers).status_code == 403
    assert get(live_server, headers, statementId=secret_id).status_code == 403


def test_a_declared_sha2_does_not_serve_another_statements_attachment(live_server: LiveServer) -> None:
    """The content is served only with statements whose request carried it."""
    statement = {**secret_statement(), "attachments": [attachment(ESSAY)]}
    response = requests.post(live_server.url + "/xapi/statements", data=multipart(statement, ESSAY), timeout=TIMEOUT,
                             headers={**ADMIN, "Content-Type": f'multipart/mixed; boundary="{BOUNDARY}"'})
    assert response.status_code == 200
    claim = {**secret_statement(), "attachments": [attachment(ESSAY, fileUrl="http://example.com/essay.txt")]}
    [claim_id] = requests.post(live_server.url + "/xapi/statements", json=claim, headers=MINE, timeout=TIMEOUT).json()
    response = get(live_server, MINE, statementId=claim_id, attachments="true")
    assert response.status_code == 200
    assert ESSAY not in response.content and sha2(ESSAY) in response.text  # declared, not served
    response = get(live_server, MINE, attachments="true")
    assert ESSAY not in response.content


def voiding(target: str) -> dict:
    return {"actor": {"mbox": "mailto:me@example.com"}, "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
            "object": {"objectType": "StatementRef", "id": target}}


def is_voided(server: LiveServer, statement_id: str) -> bool:
    return get(server, ADMIN, voidedStatementId=statement_id).status_code == 200


@pytest.mark.parametrize("headers", [MINE, WRITER], ids=["read-mine", "write-only"])
def test_a_writer_that_cannot_read_every_statement_voids_only_its_own(
        live_server: LiveServer, secret_id: str, headers: dict) -> None:
    refused = requests.post(live_server.url + "/xapi/statements", json=voiding(secret_id), headers=headers,
                            timeout=TIMEOUT)
    assert refused.status_code == 403
    assert "statement[0].object.id" in refused.json()["error"]["message"]
    assert not is_voided(live_server, secret_id)
    future = str(uuid.uuid4())  # or it would void whatever another credential stores later under that id
    assert requests.post(live_server.url + "/xapi/statements", json=voiding(future), headers=headers,
                         timeout=TIMEOUT).status_code == 403

    own_id = str(uuid.uuid4())
    assert put(live_server, headers, own_id, secret_statement()).status_code == 204
    assert requests.post(live_server.url + "/xapi/statements", json=voiding(own_id), headers=headers,
                         timeout=TIMEOUT).status_code == 200
    assert is_voided(live_server, own_id)
    assert requests.post(live_server.url + "/xapi/statements", json=voiding(secret_id), headers=ADMIN,
                         timeout=TIMEOUT).status_code == 200  # a reader of every statement voids any
    assert is_voided(live_server, secret_id)


def test_format_canonical_gives_a_reader_of_its_own_only_the_definitions_its_statements_carry(
        live_server: LiveServer) -> None:
    secret = {"name": {"en-US": "SECRET COURSE NAME"}, "extensions": {"http://example.com/ext/grades": {"bob": "F"}}}
    admins = {**secret_statement(), "object": {"id": SECRET_ACTIVITY, "definition": secret}}
    assert put(live_server, ADMIN, str(uuid.uuid4()), admins).status_code == 204
    activities = requests.get(live_server.url + "/xapi/activities", params={"activityId": SECRET_ACTIVITY},
                              headers=MINE, timeout=TIMEOUT)
    assert activities.status_code == 403
    own_id, bare_id = str(uuid.uuid4()), str(uuid.uuid4())
    own = {"actor": {"mbox": "mailto:me@example.com"}, "verb": {"id": "http://example.com/verbs/opened"},
           "object": {"id": SECRET_ACTIVITY, "definition": {"name": {"en-US": "my name", "fr": "mon nom"}}}}
    assert put(live_server, MINE, own_id, own).status_code == 204
    assert put(live_server, MINE, bare_id, {**own, "object": {"id": SECRET_ACTIVITY}}).status_code == 204
    single = get(live_server, MINE, statementId=own_id, format="canonical").json()
    assert single["object"] == {"id": SECRET_ACTIVITY, "definition": {"name": {"en-US": "my name"}}}
    page = get(live_server, MINE, activity=SECRET_ACTIVITY, format="canonical").json()["statements"]
    assert [s["object"] for s in page] == [{"id": SECRET_ACTIVITY}, single["object"]]
    assert "SECRET" not in get(live_server, MINE, activity=SECRET_ACTIVITY, format="canonical").text
    # a reader of every statement may read the Activities resource, so it gets the canonical definition
    admin_view = get(live_server, ADMIN, statementId=own_id, format="canonical").json()
    assert admin_view["object"]["definition"]["name"] == {"en-US": "SECRET COURSE NAME"}
