"""The Timeback API's read side: `GET /caliper/events` (filtered, paged), `GET /caliper/events/<externalId>`
and `GET /jobs/<jobId>/status`, in the shapes the published `timeback-caliper` client reads. A client
sees the events and jobs of its own OAuth client only.
"""
from __future__ import annotations

import datetime as dt
import math

from flask import Blueprint, Response, request

from lrs.core import LRS
from lrs.errors import ItemErrors
from lrs.http import params
from lrs_plugins.caliper import model
from lrs_plugins.caliper.http import ENVELOPE_SCOPES, now
from lrs_plugins.caliper.jobs import Jobs
from lrs_plugins.caliper.responses import check_parameters, failure, register_read_errors, reply
from lrs_plugins.caliper.stored_events import Filters, StoredEvents, email_key
from lrs_plugins.caliper.tokens import TokenStore, authorize
from lrs_plugins.caliper.values import parse_datetime

MAX_LIMIT = 1000
LIST_PARAMETERS = ("limit", "offset", "sensor", "startDate", "endDate", "actorId", "actorEmail", "eventType")


def blueprint(lrs: LRS, tokens: TokenStore, stored_events: StoredEvents, jobs: Jobs) -> Blueprint:
    reads = Blueprint("caliper_reads", __name__)
    register_read_errors(reads)

    def client() -> str:
        return authorize(lrs, tokens, request.authorization, ENVELOPE_SCOPES, now()).key

    @reads.get("/caliper/events", strict_slashes=False)
    def list_events() -> Response:
        caller = client()
        limit, offset, filters = _query(caller)
        events, total = stored_events.page(filters, limit, offset)
        return reply(200, {"events": events, "pagination": {
            "total": total, "totalPages": math.ceil(total / limit), "currentPage": offset // limit + 1,
            "limit": limit}})

    @reads.get("/caliper/events/<path:external_id>")
    def get_event(external_id: str) -> Response:
        caller = client()
        check_parameters()
        event = stored_events.get(external_id, caller)
        if event is None and external_id.endswith("/"):
            # the trailing slash every other route takes; an id may end in one, so that id comes first
            event = stored_events.get(external_id[:-1], caller)
        return reply(200, {"event": event}) if event else failure(404, f"event {external_id} not found")

    @reads.get("/jobs/<job_id>/status", strict_slashes=False)
    def job_status(job_id: str) -> Response:
        caller = client()
        check_parameters()
        job = jobs.status(job_id, caller)
        return reply(200, {"job": job}) if job else failure(404, f"job {job_id} not found")

    return reads


def _query(client: str) -> tuple[int, int, Filters]:
    """limit, offset and the filters of the query string; ItemErrors naming each bad parameter."""
    check_parameters(LIST_PARAMETERS)
    problems: list[tuple[None, str, str]] = []

    def integer(name: str, default: int, low: int, high: int) -> int:
        text = request.args.get(name)
        if text is None:
            return default
        number = params.integer(text)
        if number is None or not low <= number <= high:
            problems.append((None, name, f"must be an integer from {low} to {high} in ASCII digits"))
            return default
        return number

    def moment(name: str, day_after: bool) -> dt.datetime | None:
        text = request.args.get(name)
        if not text:
            return None
        try:
            return _bound(text, day_after)
        except ValueError:
            problems.append((None, name, "must be a date (2026-01-15) or an ISO 8601 date-time (2026-01-15T10:07:30Z; "
                             "without a time zone it is UTC)"))
        except OverflowError:  # endDate is inclusive: its end is a moment after it
            problems.append((None, name, "must be in years 1 to 9999 in UTC, before 9999-12-31T23:59:59.999Z"))
        return None

    def event_type() -> str | None:
        kind = request.args.get("eventType") or None
        if kind is not None and kind not in model.EVENT_TYPES:  # stored events have known types only
            problems.append((None, "eventType", f"unknown Caliper event type (known: {', '.join(sorted(model.EVENT_TYPES))})"))
        return kind

    limit, offset = integer("limit", 100, 1, MAX_LIMIT), integer("offset", 0, 0, 10**9)
    email = request.args.get("actorEmail") or None
    filters = Filters(client, request.args.get("sensor") or None, moment("startDate", False),
                      moment("endDate", True), request.args.get("actorId") or None,
                      email_key(email) if email else None, event_type())
    if problems:
        raise ItemErrors(problems)
    return limit, offset, filters


def _bound(text: str, day_after: bool) -> dt.datetime:
    """A date (the whole day: endDate is inclusive) or a date-time. One without a time zone is UTC:
    the client documents only "ISO format", Python's `datetime.utcnow().isoformat()` sends it so,
    and a server on UTC reading it with JavaScript's `new Date()` takes it as UTC too."""
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        at = parse_datetime(text) or _utc(dt.datetime.fromisoformat(text))
        return at + dt.timedelta(milliseconds=1) if day_after else at
    return dt.datetime.combine(day + dt.timedelta(days=int(day_after)), dt.time(), dt.timezone.utc)


def _utc(at: dt.datetime) -> dt.datetime:
    return at.replace(tzinfo=dt.timezone.utc) if at.tzinfo is None else at.astimezone(dt.timezone.utc)
