"""How a statements request's body must be sent: no content coding (415), JSON in UTF-8 whatever
charset the Content-Type names (400 otherwise), and no object giving a key twice (400 naming it)."""
from __future__ import annotations

import gzip
import json
import uuid

import pytest

from tests.http.test_attachments import ESSAY, attachment, multipart, post, statement

DUPLICATED_VERB = (b'{"actor": {"mbox": "mailto:ada@example.com"}, "verb": {"id": "http://example.com/verbs/a"}, '
                   b'"verb": {"id": "http://example.com/verbs/b"}, "object": {"id": "http://example.com/act"}}')
UTF8_RULE = "JSON is UTF-8 (RFC 8259 8.1; xAPI Communication 1.4"


def stored_count(app) -> int:
    return app.extensions["lrs"].statement_store.collection.count_documents({})


def message(response) -> str:
    return response.get_json()["error"]["message"]


@pytest.mark.parametrize("method", ["post", "put"])
@pytest.mark.parametrize("coding", ["gzip", "deflate", "GZIP, identity"])
def test_a_content_coding_is_415_naming_it_as_on_documents(app, client, xapi_headers, method, coding):
    """It was a 400 saying the body "must be UTF-8 encoded", which sent the client looking at its
    text instead of its compression."""
    body = gzip.compress(json.dumps(statement()).encode())
    response = getattr(client, method)(f"/xapi/statements?statementId={uuid.uuid4()}" if method == "put"
                                       else "/xapi/statements", data=body,
                                       headers={**xapi_headers, "Content-Encoding": coding})
    assert response.status_code == 415
    assert message(response) == (f"Content-Encoding: {coding!r} is not decoded here: send the statements without "
                                 "a content coding (no Content-Encoding, or identity)")
    assert stored_count(app) == 0
    identity = {**xapi_headers, "Content-Encoding": "identity"}
    assert client.post("/xapi/statements", json=statement(), headers=identity).status_code == 200


def test_a_multipart_request_with_a_content_coding_is_415_too(app, client, xapi_headers):
    response = post(client, {**xapi_headers, "Content-Encoding": "gzip"},
                    gzip.compress(multipart(statement(attachment(ESSAY)), ESSAY)))
    assert response.status_code == 415 and message(response).startswith("Content-Encoding: 'gzip' ")
    assert stored_count(app) == 0


@pytest.mark.parametrize("charset", ["iso-8859-1", "ISO-8859-1", "windows-1252", "utf-16", "us-ascii", "x-unknown"])
def test_json_labelled_with_another_charset_is_400_naming_it_and_the_rule(app, client, xapi_headers, charset):
    """UTF-8 bytes labelled ISO-8859-1 were stored read as UTF-8, silently not what the label said."""
    body = json.dumps(statement(result={"response": "é"}), ensure_ascii=False).encode()
    response = client.post("/xapi/statements", data=body,
                           headers={**xapi_headers, "Content-Type": f"application/json; charset={charset}"})
    assert response.status_code == 400
    assert message(response).startswith(f"request body: Content-Type names charset {charset!r}, and {UTF8_RULE}")
    assert stored_count(app) == 0
    for utf_8 in ("utf-8", "UTF-8", '"utf-8"', "utf8"):  # JSON's own charset, in any spelling
        response = client.post("/xapi/statements", data=body,
                               headers={**xapi_headers, "Content-Type": f"application/json; charset={utf_8}"})
        assert response.status_code == 200
        [statement_id] = response.get_json()
        got = client.get(f"/xapi/statements?statementId={statement_id}", headers=xapi_headers).get_json()
        assert got["result"]["response"] == "é"


def test_the_statements_part_of_a_multipart_request_must_not_name_another_charset(app, client, xapi_headers):
    body = multipart(statement(attachment(ESSAY)), ESSAY, first_type="application/json; charset=iso-8859-1")
    response = post(client, xapi_headers, body)
    assert response.status_code == 400
    assert message(response).startswith("multipart part 1 (the statements): Content-Type names charset "
                                        f"'iso-8859-1', and {UTF8_RULE}")
    assert stored_count(app) == 0
    assert post(client, xapi_headers, multipart(statement(attachment(ESSAY)), ESSAY,
                                                first_type="application/json; charset=UTF-8")).status_code == 200


def test_a_key_given_twice_is_400_naming_it_and_nothing_is_stored(app, client, xapi_headers):
    """Data 2.2: a Statement MUST use each property no more than one time (ADL's XAPI-00021: an LRS
    rejects such a statement with 400). The last value used to win silently."""
    response = client.post("/xapi/statements", data=DUPLICATED_VERB, headers=xapi_headers)
    assert response.status_code == 400
    assert message(response) == ("request body: $.verb: this key is given more than once in its object; a key "
                                 "may appear only once (xAPI Data 2.2: each property is used no more than one time)")
    assert stored_count(app) == 0


def test_the_path_names_the_statement_and_object_holding_the_repeated_key(app, client, xapi_headers):
    good = json.dumps(statement()).encode()
    repeated = good.replace(b'"mbox": "mailto:ada@example.com"',
                            b'"mbox": "mailto:ada@example.com", "mbox": "mailto:eve@example.com"')
    response = client.post("/xapi/statements", data=b"[" + good + b", " + repeated + b"]", headers=xapi_headers)
    assert response.status_code == 400
    assert message(response).startswith("request body: $[1].actor.mbox: this key is given more than once")
    assert stored_count(app) == 0
    same_keys = statement(context={"extensions": {"http://example.com/id": {"id": 1}}},
                          result={"extensions": {"http://example.com/id": {"id": 2}}})
    assert client.post("/xapi/statements", json=same_keys, headers=xapi_headers).status_code == 200  # other objects


def test_a_put_with_a_key_given_twice_is_400_too(app, client, xapi_headers):
    response = client.put(f"/xapi/statements?statementId={uuid.uuid4()}", data=DUPLICATED_VERB, headers=xapi_headers)
    assert response.status_code == 400 and message(response).startswith("request body: $.verb: ")
    assert stored_count(app) == 0


def test_a_key_given_twice_in_the_statements_part_is_400_naming_the_part(app, client, xapi_headers):
    body = multipart(statement(attachment(ESSAY)), ESSAY).replace(
        b'"verb": {"id": "http://adlnet.gov/expapi/verbs/completed"}',
        b'"verb": {"id": "http://adlnet.gov/expapi/verbs/completed", "id": "http://example.com/verbs/other"}')
    response = post(client, xapi_headers, body)
    assert response.status_code == 400
    assert message(response).startswith("the statements part: $.verb.id: this key is given more than once")
    assert stored_count(app) == 0
