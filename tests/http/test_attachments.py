"""Attachments over HTTP (Communication 1.5.2, Data 2.4.11, 2.6): multipart/mixed in and out."""
from __future__ import annotations

import base64
import hashlib
import io
import json
import uuid
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from joserfc import jws
from joserfc.jwk import RSAKey

from lrs.http.multipart import MultipartReader

BOUNDARY = "abcABC0123'()+_,-./:=?"
ESSAY, PHOTO = b"here is a simple attachment", bytes(range(256)) * 40
SIGNATURE_USAGE = "http://adlnet.gov/expapi/attachments/signature"
APPENDIX_D = Path(__file__).resolve().parents[1] / "data" / "xapi-1.0.3-appendix-d.json"


def sha2(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def attachment(content: bytes, content_type: str = "text/plain", **extra) -> dict:
    return {"usageType": "http://example.com/attachment-usage/test", "display": {"en-US": "A test attachment"},
            "contentType": content_type, "length": len(content), "sha2": sha2(content), **extra}


def statement(*attachments: dict, **extra) -> dict:
    return {"actor": {"mbox": "mailto:ada@example.com", "name": "Ada"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
            "object": {"id": "http://example.com/activities/essay"}, "attachments": list(attachments), **extra}


def multipart(payload, *contents: bytes, first_type: str = "application/json", **part_headers: str) -> bytes:
    """A request body the way the spec's example writes one: CRLFs, a binary part per content."""
    extra = "".join(f"{name.replace('_', '-')}: {value}\r\n" for name, value in part_headers.items())
    body = f"--{BOUNDARY}\r\nContent-Type: {first_type}\r\n\r\n{json.dumps(payload)}".encode()
    declared = {a["sha2"]: a["contentType"] for s in (payload if isinstance(payload, list) else [payload])
                for a in s.get("attachments", ())}
    for content in contents:
        content_type = declared.get(sha2(content), "application/octet-stream")
        head = (f"\r\n--{BOUNDARY}\r\nContent-Type: {content_type}\r\n"
                f"Content-Transfer-Encoding: binary\r\nX-Experience-API-Hash: {sha2(content)}\r\n{extra}\r\n")
        body += head.encode() + content
    return body + f"\r\n--{BOUNDARY}--\r\n".encode()


def post(client, headers, body: bytes, boundary: str = BOUNDARY, method: str = "post", query: str = ""):
    content_type = f'multipart/mixed; boundary="{boundary}"' if boundary else "multipart/mixed"
    return getattr(client, method)(f"/xapi/statements{query}", data=body,
                                   headers={**headers, "Content-Type": content_type})


def parts_of(response) -> list[tuple[dict, bytes]]:
    assert response.status_code == 200, response.data
    mimetype, boundary = response.headers["Content-Type"].split("; boundary=")
    assert mimetype == "multipart/mixed"
    assert int(response.headers["Content-Length"]) == len(response.data)
    parts = MultipartReader(io.BytesIO(response.data), boundary).parts()
    return [(part.headers, b"".join(part.chunks())) for part in parts]


def stored_files(app) -> int:
    return app.extensions["lrs"].attachments.files.count_documents({})


def contents(app) -> tuple[list[str], int]:
    """The attachment store as a client could tell it apart: the contents kept, and their chunks."""
    store = app.extensions["lrs"].attachments
    return sorted(doc["filename"] for doc in store.files.find({}, {"filename": 1})), store.chunks.count_documents({})


def test_round_trip_of_two_attachments_one_shared_by_two_statements(app, client, xapi_headers):
    first = statement(attachment(ESSAY), attachment(PHOTO, "image/png"))
    second = statement(attachment(PHOTO, "image/png"), verb={"id": "http://adlnet.gov/expapi/verbs/shared"})
    response = post(client, xapi_headers, multipart([first, second], ESSAY, PHOTO))
    assert response.status_code == 200, response.data
    first_id, second_id = response.get_json()
    assert stored_files(app) == 2

    parts = parts_of(client.get(f"/xapi/statements?statementId={first_id}&attachments=true", headers=xapi_headers))
    (json_headers, body), *contents = parts
    assert json_headers["content-type"] == "application/json" and json.loads(body)["id"] == first_id
    assert [(h["x-experience-api-hash"], h["content-transfer-encoding"], c) for h, c in contents] == [
        (sha2(ESSAY), "binary", ESSAY), (sha2(PHOTO), "binary", PHOTO)]

    only_photo = parts_of(client.get(f"/xapi/statements?statementId={second_id}&attachments=true",
                                     headers=xapi_headers))
    assert [c for _, c in only_photo[1:]] == [PHOTO]

    page = parts_of(client.get("/xapi/statements?attachments=true", headers=xapi_headers))
    assert [s["id"] for s in json.loads(page[0][1])["statements"]] == [second_id, first_id]
    assert sorted(c for _, c in page[1:]) == sorted([ESSAY, PHOTO])  # each content once


def test_the_same_content_sent_again_is_stored_once(app, client, xapi_headers):
    for _ in range(2):
        assert post(client, xapi_headers, multipart(statement(attachment(ESSAY)), ESSAY)).status_code == 200
    assert stored_files(app) == 1


def test_without_attachments_true_the_answer_is_plain_json(client, xapi_headers):
    [statement_id] = post(client, xapi_headers, multipart(statement(attachment(ESSAY)), ESSAY)).get_json()
    for query in (f"statementId={statement_id}", f"statementId={statement_id}&attachments=false", "attachments=false"):
        response = client.get(f"/xapi/statements?{query}", headers=xapi_headers)
        assert response.status_code == 200 and response.mimetype == "application/json"


def test_more_pages_keep_the_multipart_format(client, xapi_headers):
    contents = [b"first essay", b"second essay", b"third essay"]
    for content in contents:
        assert post(client, xapi_headers, multipart(statement(attachment(content)), content)).status_code == 200
    seen, url = [], "/xapi/statements?attachments=true&limit=2&ascending=true"
    for _ in range(3):
        parts = parts_of(client.get(url, headers=xapi_headers))
        seen += [content for _, content in parts[1:]]
        url = json.loads(parts[0][1])["more"]
        if not url:
            break
    assert seen == contents


def test_put_accepts_multipart_and_a_statement_with_only_file_urls_may_be_json(client, xapi_headers):
    statement_id = str(uuid.uuid4())
    response = post(client, xapi_headers, multipart(statement(attachment(ESSAY)), ESSAY),
                    method="put", query=f"?statementId={statement_id}")
    assert response.status_code == 204, response.data
    parts = parts_of(client.get(f"/xapi/statements?statementId={statement_id}&attachments=true",
                                headers=xapi_headers))
    assert parts[1][1] == ESSAY
    linked = statement(attachment(b"elsewhere", fileUrl="http://example.com/essay.txt"))
    assert client.post("/xapi/statements", json=linked, headers=xapi_headers).status_code == 200


@pytest.mark.parametrize("payload, message", [
    ({**statement(attachment(ESSAY)), "id": str(uuid.uuid4())}, "statement.id: must equal the statementId parameter"),
    ([statement(attachment(ESSAY))], "PUT statements takes one Statement object"),
], ids=["another id", "an array"])
def test_a_put_is_refused_on_its_first_part_before_any_content_is_read(app, client, xapi_headers, payload, message):
    """The LRS decides on the first part (Communication 1.5.2): the part after it, whose content
    does not match its hash, is never read (its error would be the answer otherwise)."""
    body = multipart(payload, ESSAY).replace(ESSAY, b"not the declared content")
    response = post(client, xapi_headers, body, method="put", query=f"?statementId={uuid.uuid4()}")
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == message
    assert contents(app) == ([], 0)


def test_a_batch_giving_one_id_twice_is_refused_on_its_first_part(app, client, xapi_headers):
    statement_id = str(uuid.uuid4())
    batch = [{**statement(attachment(ESSAY)), "id": statement_id}, {**statement(), "id": statement_id.upper()}]
    response = post(client, xapi_headers, multipart(batch, ESSAY).replace(ESSAY, b"not the declared content"))
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == (
        f"statement[1].id: {statement_id} is also the id of statement[0]; statement ids must be unique within a batch")
    assert contents(app) == ([], 0)


def test_a_file_url_attachment_may_still_send_its_content(client, xapi_headers):
    linked = statement(attachment(ESSAY, fileUrl="http://example.com/essay.txt"))
    [statement_id] = post(client, xapi_headers, multipart(linked, ESSAY)).get_json()
    parts = parts_of(client.get(f"/xapi/statements?statementId={statement_id}&attachments=true",
                                headers=xapi_headers))
    assert parts[1][1] == ESSAY


def test_multipart_without_attachments_and_the_suites_framing_are_accepted(client, xapi_headers):
    """A leading CRLF before the first boundary and no CRLF after the last, as ADL's suite sends."""
    body = f"\r\n--{BOUNDARY}\r\nContent-Type:application/json\r\n\r\n{json.dumps(statement())}\r\n--{BOUNDARY}--"
    assert post(client, xapi_headers, body.encode()).status_code == 200


@pytest.mark.parametrize("body, message", [
    (multipart(statement(attachment(ESSAY), attachment(PHOTO)), ESSAY), "was not among the parts"),
    (multipart(statement(attachment(ESSAY)), ESSAY, PHOTO), "is not the sha2 of any attachment"),
    (multipart(statement(attachment(ESSAY)), ESSAY, first_type="text/plain"), "first part must have Content-Type"),
    (multipart(statement(attachment(ESSAY)), ESSAY).replace(b"Encoding: binary", b"Encoding: base64"), "must be binary"),
    (multipart(statement(attachment(ESSAY)), ESSAY, Content_Length="3"), "must all agree"),
    (multipart(statement(attachment(ESSAY)), ESSAY)[:-20], "multipart part 2: the request ended before the closing boundary"),
    (multipart(statement(attachment(ESSAY)), ESSAY).replace(b"\r\n", b"\n"), "a boundary line ends with LF alone"),
    (multipart(statement(attachment(ESSAY)), ESSAY).replace(b"X-Experience-API-Hash", b"X-Other"), "is missing"),
    (multipart([statement(attachment(ESSAY))], ESSAY).replace(b"}]", b"}", 1), "malformed JSON"),
    (multipart(statement(attachment(ESSAY)), ESSAY).replace(b"X-Experience-API-Hash", b"X-Experience-API-Hash: "
                                                            + sha2(PHOTO).encode() + b"\r\nX-Experience-API-Hash"),
     "multipart part 2: the x-experience-api-hash header is given twice"),
    (multipart(statement(attachment(ESSAY)), ESSAY, first_type="text/plain\r\nContent-Type: application/json"),
     "multipart part 1: the content-type header is given twice"),
    (multipart(statement(attachment(ESSAY), result={"response": "a=3Db"}), ESSAY,
               first_type="application/json\r\nContent-Transfer-Encoding: quoted-printable"),
     "multipart part 1: Content-Transfer-Encoding must be binary or 8bit or 7bit, not 'quoted-printable'"),
    (multipart(statement(attachment(ESSAY)), ESSAY, X_Pad="x" * 1_000_000), "multipart part 2: its headers exceed"),
    (multipart(statement(attachment(ESSAY)), ESSAY).replace(b"Encoding: binary", b"Encoding binary"),
     "multipart part 2: malformed header line 'Content-Transfer-Encoding binary'"),
], ids=["missing part", "undeclared part", "first part not JSON", "base64", "Content-Length", "truncated",
        "LF line ends", "no hash header", "bad JSON", "hash header twice", "first part typed twice",
        "statements quoted-printable", "1 MB part header", "header without colon"])
def test_bad_multipart_requests_are_refused_with_400_and_store_nothing(app, client, xapi_headers, body, message):
    response = post(client, xapi_headers, body)
    assert response.status_code == 400
    assert message in response.get_json()["error"]["message"]
    assert app.extensions["lrs"].statement_store.collection.count_documents({}) == 0
    assert contents(app) == ([], 0)


def test_content_that_does_not_hash_to_its_header_is_refused_and_not_kept(app, client, xapi_headers):
    body = multipart(statement(attachment(ESSAY)), ESSAY).replace(ESSAY, b"here is a tampered attachment")
    response = post(client, xapi_headers, body)
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == (
        f"multipart part 2: the content received under sha2 {sha2(ESSAY)} has sha2 "
        f"{sha2(b'here is a tampered attachment')}; a part's content must hash to its X-Experience-API-Hash "
        "(xAPI Communication 1.5.2)")
    assert stored_files(app) == 0 and app.extensions["lrs"].attachments.chunks.count_documents({}) == 0


def test_an_invalid_statement_is_refused_before_its_attachments_are_read(app, client, xapi_headers):
    response = post(client, xapi_headers, multipart(statement(attachment(ESSAY), verb="completed"), ESSAY))
    assert response.status_code == 400 and "verb" in response.get_json()["error"]["message"]
    assert stored_files(app) == 0


def test_attachment_without_file_url_in_a_json_request_is_refused(client, xapi_headers):
    response = client.post("/xapi/statements", json=statement(attachment(ESSAY)), headers=xapi_headers)
    assert response.status_code == 400
    assert "must be sent in a multipart/mixed request" in response.get_json()["error"]["message"]


def substatement(*attachments: dict) -> dict:
    inner = statement(*attachments)
    return statement(object={"objectType": "SubStatement", **{key: inner[key] for key in
                                                              ("actor", "verb", "object", "attachments")}})


def test_a_substatements_attachment_content_travels_and_is_served_like_the_statements_own(app, client, xapi_headers):
    """A SubStatement is validated as a Statement, attachments included (Data 2.4.4.3, 2.4.11), so
    its content comes in the request (Communication 1.5.2: "an LRS MUST accept batches of
    Statements that contain Attachments in the Transmission Format") and goes out with
    attachments=true. It used to be refused as a part no attachment declared."""
    sent = substatement(attachment(ESSAY, "application/octet-stream"))
    response = post(client, xapi_headers, multipart(sent, ESSAY))
    assert response.status_code == 200, response.data
    parts = parts_of(client.get(f"/xapi/statements?statementId={response.get_json()[0]}&attachments=true",
                                headers=xapi_headers))
    assert [(headers["x-experience-api-hash"], content) for headers, content in parts[1:]] == [(sha2(ESSAY), ESSAY)]
    assert contents(app)[0] == [sha2(ESSAY)]


def test_a_substatements_attachment_without_file_url_needs_its_content(app, client, xapi_headers):
    """Communication 1.5.2: "an LRS MUST reject batches of Statements having Attachments that
    neither contain a fileUrl nor match a received Attachment part". It used to be stored with no
    content anywhere."""
    response = client.post("/xapi/statements", json=substatement(attachment(ESSAY)), headers=xapi_headers)
    assert response.status_code == 400
    message = response.get_json()["error"]["message"]
    assert message.startswith("statement[0].object.attachments[0]: has no fileUrl"), message
    assert client.get("/xapi/statements", headers=xapi_headers).get_json()["statements"] == []


def test_a_signature_usage_in_a_substatement_is_a_content_not_the_statements_signature(client, xapi_headers):
    """A JWS signs the statement it is attached to (Data 2.6); a SubStatement's attachment of that
    usageType is kept as sent, not checked against the statement around it."""
    sent = substatement(attachment(ESSAY, "application/octet-stream", usageType=SIGNATURE_USAGE))
    response = post(client, xapi_headers, multipart(sent, ESSAY))
    assert response.status_code == 200, response.data


@pytest.mark.parametrize("content_type", ["multipart/form-data; boundary=x", "text/plain", "multipart/mixed"])
def test_other_content_types_and_a_missing_boundary_are_refused(client, xapi_headers, content_type):
    response = client.post("/xapi/statements", data=json.dumps(statement()),
                           headers={**xapi_headers, "Content-Type": content_type})
    assert response.status_code == 400


@pytest.mark.parametrize("parameters", [f'boundary=other; boundary="{BOUNDARY}"', f'boundary="{BOUNDARY}"; Boundary=other'])
def test_a_boundary_given_twice_is_refused(app, client, xapi_headers, parameters):
    """Whichever boundary a reader takes frames another body: a proxy and the LRS would disagree."""
    response = client.post("/xapi/statements", data=multipart(statement(attachment(ESSAY)), ESSAY),
                           headers={**xapi_headers, "Content-Type": f"multipart/mixed; {parameters}"})
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == (
        "Content-Type multipart/mixed: the boundary parameter is given 2 times; a parameter is given once (RFC 6838 4.3)")
    assert contents(app) == ([], 0)
    assert app.extensions["lrs"].statement_store.collection.count_documents({}) == 0


def test_requests_over_the_attachment_limit_get_413(make_app, xapi_headers):
    client = make_app(max_attachment_request_bytes=50_000).test_client()
    big = b"x" * 60_000
    response = post(client, xapi_headers, multipart(statement(attachment(big)), big))
    assert response.status_code == 413


def test_the_statements_part_is_bounded_by_the_json_limit(make_app, xapi_headers):
    client = make_app(max_body_bytes=1_000).test_client()
    response = post(client, xapi_headers, multipart(statement(attachment(ESSAY), result={"response": "x" * 2_000}),
                                                    ESSAY))
    assert response.status_code == 413


# -- signed statements ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def signing_key() -> RSAKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return RSAKey.import_key(private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))


def signed_request(original: dict, key: RSAKey, alg: str = "RS256", content_type: str = "application/octet-stream",
                   received: dict | None = None) -> bytes:
    token = jws.serialize_compact({"alg": alg}, json.dumps(original), key, algorithms=[alg]).encode()
    signature = {**attachment(token, content_type), "usageType": SIGNATURE_USAGE}
    sent = received or original
    return multipart({**sent, "attachments": [*sent.get("attachments", []), signature]}, token)


@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512"])
def test_a_validly_signed_statement_is_stored_with_its_signature(client, xapi_headers, signing_key, alg):
    original = {**statement(), "id": str(uuid.uuid4())}
    del original["attachments"]
    response = post(client, xapi_headers, signed_request(original, signing_key, alg))
    assert response.status_code == 200, response.data
    parts = parts_of(client.get(f"/xapi/statements?statementId={original['id']}&attachments=true",
                                headers=xapi_headers))
    assert base64.urlsafe_b64decode(parts[1][1].split(b".")[1] + b"==") == json.dumps(original).encode()


@pytest.mark.parametrize("change, message", [
    ({"verb": {"id": "http://adlnet.gov/expapi/verbs/failed"}}, "not the same statement"),
    ({"content_type": "text/plain; charset=ascii"}, "application/octet-stream"),
])
def test_a_tampered_or_mislabelled_signature_is_refused(client, xapi_headers, signing_key, change, message):
    original = {**statement(), "id": str(uuid.uuid4())}
    del original["attachments"]
    if "content_type" in change:
        body = signed_request(original, signing_key, content_type=change["content_type"])
    else:
        body = signed_request(original, signing_key, received={**original, **change})
    response = post(client, xapi_headers, body)
    assert response.status_code == 400
    assert message in response.get_json()["error"]["message"]
    assert client.get(f"/xapi/statements?statementId={original['id']}", headers=xapi_headers).status_code == 404


def test_a_signature_over_the_statement_under_another_id_is_refused(client, xapi_headers, signing_key):
    original = {**statement(), "id": str(uuid.uuid4())}
    del original["attachments"]
    other_id = str(uuid.uuid4())
    response = post(client, xapi_headers, signed_request(original, signing_key, received={**original, "id": other_id}))
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == (
        f"statement[0].attachments[0]: the JWS payload is a statement with id {original['id']}, "
        f"not the received statement's id {other_id}")
    assert client.get(f"/xapi/statements?statementId={other_id}", headers=xapi_headers).status_code == 404


def test_a_signature_over_another_id_is_refused_for_the_id_a_put_names(client, xapi_headers, signing_key):
    original = {**statement(), "id": str(uuid.uuid4())}
    del original["attachments"]
    other_id = str(uuid.uuid4())
    body = signed_request(original, signing_key, received={k: v for k, v in original.items() if k != "id"})
    response = post(client, xapi_headers, body, method="put", query=f"?statementId={other_id}")
    assert response.status_code == 400
    assert "the JWS payload is a statement with id" in response.get_json()["error"]["message"]
    assert client.get(f"/xapi/statements?statementId={other_id}", headers=xapi_headers).status_code == 404


@pytest.mark.parametrize("how", ["post", "put", "same id in another case"])
def test_a_signature_over_a_statement_without_id_or_with_the_same_one_is_accepted(client, xapi_headers, signing_key,
                                                                                   how):
    original = statement()
    del original["attachments"]
    statement_id = str(uuid.uuid4())
    if how == "same id in another case":
        original["id"] = statement_id.upper()
        response = post(client, xapi_headers, signed_request(original, signing_key, received={
            **original, "id": statement_id}))
    elif how == "put":
        response = post(client, xapi_headers, signed_request(original, signing_key), method="put",
                        query=f"?statementId={statement_id}")
    else:
        response = post(client, xapi_headers, signed_request(original, signing_key))
        statement_id = response.get_json()[0]
    assert response.status_code in (200, 204), response.data
    assert client.get(f"/xapi/statements?statementId={statement_id}", headers=xapi_headers).status_code == 200


@pytest.mark.parametrize("part", ["header", "payload"])
def test_a_jws_nested_too_deeply_is_refused(client, xapi_headers, part):
    original = {**statement(), "id": str(uuid.uuid4())}
    del original["attachments"]
    deep = "[" * 100_000 + "]" * 100_000
    header = f'{{"alg": "RS256", "x": {deep}}}' if part == "header" else '{"alg": "RS256"}'
    payload = deep if part == "payload" else json.dumps(original)
    token = b".".join(base64.urlsafe_b64encode(text.encode()).rstrip(b"=") for text in (header, payload, "sig"))
    signature = {**attachment(token, "application/octet-stream"), "usageType": SIGNATURE_USAGE}
    response = post(client, xapi_headers, multipart({**original, "attachments": [signature]}, token))
    assert response.status_code == 400
    assert "JWS" in response.get_json()["error"]["message"]


@pytest.mark.parametrize("header, message", [
    ({"alg": "RS256", "crit": ["exp"], "exp": 1}, "Unsupported ['exp'] in header"),
    ({"alg": "RS256", "crit": "exp"}, "Missing critical"),
    ({"alg": "RS256", "kid": 5}, "'kid' in header must be a str"),
], ids=["crit names an unknown extension", "crit not an array", "kid not a string"])
def test_a_jws_header_rfc_7515_makes_invalid_is_refused_without_x5c_too(app, client, xapi_headers, header, message):
    """Without x5c there is no key to verify with, but a JWS whose header is invalid is still a
    malformed signature (Data 2.6: 400)."""
    original = {**statement(), "id": str(uuid.uuid4())}
    del original["attachments"]
    token = b".".join(base64.urlsafe_b64encode(text.encode()).rstrip(b"=")
                      for text in (json.dumps(header), json.dumps(original), "sig"))
    signature = {**attachment(token, "application/octet-stream"), "usageType": SIGNATURE_USAGE}
    response = post(client, xapi_headers, multipart({**original, "attachments": [signature]}, token))
    assert response.status_code == 400
    error = response.get_json()["error"]["message"]
    assert error.startswith("statement[0].attachments[0]: the JWS header is not valid (RFC 7515 4.1): ")
    assert message in error
    assert contents(app) == ([], 0)
    assert client.get(f"/xapi/statements?statementId={original['id']}", headers=xapi_headers).status_code == 404


def appendix_d(tamper_leaf: bool = False) -> tuple[dict, bytes]:
    """xAPI 1.0.3 Data Appendix D's signed statement and JWS, as written there (its x5c certificates
    are signed with SHA-1, its key has 1024 bits); optionally with the leaf certificate's signature
    altered, which changes the JWS header and so the statement's sha2."""
    example = json.loads(APPENDIX_D.read_text())
    token = example["jws"].encode()
    if tamper_leaf:
        head, payload, signature = token.split(b".")
        header = json.loads(base64.urlsafe_b64decode(head + b"=="))
        leaf = bytearray(base64.b64decode(header["x5c"][0]))
        leaf[-1] ^= 1  # the last byte of the issuer's signature
        header["x5c"][0] = base64.b64encode(bytes(leaf)).decode()
        token = b".".join([base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"="), payload, signature])
    [signature_attachment] = example["statement"]["attachments"]
    signature_attachment.update(sha2=sha2(token), length=len(token))
    return example["statement"], token


@pytest.mark.filterwarnings("ignore:Key size should be")
def test_the_signed_statement_example_of_the_specification_is_accepted(client, xapi_headers):
    signed, token = appendix_d()
    response = post(client, xapi_headers, multipart(signed, token))
    assert response.status_code == 200, response.data
    parts = parts_of(client.get(f"/xapi/statements?statementId={signed['id']}&attachments=true", headers=xapi_headers))
    assert parts[1][1] == token


@pytest.mark.filterwarnings("ignore:Key size should be")
def test_a_sha1_certificate_link_that_does_not_verify_is_refused(app, client, xapi_headers):
    signed, token = appendix_d(tamper_leaf=True)
    response = post(client, xapi_headers, multipart(signed, token))
    assert response.status_code == 400
    assert response.get_json()["error"]["message"].endswith(
        "is not issued by the next one in the chain (InvalidSignature)")  # checked, not merely unsupported
    assert contents(app) == ([], 0)
