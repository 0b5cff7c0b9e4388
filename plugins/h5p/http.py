"""The Creatiq-compatible API under /api/xapi, answering in the shapes of seeds/001.

Success: `{"success": true, "data": {...}}`. Failure: `{"success": false, "error": message,
"details": [{"index", "field", "message"}]}` (details name each bad item of a batch).
"""
from __future__ import annotations

import re
from typing import Callable, Iterable

from flask import Blueprint, Flask, Response, jsonify, request
from werkzeug.exceptions import NotFound

from lrs.core import LRS
from lrs.errors import BadRequest, ItemErrors
from lrs.http.body import json_body
from lrs.http.errors import register_adapter_errors
from lrs.http.params import refuse_parameters
from lrs.statements import WriteRights
from lrs_plugins.h5p import events
from lrs_plugins.h5p.analytics import Analytics
from lrs_plugins.h5p.config import H5PConfig
from lrs_plugins.h5p.identity import LEARNER, READER, caller
from lrs_plugins.h5p.query import StatementFilter
from lrs_plugins.h5p.submitted import SEED_VERSION, SOURCE, enriched, store_ignoring_duplicates

# Where a core validation error points in the statement -> the H5P event field it came from.
EVENT_FIELDS = {"object": "contentId", "contextActivities": "classId"}


def register(app: Flask, lrs: LRS, prefix: str, config: H5PConfig) -> None:
    blueprint = Blueprint(SOURCE, __name__, url_prefix=prefix)
    register_adapter_errors(blueprint, _failure)
    blueprint.before_app_request(_unknown_path_under(prefix))
    _statement_routes(blueprint, lrs, config)
    _analytics_routes(blueprint, lrs, config, Analytics(lrs.statement_store, config))
    app.register_blueprint(blueprint)


def _statement_routes(blueprint: Blueprint, lrs: LRS, config: H5PConfig) -> None:
    """Statements in and out, and H5P events mapped to statements."""

    @blueprint.post("/statements")
    def post_statements() -> Response:
        who = caller(lrs, LEARNER)
        payload = json_body(check_type=False)
        statements = [enriched(s, who.user_id, config) for s in (payload if isinstance(payload, list) else [payload])]
        try:
            ids = store_ignoring_duplicates(lrs, statements, who.credential.authority,
                                            WriteRights.adapter(who.credential))
        except ItemErrors as error:
            raise ItemErrors([(index, _statement_path(path), rule) for index, path, rule in error.errors]) from error
        return _ok({"ids": ids})

    @blueprint.get("/statements")
    def get_statements() -> Response:
        who = caller(lrs, LEARNER, READER)
        args = _known_args("actorId", "verbId", "objectId", "since", "until", "limit")
        actor_id = args.pop("actorId", None) or None
        actor_id = actor_id if who.reads_all else who.subject(actor_id)
        statement_filter = StatementFilter.from_args(args, actor_id, config)
        return _ok({"statements": statement_filter.statements(lrs.statement_store)})

    @blueprint.post("/h5p-event")
    def post_h5p_event() -> Response:
        who = caller(lrs, LEARNER)
        body = json_body(check_type=False)
        problems = events.problems(body)
        if problems:
            raise ItemErrors([(0, field, message) for field, message in problems])
        statement = events.statement(body, who.user_id, config)
        try:
            [statement_id] = lrs.statements.store([statement], authority=who.credential.authority,
                                                  version=SEED_VERSION, source=SOURCE,
                                                  rights=WriteRights.adapter(who.credential, voids="none"))
        except ItemErrors as error:
            raise ItemErrors([(0, _h5p_field(path), f"{rule} ({path})") for _, path, rule in error.errors]) from error
        return _ok({"id": statement_id})


def _analytics_routes(blueprint: Blueprint, lrs: LRS, config: H5PConfig, analytics: Analytics) -> None:
    """Summaries of a content, a learner and a class, and a learner's progress."""

    @blueprint.get("/analytics/content/<path:content_id>")
    def content_analytics(content_id: str) -> Response:
        who = caller(lrs, LEARNER, READER)
        return _ok(analytics.content(content_id, viewer=None if who.reads_all else who.user_id))

    @blueprint.get("/analytics/user")
    def user_analytics() -> Response:
        who = caller(lrs, LEARNER, READER)
        return _ok(analytics.learner(who.subject(_user_param())))

    @blueprint.get("/analytics/class/<path:class_id>")
    @blueprint.get("/analytics/class", defaults={"class_id": None})
    def class_analytics(class_id: str | None) -> Response:
        caller(lrs, READER)
        grouping = config.class_iri(class_id) if class_id is not None else _known_args("groupingId").get("groupingId")
        if not grouping:
            raise BadRequest("name the class: /analytics/class/<classId> or ?groupingId=<activity IRI>")
        return _ok({"classId": class_id, "groupingId": grouping, **analytics.group(grouping)})

    @blueprint.get("/progress/<path:content_id>")
    def content_progress(content_id: str) -> Response:
        who = caller(lrs, LEARNER, READER)
        user_id = who.subject(_user_param())
        [entry] = analytics.progress(analytics.learner_match(user_id, content_id)) or [_no_progress()]
        return _ok({"userId": user_id, "contentId": content_id, **entry})

    @blueprint.get("/progress")
    def all_progress() -> Response:
        user_id = caller(lrs, LEARNER, READER).subject(_user_param())
        return _ok({"progress": analytics.progress(analytics.learner_match(user_id))})


def _unknown_path_under(prefix: str) -> Callable[[], Response | None]:
    """A 404 under the prefix (no route matched, so no blueprint handler runs) in this API's
    shape too; ids may hold `/` (the routes take `<path:...>`), but not be empty."""
    endpoints = ", ".join(f"{prefix}{path}" for path in ENDPOINTS)

    def not_found() -> Response | None:
        error = request.routing_exception
        if isinstance(error, NotFound) and request.path.startswith(prefix + "/"):
            return _failure(404, f"no endpoint of this API at this path; the endpoints are {endpoints}")
        return None
    return not_found


# Every path the blueprint answers, for the 404 of one it does not (werkzeug's said "check your spelling").
ENDPOINTS = ("/statements", "/h5p-event", "/analytics/content/<contentId>", "/analytics/user",
             "/analytics/class/<classId>", "/analytics/class?groupingId=", "/progress", "/progress/<contentId>")


def _known_args(*names: str) -> dict[str, str]:
    """The endpoint's parameters; one given twice is a 400 naming it. Other parameters are ignored:
    this API is called from browsers, whose clients add cache busters (jQuery's `_=<time>`)."""
    refuse_parameters(names, unknown_ignored=True)
    return {name: request.args[name] for name in names if name in request.args}


def _user_param() -> str | None:
    """`?userId=`; empty is none (the caller themself), as an empty actorId filters nothing: a
    dashboard that fills in `userId=${id}` before it knows the id must not get a learner a 403."""
    return _known_args("userId").get("userId") or None


def _no_progress() -> dict:
    """Progress on a content the user has no statements about."""
    return {"attempts": 0, "bestScore": 0, "lastScore": 0, "completed": False, "passed": False,
            "totalDuration": 0, "lastAttemptAt": None}


def _statement_path(path: str) -> str:
    """`statement[2].verb.id` -> `verb.id`: the path inside the item the error is indexed by."""
    return re.sub(r"^statement\[\d+\]\.?", "", path)


def _h5p_field(path: str) -> str:
    """`statement[0].result.score.scaled` -> `score.scaled`: the body field a core error is about."""
    field = re.sub(r"^(result|context)\.", "", _statement_path(path))
    return EVENT_FIELDS.get(re.split(r"[.\[]", field, maxsplit=1)[0], field)


def _ok(data: dict) -> Response:
    return jsonify({"success": True, "data": data})


def _failure(status: int, message: str, items: Iterable[tuple[int, str, str]] = ()) -> Response:
    details = [{"index": index, "field": field, "message": text} for index, field, text in items]
    response = jsonify({"success": False, "error": message, "details": details})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="h5p"'
    return response
