"""GET /xapi/about: the versions this LRS speaks. Needs neither credentials nor a version header.

It lists the versions the operator enabled (LRS_XAPI_VERSIONS). A client that names a 1.0.x
version is told only the 1.0.x version: older client libraries (TinCanPython among them) refuse an
About whose list holds a version they do not know.
"""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from lrs import __version__
from lrs.http.params import no_parameters
from lrs.http.versioning import HEADER, enabled_versions
from lrs.xapi.errors import XAPIValidationError
from lrs.xapi.versions import is_v2, negotiate_version

blueprint = Blueprint("about", __name__)


@blueprint.get("/about")
def about() -> Response:
    no_parameters()
    return jsonify({
        "version": _versions_for(request.headers.get(HEADER)),
        "extensions": {"https://w3id.org/xapi/lrs/about/software": {"name": "lrs", "version": __version__}},
    })


def _versions_for(header: str | None) -> list[str]:
    enabled = enabled_versions()
    try:
        asked = negotiate_version(header, enabled)
    except XAPIValidationError:
        return list(enabled)
    return list(enabled) if is_v2(asked) else [version for version in enabled if not is_v2(version)]
