"""What only the State resource does: registrations, and DELETE of every document of a context."""
from __future__ import annotations

import json
import uuid

from tests.conftest import basic_auth

PATH = "/xapi/activities/state"
AGENT = json.dumps({"account": {"homePage": "http://lms.example.com", "name": "ann"}})
CONTEXT = {"activityId": "http://example.com/activities/1", "agent": AGENT}
HEADERS = {"Authorization": basic_auth(), "X-Experience-API-Version": "1.0.3", "Content-Type": "text/plain"}


def put(client, state_id: str, body: bytes, **extra: str) -> int:
    return client.put(PATH, query_string={**CONTEXT, "stateId": state_id, **extra}, data=body,
                      headers=HEADERS).status_code


def ids(client, **extra: str) -> list[str]:
    response = client.get(PATH, query_string={**CONTEXT, **extra}, headers=HEADERS)
    assert response.status_code == 200
    return response.get_json()


def test_a_registration_is_part_of_the_documents_identity(client):
    registration = str(uuid.uuid4())
    assert put(client, "s", b"without") == 204
    assert put(client, "s", b"with", registration=registration.upper()) == 204
    plain = client.get(PATH, query_string={**CONTEXT, "stateId": "s"}, headers=HEADERS)
    registered = client.get(PATH, query_string={**CONTEXT, "stateId": "s", "registration": registration},
                            headers=HEADERS)
    assert (plain.data, registered.data) == (b"without", b"with")


def test_ids_of_one_registration_or_of_all(client):
    registration = str(uuid.uuid4())
    put(client, "plain", b"x")
    put(client, "registered", b"x", registration=registration)
    put(client, "shared", b"x")
    put(client, "shared", b"x", registration=registration)
    assert ids(client) == ["plain", "registered", "shared"]
    assert ids(client, registration=registration) == ["registered", "shared"]


def test_delete_without_state_id_clears_the_context_and_only_it(client):
    registration = str(uuid.uuid4())
    for state_id in ("a", "b"):
        put(client, state_id, b"x")
    put(client, "r", b"x", registration=registration)
    other_agent = {**CONTEXT, "agent": json.dumps({"mbox": "mailto:bob@example.com"})}
    client.put(PATH, query_string={**other_agent, "stateId": "a"}, data=b"bob", headers=HEADERS)

    response = client.delete(PATH, query_string={**CONTEXT, "registration": registration}, headers=HEADERS)
    assert response.status_code == 204
    assert ids(client) == ["a", "b"]
    assert client.delete(PATH, query_string=CONTEXT, headers=HEADERS).status_code == 204
    assert ids(client) == []
    assert client.get(PATH, query_string={**other_agent, "stateId": "a"}, headers=HEADERS).data == b"bob"


def test_delete_of_a_context_refuses_since(client):
    response = client.delete(PATH, query_string={**CONTEXT, "since": "2020-01-01T00:00:00Z"}, headers=HEADERS)
    assert response.status_code == 400 and "since" in response.get_json()["error"]["message"]


def test_1_0_3_state_put_overwrites_without_preconditions(client):
    assert put(client, "s", b"one") == 204
    assert put(client, "s", b"two") == 204
    assert client.get(PATH, query_string={**CONTEXT, "stateId": "s"}, headers=HEADERS).data == b"two"


def test_delete_of_a_context_compares_its_conditions_with_the_id_lists_etag(client):
    """The URL's GET is the id list: If-Match / If-None-Match on its DELETE refer to that list's
    ETag, and a failing or malformed one deletes nothing (it used to delete everything, 204)."""
    for state_id in ("a", "b"):
        put(client, state_id, b"x")
    listed = client.get(PATH, query_string=CONTEXT, headers=HEADERS).headers["ETag"]

    def delete(**condition: str) -> int:
        return client.delete(PATH, query_string=CONTEXT, headers={**HEADERS, **condition}).status_code

    assert delete(**{"If-Match": '"0000"'}) == 412
    assert delete(**{"If-None-Match": "*"}) == 412
    assert delete(**{"If-Match": "unquoted"}) == 400
    assert ids(client) == ["a", "b"]
    put(client, "c", b"x")  # the list changed since it was read
    assert delete(**{"If-Match": listed}) == 412
    assert ids(client) == ["a", "b", "c"]
    assert delete(**{"If-Match": client.get(PATH, query_string=CONTEXT, headers=HEADERS).headers["ETag"]}) == 204
    assert ids(client) == []
    assert delete(**{"If-Match": "*"}) == 412  # nothing left to match
    assert delete(**{"If-None-Match": "*"}) == 204
