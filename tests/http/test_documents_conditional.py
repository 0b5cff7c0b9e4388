"""RFC 9110 preconditions on the document resources beyond If-Match / If-None-Match on writes:
If-Unmodified-Since on every method, and a GET's or HEAD's If-Match, If-None-Match and
If-Modified-Since (13.1, in the order of 13.2.2)."""
from __future__ import annotations

import datetime as dt
from email.utils import format_datetime

import pytest

from lrs.statements import utc_now
from lrs.store.documents import DocumentKey, Preconditions
from tests.http.test_documents import RESOURCES, create, fetch, headers

STATE_PATH, STATE_QUERY = RESOURCES["state"]
STATE_LIST = {name: value for name, value in STATE_QUERY.items() if name != "stateId"}


@pytest.fixture(params=sorted(RESOURCES))
def resource(request):
    return RESOURCES[request.param]


def http_date(when: dt.datetime) -> str:
    return format_datetime(when.astimezone(dt.timezone.utc), usegmt=True)


def last_modified(client, resource) -> dt.datetime:
    return fetch(client, resource).last_modified


def send(client, resource, method: str, version: str = "1.0.3", body: bytes = b'{"b": 2}', **extra: str):
    path, query = resource
    return client.open(path, method=method, query_string=query, data=body if method in ("PUT", "POST") else None,
                       headers=headers(version, Content_Type="application/json", **extra))


def error(response) -> str:
    return response.get_json()["error"]["message"]


# A 1.0.3 profile PUT without If-Match is a blind overwrite, refused with 409 whatever the date (see
# test_if_unmodified_since_is_ignored_beside_if_match_and_is_no_etag_condition); State's is allowed.
@pytest.mark.parametrize("name, method", [("state", "PUT")] + [(name, method) for name in sorted(RESOURCES)
                                                               for method in ("POST", "DELETE")])
def test_a_write_if_unmodified_since_before_the_last_change_is_412_and_changes_nothing(client, name, method):
    resource = RESOURCES[name]
    create(client, resource, b'{"a": 1}')
    seen = fetch(client, resource).headers["Last-Modified"]
    before = http_date(last_modified(client, resource) - dt.timedelta(seconds=1))
    response = send(client, resource, method, If_Unmodified_Since=before)
    assert fetch(client, resource).get_json() == {"a": 1}
    assert response.status_code == 412
    assert error(response).startswith("If-Unmodified-Since: the document was modified after that date "
                                      f"(Last-Modified is now {seen})")
    if method == "PUT":  # 1.0.3 State: without the condition, a PUT overwrites
        return
    # The comparison is at the HTTP-date's one second: the document was written some milliseconds
    # into the second its Last-Modified names, and a client sending that date back has seen it.
    assert send(client, resource, method, If_Unmodified_Since=seen).status_code == 204
    after = fetch(client, resource)
    assert after.get_json() == {"a": 1, "b": 2} if method == "POST" else after.status_code == 404


@pytest.mark.parametrize("stale", [
    "Saturday, 29-Oct-94 19:43:31 GMT",  # rfc850-date
    "Sat Oct 29 19:43:31 1994",  # asctime-date
    "Sat Oct  1 19:43:31 1994",  # asctime-date, a one-digit day
])
def test_the_obsolete_http_date_forms_are_read_too(client, resource, stale):
    """A missing document has no modification date, so the condition is ignored (RFC 9110 13.1.4);
    once the document exists, it counts."""
    assert send(client, resource, "PUT", If_None_Match="*", If_Unmodified_Since=stale).status_code == 204
    assert send(client, resource, "POST", If_Unmodified_Since=stale).status_code == 412
    assert fetch(client, resource).get_json() == {"b": 2}


@pytest.mark.parametrize("invalid", [
    "yesterday", "1994-10-29T19:43:31Z", "Sat, 29 Oct 1994 19:43:31 +0000", "29 Oct 1994 19:43:31 GMT",
    "Sat, 29 Oct 1994 19:43:31 GMT, Sun, 30 Oct 1994 19:43:31 GMT", "Sat, 31 Feb 1994 19:43:31 GMT", "",
])
def test_an_if_unmodified_since_that_is_not_one_http_date_is_ignored(client, resource, invalid):
    """RFC 9110 13.1.4: a recipient MUST ignore it (a list of dates included). Read leniently, each
    of these past dates would have refused the write."""
    create(client, resource, b'{"a": 1}')
    assert send(client, resource, "POST", If_Unmodified_Since=invalid).status_code == 204
    assert fetch(client, resource).get_json() == {"a": 1, "b": 2}
    assert send(client, resource, "POST", If_Unmodified_Since="Sat, 29 Oct 1994 19:43:31 GMT").status_code == 412


def test_if_unmodified_since_is_ignored_beside_if_match_and_is_no_etag_condition(client, resource):
    """RFC 9110 13.1.4: If-Match is the more accurate condition; the date is only for older
    intermediaries. Nor is the date an If-Match for xAPI: a 2.0 PUT to an existing document with
    only the date is the blind overwrite Communication 3.1 refuses (409), whether or not it holds."""
    create(client, resource, b'{"a": 1}', version="2.0.0")
    current, seen = (fetch(client, resource).headers[name] for name in ("ETag", "Last-Modified"))
    old = "Sat, 29 Oct 1994 19:43:31 GMT"
    assert send(client, resource, "POST", If_Unmodified_Since=old).status_code == 412
    assert send(client, resource, "PUT", If_Match=current, If_Unmodified_Since=old).status_code == 204
    assert send(client, resource, "PUT", "2.0.0", If_Unmodified_Since=seen).status_code == 409
    assert send(client, resource, "PUT", "2.0.0", If_Unmodified_Since=old).status_code == 409


def test_clearing_all_state_if_unmodified_since_compares_the_latest_document(client):
    create(client, RESOURCES["state"], b'{"a": 1}')
    before = http_date(last_modified(client, RESOURCES["state"]) - dt.timedelta(seconds=1))
    response = client.delete(STATE_PATH, query_string=STATE_LIST, headers=headers(If_Unmodified_Since=before))
    assert response.status_code == 412
    assert error(response).startswith("If-Unmodified-Since: the list of ids was modified after that date")
    assert fetch(client, RESOURCES["state"]).status_code == 200
    later = http_date(utc_now() + dt.timedelta(days=1))
    assert client.delete(STATE_PATH, query_string=STATE_LIST,
                         headers=headers(If_Unmodified_Since=later)).status_code == 204
    assert fetch(client, RESOURCES["state"]).status_code == 404


def test_clearing_all_state_on_a_condition_deletes_only_the_documents_it_was_checked_on(app, client, monkeypatch):
    """Another client's writes land between the DELETE's read of the id list (its If-Match checked
    on that list's ETag) and its deletes: a new document, and a rewrite of a listed one. Those
    writes come after the DELETE: both stay. The whole scope was deleted, the new document with it,
    though the condition was never checked on it."""
    def state(state_id: str) -> tuple[str, dict]:
        return STATE_PATH, {**STATE_LIST, "stateId": state_id}

    create(client, state("kept-as-it-was"), b'{"a": 1}')
    create(client, state("rewritten"), b'{"b": 1}')
    etag = client.get(STATE_PATH, query_string=STATE_LIST, headers=headers()).headers["ETag"]
    collection = app.extensions["lrs"].documents.collection
    read = collection.find

    def read_then_another_client_writes(*args, **kwargs):
        found = list(read(*args, **kwargs))
        monkeypatch.undo()  # once
        assert send(client, state("rewritten"), "PUT", body=b'{"b": 2}').status_code == 204
        assert send(client, state("new"), "PUT", body=b'{"c": 1}').status_code == 204
        return iter(found)

    monkeypatch.setattr(collection, "find", read_then_another_client_writes)
    response = client.delete(STATE_PATH, query_string=STATE_LIST, headers=headers(If_Match=etag))
    assert response.status_code == 204, response.get_data()
    assert fetch(client, state("kept-as-it-was")).status_code == 404
    assert fetch(client, state("rewritten")).get_json() == {"b": 2}
    assert fetch(client, state("new")).get_json() == {"c": 1}


@pytest.mark.parametrize("method", ["PUT", "POST", "DELETE"])
def test_a_write_landing_between_the_check_and_this_one_fails_it(app, client, monkeypatch, method):
    """The date is checked inside the store's compare-and-set, on the record the write or delete then
    replaces or removes only if it is still that one: another client's write in between, two
    seconds past this request's date, makes this request a 412, not an overwrite, merge or delete
    of a document modified after the date (test_documents_concurrency.py has a DELETE's over HTTP)."""
    resource = RESOURCES["state"]
    create(client, resource, b'{"a": 1}')
    seen = fetch(client, resource).headers["Last-Modified"]
    store = app.extensions["lrs"].documents
    read = store.collection.find_one

    def read_then_another_client_writes(*args, **kwargs):
        found = read(*args, **kwargs)
        monkeypatch.undo()  # once
        key = DocumentKey(found["kind"], found["doc_id"], found["activity"], found["agent"], found["registration"])
        store.write(key, lambda current: (b'{"c": 3}', "application/json"), Preconditions(),
                    utc_now() + dt.timedelta(seconds=2))
        return found

    monkeypatch.setattr(store.collection, "find_one", read_then_another_client_writes)
    response = send(client, resource, method, If_Unmodified_Since=seen)
    assert response.status_code == 412, response.get_data()
    assert fetch(client, resource).get_json() == {"c": 3}


def test_a_get_if_unmodified_since_before_the_last_change_is_412(client, resource):
    """RFC 9110 13.1.4: evaluated on any method that selects a representation; a client may send it
    on a GET to prefer a 412 to a representation newer than the one it holds."""
    create(client, resource, b'{"a": 1}')
    path, query = resource
    seen = fetch(client, resource).last_modified
    too_early = client.get(path, query_string=query,
                           headers=headers(If_Unmodified_Since=http_date(seen - dt.timedelta(seconds=1))))
    assert too_early.status_code == 412 and too_early.is_json
    assert error(too_early).startswith("If-Unmodified-Since: the document was modified after that date")
    assert client.get(path, query_string=query, headers=headers(If_Unmodified_Since=http_date(seen))).status_code == 200


def test_a_get_if_match_another_etag_is_412(client, resource):
    path, query = resource
    for condition in ({"If_Match": '"0000"'}, {"If_None_Match": "*"},
                      {"If_Unmodified_Since": "Sat, 29 Oct 1994 19:43:31 GMT"}):
        # RFC 9110 13.2.1: a response that would not be 2xx without the conditions ignores them
        assert client.get(path, query_string=query, headers=headers(**condition)).status_code == 404
    create(client, resource, b'{"a": 1}')
    etag = fetch(client, resource).headers["ETag"]
    other = client.get(path, query_string=query, headers=headers(If_Match='"0000"'))
    assert other.status_code == 412 and error(other) == f"If-Match: the document's ETag is now {etag}"
    assert client.get(path, query_string=query, headers=headers(If_Match=etag)).status_code == 200
    assert client.get(path, query_string=query, headers=headers(If_Match="*")).status_code == 200


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_a_read_if_none_match_its_etag_is_304_with_the_etag_alone(client, resource, method):
    create(client, resource, b'{"a": 1}')
    path, query = resource
    etag = fetch(client, resource).headers["ETag"]
    for matching in (etag, f"W/{etag}", f'"other", {etag}', "*"):  # If-None-Match compares weakly
        response = client.open(path, method=method, query_string=query, headers=headers(If_None_Match=matching))
        assert response.status_code == 304, matching
        assert response.data == b"" and response.headers["ETag"] == etag
        assert "Content-Type" not in response.headers and response.headers["Cache-Control"] == "no-store"
    other = client.open(path, method=method, query_string=query, headers=headers(If_None_Match='"other"'))
    assert other.status_code == 200


def test_a_get_if_modified_since_is_304_until_the_document_changes(client, resource):
    create(client, resource, b'{"a": 1}')
    path, query = resource
    seen = fetch(client, resource).last_modified

    def get(**extra):
        return client.get(path, query_string=query, headers=headers(**extra))

    assert get(If_Modified_Since=http_date(seen)).status_code == 304
    assert get(If_Modified_Since=http_date(seen - dt.timedelta(seconds=1))).status_code == 200
    assert get(If_Modified_Since="not a date").status_code == 200  # ignored
    # ignored beside If-None-Match, which decides alone (RFC 9110 13.1.3)
    assert get(If_Modified_Since=http_date(seen), If_None_Match='"other"').status_code == 200


def test_the_id_list_answers_its_preconditions_too(client):
    create(client, RESOURCES["state"], b'{"a": 1}')
    listed = client.get(STATE_PATH, query_string=STATE_LIST, headers=headers())
    assert listed.get_json() == ["s1"]

    def get(**extra):
        return client.get(STATE_PATH, query_string=STATE_LIST, headers=headers(**extra))

    assert get(If_None_Match=listed.headers["ETag"]).status_code == 304
    assert get(If_Modified_Since=listed.headers["Last-Modified"]).status_code == 304
    early = http_date(listed.last_modified - dt.timedelta(seconds=1))
    assert get(If_Unmodified_Since=early).status_code == 412
    assert get(If_Match='"0000"').status_code == 412
