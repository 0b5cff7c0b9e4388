"""The Timeback API beyond sending, in process: re-sends reported as already stored, validate stores
nothing, list parameters checked by name, each OAuth client sees only its own events and jobs, and
/caliper/v1p2 takes the v1p2 scope. (The published client drives the same routes over HTTP in
test_caliper_timeback_client.py.)"""
from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from lrs.erasure import erase_agent
from lrs.store.embedded import planner
from lrs_plugins.caliper.stored_events import StoredEvents
from lrs_plugins.caliper.tokens import V1P2_EVENTS_WRITE
from tests.plugins.caliper_support import (
    SEED_002_EVENTS,
    SEED_003_XP,
    STUDENT,
    bearer,
    caliper_app,
    caliper_app_fixture,
    envelope,
    fill_placeholders,
    statement_count,
    token,
)

app = caliper_app_fixture()


def fresh(index: int = 1) -> dict:
    return dict(SEED_002_EVENTS[index], id=f"urn:uuid:{uuid.uuid4()}")


def post(client: Any, route: str, body: Any, access_token: str) -> Any:
    return client.post(route, data=json.dumps(body), headers=bearer(access_token), content_type="application/json")


class Counted(dict):
    """The embedded store's documents, counting the reads of events (set `reads` to 0 first)."""

    reads = 0

    def get(self, *args: Any) -> Any:
        Counted.reads += 1
        return super().get(*args)


def test_a_resent_event_is_reported_as_already_stored(client: Any) -> None:
    first, second = fresh(), fresh()
    access = token(client)
    post(client, "/caliper/event", envelope(first), access)
    body = post(client, "/caliper/event", envelope(first, second), access).get_json()
    assert body["message"] == "1 event(s) and 0 entity(ies) stored; 1 event(s) already stored"
    assert (body["stored"], body["alreadyStored"]) == (1, 1)
    job = client.get(f"/jobs/{body['jobId']}/status", headers=bearer(access)).get_json()["job"]
    assert [r["externalId"] for r in job["returnValue"]["results"]] == [first["id"], second["id"]]


def test_validate_answers_without_storing(client: Any) -> None:
    access = token(client)
    good = post(client, "/caliper/event/validate", envelope(fresh()), access)
    assert good.status_code == 200 and good.get_json()["status"] == "success"
    bad = post(client, "/caliper/event/validate", envelope(dict(fresh(), action="Smiled")), access).get_json()
    assert bad["status"] == "error" and bad["errors"][0]["path"] == "$.data[0].action"
    assert statement_count(client) == 0
    assert client.get("/caliper/events", headers=bearer(access)).get_json()["pagination"]["total"] == 0


def test_validate_refuses_what_sending_refuses(client: Any, make_app: Any) -> None:
    """validate runs every check of POST /caliper/event: ids reused for another event, in the
    envelope or stored, and the envelope's size, are reported as sending would refuse them."""
    access = token(client)
    stored = fresh()
    assert post(client, "/caliper/event", envelope(stored), access).status_code == 200
    twins = [fresh(), fresh(2)]
    twins[1]["id"] = twins[0]["id"]
    changed = dict(stored, eventTime="2026-01-01T00:00:00.000Z")
    for body, path in ((envelope(*twins), "$.data[1].id"), (envelope(changed), "$.data[0].id")):
        checked = post(client, "/caliper/event/validate", body, access).get_json()
        assert (checked["status"], checked["errors"]) == ("error", [
            {"index": int(path[7]), "path": path, "message": "this id was already used for a different event"}])
        assert post(client, "/caliper/event", body, access).status_code == 400
    small = caliper_app(make_app, max_statements_per_request=2).test_client()
    too_many = envelope(fresh(), fresh(), fresh())
    checked = post(small, "/caliper/event/validate", too_many, token(small)).get_json()
    assert checked["status"] == "error" and checked["errors"] == [
        {"index": None, "path": "$.data", "message": "a request may carry at most 2 events "
         "(LRS_MAX_STATEMENTS_PER_REQUEST), not 3; send smaller envelopes"}]
    assert post(small, "/caliper/event", too_many, token(small)).status_code == 413
    assert statement_count(client) == 1 and statement_count(small) == 0


@pytest.mark.parametrize("query,name", [
    ("limit=0", "limit"), ("limit=abc", "limit"), ("offset=-1", "offset"), ("startDate=yesterday", "startDate"),
    ("endDate=2026-13-01", "endDate"), ("limit=²", "limit"), ("limit=١٢", "limit"), ("limit=+5", "limit"),
    ("offset=%205", "offset"), ("endDate=9999-12-31", "endDate"), ("endDate=9999-12-31T23:59:59.9999Z", "endDate"),
    ("limit=1001", "limit"), ("eventType=Smiled", "eventType"), ("eventType=toolUseEvent", "eventType"),
])
def test_bad_list_parameters_are_named(client: Any, query: str, name: str) -> None:
    response = client.get(f"/caliper/events?{query}", headers=bearer(token(client)))
    assert response.status_code == 400
    body = response.get_json()
    assert [e["path"] for e in body["errors"]] == [name]
    assert body["message"].startswith(f"invalid query parameter(s) ({name}: ")


@pytest.mark.parametrize("query,name,rule", [
    ("foo=1", "foo", "is not a parameter of this resource"), ("limit=1&limit=2", "limit", "must be given once"),
    ("sensor=a&sensor=b", "sensor", "must be given once"), ("actorid=x", "actorid", "is not a parameter of this resource"),
])
def test_an_unknown_or_repeated_list_parameter_is_named(client: Any, query: str, name: str, rule: str) -> None:
    response = client.get(f"/caliper/events?{query}", headers=bearer(token(client)))
    assert response.status_code == 400
    assert response.get_json() == {"status": "error", "message": f"invalid query parameter(s) ({name}: {rule})",
                                   "errors": [{"index": None, "path": name, "message": rule}]}


@pytest.mark.parametrize("route", ["/caliper/event", "/caliper/v1p2", "/caliper/event/validate", "/events/1.0/"])
def test_a_query_parameter_on_a_write_endpoint_is_a_400_and_nothing_is_stored(client: Any, route: str) -> None:
    body = envelope(fresh()) if route.startswith("/caliper") else fill_placeholders(SEED_003_XP)
    response = post(client, f"{route}?dataVersion=x", body, token(client))
    assert response.status_code == 400
    assert response.get_json() == {
        "status": "error", "message": "invalid query parameter(s) (dataVersion: is not a parameter of this resource)",
        "errors": [{"index": None, "path": "dataVersion", "message": "is not a parameter of this resource"}]}
    assert statement_count(client) == 0


@pytest.mark.parametrize("path", ["/caliper/event?x=1", "/caliper/events/urn:uuid:0?x=1", "/jobs/0/status?x=1"])
def test_a_query_parameter_on_a_read_without_any_is_a_400(client: Any, path: str) -> None:
    response = client.get(path, headers=bearer(token(client)))
    assert response.status_code == 400 and response.get_json()["errors"][0]["path"] == "x"


def test_the_reads_token_and_validate_urls_may_end_in_a_slash(client: Any) -> None:
    event, access = fresh(), token(client)
    job = post(client, "/caliper/event/", envelope(event), access).get_json()["jobId"]
    assert post(client, "/caliper/event/validate/", envelope(fresh()), access).get_json()["status"] == "success"
    assert client.get("/caliper/events/", headers=bearer(access)).get_json()["pagination"]["total"] == 1
    assert client.get(f"/jobs/{job}/status/", headers=bearer(access)).get_json()["job"]["state"] == "completed"
    form = {"grant_type": "client_credentials", "client_id": "alpha-read", "client_secret": "alpha-read-secret"}
    assert client.post("/oauth/token/", data=form).status_code == 200


def test_an_event_url_with_a_trailing_slash_finds_the_event_unless_an_id_ends_in_that_slash(client: Any) -> None:
    """The listing, jobs and every other route take a trailing slash; an event's own URL does too,
    but an id may end in a slash (`urn:uuid:` and opaque text), so an event of exactly that id
    comes first."""
    access = token(client)
    event, plain, slashed = fresh(), fresh(), fresh()
    plain["id"], slashed["id"] = "urn:uuid:item-7", "urn:uuid:item-7/"
    post(client, "/caliper/event", envelope(event, plain, slashed), access)

    def found(path: str) -> Any:
        return client.get(f"/caliper/events/{path}", headers=bearer(access))

    assert found(event["id"] + "/").get_json()["event"]["externalId"] == event["id"]
    assert found(event["id"].upper() + "/").get_json()["event"]["externalId"] == event["id"]
    assert found("urn:uuid:item-7/").get_json()["event"]["externalId"] == "urn:uuid:item-7/"
    assert found("urn:uuid:item-7").get_json()["event"]["externalId"] == "urn:uuid:item-7"
    assert found("urn:uuid:item-7//").get_json()["event"]["externalId"] == "urn:uuid:item-7/"
    missing = found(f"urn:uuid:{uuid.uuid4()}/")
    assert missing.status_code == 404 and missing.get_json()["message"].endswith("/ not found")


def test_a_limit_over_a_page_is_refused_not_cut(client: Any) -> None:
    """A client paging by its own limit (offset += limit) would skip what a cut page left out."""
    response = client.get("/caliper/events?limit=5000", headers=bearer(token(client)))
    assert response.status_code == 400
    assert response.get_json()["errors"] == [
        {"index": None, "path": "limit", "message": "must be an integer from 1 to 1000 in ASCII digits"}]


def test_event_type_filters_the_listing(client: Any) -> None:
    access = token(client)
    tool_use, created, annotation = fresh(1), fresh(0), fresh(2)
    post(client, "/caliper/event", envelope(tool_use, created, annotation), access)
    for kind, expected in (("ToolUseEvent", [tool_use]), ("Event", [created]), ("AnnotationEvent", [annotation]),
                           ("GradeEvent", [])):
        listed = client.get("/caliper/events", query_string={"eventType": kind}, headers=bearer(access)).get_json()
        assert [e["externalId"] for e in listed["events"]] == [e["id"] for e in expected], kind
        assert listed["pagination"]["total"] == len(expected)
    both = {"eventType": "ToolUseEvent", "actorId": tool_use["actor"]["id"]}
    assert client.get("/caliper/events", query_string=both, headers=bearer(access)).get_json()["pagination"]["total"] == 1


def test_actor_email_matches_in_any_letter_case(client: Any) -> None:
    """seeds/002 example 4's actor has `extensions.email` noemail@student.com."""
    access = token(client)
    event = fresh(3)
    shouting = dict(event, id=f"urn:uuid:{uuid.uuid4()}",
                    actor=dict(event["actor"], extensions={"email": "NoEmail@Student.COM"}))
    post(client, "/caliper/event", envelope(event, shouting), access)
    for asked in ("noemail@student.com", "NOEMAIL@STUDENT.COM", "NoEmail@student.com"):
        listed = client.get("/caliper/events", query_string={"actorEmail": asked}, headers=bearer(access)).get_json()
        assert sorted(e["externalId"] for e in listed["events"]) == sorted([event["id"], shouting["id"]]), asked
        # as sent, whatever the case the filter matched
        assert {e["actor"]["extensions"]["email"] for e in listed["events"]} == {"noemail@student.com",
                                                                                  "NoEmail@Student.COM"}


def test_index_entries_of_an_earlier_release_get_their_type_and_email_at_start(client: Any, app: Any) -> None:
    """Entries written before `eventType` existed lack the type, and hold the email as sent: the
    upgrade at start reads both from the events their statements keep."""
    access = token(client)
    event = dict(fresh(3), actor=dict(SEED_002_EVENTS[3]["actor"], extensions={"email": "NoEmail@Student.com"}))
    post(client, "/caliper/event", envelope(event), access)
    lrs = app.extensions["lrs"]
    index, upgrades = lrs.plugin_collection("caliper", "events"), lrs.plugin_collection("caliper", "upgrades")
    index.update_many({}, {"$unset": {"type": ""}, "$set": {"actorEmail": "NoEmail@Student.com"}})  # as it was
    index.insert_one({"_id": str(uuid.uuid4()), "client": "alpha-read"})  # its statement erased since
    upgrades.delete_one({"_id": "events-index-type-and-email"})
    lrs.start()
    for query in ({"eventType": "ToolUseEvent"}, {"actorEmail": "noemail@student.com"}):
        listed = client.get("/caliper/events", query_string=query, headers=bearer(access)).get_json()
        assert [e["externalId"] for e in listed["events"]] == [event["id"]], query
    assert index.count_documents({"type": {"$exists": False}}) == 0


def test_an_event_type_page_reads_no_other_event(client: Any, app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """eventType is answered by an index (client, type, newest first): a page of one type among
    many reads the planner's sample and its own entries, not the client's other events."""
    access = token(client)
    for _ in range(4):
        post(client, "/caliper/event", envelope(*(fresh(1) for _ in range(20)), fresh(0)), access)
    store = events_store(app)

    monkeypatch.setattr(store, "_documents", Counted(store._documents))
    Counted.reads = 0
    listed = client.get("/caliper/events?eventType=Event&limit=3", headers=bearer(access)).get_json()
    assert listed["pagination"]["total"] == 4 and len(listed["events"]) == 3
    assert Counted.reads <= planner.SAMPLE + 3, Counted.reads


def test_a_date_window_that_ends_before_it_starts_lists_nothing(client: Any) -> None:
    access = token(client)
    post(client, "/caliper/event", envelope(fresh(), fresh()), access)  # both at 2016-11-15T10:15Z
    inverted = client.get("/caliper/events?startDate=2016-11-16&endDate=2016-11-14", headers=bearer(access))
    assert inverted.status_code == 200
    assert inverted.get_json()["pagination"]["total"] == 0 and inverted.get_json()["events"] == []


def test_a_date_time_without_a_time_zone_is_utc(client: Any) -> None:
    """The client documents startDate/endDate as "ISO format" only; Python's
    `datetime.utcnow().isoformat()` has no zone. It was a 400."""
    access = token(client)
    for hour in (9, 10, 11):
        post(client, "/caliper/event", envelope(dict(fresh(), eventTime=f"2026-01-15T{hour:02d}:00:00.000Z")), access)
    for start, end, hours in (("2026-01-15T09:30:00", "2026-01-15T11:00:00.000000", [11, 10]),
                              ("2026-01-15 09:30", "2026-01-15T10:00", [10])):
        response = client.get(f"/caliper/events?startDate={start}&endDate={end}", headers=bearer(access))
        assert response.status_code == 200, response.get_json()
        assert [event["eventTime"] for event in response.get_json()["events"]] == \
            [f"2026-01-15T{hour}:00:00.000Z" for hour in hours]


def events_store(app: Any) -> Any:
    """The embedded store behind the plugin's event index: its plans and its documents."""
    return app.extensions["lrs"].plugin_collection("caliper", "events")._target._store


def post_days(client: Any, access: str, days: int) -> None:
    """One event a day from 2026-01-01, posted oldest first (so the newest listed are the latest days)."""
    for day in range(days):
        post(client, "/caliper/event", envelope(dict(fresh(), eventTime=f"2026-01-{1 + day:02d}T10:00:00.000Z")), access)


def test_a_date_range_page_sorts_index_entries_not_events(client: Any, app: Any,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A range of eventTime is listed newest first from its index entries alone (the index holds
    created_at and _id after eventTime). Before, each event of the range was read and sorted: at
    100,000 events, the first 10% took 65 ms."""
    access = token(client)
    post_days(client, access, 20)
    store, planned = events_store(app), []
    plan = store.plan
    monkeypatch.setattr(store, "plan", lambda *args, **kwargs: planned.append((args, plan(*args, **kwargs))) or planned[-1][1])
    listed = client.get("/caliper/events?startDate=2026-01-02&endDate=2026-01-05", headers=bearer(access)).get_json()
    # newest stored first: days posted within one stored millisecond may come in either order
    assert sorted(event["eventTime"][:10] for event in listed["events"]) == [f"2026-01-{day:02d}" for day in (2, 3, 4, 5)]
    [(_, sort, _), chosen] = next(entry for entry in planned if len(entry[0]) > 1)  # the page's find (sorted)
    assert chosen.sorts_from_entries(sort), chosen


def test_a_deep_offset_reads_no_skipped_event(client: Any, app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The events skipped by `offset` are passed over in the index, unread: every entry of the
    client's (or a sensor's) range is one event. Before, each was read on the way (at 100,000
    events, offset 50,000 took 380 ms). What is read: the planner's sample of the order, the page."""
    access = token(client)
    post_days(client, access, 30)
    store = events_store(app)

    every = client.get("/caliper/events?limit=30", headers=bearer(access)).get_json()["events"]
    monkeypatch.setattr(store, "_documents", Counted(store._documents))
    for query in ("offset=25&limit=3", f"offset=25&limit=3&sensor={envelope()['sensor']}"):
        Counted.reads = 0
        listed = client.get(f"/caliper/events?{query}", headers=bearer(access)).get_json()
        assert listed["events"] == every[25:28]
        assert Counted.reads <= planner.SAMPLE + 3, (query, Counted.reads)  # the planner's sample, the page


def test_each_client_sees_only_its_own_events_and_jobs(client: Any, app: Any) -> None:
    event = fresh()
    job = post(client, "/caliper/event", envelope(event), token(client)).get_json()["jobId"]
    app.extensions["lrs"].create_credential("other", "other-secret", ["caliper/events.write"], label="Other")
    other = bearer(token(client, client_id="other", secret="other-secret"))
    assert client.get("/caliper/events", headers=other).get_json()["pagination"]["total"] == 0
    assert client.get(f"/caliper/events/{event['id']}", headers=other).status_code == 404
    assert client.get(f"/jobs/{job}/status", headers=other).status_code == 404
    mine = client.get(f"/caliper/events/{event['id']}", headers=bearer(token(client))).get_json()["event"]
    assert mine["externalId"] == event["id"] and mine["group"] == event["group"]


def test_the_v1p2_route_takes_the_v1p2_scope(client: Any) -> None:
    v1p2_only = token(client, scope=V1P2_EVENTS_WRITE)
    response = post(client, "/caliper/v1p2", envelope(fresh()), v1p2_only)
    assert response.status_code == 200 and response.get_json()["jobId"]
    assert post(client, "/events/1.0/", fresh(), v1p2_only).status_code == 403
    assert client.get("/caliper/events", headers=bearer(token(client, scope="events.write"))).status_code == 403


def test_erasing_a_person_removes_their_events_from_the_listing(client: Any, app: Any) -> None:
    event = fresh()  # actor https://example.edu/users/554433 -> account https://example.edu | users/554433
    access = token(client)
    post(client, "/caliper/event", envelope(event, dict(fresh(), actor="https://example.edu/users/other")), access)
    erase_agent(app.extensions["lrs"], {"account": {"homePage": "https://example.edu", "name": "users/554433"}}, by="test")
    listed = client.get("/caliper/events", headers=bearer(access)).get_json()
    assert listed["pagination"]["total"] == 1 and listed["events"][0]["actor"] == "https://example.edu/users/other"
    index = app.extensions["lrs"].plugin_collection("caliper", "events")
    assert index.count_documents({"actorId": event["actor"]["id"]}) == 0


def test_erasing_a_learner_erases_the_grades_given_to_them(client: Any, app: Any) -> None:
    """The learner of a graded Attempt is in its statement (context.team), so erasing them erases
    the grade, its listing entry too, and not another learner's."""
    access = token(client)
    mine, theirs = fill_placeholders(SEED_003_XP), fill_placeholders(SEED_003_XP)
    theirs["object"]["assignee"] = {"id": STUDENT.replace("student-123", "student-456"), "type": "Person"}
    assert [post(client, "/events/1.0/", event, access).status_code for event in (mine, theirs)] == [202, 202]
    erase_agent(app.extensions["lrs"], {"account": {"homePage": "https://api.alpha-1edtech.ai",
                                                    "name": "rostering/1.0/users/student-123"}}, by="test")
    assert statement_count(client) == 1
    listed = client.get("/caliper/events", headers=bearer(access)).get_json()["events"]
    assert [event["externalId"] for event in listed] == [theirs["id"]]


def test_erasing_an_actor_leaves_an_actor_whose_iri_differs_by_a_slash(client: Any, app: Any) -> None:
    near, far = "https://collide.example/users/1", "https://collide.example//users/1"
    post(client, "/caliper/event", envelope(dict(fresh(0), actor=near), dict(fresh(0), actor=far)), token(client))
    erase_agent(app.extensions["lrs"], {"account": {"homePage": "https://collide.example", "name": "/users/1"}}, by="test")
    index = app.extensions["lrs"].plugin_collection("caliper", "events")
    assert [entry["actorId"] for entry in index.find()] == [near]


def test_a_resend_keeps_the_sensor_and_send_time_listed(client: Any) -> None:
    """The statement keeps the first send's sensor; so does the listing, and its filter finds it."""
    event, access = fresh(), token(client)
    post(client, "/caliper/event", envelope(event), access)
    again = dict(envelope(event, send_time="2026-02-01T00:00:00.000Z"), sensor="https://example.edu/sensors/2")
    assert post(client, "/caliper/event", again, access).get_json()["alreadyStored"] == 1
    listed = client.get("/caliper/events", query_string={"sensor": envelope()["sensor"]}, headers=bearer(access))
    assert [(e["sensor"], e["sendTime"]) for e in listed.get_json()["events"]] == [
        (envelope()["sensor"], envelope()["sendTime"])]


def test_events_api_events_are_listed_too(client: Any) -> None:
    event = fill_placeholders(SEED_003_XP)
    assert client.post("/events/1.0/", data=json.dumps(event), headers=bearer(token(client)),
                       content_type="application/json").status_code == 202
    [listed] = client.get("/caliper/events", headers=bearer(token(client))).get_json()["events"]
    assert listed["externalId"] == event["id"] and listed["sensor"] == event["edApp"]["id"]
    assert listed["extensions"] == event["extensions"]


def test_a_read_that_fails_says_internal_error_not_that_nothing_was_stored(client: Any, monkeypatch: Any) -> None:
    access = token(client)

    def broken(*args: Any) -> None:
        raise RuntimeError("store down")

    monkeypatch.setattr(StoredEvents, "page", broken)
    response = client.get("/caliper/events", headers=bearer(access))
    assert response.status_code == 500
    assert response.get_json()["message"] == "internal error"
