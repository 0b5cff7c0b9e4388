"""Every request gets a request id (answered in X-Request-ID, stamped on every log line), an
access log line, and a place in the metrics under its route template (never its raw path, so
ids in URLs do not explode the number of series)."""
from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, Response, g, request

from lrs.logs import clipped, redacted_target, request_id
from lrs.metrics import Metrics

REQUEST_ID_HEADER = "X-Request-ID"
_ACCEPTED_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
access_log = logging.getLogger("lrs.access")


def register(app: Flask, metrics: Metrics) -> None:
    @app.before_request
    def start() -> None:
        g.request_id = request_id_for(request.headers.get(REQUEST_ID_HEADER, ""))
        g.request_id_token = request_id.set(g.request_id)
        g.request_started = time.perf_counter()

    @app.after_request
    def finish(response: Response) -> Response:
        started = g.pop("request_started", None)
        if started is None:  # a request that failed before `start` ran
            return response
        seconds = time.perf_counter() - started
        route = request.url_rule.rule if request.url_rule is not None else "(unmatched)"
        metrics.observe(route, request.method, response.status_code, seconds)
        response.headers.setdefault(REQUEST_ID_HEADER, g.request_id)
        if access_log.isEnabledFor(logging.INFO):  # its arguments cost more than the check (LRS_LOG_LEVEL=WARNING)
            _log_access(route, response.status_code, seconds)
        return response

    @app.teardown_request
    def forget(_: BaseException | None) -> None:
        token = g.pop("request_id_token", None)
        if token is not None:
            request_id.reset(token)


def request_id_for(incoming: str) -> str:
    """The id of a request that came with this X-Request-ID: its own when sane (a load balancer's,
    so one id follows the request through both logs), else a new one."""
    return incoming if _ACCEPTED_ID.fullmatch(incoming) else str(uuid.uuid4())


def _log_access(route: str, status: int, seconds: float) -> None:
    method = clipped(request.method)
    target = clipped(redacted_target(request.path, request.query_string.decode("latin-1")))
    access_log.info("%s %s %s %.1f ms", method, target, status, seconds * 1000,
                    extra={"method": method, "path": clipped(request.path), "route": route, "status": status,
                           "duration_ms": round(seconds * 1000, 1), "remote": request.remote_addr})


def current_request_id() -> str:
    """The id of the request being handled (plugins answer it to their clients)."""
    return g.request_id
