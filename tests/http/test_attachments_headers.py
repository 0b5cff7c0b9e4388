"""A content part's X-Experience-API-Hash and Content-Type against its attachment's sha2 and
contentType (Communication 1.5.2: "the value of these parameters and properties MUST match").

sha2 is hex, so its case carries nothing: parts are matched and contents stored by the digest,
whatever case either side writes. What is served back is headed as each statement declares it.
"""
from __future__ import annotations

import json
import uuid

from tests.conftest import basic_auth
from tests.http.test_attachments import (
    BOUNDARY,
    ESSAY,
    PHOTO,
    SIGNATURE_USAGE,
    attachment,
    parts_of,
    post,
    sha2,
    signed_request,
    signing_key,  # noqa: F401 (fixture)
    statement,
    stored_files,
)

UPPER, LOWER = sha2(ESSAY).upper(), sha2(ESSAY)
MIXED = "".join(c.upper() if i % 2 else c for i, c in enumerate(LOWER))


def request_body(payload, *parts: tuple[bytes, dict[str, str]]) -> bytes:
    """The statements, then each content with exactly the headers given."""
    body = f"--{BOUNDARY}\r\nContent-Type: application/json\r\n\r\n{json.dumps(payload)}".encode()
    for content, headers in parts:
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        body += f"\r\n--{BOUNDARY}\r\nContent-Transfer-Encoding: binary\r\n{head}\r\n".encode() + content
    return body + f"\r\n--{BOUNDARY}--\r\n".encode()


def part(content: bytes, hash_text: str | None = None, content_type: str | None = None) -> tuple[bytes, dict]:
    headers = {"X-Experience-API-Hash": hash_text or sha2(content)}
    return content, headers if content_type is None else {**headers, "Content-Type": content_type}


def served(client, headers, query: str) -> list[tuple[str, str, bytes]]:
    """(X-Experience-API-Hash, Content-Type, content) of each content part of a GET."""
    parts = parts_of(client.get(f"/xapi/statements?{query}&attachments=true", headers=headers))
    return [(h["x-experience-api-hash"], h["content-type"], content) for h, content in parts[1:]]


def test_a_sha2_in_either_case_matches_its_part_and_is_served_as_the_statement_writes_it(app, client, xapi_headers):
    upper_first = statement(attachment(ESSAY, sha2=UPPER))
    response = post(client, xapi_headers, request_body(upper_first, part(ESSAY, LOWER, "text/plain")))
    assert response.status_code == 200, response.data
    [upper_id] = response.get_json()
    lower_id = str(uuid.uuid4())
    response = post(client, xapi_headers, request_body(statement(attachment(ESSAY)), part(ESSAY, UPPER, "text/plain")),
                    method="put", query=f"?statementId={lower_id}")
    assert response.status_code == 204, response.data
    both_upper = statement(attachment(ESSAY, sha2=UPPER), verb={"id": "http://adlnet.gov/expapi/verbs/shared"})
    assert post(client, xapi_headers, request_body(both_upper, part(ESSAY, UPPER, "text/plain"))).status_code == 200
    assert stored_files(app) == 1

    assert served(client, xapi_headers, f"statementId={upper_id}") == [(UPPER, "text/plain", ESSAY)]
    assert served(client, xapi_headers, f"statementId={lower_id}") == [(LOWER, "text/plain", ESSAY)]
    # A page: one part per spelling, so a client looking parts up by the statement's text finds each.
    assert sorted(served(client, xapi_headers, "limit=10")) == [(UPPER, "text/plain", ESSAY),
                                                                (LOWER, "text/plain", ESSAY)]


def test_the_same_statement_again_with_its_sha2_in_another_case_changes_nothing(client, xapi_headers):
    first = {**statement(attachment(ESSAY, sha2=UPPER)), "id": str(uuid.uuid4())}
    assert post(client, xapi_headers, request_body(first, part(ESSAY, UPPER, "text/plain"))).status_code == 200
    again = {**first, "attachments": [attachment(ESSAY)]}  # hex: the same digest, so the same statement
    response = post(client, xapi_headers, request_body(again, part(ESSAY, LOWER, "text/plain")),
                    method="put", query=f"?statementId={first['id']}")
    assert response.status_code == 204, response.data
    parts = parts_of(client.get(f"/xapi/statements?statementId={first['id']}&attachments=true",
                                headers=xapi_headers))
    assert json.loads(parts[0][1])["attachments"][0]["sha2"] == UPPER
    assert [h["x-experience-api-hash"] for h, _ in parts[1:]] == [UPPER]


def test_a_signature_declared_in_upper_case_verifies_and_is_served_so(client, xapi_headers, signing_key):  # noqa: F811
    original = {**statement(), "id": str(uuid.uuid4())}
    del original["attachments"]
    body = signed_request(original, signing_key)
    token_sha2 = json.loads(body.split(b"\r\n\r\n", 1)[1].split(b"\r\n--", 1)[0])["attachments"][0]["sha2"]
    body = body.replace(f'"sha2": "{token_sha2}"'.encode(), f'"sha2": "{token_sha2.upper()}"'.encode())
    response = post(client, xapi_headers, body)
    assert response.status_code == 200, response.data
    [(hash_text, content_type, _)] = served(client, xapi_headers, f"statementId={original['id']}")
    assert (hash_text, content_type) == (token_sha2.upper(), "application/octet-stream")
    stored_statement = client.get(f"/xapi/statements?statementId={original['id']}", headers=xapi_headers).get_json()
    assert stored_statement["attachments"][0]["usageType"] == SIGNATURE_USAGE


def test_erasing_one_statement_keeps_a_content_another_declares_in_mixed_case(app, client, xapi_headers):
    kept = {**statement(attachment(ESSAY, sha2=MIXED)), "actor": {"mbox": "mailto:bob@example.com"}}
    erased = {**statement(attachment(ESSAY)), "actor": {"mbox": "mailto:ann@example.com"}}
    for one in (kept, erased):
        assert post(client, xapi_headers, request_body(one, part(ESSAY, LOWER, "text/plain"))).status_code == 200
    answer = client.delete("/admin/agents", query_string={"agent": json.dumps(erased["actor"])},
                           headers={"Authorization": basic_auth()})
    assert answer.status_code == 200 and answer.get_json()["attachments"] == 0
    assert served(client, xapi_headers, "limit=10") == [(MIXED, "text/plain", ESSAY)]


def test_a_part_whose_content_type_differs_from_the_attachments_is_refused(app, client, xapi_headers):
    pdf = statement(attachment(ESSAY, "application/pdf"), attachment(PHOTO, "text/plain; charset=utf-8"))
    response = post(client, xapi_headers, request_body(
        pdf, part(ESSAY, content_type="image/png"), part(PHOTO, content_type="text/plain; charset=utf-8")))
    assert response.status_code == 400
    message = response.get_json()["error"]["message"]
    assert message.startswith("multipart part 2: Content-Type 'image/png' does not match the contentType "
                              "'application/pdf' of statement[0].attachments[0]")
    assert "Communication 1.5.2" in message
    assert app.extensions["lrs"].statement_store.collection.count_documents({}) == 0 and stored_files(app) == 0

    # The same media type written differently matches; a part without Content-Type is allowed.
    response = post(client, xapi_headers, request_body(
        pdf, part(ESSAY, content_type="Application/PDF"), part(PHOTO, content_type='text/plain;Charset="UTF-8"')))
    assert response.status_code == 200, response.data
    assert post(client, xapi_headers, request_body(pdf, part(ESSAY), part(PHOTO))).status_code == 200
    # A part may leave out a parameter of the contentType (below), never give another value or add one.
    for other in ("text/plain; charset=iso-8859-1", "text/plain; charset=utf-8; format=flowed"):
        parameters = post(client, xapi_headers, request_body(
            pdf, part(ESSAY, content_type="application/pdf"), part(PHOTO, content_type=other)))
        assert parameters.status_code == 400 and "multipart part 3" in parameters.get_json()["error"]["message"]


def test_the_example_request_of_the_specification_is_accepted(client, xapi_headers):
    """Communication 1.5.2's example, as it is written there but for the statement's id: the part of
    a `text/plain; charset=ascii` attachment says `Content-Type:text/plain`."""
    boundary = "abcABC0123'()+_,-./:=?"
    example = statement(attachment(ESSAY, "text/plain; charset=ascii"))
    body = (f"--{boundary}\r\nContent-Type:application/json\r\n\r\n{json.dumps(example)}\r\n"
            f"--{boundary}\r\nContent-Type:text/plain\r\nContent-Transfer-Encoding:binary\r\n"
            f"X-Experience-API-Hash:{sha2(ESSAY)}\r\n\r\n{ESSAY.decode()}\r\n--{boundary}--")
    response = post(client, xapi_headers, body.encode(), boundary=boundary)
    assert response.status_code == 200, response.data
    [statement_id] = response.get_json()
    (_, _), (headers, content) = parts_of(client.get(f"/xapi/statements?statementId={statement_id}&attachments=true",
                                                     headers=xapi_headers))
    assert (headers["content-type"], content) == ("text/plain; charset=ascii", ESSAY)


def test_each_statement_gets_its_content_with_its_own_content_type(client, xapi_headers):
    as_image = statement(attachment(ESSAY, "image/png"))
    as_bytes = statement(attachment(ESSAY, "application/octet-stream"), verb={"id": "http://adlnet.gov/expapi/verbs/shared"})
    [image_id] = post(client, xapi_headers, request_body(as_image, part(ESSAY, content_type="image/png"))).get_json()
    [bytes_id] = post(client, xapi_headers, request_body(as_bytes, part(ESSAY))).get_json()
    assert served(client, xapi_headers, f"statementId={image_id}") == [(LOWER, "image/png", ESSAY)]
    assert served(client, xapi_headers, f"statementId={bytes_id}") == [(LOWER, "application/octet-stream", ESSAY)]
    assert sorted(served(client, xapi_headers, "limit=10")) == [(LOWER, "application/octet-stream", ESSAY),
                                                                (LOWER, "image/png", ESSAY)]
