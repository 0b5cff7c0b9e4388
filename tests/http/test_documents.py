"""The three document resources through the Flask test client: content, merge, ETags, preconditions."""
from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
from urllib.parse import urlencode

import pytest

from tests.conftest import basic_auth

AGENT = json.dumps({"objectType": "Agent", "mbox": "mailto:ann@example.com"})
ACTIVITY = "http://example.com/activities/1"
RESOURCES = {
    "state": ("/xapi/activities/state", {"activityId": ACTIVITY, "agent": AGENT, "stateId": "s1"}),
    "activity_profile": ("/xapi/activities/profile", {"activityId": ACTIVITY, "profileId": "p1"}),
    "agent_profile": ("/xapi/agents/profile", {"agent": AGENT, "profileId": "p1"}),
}
JSON = "application/json"


def headers(version: str = "1.0.3", **extra: str) -> dict[str, str]:
    return {"Authorization": basic_auth(), "X-Experience-API-Version": version,
            **{name.replace("_", "-"): value for name, value in extra.items()}}


@pytest.fixture(params=sorted(RESOURCES))
def resource(request):
    return RESOURCES[request.param]


def create(client, resource, body: bytes, content_type: str = JSON, version: str = "1.0.3"):
    path, query = resource
    return client.put(path, query_string=query, data=body,
                      headers=headers(version, Content_Type=content_type, If_None_Match="*"))


def fetch(client, resource, version: str = "1.0.3"):
    path, query = resource
    return client.get(path, query_string=query, headers=headers(version))


def test_any_content_round_trips_byte_for_byte_with_its_type_etag_and_last_modified(client, resource):
    body = bytes(range(256)) * 3
    assert create(client, resource, body, "image/x-thing; q=1").status_code == 204
    response = fetch(client, resource)
    assert response.status_code == 200
    assert response.data == body
    assert response.headers["Content-Type"] == "image/x-thing; q=1"
    assert response.headers["ETag"] == f'"{hashlib.sha1(body).hexdigest()}"'
    assert response.last_modified is not None


def test_head_gives_the_etag_without_the_content(client, resource):
    create(client, resource, b'{"a": 1}')
    path, query = resource
    response = client.head(path, query_string=query, headers=headers())
    assert response.status_code == 200 and response.data == b""
    assert response.headers["ETag"] == fetch(client, resource).headers["ETag"]


def test_a_document_is_served_sandboxed_whatever_its_type(client, resource):
    """A browser opening it (tests/console/test_documents_in_browsers.py) runs none of its scripts."""
    create(client, resource, b"<script>alert(1)</script>", "text/html")
    path, query = resource
    for response in (fetch(client, resource), client.head(path, query_string=query, headers=headers())):
        assert response.headers["Content-Type"] == "text/html"
        assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_post_merges_top_level_keys_of_json_objects(client, resource):
    path, query = resource
    create(client, resource, b'{"x": "foo", "y": {"deep": 1}}')
    response = client.post(path, query_string=query, data=b'{"x": "bash", "z": "faz", "y": {"other": 2}}',
                           headers=headers(Content_Type=JSON))
    assert response.status_code == 204
    assert fetch(client, resource).get_json() == {"x": "bash", "y": {"other": 2}, "z": "faz"}


def test_a_merged_document_is_utf_8_json_whatever_charset_the_post_named(client, resource):
    path, query = resource
    create(client, resource, '{"a": "é"}'.encode(), "application/json; charset=utf-8")
    response = client.post(path, query_string=query, data=b'{"b": "u"}',
                           headers=headers(Content_Type="application/json; charset=ISO-8859-1"))
    assert response.status_code == 204
    merged = fetch(client, resource)
    assert merged.headers["Content-Type"] == JSON and merged.data == '{"a":"é","b":"u"}'.encode()


def test_post_to_a_missing_document_stores_it_as_sent(client, resource):
    path, query = resource
    response = client.post(path, query_string=query, data=b"plain text", headers=headers(Content_Type="text/plain"))
    assert response.status_code == 204
    assert fetch(client, resource).data == b"plain text"


@pytest.mark.parametrize("posted, kind", [(b"[1]", "array"), (b'"hi"', "string"), (b"1.5", "number"),
                                          (b"null", "null")])
def test_post_of_json_that_is_not_an_object_is_refused_even_for_a_missing_document(client, resource, posted, kind):
    path, query = resource
    response = client.post(path, query_string=query, data=posted, headers=headers(Content_Type=JSON))
    assert response.status_code == 400
    assert f"is a JSON {kind}, not an object" in response.get_json()["error"]["message"]
    assert fetch(client, resource).status_code == 404


@pytest.mark.parametrize("stored, stored_type, posted, posted_type", [
    (b'{"a": 1}', JSON, b"abc", "text/plain"),
    (b"abc", "text/plain", b'{"a": 1}', JSON),
    (b'{"a": 1}', JSON, b"[1, 2]", JSON),
    (b"[1, 2]", JSON, b'{"a": 1}', JSON),
    (b'{"a": 1}', JSON, b'{"a": 1}{', JSON),
])
def test_post_that_cannot_merge_is_refused_and_changes_nothing(client, resource, stored, stored_type, posted,
                                                               posted_type):
    path, query = resource
    create(client, resource, stored, stored_type)
    response = client.post(path, query_string=query, data=posted, headers=headers(Content_Type=posted_type))
    assert response.status_code == 400
    assert "message" in response.get_json()["error"]
    assert fetch(client, resource).data == stored


REPEATED = "this key is given more than once in its object; a key may appear only once (RFC 8259 4 leaves which"


@pytest.mark.parametrize("posted, where", [(b'{"a": 1, "b": 0, "a": 2}', "$.a"), (b'{"b": {"c": 1, "c": 2}}', "$.b.c")])
def test_a_post_of_an_object_that_repeats_a_key_is_a_400_naming_it(client, resource, posted, where):
    """A merge sets each posted key on the stored object and stores the LRS's own JSON text, which
    kept the last value silently (Communication 2.2's 400 for a document that cannot be parsed as
    a JSON object; RFC 8259 4 leaves a repeated key's meaning to each reader). Refused whether or
    not a document exists, as a POST of a non-object is: it could never be merged."""
    path, query = resource
    for stored in (None, b'{"a": 0}'):
        if stored:
            create(client, resource, stored)
        response = client.post(path, query_string=query, data=posted, headers=headers(Content_Type=JSON))
        assert response.status_code == 400
        assert response.get_json()["error"]["message"].startswith(f"document: {where}: {REPEATED}")
        assert fetch(client, resource).data == stored if stored else fetch(client, resource).status_code == 404


def test_a_document_put_with_a_repeated_key_is_kept_as_sent_and_not_merged_into(client, resource):
    path, query = resource
    assert create(client, resource, b'{"a": 1, "a": 2}').status_code == 204
    response = client.post(path, query_string=query, data=b'{"b": 3}', headers=headers(Content_Type=JSON))
    assert response.status_code == 400
    assert response.get_json()["error"]["message"].startswith(f"stored document: $.a: {REPEATED}")
    assert fetch(client, resource).data == b'{"a": 1, "a": 2}'


@pytest.mark.parametrize("method", ["put", "post"])
def test_a_content_coding_is_refused_not_stored_still_encoded(client, resource, method):
    """The LRS decodes no Content-Encoding: stored as sent, a gzip body came back as gzip bytes
    labelled text/plain, with nothing to say how to read them."""
    path, query = resource
    body = gzip.compress(b"page 3")
    response = getattr(client, method)(path, query_string=query, data=body, headers=headers(
        Content_Type="text/plain", Content_Encoding="gzip"))
    assert response.status_code == 415
    assert response.get_json()["error"]["message"].startswith("Content-Encoding: 'gzip' ")
    assert fetch(client, resource).status_code == 404
    plain = getattr(client, method)(path, query_string=query, data=b"page 3", headers=headers(
        Content_Type="text/plain", Content_Encoding="identity"))
    assert plain.status_code == 204 and fetch(client, resource).data == b"page 3"


def test_malformed_json_is_refused_on_put(client, resource):
    response = create(client, resource, b'{"a": ', JSON)
    assert response.status_code == 400 and "malformed JSON" in response.get_json()["error"]["message"]
    assert fetch(client, resource).status_code == 404


def test_if_match_replaces_only_the_version_it_names(client, resource):
    path, query = resource
    create(client, resource, b"one", "text/plain")
    etag = fetch(client, resource).headers["ETag"]
    stale = client.put(path, query_string=query, data=b"two", headers=headers(If_Match='"1234"'))
    assert stale.status_code == 412
    assert fetch(client, resource).data == b"one"
    fresh = client.put(path, query_string=query, data=b"two", headers=headers(If_Match=etag))
    assert fresh.status_code == 204
    again = client.put(path, query_string=query, data=b"three", headers=headers(If_Match=etag))
    assert again.status_code == 412
    assert fetch(client, resource).data == b"two"


def test_if_match_star_needs_an_existing_document(client, resource):
    path, query = resource
    response = client.put(path, query_string=query, data=b"x", headers=headers(If_Match="*"))
    assert response.status_code == 412
    create(client, resource, b"one", "text/plain")
    assert client.put(path, query_string=query, data=b"x", headers=headers(If_Match="*")).status_code == 204


def test_weak_etags_never_match(client, resource):
    path, query = resource
    create(client, resource, b"one", "text/plain")
    etag = fetch(client, resource).headers["ETag"]
    response = client.put(path, query_string=query, data=b"x", headers=headers(If_Match="W/" + etag))
    assert response.status_code == 412


@pytest.mark.parametrize("method", ["put", "post", "delete"])
@pytest.mark.parametrize("template, status", [
    ("W/{etag}", 412), (' "0" , W/{etag}', 412), ('W/"0", {etag}', 412), ("*", 412),
    ('W/"0", "1"', 204)])
def test_if_none_match_compares_weakly_on_writes_too(client, resource, method, template, status):
    """RFC 9110 13.1.2: If-None-Match takes the weak comparison, so W/"x" matches "x", as it does
    on a GET (If-Match keeps the strong one: test_weak_etags_never_match)."""
    path, query = resource
    create(client, resource, b'{"a": 1}')
    etag = fetch(client, resource).headers["ETag"]
    body = {"data": b'{"b": 2}'} if method != "delete" else {}
    response = getattr(client, method)(path, query_string=query, headers=headers(
        Content_Type=JSON, If_None_Match=template.format(etag=etag)), **body)
    assert response.status_code == status
    if status == 412:
        assert response.get_json()["error"]["message"] == "If-None-Match: the document exists"
        assert fetch(client, resource).data == b'{"a": 1}'


def test_clearing_all_state_if_none_match_the_weak_list_etag_is_412(client):
    path, query = RESOURCES["state"]
    every = {name: value for name, value in query.items() if name != "stateId"}
    create(client, RESOURCES["state"], b'{"a": 1}')
    etag = client.get(path, query_string=every, headers=headers()).headers["ETag"]
    response = client.delete(path, query_string=every, headers=headers(If_None_Match="W/" + etag))
    assert response.status_code == 412
    assert fetch(client, RESOURCES["state"]).status_code == 200


MALFORMED_PRECONDITIONS = ["{etag}", '*, {etag}', "{etag} {etag}", "{etag}x", "", " , "]


@pytest.mark.parametrize("header", ["If-Match", "If-None-Match"])
@pytest.mark.parametrize("template", MALFORMED_PRECONDITIONS)
@pytest.mark.parametrize("method", ["put", "post", "delete"])
def test_a_precondition_that_is_not_star_or_quoted_etags_is_a_400_naming_the_header(client, resource, header,
                                                                                     template, method):
    """RFC 9110 13.1.1/13.1.2: * alone, or a list of quoted entity-tags. An unquoted ETag was a 412
    "the document's ETag is now ..." for ever, since stripping the quotes is what the client did."""
    path, query = resource
    create(client, resource, b'{"a": 1}')
    etag = fetch(client, resource).headers["ETag"]
    value = template.format(etag=etag.strip('"') if template == "{etag}" else etag)
    body = {"data": b'{"b": 2}'} if method != "delete" else {}
    response = getattr(client, method)(path, query_string=query, headers=headers(Content_Type=JSON, **{
        header.replace("-", "_"): value}), **body)
    assert response.status_code == 400
    assert response.get_json()["error"]["message"].startswith(f"{header}: {value[:80]!r} is not * or a list of quoted ETags")
    assert fetch(client, resource).data == b'{"a": 1}'


@pytest.mark.parametrize("value, status", [
    ('"0", {etag}', 204), (' {etag} ,', 204), ('W/{etag}, "0"', 412), ('"*"', 412), ('"a,b"', 412)])
def test_lists_of_quoted_etags_are_read_by_the_rfc_9110_grammar(client, resource, value, status):
    path, query = resource
    create(client, resource, b"one", "text/plain")
    etag = fetch(client, resource).headers["ETag"]
    response = client.put(path, query_string=query, data=b"two", headers=headers(If_Match=value.format(etag=etag)))
    assert response.status_code == status
    assert fetch(client, resource).data == (b"two" if status == 204 else b"one")


def test_if_none_match_star_refuses_to_overwrite(client, resource):
    create(client, resource, b"one", "text/plain")
    assert create(client, resource, b"two", "text/plain").status_code == 412
    assert fetch(client, resource).data == b"one"


@pytest.mark.parametrize("method", ["post", "delete"])
def test_post_and_delete_honour_if_match(client, resource, method):
    path, query = resource
    create(client, resource, b'{"a": 1}')
    etag = fetch(client, resource).headers["ETag"]
    call = getattr(client, method)
    body = {"data": b'{"b": 2}'} if method == "post" else {}
    assert call(path, query_string=query, headers=headers(Content_Type=JSON, If_Match='"0"'), **body).status_code == 412
    assert fetch(client, resource).data == b'{"a": 1}'
    assert call(path, query_string=query, headers=headers(Content_Type=JSON, If_Match=etag), **body).status_code == 204


def test_delete_removes_the_document_and_a_missing_one_is_no_error(client, resource):
    path, query = resource
    create(client, resource, b"one", "text/plain")
    assert client.delete(path, query_string=query, headers=headers()).status_code == 204
    assert fetch(client, resource).status_code == 404
    assert client.delete(path, query_string=query, headers=headers()).status_code == 204


@pytest.mark.parametrize("version", ["1.0.3", "2.0.0"])
def test_put_without_precondition_over_an_existing_document_is_a_conflict_except_1_0_3_state(
        client, resource, version):
    path, query = resource
    create(client, resource, b"one", "text/plain", version)
    response = client.put(path, query_string=query, data=b"two", headers=headers(version, Content_Type="text/plain"))
    if version == "1.0.3" and path.endswith("/state"):
        assert response.status_code == 204 and fetch(client, resource).data == b"two"
    else:
        assert response.status_code == 409
        assert "If-Match" in response.get_json()["error"]["message"]
        assert fetch(client, resource).data == b"one"


@pytest.mark.parametrize("version", ["1.0.3", "2.0.0"])
def test_put_without_precondition_creates_a_missing_document(client, resource, version):
    """Communication 3.1 asks the client for the headers; the LRS refuses only a blind overwrite."""
    path, query = resource
    response = client.put(path, query_string=query, data=b"x", headers=headers(version, Content_Type="text/plain"))
    assert response.status_code == 204 and fetch(client, resource).data == b"x"


def test_id_list_with_since_and_last_modified(client, resource, app):
    path, query = resource
    id_param = "stateId" if "stateId" in query else "profileId"
    listing = {k: v for k, v in query.items() if k != id_param}
    for doc_id in ("b", "a"):
        client.put(path, query_string={**listing, id_param: doc_id}, data=b"x", headers=headers(If_None_Match="*"))
    response = client.get(path, query_string=listing, headers=headers())
    assert response.status_code == 200 and response.get_json() == ["a", "b"]
    assert response.last_modified is not None
    stored = app.extensions["lrs"].documents.collection.find_one({"doc_id": "a"})["updated"]
    since = stored.isoformat().replace("+00:00", "Z")
    later = client.get(path, query_string={**listing, "since": since}, headers=headers())
    assert later.get_json() in ([], ["b"])  # exclusive: "a" is not after itself
    earlier = client.get(path, query_string={**listing, "since": "2000-01-01T00:00:00Z"}, headers=headers())
    assert earlier.get_json() == ["a", "b"]


def test_id_lists_carry_the_sha1_etag_of_their_body_on_get_and_head(client, resource):
    path, query = resource
    id_param = "stateId" if "stateId" in query else "profileId"
    listing = {k: v for k, v in query.items() if k != id_param}
    empty = client.get(path, query_string=listing, headers=headers())
    assert empty.headers["ETag"] == f'"{hashlib.sha1(empty.data).hexdigest()}"'
    assert create(client, resource, b"{}").status_code == 204
    response = client.get(path, query_string=listing, headers=headers())
    assert response.get_json() == [query[id_param]]
    assert response.headers["ETag"] == f'"{hashlib.sha1(response.data).hexdigest()}"' != empty.headers["ETag"]
    head = client.head(path, query_string=listing, headers=headers())
    assert head.status_code == 200 and head.data == b"" and head.headers["ETag"] == response.headers["ETag"]


def test_since_is_refused_on_a_single_document_get_and_head(client, resource):
    path, query = resource
    assert create(client, resource, b"{}").status_code == 204
    for method in (client.get, client.head):
        response = method(path, query_string={**query, "since": "2000-01-01T00:00:00Z"}, headers=headers())
        assert response.status_code == 400, method
    message = client.get(path, query_string={**query, "since": "2000-01-01T00:00:00Z"},
                         headers=headers()).get_json()["error"]["message"]
    assert message.startswith("parameter 'since': is not a parameter of this resource when ")


def test_documents_of_different_owners_are_separate(client):
    path, query = RESOURCES["agent_profile"]
    other = {**query, "agent": json.dumps({"mbox": "mailto:bob@example.com"})}
    client.put(path, query_string=query, data=b"ann", headers=headers(If_None_Match="*"))
    client.put(path, query_string=other, data=b"bob", headers=headers(If_None_Match="*"))
    assert client.get(path, query_string=query, headers=headers()).data == b"ann"
    assert client.get(path, query_string=other, headers=headers()).data == b"bob"


def test_agent_identity_is_the_ifi_not_the_json_text(client):
    path, query = RESOURCES["agent_profile"]
    client.put(path, query_string=query, data=b"ann", headers=headers(If_None_Match="*"))
    same = {**query, "agent": json.dumps({"name": "Ann", "mbox": "mailto:ann@EXAMPLE.com"})}
    assert client.get(path, query_string=same, headers=headers()).data == b"ann"


@pytest.mark.parametrize("change, rule", [
    ({"agent": "not JSON"}, "agent"),
    ({"agent": json.dumps({"name": "no identifier"})}, "agent"),
    ({"agent": json.dumps({"objectType": "Group", "mbox": "mailto:g@example.com"})}, "not a Group"),
    ({"agent": json.dumps({"mbox": {"$gt": ""}})}, "agent"),
    ({"activityId": "not an IRI"}, "activityId"),
    ({"registration": "not-a-uuid"}, "registration"),
    ({"stateId": ""}, "stateId"),
    ({"unknown": "1"}, "is not a parameter of this resource"),
])
def test_bad_state_parameters_are_refused_by_name(client, change, rule):
    path, query = RESOURCES["state"]
    bad = {k: v for k, v in {**query, **change}.items()}
    for method in ("get", "put", "post", "delete"):
        response = getattr(client, method)(path, query_string=bad, data=b"x", headers=headers())
        assert response.status_code == 400, (method, change)
        assert rule in response.get_json()["error"]["message"]
    assert client.application.extensions["lrs"].documents.collection.count_documents({}) == 0


@pytest.mark.parametrize("missing", ["activityId", "agent", "stateId"])
def test_required_state_parameters(client, missing):
    path, query = RESOURCES["state"]
    response = client.put(path, query_string={k: v for k, v in query.items() if k != missing}, data=b"x",
                          headers=headers())
    assert response.status_code == 400 and missing in response.get_json()["error"]["message"]


def test_profile_delete_needs_a_profile_id(client):
    path, query = RESOURCES["activity_profile"]
    response = client.delete(path, query_string={"activityId": ACTIVITY}, headers=headers())
    assert response.status_code == 400 and "profileId" in response.get_json()["error"]["message"]


def test_bad_since_is_refused(client, resource):
    path, query = resource
    listing = {k: v for k, v in query.items() if k not in ("stateId", "profileId")}
    response = client.get(path, query_string={**listing, "since": "yesterday"}, headers=headers())
    assert response.status_code == 400 and "since" in response.get_json()["error"]["message"]


@pytest.mark.parametrize("scopes, read, write", [
    (["state"], {"state"}, {"state"}),
    (["profile"], {"activity_profile", "agent_profile"}, {"activity_profile", "agent_profile"}),
    (["all/read"], set(RESOURCES), set()),
    (["all"], set(RESOURCES), set(RESOURCES)),
    (["statements/write"], set(), set()),
])
def test_scopes(app, client, scopes, read, write):
    app.extensions["lrs"].create_credential("scoped", "scoped-secret", scopes)
    auth = {"Authorization": basic_auth("scoped", "scoped-secret"), "X-Experience-API-Version": "1.0.3"}
    for name, (path, query) in RESOURCES.items():
        put = client.put(path, query_string=query, data=b"x", headers={**auth, "If-None-Match": "*"})
        assert put.status_code == (204 if name in write else 403), (name, scopes)
        got = client.get(path, query_string=query, headers=auth)
        assert got.status_code == (403 if name not in read else 200 if name in write else 404), (name, scopes)


def test_documents_larger_than_a_mongodb_document_go_to_gridfs_and_come_back(client, app):
    lrs = app.extensions["lrs"]
    body = bytes(range(251)) * (17 * 1024 * 1024 // 251)
    resource = RESOURCES["state"]
    assert create(client, resource, body, "application/octet-stream").status_code == 204
    record = lrs.documents.collection.find_one({"doc_id": "s1"})
    assert "content" not in record and lrs.documents.files.files.count_documents({"_id": record["file_id"]}) == 1
    response = fetch(client, resource)
    assert response.data == body and response.headers["ETag"] == f'"{hashlib.sha1(body).hexdigest()}"'
    path, query = resource
    client.put(path, query_string=query, data=b"small", headers=headers(If_Match=response.headers["ETag"]))
    assert fetch(client, resource).data == b"small"
    assert lrs.documents.files.files.count_documents({}) == 0
    assert lrs.documents.files.chunks.count_documents({}) == 0


def _replaced_while_read(client, store, resource, new: bytes) -> None:
    """The next read of a large content first lets a PUT replace the document, which removes the
    content's chunks: what a write between a reader's record and its chunks does."""
    read = store.files.read

    def read_after_a_write(file_id):
        store.files.read = read
        path, query = resource
        assert client.put(path, query_string=query, data=new, headers=headers(
            Content_Type=JSON, If_Match="*")).status_code == 204
        return read(file_id)

    store.files.read = read_after_a_write


def test_a_large_document_replaced_while_it_is_read_comes_back_whole_with_its_own_etag(client, app):
    store = app.extensions["lrs"].documents
    store.inline_limit = 16  # contents over 16 bytes go to GridFS
    resource = RESOURCES["state"]
    old, new = b'{"page": "%s"}' % (b"o" * 64), b'{"page": "%s"}' % (b"n" * 128)
    create(client, resource, old)
    _replaced_while_read(client, store, resource, new)
    response = fetch(client, resource)
    assert response.status_code == 200
    assert (response.data, response.headers["ETag"]) == (new, f'"{hashlib.sha1(new).hexdigest()}"')


def test_a_merge_into_a_large_document_replaced_while_it_is_read_merges_into_the_new_one(client, app):
    store = app.extensions["lrs"].documents
    store.inline_limit = 16
    resource = RESOURCES["agent_profile"]
    create(client, resource, b'{"old": "%s"}' % (b"o" * 64))
    _replaced_while_read(client, store, resource, b'{"new": "%s"}' % (b"n" * 64))
    path, query = resource
    response = client.post(path, query_string=query, data=b'{"merged": 1}', headers=headers(Content_Type=JSON))
    assert response.status_code == 204
    assert fetch(client, resource).get_json() == {"new": "n" * 64, "merged": 1}


ALTERNATE = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize("method, state_id, content", [("put", 1536 * 1024, 15 * 1024 * 1024),
                                                       ("get", 17 * 1024 * 1024, 0), ("delete", 17 * 1024 * 1024, 0)])
def test_ids_too_large_for_a_documents_record_are_a_400_on_either_store(either_store_app, method, state_id, content):
    """A server that takes longer request lines than `lrs serve` (256 KiB), like this test client,
    let ids of 1.5 MiB beside a 15 MiB content make a record over MongoDB's 16 MiB, and 17 MiB ones
    a query over it (pymongo's DocumentTooLarge: a 500)."""
    client = either_store_app.test_client()
    path, query = RESOURCES["state"]
    response = getattr(client, method)(path, query_string={**query, "stateId": "s" * state_id}, data=b"x" * content,
                                       headers=headers(Content_Type="text/plain"))
    assert response.status_code == 400
    message = response.get_json()["error"]["message"]
    assert message.startswith("parameters activityId, agent, stateId: ") and "at most 262144 bytes" in message
    assert either_store_app.extensions["lrs"].documents.collection.count_documents({}) == 0


def test_a_content_type_too_large_for_a_documents_record_is_a_400(client):
    form = {"X-Experience-API-Version": "1.0.3", "Authorization": basic_auth(), "Content-Type": "text/plain; x=" + "y" * 70000,
            "activityId": ACTIVITY, "agent": AGENT, "stateId": "s", "content": "x"}
    response = client.post("/xapi/activities/state?method=PUT", data=urlencode(form), headers=ALTERNATE)
    assert response.status_code == 400
    assert response.get_json()["error"]["message"].startswith("Content-Type: 70014 bytes long")
    assert fetch(client, RESOURCES["state"]).status_code == 404


def test_documents_over_the_request_limit_are_refused_with_413(make_app):
    client = make_app(max_body_bytes=1024).test_client()
    response = create(client, RESOURCES["state"], b"x" * 2048)
    assert response.status_code == 413
    assert fetch(client, RESOURCES["state"]).status_code == 404


def test_start_up_removes_large_contents_no_document_uses(app, client):
    store = app.extensions["lrs"].documents
    create(client, RESOURCES["state"], b"x" * 64, "text/plain")
    store.inline_limit = 16  # from now on, contents over 16 bytes go to GridFS
    create(client, RESOURCES["agent_profile"], b"kept" * 64, "text/plain")
    orphan = store.files.save(b"left by a crash" * 10, "text/plain")
    now = dt.datetime.now(dt.timezone.utc)
    store.recover(now)
    assert store.files.files.count_documents({}) == 2  # too young to be sure the write is over
    store.recover(now + dt.timedelta(hours=2))
    assert store.files.files.count_documents({}) == 1 and store.files.chunks.count_documents({"files_id": orphan}) == 0
    assert fetch(client, RESOURCES["agent_profile"]).data == b"kept" * 64


@pytest.mark.parametrize("version, created", [("1.0.3", 400), ("2.0.0", 204)])
def test_operators_can_require_a_precondition_to_create_a_1_0_3_profile(make_app, resource, version, created):
    """LRS_PROFILE_PUT_REQUIRES_PRECONDITION: the ADL 1.0.3 suite's reading (XAPI-00273), off by default."""
    client = make_app(profile_put_requires_precondition="true").test_client()
    path, query = resource
    response = client.put(path, query_string=query, data=b"x", headers=headers(version, Content_Type="text/plain"))
    expected = 204 if path.endswith("/state") else created
    assert response.status_code == expected
    if expected == 400:
        assert "If-None-Match" in response.get_json()["error"]["message"]
        assert client.get(path, query_string=query, headers=headers(version)).status_code == 404
    assert client.put(path, query_string=query, data=b"y", headers=headers(
        version, Content_Type="text/plain", If_None_Match="*")).status_code == (204 if expected == 400 else 412)


def test_single_document_writes_name_the_whole_key_as_a_sharded_collection_needs(sent_commands, shared_store,
                                                                                make_app):
    """docs/deploying.md shards `documents` on (kind, activity, agent). MongoDB before 7.1 refuses
    a findAndModify whose filter lacks the shard key by equality, and before 5.1 a `$lookup` from
    a sharded collection (start-up's look for unused GridFS files); mongomock checks neither, so
    the commands sent are. Nor is a list of ids sorted by the server (in memory, on whole records)."""
    app = make_app(mongo_uri=shared_store)
    client = app.test_client()
    for resource in RESOURCES.values():
        path, query = resource
        assert create(client, resource, b'{"a": 1}').status_code == 204
        etag = fetch(client, resource).headers["ETag"]
        assert client.put(path, query_string=query, data=b'{"a": 2}',
                          headers=headers(Content_Type=JSON, If_Match=etag)).status_code == 204
        assert client.delete(path, query_string=query, headers=headers()).status_code == 204
        assert fetch(client, resource).status_code == 404
    path, query = RESOURCES["state"]
    for state_id in ("s2", "s1"):
        assert create(client, (path, {**query, "stateId": state_id}), b"{}").status_code == 204
    listed = client.get(path, query_string={key: query[key] for key in ("activityId", "agent")}, headers=headers())
    assert listed.get_json() == ["s1", "s2"]
    assert client.delete(path, query_string={key: query[key] for key in ("activityId", "agent")},
                         headers=headers()).status_code == 204
    make_app(mongo_uri=shared_store, mongo_db=app.extensions["lrs"].db.name)  # a start-up: its recovery

    on_documents = [c for c in sent_commands.named("findAndModify") if c["findAndModify"] == "documents"]
    assert len(on_documents) == 3 * 2 + 2  # a replace and a delete per resource, then the two states
    assert all({"kind", "activity", "agent"} <= set(command["query"]) for command in on_documents)
    lookups = [stage["$lookup"] for command in sent_commands.named("aggregate") for stage in command["pipeline"]
               if "$lookup" in stage]
    assert all(lookup["from"] != "documents" for lookup in lookups)
    assert not [c for c in sent_commands.named("find") if c["find"] == "documents" and c.get("sort")]
