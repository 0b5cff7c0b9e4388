"""The xAPI HTTP interface: one blueprint per resource, nested under /xapi."""
from __future__ import annotations

from flask import Blueprint

from lrs.http import about, activities, agents, auth, params, profiles, state, statements, versioning

XAPI_PREFIX = "/xapi"


def xapi_blueprint() -> Blueprint:
    """/xapi and everything under it. `about` is outside the version and auth checks."""
    xapi = Blueprint("xapi", __name__, url_prefix=XAPI_PREFIX)
    xapi.register_blueprint(about.blueprint)
    resources = Blueprint("resources", __name__)
    resources.before_request(versioning.negotiate)
    resources.before_request(auth.authenticate)
    resources.before_request(params.utf8_parameters)
    for resource in (statements, state, profiles, activities, agents):
        resources.register_blueprint(resource.blueprint)
    xapi.register_blueprint(resources)
    return xapi
