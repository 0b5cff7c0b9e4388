"""The X-Experience-API-Version header: required on every resource but /about, echoed back.

The negotiated version (g.xapi_version) decides per request whether 1.0.x or 2.0.x rules apply.
Only the versions the operator enabled (LRS_XAPI_VERSIONS) negotiate; a response to a request that
named none of them carries the newest enabled version.
"""
from __future__ import annotations

from flask import Response, g, request

from lrs.errors import BadRequest
from lrs.http.context import current_lrs
from lrs.xapi.errors import XAPIValidationError
from lrs.xapi.versions import answer_version, is_v2, negotiate_version

HEADER = "X-Experience-API-Version"
ALTERNATE_SYNTAX = "lrs.alternate_syntax"


def enabled_versions() -> tuple[str, ...]:
    return current_lrs().settings["xapi_versions"]


def negotiate() -> None:
    try:
        g.xapi_version = negotiate_version(request.headers.get(HEADER), enabled_versions())
    except XAPIValidationError as error:
        raise BadRequest(f"{HEADER} header: {error.rule}") from None
    if request.environ.get(ALTERNATE_SYNTAX) and is_v2(g.xapi_version):
        raise BadRequest("the alternate request syntax (?method=) is not allowed in xAPI 2.0")


def echo(response: Response) -> Response:
    """Answer in the request's version when it named an enabled one, else in the newest enabled."""
    version = g.get("xapi_version")
    response.headers[HEADER] = version or answer_version(request.headers.get(HEADER), enabled_versions())
    return response
