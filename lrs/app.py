"""create_app: the one place where settings, store, plugins and HTTP are wired together."""
from __future__ import annotations

import atexit
import logging
import os
from typing import Any, Iterable

from flask import Flask, Response
from werkzeug.middleware.proxy_fix import ProxyFix

from lrs import console, credentials
from lrs.core import LRS
from lrs.forwarding.inprocess import start_in_process
from lrs.http import (
    XAPI_PREFIX,
    admin,
    admin_activities,
    admin_credentials,
    alternate,
    cors,
    erasure,
    errors,
    health,
    metrics,
    observe,
    reachable,
    responses,
    versioning,
    xapi_blueprint,
)
from lrs.http.request import LRSRequest
from lrs.logs import configure as configure_logging
from lrs.metrics import Metrics
from lrs.plugins import ignored_variables
from lrs.retention import start_in_process as start_retention

log = logging.getLogger("lrs")


def create_app(settings: dict[str, Any] | None = None, plugins: Iterable[object] = ()) -> Flask:
    """A ready LRS application. `settings` override LRS_* environment variables by name
    (e.g. {"mongo_uri": "mongodb://...", "plugins": "caliper,h5p"}); `plugins` registers plugin
    objects directly, beside the ones enabled by name.
    """
    lrs = LRS.from_settings(settings, plugins)
    configure_logging(lrs.settings["log_level"], lrs.settings["log_format"], lrs.settings["log_library_debug"])
    lrs.start()
    for warning in ignored_variables(lrs.settings.declared.values(), os.environ):
        log.warning(warning)
    credentials.warn_if_unreachable(lrs)
    lrs_metrics = Metrics(lrs)
    lrs.plugins.register(lrs_metrics, name="lrs.metrics")

    app = _LRSFlask(__name__)
    app.request_class = LRSRequest
    app.config["MAX_CONTENT_LENGTH"] = lrs.settings["max_body_bytes"]
    app.json.sort_keys = False
    app.json.ensure_ascii = False
    app.extensions["lrs"] = lrs
    app.extensions["metrics"] = lrs_metrics
    observe.register(app, lrs_metrics)
    errors.register(app)
    responses.register(app)
    cors.register(app, lrs.settings["cors_origins"])
    app.url_map.converters["credential_key"] = admin_credentials.KeyConverter
    app.register_blueprint(xapi_blueprint())
    for resource in (admin, admin_credentials, admin_activities, erasure, health, metrics):
        app.register_blueprint(resource.blueprint)
    console.register(app, lrs)
    lrs.plugins.hook.lrs_register_routes(app=app, lrs=lrs)
    reachable.refuse_shadowed_routes(app)

    @app.after_request
    def version_header(response: Response) -> Response:
        return versioning.echo(response)

    alternate.register(app, XAPI_PREFIX, lrs.settings["max_body_bytes"])
    if lrs.settings["proxy_hops"]:  # the client address (throttling, logs) from X-Forwarded-For
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=lrs.settings["proxy_hops"])

    # Forwarding in this process, if LRS_FORWARD_IN_PROCESS says so (the embedded store's way).
    start_in_process(app, lrs)
    retention = start_retention(lrs)
    if retention is not None:
        app.extensions["retention"] = retention
        atexit.register(retention.stop)
    return app


class _LRSFlask(Flask):
    """Flask, each request's view being one unit of work of the store."""

    def dispatch_request(self) -> Any:
        """The view's writes are committed together before its response is made. A commit that
        fails raises here, where the error handlers answer it (503, in the API's own error format:
        the xAPI's, or the adapter's) and the access log and metrics count that answer."""
        with self.extensions["lrs"].unit_of_work():
            return super().dispatch_request()
