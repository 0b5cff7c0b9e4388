"""The Activities resource, GET /xapi/activities?activityId= (Communication 2.5).

Answers the canonical Activity: the definitions received in statements, merged (see
lrs.store.activities), or the bare Activity when the LRS never received a definition.
"""
from __future__ import annotations

from flask import Blueprint, Response, g, jsonify, request

from lrs.auth import READ_DEFINITIONS
from lrs.http import params
from lrs.http.auth import require
from lrs.http.context import current_lrs

blueprint = Blueprint("activities", __name__)


class ActivityParams(params.StrictSchema):
    activityId = params.IRI(required=True)


@blueprint.get("/activities")
def get_activity() -> Response:
    require(READ_DEFINITIONS)
    activity_id = params.load(ActivityParams(), request.args, g.xapi_version)["activityId"]
    response = jsonify(current_lrs().activities.get(activity_id))
    response.add_etag()  # SHA-1 of the body: Communication 3.1 wants an ETag on every GET of the resource
    return response
