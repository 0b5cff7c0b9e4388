"""create_app: the one place where settings, store, plugins and HTTP are wired together."""
from __future__ import annotations

import logging
from typing import Any, Iterable

from flask import Flask, Response

from lrs import credentials
from lrs.core import LRS
from lrs.forwarding.inprocess import start_in_process
from lrs.http import XAPI_PREFIX, admin, admin_credentials, alternate, cors, errors, versioning, xapi_blueprint
from lrs.http.request import LRSRequest


def create_app(settings: dict[str, Any] | None = None, plugins: Iterable[object] = ()) -> Flask:
    """A ready LRS application. `settings` override LRS_* environment variables by name
    (e.g. {"mongo_uri": "mongodb://...", "plugins": "caliper,h5p"}); `plugins` registers plugin
    objects directly, beside the ones enabled by name.
    """
    lrs = LRS.from_settings(settings, plugins)
    logging.basicConfig(level=lrs.settings["log_level"])
    lrs.start()
    credentials.warn_if_unreachable(lrs)

    app = Flask(__name__)
    app.request_class = LRSRequest
    app.config["MAX_CONTENT_LENGTH"] = lrs.settings["max_body_bytes"]
    app.json.sort_keys = False
    app.json.ensure_ascii = False
    app.extensions["lrs"] = lrs
    errors.register(app)
    cors.register(app, lrs.settings["cors_origins"])
    app.register_blueprint(xapi_blueprint())
    app.register_blueprint(admin.blueprint)
    app.register_blueprint(admin_credentials.blueprint)
    lrs.plugins.hook.lrs_register_routes(app=app, lrs=lrs)

    @app.after_request
    def version_header(response: Response) -> Response:
        return versioning.echo(response)

    alternate.register(app, XAPI_PREFIX, lrs.settings["max_body_bytes"])

    # Forwarding in this process, if LRS_FORWARD_IN_PROCESS says so (the embedded store's way).
    start_in_process(app, lrs)
    return app

