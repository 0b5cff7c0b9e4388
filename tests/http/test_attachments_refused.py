"""A statements request that stores no statement naming an attachment content it uploaded leaves
no content of its own behind (on the embedded store, and on MongoDB through `shared_store`),
while contents a stored statement or another request in flight uses stay."""
from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.conftest import LiveServer
from tests.http.test_attachments import (
    ESSAY,
    PHOTO,
    SIGNATURE_USAGE,
    attachment,
    contents,
    multipart,
    parts_of,
    post,
    sha2,
    statement,
)
from tests.ops.test_erasure_durability import CONTENT, erase, held, person, until, upload_paused_mid_content

MINE = b"a learner's essay, sent with a statement the LRS refuses"


def taken_id(client: Any, h: dict) -> str:
    """The id of a stored statement (without attachments) that differs from `statement()`'s."""
    stored = {**statement(), "id": str(uuid.uuid4()), "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted"}}
    del stored["attachments"]
    assert client.post("/xapi/statements", json=stored, headers=h).status_code == 200
    return stored["id"]


def bad_signature(mine: dict) -> bytes:
    token = b"not.a.jws"
    return multipart({**mine, "attachments": [*mine["attachments"], {**attachment(token, "application/octet-stream"),
                                                                     "usageType": SIGNATURE_USAGE}]}, MINE, token)


REFUSALS = {  # a request whose MINE is saved before it is refused: (body, PUT's statementId or None, status)
    "id taken by another statement (409)": lambda mine, taken: (multipart({**mine, "id": taken}, MINE), None, 409),
    "the same statement again, other content": lambda mine, taken: (
        multipart({**mine, "id": taken, "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted"}}, MINE), None, 200),
    "an attachment's content missing": lambda mine, taken: (
        multipart(statement(attachment(MINE), attachment(PHOTO)), MINE), None, 400),
    "a later part that does not hash right": lambda mine, taken: (
        multipart(statement(attachment(MINE), attachment(ESSAY)), MINE, ESSAY).replace(ESSAY, b"x" * len(ESSAY)),
        None, 400),
    "Content-Length not the attachment's length": lambda mine, taken: (
        multipart(statement({**attachment(MINE), "length": 3}), MINE, Content_Length=str(len(MINE))), None, 400),
    "an invalid signature": lambda mine, taken: (bad_signature(mine), None, 400),
    "PUT whose statement id is not statementId": lambda mine, taken: (
        multipart({**mine, "id": str(uuid.uuid4())}, MINE), str(uuid.uuid4()), 400),
    "PUT of an array": lambda mine, taken: (multipart([mine], MINE), str(uuid.uuid4()), 400),
}


@pytest.mark.parametrize("refusal", list(REFUSALS))
def test_a_request_that_stores_no_statement_naming_its_content_leaves_the_store_as_it_was(
        either_store_app, xapi_headers, refusal):
    app = either_store_app
    client = app.test_client()
    taken = taken_id(client, xapi_headers)
    assert post(client, xapi_headers, multipart(statement(attachment(ESSAY)), ESSAY)).status_code == 200
    before = contents(app)
    body, statement_id, status = REFUSALS[refusal](statement(attachment(MINE)), taken)
    query = f"?statementId={statement_id}" if statement_id else ""
    answer = post(client, xapi_headers, body, method="put" if statement_id else "post", query=query)
    assert answer.status_code == status, answer.get_data(as_text=True)
    assert contents(app) == before
    assert app.extensions["lrs"].attachments.files.find_one({"filename": sha2(MINE)}) is None


def test_a_content_a_stored_statement_uses_survives_a_refused_request_that_sent_it_too(either_store_app, xapi_headers):
    app = either_store_app
    client = app.test_client()
    kept = statement(attachment(ESSAY), id=str(uuid.uuid4()))
    assert post(client, xapi_headers, multipart(kept, ESSAY)).status_code == 200
    refused = statement(attachment(ESSAY), attachment(MINE), id=taken_id(client, xapi_headers))
    assert post(client, xapi_headers, multipart(refused, ESSAY, MINE)).status_code == 409
    assert contents(app)[0] == [sha2(ESSAY)]
    served = parts_of(client.get(f"/xapi/statements?statementId={kept['id']}&attachments=true", headers=xapi_headers))
    assert [content for _, content in served[1:]] == [ESSAY]


def test_a_content_another_request_is_uploading_survives_a_refused_request_that_sent_it_too(
        either_store_app, xapi_headers):
    """Ann's statement brought CONTENT; Bob's upload of it is mid-way when Ann is erased (so no
    statement uses CONTENT: only Bob's hold keeps it) and Carol's request, which sent CONTENT and
    a content of its own, is refused. CONTENT stays for Bob's statement; Carol's own goes."""
    app = either_store_app
    client = app.test_client()
    ann = person("ann")
    assert post(client, xapi_headers, multipart(statement(attachment(CONTENT), actor=ann), CONTENT)).status_code == 200
    bobs = statement(attachment(CONTENT), actor=person("bob"), id=str(uuid.uuid4()))
    carols = statement(attachment(CONTENT), attachment(MINE), id=taken_id(client, xapi_headers))
    with LiveServer(app) as server, upload_paused_mid_content(server.url, multipart(bobs, CONTENT)) as finish:
        assert until(lambda: held(app), timeout=10)
        assert erase(client, ann)["attachments"] == 0
        assert post(client, xapi_headers, multipart(carols, CONTENT, MINE)).status_code == 409
        assert contents(app)[0] == [sha2(CONTENT)]
        status, answer = finish()
    assert status == 200, answer
    assert json.loads(answer) == [bobs["id"]]
    served = parts_of(client.get(f"/xapi/statements?statementId={bobs['id']}&attachments=true", headers=xapi_headers))
    assert [content for _, content in served[1:]] == [CONTENT]
