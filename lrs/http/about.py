"""GET /xapi/about: the versions this LRS speaks. Needs neither credentials nor a version header."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify

from lrs import __version__
from lrs.xapi.versions import SUPPORTED_VERSIONS

blueprint = Blueprint("about", __name__)


@blueprint.get("/about")
def about() -> Response:
    return jsonify({
        "version": list(SUPPORTED_VERSIONS),
        "extensions": {"https://w3id.org/xapi/lrs/about/software": {"name": "lrs", "version": __version__}},
    })
