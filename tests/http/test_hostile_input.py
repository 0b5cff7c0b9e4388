"""Hostile input gets a 4xx in the API's error format, never a 500, and leaves nothing behind.

Each case here crashed the LRS or left a batch pending before: values MongoDB cannot hold,
JSON nested deep enough to exhaust the stack, undecodable headers, bodies over the limit sent
without a Content-Length.
"""
from __future__ import annotations

import base64
import datetime as dt
import gc
import hashlib
import http.client
import json
import logging
import time
import tracemalloc
import uuid
from urllib.parse import quote, urlsplit

import pytest
import requests
from pymongo.errors import AutoReconnect

from lrs.server import spawned
from tests.conftest import ADMIN_KEY, ADMIN_SECRET, basic_auth
from tests.console.signin import sign_in

DEEP = "[" * 100_000 + "]" * 100_000
AGENT = '{"mbox": "mailto:ada@example.com"}'


def statement(**extra) -> dict:
    return {"actor": {"mbox": "mailto:ada@example.com"}, "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
            "object": {"id": "http://example.com/a/1"}, **extra}


def error_message(response) -> str:
    body = response.get_json()
    assert body["error"]["status"] == response.status_code
    return body["error"]["message"]


@pytest.fixture
def no_tracebacks(caplog):
    """Client errors are not server errors: nothing is logged at ERROR (Flask logs tracebacks there)."""
    yield
    assert [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR] == []


def consistent_through(response) -> dt.datetime:
    return dt.datetime.fromisoformat(response.headers["X-Experience-API-Consistent-Through"].replace("Z", "+00:00"))


def assert_nothing_pending(app, client, xapi_headers, statement_id: str, since: dt.datetime) -> None:
    """The id is free at once, no batch is left announced and Consistent-Through keeps moving."""
    lrs = app.extensions["lrs"]
    assert lrs.statement_store.batches.count_documents({}) == 0
    assert lrs.statement_store.collection.count_documents({"pending": {"$exists": True}}) == 0
    got = client.get(f"/xapi/statements?statementId={statement_id}", headers=xapi_headers)
    assert got.status_code == 404
    assert consistent_through(got) >= since
    put = client.put(f"/xapi/statements?statementId={statement_id}", json=statement(), headers=xapi_headers)
    assert put.status_code == 204


@pytest.mark.parametrize("result, path, rule", [
    ('{"score": {"raw": 9223372036854775808}}', "result.score.raw", "64 bits"),
    ('{"score": {"raw": -9223372036854775809}}', "result.score.raw", "64 bits"),
    ('{"score": {"raw": %s}}' % ("9" * 4000), "result.score.raw", "64 bits"),
    ('{"extensions": {"http://example.com/x": 1e400}}', "result.extensions.http://example.com/x", "64-bit float"),
    ('{"response": "\\ud800"}', "result.response", "lone surrogate"),
    ('{"extensions": {"http://example.com/\\udfff": 1}}', "result.extensions", "lone surrogate"),
    ('{"extensions": {"http://example.com/x": %s}}' % ("[" * 150 + "]" * 150), "result.extensions", "nested deeper"),
    ('{"extensions": {"http://example.com/x": %s}}' % DEEP, "$", "nested deeper"),
    ('{"duration": "PT99999999999999999999S"}', "statement[1].result.duration", "at most 999,999,999 days"),
    ('{"duration": "P99999999999W"}', "statement[1].result.duration", "at most 999,999,999 days"),
    ('{"duration": "P1000000000D"}', "statement[1].result.duration", "at most 999,999,999 days"),
    ('{"duration": "P2739727Y"}', "statement[1].result.duration", "at most 999,999,999 days"),
])
def test_values_storage_cannot_hold_are_refused_before_anything_is_written(app, client, xapi_headers, no_tracebacks,
                                                                           result, path, rule):
    good_id = str(uuid.uuid4())
    body = f'[{json.dumps(statement(id=good_id))}, {json.dumps(statement())[:-1]}, "result": {result}}}]'
    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    response = client.post("/xapi/statements", data=body, headers={**xapi_headers, "Content-Type": "application/json"})
    assert response.status_code == 400
    message = error_message(response)
    assert path in message and rule in message
    assert_nothing_pending(app, client, xapi_headers, good_id, before)


def test_a_failure_in_the_middle_of_a_batch_is_rolled_back_at_once(either_store_app, xapi_headers, monkeypatch):
    app, client = either_store_app, either_store_app.test_client()
    collection = app.extensions["lrs"].statement_store.collection
    insert_many = collection.insert_many
    calls = []

    def insert_then_lose_the_connection(*args, **kwargs):
        result = insert_many(*args, **kwargs)
        if not calls:
            calls.append(args)
            raise AutoReconnect("connection lost mid-batch")
        return result

    monkeypatch.setattr(collection, "insert_many", insert_then_lose_the_connection)
    statement_id = str(uuid.uuid4())
    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    response = client.post("/xapi/statements", json=[statement(id=statement_id)], headers=xapi_headers)
    assert response.status_code == 500 and calls
    assert collection.count_documents({"_id": statement_id}) == 0
    assert_nothing_pending(app, client, xapi_headers, statement_id, before)


@pytest.mark.parametrize("query", [
    f"/xapi/statements?agent={quote(DEEP)}",
    "/xapi/statements?more=" + base64.urlsafe_b64encode(f'{{"q": {DEEP}, "after": 1}}'.encode()).decode(),
    f"/xapi/activities/state?activityId=http://example.com/a&agent={quote(DEEP)}&stateId=s",
    f"/xapi/agents?agent={quote(DEEP)}",
])
def test_deeply_nested_json_in_parameters_is_a_400(client, xapi_headers, no_tracebacks, query):
    response = client.get(query, headers=xapi_headers)
    assert response.status_code == 400
    assert "agent" in error_message(response) or "more" in error_message(response)


@pytest.mark.parametrize("path", [
    "/xapi/statements",
    f"/xapi/activities/state?activityId=http://example.com/a&agent={quote(AGENT)}&stateId=s",
    "/xapi/activities/profile?activityId=http://example.com/a&profileId=p",
])
def test_deeply_nested_json_bodies_are_a_400(client, xapi_headers, no_tracebacks, path):
    response = client.post(path, data=DEEP, headers={**xapi_headers, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert "nested deeper than 100 levels" in error_message(response)


def test_a_merge_into_a_document_holding_a_lone_surrogate_is_impossible(client, xapi_headers, no_tracebacks):
    url = f"/xapi/activities/state?activityId=http://example.com/a&agent={quote(AGENT)}&stateId=s"
    headers = {**xapi_headers, "Content-Type": "application/json"}
    response = client.put(url, data='{"a": "\\ud800"}', headers=headers)
    assert response.status_code == 400 and "lone surrogate" in error_message(response)
    assert client.get(url, headers=xapi_headers).status_code == 404


@pytest.mark.parametrize("authorization", ["Basic \u00e9\u00e9\u00e9\u00e9", "Basic \u00e9", "Basic \u00ff:\u00ff"])
def test_a_basic_header_that_is_not_ascii_is_a_401(client, no_tracebacks, authorization):
    response = client.get("/xapi/statements", headers={"Authorization": authorization,
                                                       "X-Experience-API-Version": "1.0.3"})
    assert response.status_code == 401
    error_message(response)


def test_adapters_refuse_deeply_nested_bodies_with_their_own_errors(make_app, no_tracebacks):
    app = make_app(plugins="simple_events,h5p,caliper")
    app.extensions["lrs"].create_credential("adapters", "adapters-secret",
                                            ["simple_events", "h5p", "caliper/events.write"])
    client = app.test_client()
    bearer = {"Authorization": "Bearer adapters:adapters-secret", "Content-Type": "application/json"}
    token = client.post("/oauth/token", data={"grant_type": "client_credentials"},
                        headers={"Authorization": "Basic " + base64.b64encode(b"adapters:adapters-secret").decode()})
    caliper = {"Authorization": f"Bearer {token.get_json()['access_token']}", "Content-Type": "application/json"}
    for path, headers in [("/events", bearer), ("/api/xapi/statements", bearer), ("/api/xapi/h5p-event", bearer),
                          ("/caliper/event", caliper), ("/events/1.0/", caliper)]:
        response = client.post(path, data=DEEP, headers=headers)
        assert response.status_code == 400, (path, response.data)
        assert "nested deeper" in response.get_data(as_text=True), path


# -- bodies without a Content-Length ----------------------------------------------------------------

def chunks(data: bytes, size: int = 1024 * 1024):
    for start in range(0, len(data), size):
        yield data[start:start + size]


def chunked(method: str, url: str, data: bytes, content_type: str) -> int:
    """Send `data` with Transfer-Encoding: chunked; the status, or 413 if the server cut us off
    after answering (it may close the connection on a body it refuses)."""
    try:
        response = requests.request(method, url, data=chunks(data), auth=(ADMIN_KEY, ADMIN_SECRET), timeout=60,
                                    headers={"X-Experience-API-Version": "1.0.3", "Content-Type": content_type})
    except requests.ConnectionError:
        return 413
    return response.status_code


def test_a_chunked_document_over_the_limit_is_a_413_and_nothing_is_stored(live_server):
    url = (f"{live_server.url}/xapi/activities/state?activityId=http://example.com/a"
           f"&agent={quote(AGENT)}&stateId=big")
    assert chunked("PUT", url, b"x" * (21 * 1024 * 1024), "application/octet-stream") == 413
    got = requests.get(url, auth=(ADMIN_KEY, ADMIN_SECRET), headers={"X-Experience-API-Version": "1.0.3"}, timeout=10)
    assert got.status_code == 404


def test_chunked_json_over_the_limit_is_a_413_even_when_its_start_is_valid_json(make_app):
    from tests.conftest import LiveServer

    app = make_app(max_body_bytes=4096)
    statement_id = str(uuid.uuid4())
    body = json.dumps(statement(id=statement_id)).encode() + b" " * 8192  # cut at 4 KiB: still valid JSON
    with LiveServer(app) as server:
        assert chunked("POST", f"{server.url}/xapi/statements", body, "application/json") == 413
        got = requests.get(f"{server.url}/xapi/statements?statementId={statement_id}", auth=(ADMIN_KEY, ADMIN_SECRET),
                           headers={"X-Experience-API-Version": "1.0.3"}, timeout=10)
        assert got.status_code == 404
        small = json.dumps(statement(id=statement_id)).encode()
        assert chunked("POST", f"{server.url}/xapi/statements", small, "application/json") == 200


# -- costs bounded per request -------------------------------------------------------------------

PERCENT_RUN = "%aa" * 100_000  # 300,000 characters: less than a request line may carry


@pytest.mark.parametrize("place", ["verb", "openid", "activity parameter"])
def test_a_long_run_of_percent_encodings_is_refused_in_linear_time(client, xapi_headers, no_tracebacks, place):
    """rfc3987's pattern backtracked quadratically on percent-encodings followed by what no IRI
    holds: this one IRI (or URI, for an openid) took 30 s, and a body of LRS_MAX_BODY_BYTES hours."""
    iri = f"http://{PERCENT_RUN} {place}"
    started = time.monotonic()
    if place == "activity parameter":
        response = client.get("/xapi/statements", query_string={"activity": iri}, headers=xapi_headers)
        path = "parameter 'activity'"
    else:
        changed = {"verb": {"id": iri}} if place == "verb" else {"actor": {"openid": iri}}
        response = client.post("/xapi/statements", json=statement(**changed), headers=xapi_headers)
        path = f"statement[0].{'verb.id' if place == 'verb' else 'actor.openid'}"
    assert time.monotonic() - started < 10
    assert response.status_code == 400 and error_message(response).startswith(path)
    valid = "http://" + PERCENT_RUN
    posted = client.post("/xapi/statements", json=statement(verb={"id": valid}), headers=xapi_headers)
    assert posted.status_code == 200 and time.monotonic() - started < 20


def test_an_iri_of_millions_of_characters_is_checked_in_little_memory(client, xapi_headers, no_tracebacks):
    """rfc3987's pattern took about 140 bytes of memory per character: a 4 MB id took 570 MB, and
    a longer one raised MemoryError (a 500)."""
    long_id = "http://example.com/" + "a" * 6_000_000
    posted = client.post("/xapi/statements", json=statement(verb={"id": long_id}), headers=xapi_headers)
    assert posted.status_code == 200, posted.get_data(as_text=True)[:200]
    refused = client.post("/xapi/statements", json=statement(verb={"id": long_id + " "}), headers=xapi_headers)
    assert refused.status_code == 400 and error_message(refused).startswith("statement[0].verb.id: must be an IRI")


MANY_VARIANTS = "en-" + "-".join(["abcdefgh"] * 1000)


@pytest.mark.parametrize("changed, path", [
    ({"verb": {"id": "http://example.com/v", "display": {MANY_VARIANTS: "v"}}}, "statement[0].verb.display.en-"),
    ({"context": {"language": MANY_VARIANTS}}, "statement[0].context.language: must be an RFC 5646"),
])
def test_a_language_tag_of_a_thousand_subtags_is_a_400(client, xapi_headers, no_tracebacks, changed, path):
    """langcodes parses variants recursively, one call per subtag: the stack ran out (a 500)."""
    response = client.post("/xapi/statements", json=statement(**changed), headers=xapi_headers)
    assert response.status_code == 400 and error_message(response).startswith(path)
    tagged = statement(verb={"id": "http://example.com/v", "display": {"sl-rozaj-biske-1994": "v"}})
    assert client.post("/xapi/statements", json=tagged, headers=xapi_headers).status_code == 200


@pytest.mark.parametrize("long_value", [
    lambda n: {"verb": {"id": f"http://example.com/{n}/" + "a" * 1_000_000 + " "}},
    lambda n: {"context": {"language": f"en-x-{n}-" + "-a" * 500_000}},
], ids=["IRI", "language tag"])
def test_long_values_of_refused_requests_are_not_kept_in_memory(client, xapi_headers, long_value):
    """The IRI and language tag checks remembered their last thousands of answers with their
    values: megabytes of each refused request, gigabytes of a client sending many."""
    def refused(n: int) -> None:
        response = client.post("/xapi/statements", json=statement(**long_value(n)), headers=xapi_headers)
        assert response.status_code == 400

    refused(0)
    tracemalloc.start()
    try:
        for n in range(1, 4):
            refused(n)
        gc.collect()
        kept, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert kept < 1_000_000


def test_a_batch_over_the_statements_limit_is_a_413_and_stores_nothing(make_app, xapi_headers):
    app = make_app(max_statements_per_request=5)
    client = app.test_client()
    response = client.post("/xapi/statements", json=[statement() for _ in range(6)], headers=xapi_headers)
    assert response.status_code == 413
    assert "LRS_MAX_STATEMENTS_PER_REQUEST" in error_message(response)
    assert app.extensions["lrs"].statement_store.collection.count_documents({}) == 0
    assert client.post("/xapi/statements", json=[statement() for _ in range(5)], headers=xapi_headers).status_code == 200


def test_adapters_are_held_to_the_statements_limit_too(make_app):
    app = make_app(plugins="simple_events,h5p", max_statements_per_request=3)
    app.extensions["lrs"].create_credential("adapters", "adapters-secret", ["simple_events", "h5p"])
    client = app.test_client()
    bearer = {"Authorization": "Bearer adapters:adapters-secret"}
    events = [{"event": "completed", "userId": f"u{n}", "properties": {"activityId": "a"}} for n in range(4)]
    response = client.post("/events", json=events, headers=bearer)
    assert response.status_code == 413 and "LRS_MAX_STATEMENTS_PER_REQUEST" in response.get_data(as_text=True)
    response = client.post("/api/xapi/statements", json=[statement() for _ in range(4)], headers=bearer)
    assert response.status_code == 413 and "LRS_MAX_STATEMENTS_PER_REQUEST" in response.get_data(as_text=True)
    assert app.extensions["lrs"].statement_store.collection.count_documents({}) == 0


def multipart_with(contents: list[bytes], boundary: str = "b0undary") -> tuple[bytes, dict]:
    attachments = [{"usageType": "http://example.com/usage", "display": {"en-US": "a"}, "contentType": "text/plain",
                    "length": len(c), "sha2": hashlib.sha256(c).hexdigest()} for c in contents]
    body = f"--{boundary}\r\nContent-Type: application/json\r\n\r\n{json.dumps(statement(attachments=attachments))}"
    for content in contents:
        body += (f"\r\n--{boundary}\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: binary\r\n"
                 f"X-Experience-API-Hash: {hashlib.sha256(content).hexdigest()}\r\n\r\n{content.decode()}")
    return (body + f"\r\n--{boundary}--\r\n").encode(), {"Content-Type": f"multipart/mixed; boundary={boundary}"}


def test_more_attachment_contents_than_the_parts_limit_is_a_413_before_any_is_stored(make_app, xapi_headers):
    app = make_app(max_attachment_parts=3)
    client = app.test_client()
    body, headers = multipart_with([f"content {n}".encode() for n in range(4)])
    response = client.post("/xapi/statements", data=body, headers={**xapi_headers, **headers})
    assert response.status_code == 413
    assert "LRS_MAX_ATTACHMENT_PARTS" in error_message(response)
    lrs = app.extensions["lrs"]
    assert lrs.attachments.files.count_documents({}) == 0 and lrs.statement_store.collection.count_documents({}) == 0
    body, headers = multipart_with([f"content {n}".encode() for n in range(3)])
    assert client.post("/xapi/statements", data=body, headers={**xapi_headers, **headers}).status_code == 200


def test_parts_repeated_past_the_limit_are_a_413(make_app, xapi_headers):
    app = make_app(max_attachment_parts=3)
    body, headers = multipart_with([b"same"] * 4)
    response = app.test_client().post("/xapi/statements", data=body, headers={**xapi_headers, **headers})
    assert response.status_code == 413
    assert "LRS_MAX_ATTACHMENT_PARTS" in error_message(response)
    assert app.extensions["lrs"].statement_store.collection.count_documents({}) == 0


@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"])
def test_a_timestamp_outside_the_years_utc_can_hold_is_a_400(app, client, xapi_headers, no_tracebacks, moment):
    """Valid ISO 8601 whose UTC form falls outside years 1..9999 overflowed into a 500."""
    for name in ("timestamp", "stored"):
        refused = client.post("/xapi/statements", json=[statement(**{name: moment})], headers=xapi_headers)
        assert refused.status_code == 400
        assert f"statement[0].{name}: {moment!r} is out of range in UTC (years 1 to 9999)" == error_message(refused)
    since = client.get("/xapi/statements", query_string={"since": moment}, headers=xapi_headers)
    assert since.status_code == 400 and "since" in error_message(since)
    assert app.extensions["lrs"].statement_store.collection.count_documents({}) == 0


def test_an_offset_of_24_hours_or_more_is_a_400_stating_the_rule(client, xapi_headers, no_tracebacks):
    """dt.timezone refused it with its own message, quoting Python's repr of the limits."""
    since = client.get("/xapi/statements", query_string={"since": "2020-01-01T00:00:00+99:00"}, headers=xapi_headers)
    assert since.status_code == 400 and "offset hours must be below 24" in error_message(since)
    assert "timedelta" not in error_message(since)
    stored = client.post("/xapi/statements", json=[statement(timestamp="2020-01-01T00:00:00-24:00")],
                         headers=xapi_headers)
    assert stored.status_code == 400
    assert error_message(stored).startswith("statement[0].timestamp: ") and "below 24" in error_message(stored)


@pytest.mark.parametrize("version", ["1.0.3", "2.0.0"])
@pytest.mark.parametrize("sent, kept", [("0050-01-01T00:00:00Z", "0050-01-01T00:00:00.000Z"),
                                        ("0001-01-01T00:00:00.000-12:00", "0001-01-01T12:00:00.000Z")])
def test_a_timestamp_before_year_1000_is_stored_with_four_year_digits(client, no_tracebacks, version, sent, kept):
    """Formatting wrote "50-01-01T00:00:00.000Z" (strftime's %Y on glibc), which then failed as invalid."""
    headers = {"Authorization": basic_auth(), "X-Experience-API-Version": version}
    statement_id = str(uuid.uuid4())
    posted = client.post("/xapi/statements", json=statement(id=statement_id, timestamp=sent), headers=headers)
    assert posted.status_code == 200, posted.get_data(as_text=True)
    got = client.get("/xapi/statements", query_string={"statementId": statement_id}, headers=headers)
    assert got.get_json()["timestamp"] == kept


LONGEST_DAYS = 999_999_999


@pytest.mark.parametrize("duration, seconds", [
    ("P1Y", 365 * 86400), ("P1M", 30 * 86400), ("P3W", 21 * 86400), ("PT1.5S", 1.5), ("PT0.01S", 0.01),
    ("P0.5Y", 182.5 * 86400), ("P1DT0,25H", 86400 + 900), ("P3Y1M29DT4H35M59.14S", (1095 + 30 + 29) * 86400 + 16559.14),
    ("P%dD" % LONGEST_DAYS, LONGEST_DAYS * 86400), ("P2739726Y", 2739726 * 365 * 86400),
])
def test_durations_up_to_999999999_days_are_stored_with_their_seconds(app, client, xapi_headers, no_tracebacks,
                                                                      duration, seconds):
    statement_id = str(uuid.uuid4())
    posted = client.post("/xapi/statements", json=statement(id=statement_id, result={"duration": duration}),
                         headers=xapi_headers)
    assert posted.status_code == 200, posted.get_data(as_text=True)
    got = client.get("/xapi/statements", query_string={"statementId": statement_id}, headers=xapi_headers)
    assert got.get_json()["result"] == {"duration": duration}
    document = app.extensions["lrs"].statement_store.collection.find_one({"_id": statement_id})
    assert document["result"]["duration_seconds"] == pytest.approx(seconds)


@pytest.mark.parametrize("duration", [1e308, 2**62, 86_400_000_000_001, "PT99999999999999999999S", "P99999999999W"])
def test_an_h5p_duration_longer_than_999999999_days_is_a_400_in_h5p_format(make_app, no_tracebacks, duration):
    """The H5P event's duration became a statement's result.duration, and overflowed into a 500."""
    app = make_app(plugins="h5p")
    app.extensions["lrs"].create_credential("learner", "learner-secret", ["h5p"])
    client = app.test_client()
    headers = {"Authorization": "Bearer learner:learner-secret"}
    body = {"contentId": "c", "verb": "completed", "duration": duration}
    response = client.post("/api/xapi/h5p-event", json=body, headers=headers)
    assert response.status_code == 400
    answer = response.get_json()
    assert answer["success"] is False
    [detail] = answer["details"]
    assert detail["index"] == 0 and detail["field"] == "duration" and "999,999,999 days" in detail["message"]
    assert app.extensions["lrs"].statement_store.collection.count_documents({}) == 0
    for seconds in (1.5, 86_399_999_999_999):  # the longest whole number of seconds is still taken and added up
        stored = client.post("/api/xapi/h5p-event", json={**body, "duration": seconds}, headers=headers)
        assert stored.status_code == 200, stored.get_data(as_text=True)
    progress = client.get("/api/xapi/progress/c", headers=headers).get_json()["data"]
    assert progress["completed"] is True and progress["totalDuration"] == 86_400_000_000_000.5


def test_an_anonymous_group_as_the_agent_filter_is_a_400_not_ignored(app, client, xapi_headers, no_tracebacks):
    """An anonymous Group has no identifier; the filter was dropped, answering with every statement
    (in the console's statement list too, which takes the same parameters)."""
    assert client.post("/xapi/statements", json=statement(), headers=xapi_headers).status_code == 200
    group = {"objectType": "Group", "member": [{"mbox": "mailto:nobody@nowhere.example"}]}
    response = client.get("/xapi/statements", query_string={"agent": json.dumps(group)}, headers=xapi_headers)
    assert response.status_code == 400
    assert error_message(response).startswith("parameter 'agent': must be an Agent or an identified Group")
    identified = {**group, "mbox": "mailto:team@example.com"}
    found = client.get("/xapi/statements", query_string={"agent": json.dumps(identified)}, headers=xapi_headers)
    assert found.status_code == 200 and found.get_json()["statements"] == []
    console = app.test_client()
    assert sign_in(console).status_code == 303
    page = console.get("/console/statements", query_string={"agent": json.dumps(group)})
    assert page.status_code == 400 and "an identified Group" in page.get_data(as_text=True)


# -- the same through `lrs serve` ------------------------------------------------------------------

def test_hostile_requests_through_lrs_serve_are_4xx_in_the_error_format_with_no_traceback_logged(tmp_path):
    log = tmp_path / "lrs.log"
    env = {"LRS_ADMIN_KEY": ADMIN_KEY, "LRS_ADMIN_SECRET": ADMIN_SECRET, "LRS_LOG_LEVEL": "INFO"}
    headers = {"X-Experience-API-Version": "1.0.3"}
    with open(log, "wb") as output, spawned(env, stdout=output) as (endpoint, _):
        url = urlsplit(endpoint)
        score = json.dumps(statement())[:-1] + ', "result": {"score": {"raw": %s}}}' % ("9" * 4000)
        answers = [
            requests.post(f"{endpoint}/statements", data=DEEP, auth=(ADMIN_KEY, ADMIN_SECRET), timeout=30,
                          headers={**headers, "Content-Type": "application/json"}),
            requests.get(f"{endpoint}/statements?agent={quote('[' * 5000 + ']' * 5000)}", auth=(ADMIN_KEY, ADMIN_SECRET),
                         headers=headers, timeout=30),
            requests.post(f"{endpoint}/statements", data=score, auth=(ADMIN_KEY, ADMIN_SECRET), timeout=30,
                          headers={**headers, "Content-Type": "application/json"}),
            requests.post(f"{endpoint}/statements?method=PUT", data=b"content=%ff%fe&X-Experience-API-Version=1.0.3",
                          headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=30),
        ]
        state = f"{endpoint}/activities/state?activityId=http://example.com/a&agent={quote(AGENT)}&stateId=big"
        assert chunked("PUT", state, b"x" * (21 * 1024 * 1024), "application/octet-stream") == 413
        assert requests.get(state, auth=(ADMIN_KEY, ADMIN_SECRET), headers=headers, timeout=30).status_code == 404
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        connection.putrequest("GET", "/xapi/statements")
        connection.putheader("Authorization", b"Basic \xc3\xa9\xc3\xa9")
        connection.putheader("X-Experience-API-Version", "1.0.3")
        connection.endheaders()
        raw = connection.getresponse()
        assert raw.status == 401 and json.loads(raw.read())["error"]["status"] == 401
        connection.close()
        for answer in answers:
            assert 400 <= answer.status_code < 500, (answer.request.url[:80], answer.text[:200])
            assert answer.json()["error"]["status"] == answer.status_code
    assert "Traceback" not in log.read_text(errors="replace")


def test_a_rolled_back_voiding_statement_never_voids_its_target_later(app, client, xapi_headers, monkeypatch):
    """A voiding statement whose target is not stored yet waits in statement_refs; when its batch
    fails and is rolled back, that wait is withdrawn, so the target stays valid when it arrives."""
    collection = app.extensions["lrs"].statement_store.collection
    insert = collection.insert_many

    def lose_the_connection(*args, **kwargs):
        monkeypatch.setattr(collection, "insert_many", insert)
        raise AutoReconnect("connection lost mid-batch")

    monkeypatch.setattr(collection, "insert_many", lose_the_connection)
    target_id, voiding_id = str(uuid.uuid4()), str(uuid.uuid4())
    voiding = statement(id=voiding_id, verb={"id": "http://adlnet.gov/expapi/verbs/voided"},
                        object={"objectType": "StatementRef", "id": target_id})
    assert client.post("/xapi/statements", json=[voiding], headers=xapi_headers).status_code == 500
    assert client.put("/xapi/statements", query_string={"statementId": target_id}, json=statement(),
                      headers=xapi_headers).status_code == 204
    found = client.get("/xapi/statements", query_string={"statementId": target_id}, headers=xapi_headers)
    assert found.status_code == 200 and found.get_json()["id"] == target_id


@pytest.mark.parametrize("where", ["parameter name", "version header"])
def test_an_error_quoting_a_huge_value_keeps_its_start_and_its_rule_not_the_whole_value(client, xapi_headers, where):
    """An unknown parameter's name or a version header's value was quoted whole in the 400: as
    long as the request (up to 256 KiB through `lrs serve`). The message keeps where and which
    rule, its middle cut out."""
    if where == "parameter name":
        response = client.get("/xapi/statements?" + "A" * 100_000 + "=1", headers=xapi_headers)
        start, rule = "parameter 'AAA", "': is not a parameter of this resource"
    else:
        response = client.get("/xapi/statements", headers={**xapi_headers, "X-Experience-API-Version": "9" * 100_000})
        start, rule = "X-Experience-API-Version header: '999", short_version_error(client, xapi_headers)
    message = response.get_json()["error"]["message"]
    assert response.status_code == 400 and len(message) < 2_200
    assert message.startswith(start) and message.endswith(rule) and "characters left out" in message


def short_version_error(client, xapi_headers) -> str:
    """How the message for a version header ends, whatever the value."""
    message = client.get("/xapi/statements", headers={**xapi_headers, "X-Experience-API-Version": "9"}).get_json()
    return message["error"]["message"].split("'9'", 1)[1]
