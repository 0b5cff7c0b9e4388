"""The two Caliper HTTP write APIs: envelopes at POST /caliper/event (seeds/002, and the Timeback
client's `/caliper/event/validate` and `/caliper/v1p2`) and the Events API at POST /events/1.0/
with its session heartbeats (seeds/003).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, request

from lrs import __version__
from lrs.core import LRS
from lrs.errors import BadRequest, ItemErrors, PayloadTooLarge, UnsupportedMediaType
from lrs.http.body import json_body
from lrs_plugins.caliper import validation, vocabulary
from lrs_plugins.caliper.ingest import Item, check_entities, check_events, keep_entities, store_events
from lrs_plugins.caliper.jobs import Jobs
from lrs_plugins.caliper.mapping import Origin
from lrs_plugins.caliper.responses import check_parameters, failure, register_errors, reply
from lrs_plugins.caliper.session_events import Request, SessionEvents
from lrs_plugins.caliper.stored_events import StoredEvents
from lrs_plugins.caliper.tokens import EVENT_CREATE, EVENTS_WRITE, V1P2_EVENTS_WRITE, TokenStore, authorize
from lrs_plugins.caliper.values import entity_id, format_datetime, parse_datetime, statement_id

ENVELOPE_SCOPES = frozenset({EVENT_CREATE, V1P2_EVENTS_WRITE})
EVENTS_API_SCOPES = frozenset({EVENTS_WRITE})


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def blueprint(lrs: LRS, tokens: TokenStore, session_events: SessionEvents, stored_events: StoredEvents,
              jobs: Jobs) -> Blueprint:
    """Both write APIs in one blueprint: they answer errors alike (register_errors)."""
    caliper = Blueprint("caliper", __name__)
    register_errors(caliper)
    _envelope_routes(caliper, lrs, tokens, session_events, stored_events, jobs)
    _events_api_routes(caliper, lrs, tokens, session_events, stored_events)
    return caliper


def _envelope_routes(caliper: Blueprint, lrs: LRS, tokens: TokenStore, session_events: SessionEvents,
                     stored_events: StoredEvents, jobs: Jobs) -> None:
    """POST /caliper/event (and /caliper/v1p2), its GET configuration, and the validate-only POST."""

    def checked_envelope() -> tuple[dict, list[Item], list[dict]]:
        body = _json_body()
        problems = _envelope_problems(body)
        if problems:
            raise _refusal(body, problems)
        events, entities = _envelope_items(body, Origin(sensor=body["sensor"], home_page=session_events.home_page))
        check_entities(lrs, entities)
        return body, events, entities

    @caliper.post("/caliper/event", strict_slashes=False)
    @caliper.post("/caliper/v1p2", strict_slashes=False)
    def envelope() -> Response:
        credential = authorize(lrs, tokens, request.authorization, ENVELOPE_SCOPES, now(), caliper_endpoint=True)
        check_parameters()
        body, events, entities = checked_envelope()
        stored = store_events(lrs, events, credential)
        at = now()
        kept = [item.event for item in events]
        stored_events.record(kept, body["sensor"], body["sendTime"], credential.key, at)
        keep_entities(lrs, entities, body["sensor"], credential.key, at)
        already = len({statement_id(item.event["id"]) for item in events}) - stored
        message = f"{stored} event(s) and {len(entities)} entity(ies) stored"
        return reply(200, {"status": "success", "errors": [], "jobId": jobs.completed(kept, credential.key, at),
                           "message": message + (f"; {already} event(s) already stored" if already else ""),
                           "stored": stored, "alreadyStored": already})

    @caliper.get("/caliper/event", strict_slashes=False)
    @caliper.get("/caliper/v1p2", strict_slashes=False)
    def endpoint_configuration() -> Response:
        """Caliper 1.2 section 6.2: what a sensor may send here, behind the same authorization."""
        authorize(lrs, tokens, request.authorization, ENVELOPE_SCOPES, now(), caliper_endpoint=True)
        check_parameters()
        return reply(200, {"caliper_maximum_payload_size": lrs.settings["max_body_bytes"] // 1024,
                           "caliper_supported_versions": sorted(vocabulary.DATA_VERSIONS),  # http: first
                           "caliper_supported_extensions": {"endpoint_name": "lrs Caliper endpoint",
                                                            "endpoint_version": __version__,
                                                            "maximum_events_per_envelope": lrs.statements.max_batch}})

    @caliper.post("/caliper/event/validate", strict_slashes=False)
    def validate() -> Response:
        credential = authorize(lrs, tokens, request.authorization, ENVELOPE_SCOPES, now())
        check_parameters()
        try:
            _, events, entities = checked_envelope()
            check_events(lrs, events, credential)
        except ItemErrors as error:
            return failure(200, "invalid: nothing would be stored", error.errors)
        except PayloadTooLarge as error:
            return failure(200, "invalid: nothing would be stored", [(None, "$.data", error.message)])
        return reply(200, {"status": "success", "errors": [],
                           "message": f"valid: {len(events)} event(s) and {len(entities)} entity(ies)"})


def _events_api_routes(caliper: Blueprint, lrs: LRS, tokens: TokenStore, session_events: SessionEvents,
                       stored_events: StoredEvents) -> None:
    """POST /events/1.0/ (one event, or a one-event envelope) and the session heartbeats."""

    @caliper.post("/events/1.0/", strict_slashes=False)
    def event() -> Response:
        credential = authorize(lrs, tokens, request.authorization, EVENTS_API_SCOPES, now())
        check_parameters()
        body = _json_body()
        path, item, sensor, problems = _single_event(body)
        if path is not None:
            problems += [(0, p, rule) for p, rule in validation.event_problems(item, path)]
            problems += [(0, p, rule) for p, rule in validation.events_api_problems(item, path)] \
                if isinstance(item, dict) else []
        if problems:
            raise _refusal(body, problems)
        current = Request(path, item, sensor, credential, now())
        session_events.sessions.sweep(current.now)
        if item["type"] == "SessionEvent":
            answer = reply(200, session_events.handle(current))
        else:
            origin = session_events.origin(current, session_events.attached_session(current))
            store_events(lrs, [Item(0, path, item, origin)], credential)
            answer = reply(202, {"status": "accepted", "eventCount": 1})
        # Listed by GET /caliper/events too; the sensor is the envelope's, else the event's edApp.
        stored_events.record([item], sensor or entity_id(item.get("edApp")) or "", format_datetime(current.now),
                             credential.key, current.now)
        return answer

    @caliper.post("/events/1.0/sessions/<session_id>/heartbeat", strict_slashes=False)
    def session_heartbeat(session_id: str) -> Response:
        credential = authorize(lrs, tokens, request.authorization, EVENTS_API_SCOPES, now())
        check_parameters()
        return _heartbeat(session_events, session_id, credential.key, _heartbeat_body())

    @caliper.post("/events/1.0/heartbeat", strict_slashes=False)
    def heartbeat() -> Response:
        credential = authorize(lrs, tokens, request.authorization, EVENTS_API_SCOPES, now())
        check_parameters(["sessionId"])
        body = _heartbeat_body()
        session_id = body.get("sessionId", request.args.get("sessionId"))
        if session_id is None or session_id == "":
            return failure(400, "sessionId is required (in the JSON body or as ?sessionId=...)",
                           [(None, "$.sessionId", "required")])
        if not isinstance(session_id, str):
            return failure(400, "sessionId must be a string: the sessionId a LoggedIn event was answered with",
                           [(None, "$.sessionId", "must be a string")])
        return _heartbeat(session_events, session_id, credential.key, body)


class UnsupportedDataVersion(ItemErrors):
    """Caliper 1.2 section 6.1: an envelope of a Caliper version the endpoint cannot support is
    answered 422 Unprocessable Entity, not 400 (which is for a missing or malformed envelope)."""

    status = 422


def _refusal(body: Any, problems: list[tuple[int | None, str, str]]) -> ItemErrors:
    return (UnsupportedDataVersion if validation.unsupported_version(body) else ItemErrors)(problems)


def _envelope_problems(body: Any) -> list[tuple[int | None, str, str]]:
    """Every problem of an envelope: its own fields' (index None) and, whenever `data` is a list
    of the supported Caliper version, each of its items' (by index), so one answer lists them all."""
    problems: list[tuple[int | None, str, str]] = [(None, path, rule) for path, rule in validation.envelope_problems(body)]
    if validation.unsupported_version(body):
        return problems  # its items follow another version's model: checking them by 1.2's says nothing
    data = body.get("data") if isinstance(body, dict) else None
    for index, item in enumerate(data if isinstance(data, list) else ()):
        path = f"$.data[{index}]"
        found = validation.event_problems(item, path) if validation.is_event(item) \
            else validation.entity_item_problems(item, path)
        problems += [(index, p, rule) for p, rule in found]
    return problems


def _envelope_items(envelope: dict, origin: Origin) -> tuple[list[Item], list[dict]]:
    """The checked envelope's events (as Items) and entities."""
    events = [Item(index, f"$.data[{index}]", item, origin)
              for index, item in enumerate(envelope["data"]) if validation.is_event(item)]
    return events, [item for item in envelope["data"] if not validation.is_event(item)]


def _single_event(body: Any) -> tuple[str | None, Any, str | None, list[tuple[int | None, str, str]]]:
    """(JSON path, event, sensor, the envelope's problems) of a bare event or of a one-event
    envelope; the path is None when there is no one event to check, so that otherwise a bad
    envelope's answer lists its event's problems too."""
    if not (isinstance(body, dict) and "data" in body and "action" not in body):
        return "$", body, None, []
    problems: list[tuple[int | None, str, str]] = [(None, p, rule) for p, rule in validation.envelope_problems(body)]
    data = body["data"]
    if isinstance(data, list) and len(data) == 1 and not validation.unsupported_version(body):
        return "$.data[0]", data[0], body.get("sensor"), problems  # a bad sensor is among the problems
    if not problems:
        problems.append((None, "$.data", "the Events API takes one event per POST"))
    return None, None, None, problems


def _json_body() -> Any:
    """The request's JSON. Caliper 1.2 has sensors set Content-Type application/json (§5.4; IMS's
    clients and timeback-caliper do) and endpoints answer any other, or none, with 415 (§6.1)."""
    if request.mimetype != "application/json":
        given = repr(request.mimetype) if request.mimetype else "missing"
        raise UnsupportedMediaType(f"Content-Type {given}: Caliper 1.2 takes application/json only")
    return json_body(check_type=False)


def _heartbeat_body() -> dict:
    body = _json_body() if request.get_data(cache=True) else {}
    if not isinstance(body, dict):
        raise BadRequest("the heartbeat body must be a JSON object {eventTime, sessionId?}")
    return body


def _heartbeat(session_events: SessionEvents, session_id: str, client: str, body: dict) -> Response:
    at = parse_datetime(body.get("eventTime"))
    if at is None:
        what = "is not a valid date-time" if "eventTime" in body else "is required"
        return failure(400, f"eventTime {what}: the ISO 8601 time of the heartbeat, with a time zone",
                       [(None, "$.eventTime", validation.DATE_TIME_RULE)])
    current = now()
    session_events.sessions.sweep(current)
    return reply(200, session_events.heartbeat(session_id, client, at, current))

