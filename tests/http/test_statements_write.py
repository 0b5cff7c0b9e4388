"""Storing statements through PUT and POST: LRS-set properties, ids, conflicts, batches."""
from __future__ import annotations

import uuid

import pytest

VERB = {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"en-US": "completed"}}


def statement(**extra):
    return {"actor": {"mbox": "mailto:ada@example.com", "name": "Ada"}, "verb": VERB,
            "object": {"id": "http://example.com/activities/1"}, **extra}


def stored_count(app) -> int:
    return app.extensions["lrs"].statement_store.collection.count_documents({})


def test_post_one_returns_its_id_and_sets_lrs_properties(client, xapi_headers):
    response = client.post("/xapi/statements", json=statement(), headers=xapi_headers)
    assert response.status_code == 200
    [statement_id] = response.get_json()
    uuid.UUID(statement_id)
    got = client.get(f"/xapi/statements?statementId={statement_id}", headers=xapi_headers).get_json()
    assert got["id"] == statement_id
    assert got["authority"]["account"]["name"] == "test-admin"
    assert got["stored"].endswith("Z")
    assert got["timestamp"]
    assert got["version"].startswith("1.0")


def test_a_claimed_authority_is_replaced_by_the_credentials(app, client, xapi_headers):
    """Data 2.4.9 with Basic auth: the user is the entire authority; this LRS accepts the statement
    and replaces what it claims (the conformance check skips LRSs that refuse it instead)."""
    claimed = {"objectType": "Agent", "mbox": "mailto:impostor@example.com"}
    response = client.post("/xapi/statements", json=statement(authority=claimed), headers=xapi_headers)
    assert response.status_code == 200
    [statement_id] = response.get_json()
    got = client.get(f"/xapi/statements?statementId={statement_id}", headers=xapi_headers).get_json()
    credential = app.extensions["lrs"].credentials.get("test-admin")
    assert got["authority"] == credential.authority and got["authority"]["account"]["name"] == "test-admin"


def test_post_batch_returns_ids_in_order(client, xapi_headers):
    ids = [str(uuid.uuid4()) for _ in range(3)]
    batch = [statement(id=ids[0]), statement(), statement(id=ids[2])]
    response = client.post("/xapi/statements", json=batch, headers=xapi_headers)
    assert response.status_code == 200
    returned = response.get_json()
    assert returned[0] == ids[0] and returned[2] == ids[2] and len(set(returned)) == 3


def test_put_stores_under_the_given_id(client, xapi_headers):
    statement_id = str(uuid.uuid4())
    response = client.put(f"/xapi/statements?statementId={statement_id}", json=statement(), headers=xapi_headers)
    assert response.status_code == 204
    got = client.get(f"/xapi/statements?statementId={statement_id}", headers=xapi_headers)
    assert got.get_json()["id"] == statement_id


def test_put_requires_statement_id_and_matching_id(client, xapi_headers):
    missing = client.put("/xapi/statements", json=statement(), headers=xapi_headers)
    assert missing.status_code == 400  # marshmallow's "Missing data for required field." before
    assert missing.get_json()["error"]["message"] == "parameter 'statementId': is required"
    response = client.put(f"/xapi/statements?statementId={uuid.uuid4()}", json=statement(id=str(uuid.uuid4())),
                          headers=xapi_headers)
    assert response.status_code == 400


def test_same_statement_again_is_accepted_and_changes_nothing(app, client, xapi_headers):
    statement_id = str(uuid.uuid4())
    url = f"/xapi/statements?statementId={statement_id}"
    assert client.put(url, json=statement(), headers=xapi_headers).status_code == 204
    first = client.get(url, headers=xapi_headers).get_json()
    assert client.put(url, json=statement(), headers=xapi_headers).status_code == 204
    assert client.get(url, headers=xapi_headers).get_json() == first
    assert stored_count(app) == 1


def test_different_statement_under_a_stored_id_is_409(app, client, xapi_headers):
    statement_id = str(uuid.uuid4())
    url = f"/xapi/statements?statementId={statement_id}"
    client.put(url, json=statement(), headers=xapi_headers)
    other = statement(object={"id": "http://example.com/activities/other"})
    assert client.put(url, json=other, headers=xapi_headers).status_code == 409
    assert client.get(url, headers=xapi_headers).get_json()["object"]["id"] == "http://example.com/activities/1"


def test_batch_with_one_invalid_statement_stores_nothing(app, client, xapi_headers):
    batch = [statement(), statement(actor={"mbox": "ada@example.com"})]
    response = client.post("/xapi/statements", json=batch, headers=xapi_headers)
    assert response.status_code == 400
    assert "statement[1].actor" in response.get_json()["error"]["message"]
    assert stored_count(app) == 0


def test_batch_with_a_conflict_stores_nothing(app, client, xapi_headers):
    statement_id = str(uuid.uuid4())
    client.post("/xapi/statements", json=statement(id=statement_id), headers=xapi_headers)
    batch = [statement(), statement(id=statement_id, verb={"id": "http://adlnet.gov/expapi/verbs/failed"})]
    assert client.post("/xapi/statements", json=batch, headers=xapi_headers).status_code == 409
    assert stored_count(app) == 1


def test_repeated_id_in_a_batch_is_400_naming_both_positions_and_the_id(app, client, xapi_headers):
    statement_id = str(uuid.uuid4())
    batch = [statement(), statement(id=statement_id), statement(), statement(id=statement_id.upper())]
    response = client.post("/xapi/statements", json=batch, headers=xapi_headers)
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == (
        f"statement[3].id: {statement_id} is also the id of statement[1]; statement ids must be unique within a batch")
    assert stored_count(app) == 0


@pytest.mark.parametrize("body, rule", [
    (b'{"actor": ', "malformed JSON"),
    (b'[1, 2', "malformed JSON"),
    (b'{"actor": NaN}', "malformed JSON"),
    (b'\xff\xfe{}', "UTF-8"),
])
def test_malformed_bodies_are_400_with_a_reason(app, client, xapi_headers, body, rule):
    response = client.post("/xapi/statements", data=body, headers={**xapi_headers, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert rule in response.get_json()["error"]["message"]
    assert stored_count(app) == 0


@pytest.mark.parametrize("body", [b'"a string"', b"42", b"null", b"[1]", b'[{"actor": []}]'])
def test_wrong_types_are_400(app, client, xapi_headers, body):
    response = client.post("/xapi/statements", data=body, headers={**xapi_headers, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.get_json()["error"]["message"]
    assert stored_count(app) == 0


def test_a_body_over_the_limit_is_413(make_app, xapi_headers):
    app = make_app(max_body_bytes=10_000)
    big = [statement(result={"response": "x" * 20_000})]
    response = app.test_client().post("/xapi/statements", json=big, headers=xapi_headers)
    assert response.status_code == 413
    assert stored_count(app) == 0


def test_unknown_parameter_on_post_is_400(client, xapi_headers):
    response = client.post("/xapi/statements?foo=bar", json=statement(), headers=xapi_headers)
    assert response.status_code == 400
    assert "foo" in response.get_json()["error"]["message"]


def test_unsupported_content_type_is_400(client, xapi_headers):
    response = client.post("/xapi/statements", data="actor=x", headers={**xapi_headers, "Content-Type": "text/plain"})
    assert response.status_code == 400


@pytest.mark.parametrize("score, message", [
    ({"min": 0, "max": 0, "raw": 5}, "raw: must be between min and max inclusive (xAPI Data 2.4.5.1): "
                                     "5 is greater than max 0"),
    ({"min": 0, "max": 10, "raw": -1}, "raw: must be between min and max inclusive (xAPI Data 2.4.5.1): "
                                       "-1 is less than min 0"),
    ({"max": 1.5, "raw": 2}, "raw: must be between min and max inclusive (xAPI Data 2.4.5.1): 2 is greater than max 1.5"),
    ({"raw": 5, "min": 5, "max": 5}, "min: must be less than max (xAPI Data 2.4.5.1): min and max are both 5"),
    ({"raw": 0, "min": 0, "max": 0}, "min: must be less than max (xAPI Data 2.4.5.1): min and max are both 0"),
    ({"min": 5, "max": 4, "raw": 4.5}, "min: must be less than max (xAPI Data 2.4.5.1): min 5 is greater than max 4"),
])
def test_a_score_outside_its_rules_is_refused_naming_the_rule_it_breaks(app, client, xapi_headers, score, message):
    response = client.post("/xapi/statements", json=statement(result={"score": score}), headers=xapi_headers)
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == f"statement[0].result.score.{message}"
    assert stored_count(app) == 0
    fine = client.post("/xapi/statements", json=statement(result={"score": {"raw": 0, "min": 0, "max": 1}}),
                       headers=xapi_headers)
    assert fine.status_code == 200


@pytest.mark.parametrize("given, sent", [("SubStatement", ", not 'SubStatement'"), (None, "")])
def test_a_context_statement_that_is_no_statement_ref_is_refused_by_that_rule(app, client, xapi_headers, given,
                                                                              sent):
    substatement = {"actor": {"mbox": "mailto:bo@example.com"}, "verb": VERB, "object": {"id": "http://example.com/b"}}
    if given:
        substatement["objectType"] = given
    response = client.post("/xapi/statements", json=statement(context={"statement": substatement}),
                           headers=xapi_headers)
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == (
        f'statement[0].context.statement.objectType: must be "StatementRef"{sent}: '
        "only a Statement Reference may be here (xAPI Data 2.4.6)")
    assert stored_count(app) == 0
