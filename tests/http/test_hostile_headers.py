"""Header values and preconditions from hostile clients: a 400 naming the field and rule, never a
500, never a stored value that breaks later reads or splits a header the LRS sends back.

Each case was accepted before: a boundary outside Latin-1 (500), a CRLF in an alternate-syntax
Content-Type stored with a document (every later GET a 500), a bare LF in a part header echoed to
GET ?attachments=true, ?method=HEAD answered with a Content-Length and no body, an empty
If-None-Match slipping past the 409 that guards documents from blind overwrites.
"""
from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
import requests

from lrs.statements import utc_now
from lrs.store.documents import DocumentKey, Preconditions
from lrs.xapi.agents import ifi_key
from tests.conftest import basic_auth
from tests.http.test_attachments import ESSAY, attachment, multipart, parts_of, post, statement

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
AGENT = json.dumps({"mbox": "mailto:ann@example.com"})
ACTIVITY = "http://example.com/activities/1"
STATE = {"activityId": ACTIVITY, "agent": AGENT, "stateId": "s1"}
PROFILE = {"activityId": ACTIVITY, "profileId": "p1"}


def alternate(client, path: str, method: str, **fields: str):
    form = {"Authorization": basic_auth(), "X-Experience-API-Version": "1.0.3", **fields}
    return client.post(f"{path}?method={method}", data=urlencode(form), headers=FORM)


def headers(version: str = "1.0.3", **extra: str) -> dict[str, str]:
    return {"Authorization": basic_auth(), "X-Experience-API-Version": version, **extra}


def error_message(response) -> str:
    assert response.status_code == 400, response.data
    return response.get_json()["error"]["message"]


def test_a_boundary_outside_rfc_2046_is_a_400_not_a_500(client, xapi_headers):
    body = multipart(statement(attachment(ESSAY)), ESSAY)
    content_type = "multipart/mixed; boundary*=utf-8''%E2%82%AC"
    message = error_message(client.post("/xapi/statements", data=body,
                                        headers={**xapi_headers, "Content-Type": content_type}))
    assert "boundary '€'" in message and "RFC 2046" in message
    message = error_message(alternate(client, "/xapi/statements", "POST", **{"Content-Type": content_type},
                                      content=body.decode()))
    assert "boundary '€'" in message and "RFC 2046" in message


@pytest.mark.parametrize("content_type", ["text/plain\r\nSet-Cookie: evil=1", "text/plain\x00\x01", "text/\x7f"])
def test_alternate_syntax_refuses_a_content_type_that_is_no_header_value(client, content_type):
    response = alternate(client, "/xapi/activities/state", "PUT", **STATE, **{"Content-Type": content_type},
                         content="hi")
    message = error_message(response)
    assert "form field 'Content-Type'" in message and "RFC 9110" in message
    assert client.get("/xapi/activities/state", query_string=STATE, headers=headers()).status_code == 404
    good = alternate(client, "/xapi/activities/state", "PUT", **STATE, **{"Content-Type": "text/plain"}, content="hi")
    assert good.status_code == 204
    got = client.get("/xapi/activities/state", query_string=STATE, headers=headers())
    assert got.status_code == 200 and got.data == b"hi" and got.headers["Content-Type"] == "text/plain"


@pytest.mark.parametrize("field", ["Authorization", "X-Experience-API-Version", "If-Match", "If-None-Match"])
def test_every_header_the_alternate_syntax_maps_must_be_a_header_value(client, field):
    fields = {**STATE, "Content-Type": "text/plain", "content": "hi", field: "x\ny"}
    message = error_message(alternate(client, "/xapi/activities/state", "PUT", **fields))
    assert f"form field {field!r}" in message


def test_a_refused_authorization_field_is_not_repeated_in_the_error(client):
    """The 400 quoted the field's first 80 characters: the Basic credentials, in the answer."""
    response = alternate(client, "/xapi/statements", "GET", Authorization=basic_auth() + "\x01")
    message = error_message(response)
    assert message.startswith("form field 'Authorization': character 47 is U+0001, which is not allowed: ")
    assert basic_auth().split()[1] not in response.get_data(as_text=True)


def test_a_document_content_type_with_controls_is_refused_on_a_plain_put(client):
    response = client.put("/xapi/activities/state", query_string=STATE, data=b"hi",
                          headers=headers(**{"Content-Type": "text/plain\x01"}))
    assert "Content-Type" in error_message(response)
    assert client.get("/xapi/activities/state", query_string=STATE, headers=headers()).status_code == 404


def test_a_content_type_stored_before_the_check_is_served_as_octet_stream(app, client):
    key = DocumentKey("state", "s1", activity=ACTIVITY, agent=ifi_key(json.loads(AGENT)))
    app.extensions["lrs"].documents.write(key, lambda current: (b"hi", "text/plain\r\nSet-Cookie: evil=1"),
                                          Preconditions(), utc_now())
    got = client.get("/xapi/activities/state", query_string=STATE, headers=headers())
    assert got.status_code == 200 and got.data == b"hi"
    assert got.headers["Content-Type"] == "application/octet-stream" and "Set-Cookie" not in got.headers


def test_alternate_syntax_head_is_refused_and_the_answer_is_complete(live_server):
    form = {"Authorization": basic_auth(), "X-Experience-API-Version": "1.0.3", "limit": "1"}
    response = requests.post(f"{live_server.url}/xapi/statements?method=HEAD", data=form, timeout=30)
    assert response.status_code == 400
    assert int(response.headers["Content-Length"]) == len(response.content)
    assert "parameter 'method'" in response.json()["error"]["message"]
    get = requests.post(f"{live_server.url}/xapi/statements?method=GET", data=form, timeout=30)
    assert get.status_code == 200 and int(get.headers["Content-Length"]) == len(get.content)


@pytest.mark.parametrize("value", ["text/plain\nX-Evil: 1\rZ", "text/plain\rX-Evil: 1", "text/plain\x00"])
def test_part_headers_with_a_bare_cr_or_lf_are_refused(app, client, xapi_headers, value):
    response = post(client, xapi_headers, multipart(statement(attachment(ESSAY)), ESSAY, Content_Type=value))
    message = error_message(response)
    assert "multipart part 2 header line" in message and "RFC 9110" in message
    assert app.extensions["lrs"].attachments.files.count_documents({}) == 0


def test_an_attachment_content_type_stored_before_the_check_is_served_as_octet_stream(app, client, xapi_headers):
    """Parts are headed with the statement's contentType: one that validation let through before
    it checked media types must not become a header."""
    response = post(client, xapi_headers, multipart(statement(attachment(ESSAY)), ESSAY))
    statement_id = response.get_json()[0]
    statements = app.extensions["lrs"].statement_store.collection
    raw = statements.find_one({"_id": statement_id})["raw"]
    statements.update_one({"_id": statement_id}, {"$set": {"raw": raw.replace(
        '"contentType":"text/plain"', '"contentType":"text/plain\\nX-Evil: 1"')}})
    response = client.get(f"/xapi/statements?statementId={statement_id}&attachments=true", headers=xapi_headers)
    assert response.status_code == 200
    (_, _), (part_headers, content) = parts_of(response)
    assert content == ESSAY and part_headers["content-type"] == "application/octet-stream"
    assert b"\nX-Evil" not in response.data  # only inside the statement's JSON, escaped


@pytest.mark.parametrize("resource, query, version", [
    ("/xapi/activities/profile", PROFILE, "1.0.3"),
    ("/xapi/activities/state", STATE, "2.0.0"),
])
@pytest.mark.parametrize("method", ["put", "post", "delete"])
@pytest.mark.parametrize("header", ["If-None-Match", "If-Match"])
def test_an_empty_precondition_header_is_a_400_not_an_absent_one(client, resource, query, version, method, header):
    create = client.put(resource, query_string=query, data=b'{"a": 1}',
                        headers=headers(version, **{"Content-Type": "application/json", "If-None-Match": "*"}))
    assert create.status_code == 204
    response = getattr(client, method)(resource, query_string=query, data=b'{"b": 2}',
                                       headers=headers(version, **{"Content-Type": "application/json", header: ""}))
    assert header in error_message(response)
    assert client.get(resource, query_string=query, headers=headers(version)).get_json() == {"a": 1}


@pytest.mark.parametrize("version", ["1.0.3", "2.0.0"])
def test_only_a_bare_star_is_the_wildcard_a_quoted_one_is_an_etag(client, version):
    def put(body: bytes, **precondition: str) -> int:
        return client.put("/xapi/activities/profile", query_string=PROFILE, data=body,
                          headers=headers(version, **{"Content-Type": "application/json"}, **precondition)).status_code

    assert put(b'{"a": 1}', **{"If-Match": '"*"'}) == 412  # no document, and none has the ETag "*"
    assert put(b'{"a": 1}', **{"If-None-Match": "*"}) == 204
    assert put(b'{"a": 2}', **{"If-None-Match": "*"}) == 412
    assert put(b'{"a": 2}', **{"If-Match": '"*"'}) == 412
    assert put(b'{"a": 2}', **{"If-None-Match": '"*"'}) == 204  # the document's ETag is not "*"
    assert put(b'{"a": 3}', **{"If-Match": "*"}) == 204
    got = client.get("/xapi/activities/profile", query_string=PROFILE, headers=headers(version))
    assert got.get_json() == {"a": 3}


@pytest.mark.parametrize("path, field", [("/xapi/activities", "activityId"), ("/xapi/statements", "activity"),
                                         ("/xapi/activities/profile", "activityId")])
def test_alternate_syntax_parameters_are_bounded_as_a_request_line_is(either_store_app, path, field):
    """lrs serve takes at most 256 KiB of request line and headers; the alternate syntax brought
    parameters in the body, up to LRS_MAX_BODY_BYTES: a 17 MiB activity id made a MongoDB query over
    16 MiB (pymongo's DocumentTooLarge, a 500). The content is still bounded by the body limit alone."""
    client = either_store_app.test_client()
    big = "http://example.com/" + "a" * (17 * 1024 * 1024)
    response = alternate(client, path, "GET", **{field: big})
    assert response.status_code == 400
    assert error_message(response).startswith("with ?method=, the form fields but 'content' take 1782")
    assert alternate(client, "/xapi/activities/profile", "PUT", activityId=ACTIVITY, profileId="p1",
                     content="x" * (2 * 1024 * 1024), **{"Content-Type": "text/plain"}).status_code == 204
