"""GET /metrics in the Prometheus text format.

LRS_METRICS decides who may read it: `admin` (HTTP Basic with a credential of scope `metrics`, the
monitoring system's, or `admin`; Prometheus sends it with `basic_auth` in its scrape config),
`open` (anyone who reaches the port: for a port only the monitoring network reaches), or `off` (404).
"""
from __future__ import annotations

from flask import Blueprint, Response, current_app
from prometheus_client import CONTENT_TYPE_LATEST

from lrs.auth import READ_METRICS
from lrs.errors import NotFound
from lrs.http.auth import authenticate, require
from lrs.http.context import current_lrs

blueprint = Blueprint("metrics", __name__)


@blueprint.get("/metrics")
def metrics() -> Response:
    access = current_lrs().settings["metrics"]
    if access == "off":
        raise NotFound("metrics are turned off (LRS_METRICS=off)")
    if access == "admin":
        authenticate()
        require(READ_METRICS)
    return Response(current_app.extensions["metrics"].exposition(), mimetype=CONTENT_TYPE_LATEST)
