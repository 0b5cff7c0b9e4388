"""DELETE /admin/activities?activityId=<IRI>: forget an Activity's canonical definition.

The canonical definition keeps what came first, within its bounds (lrs.store.activities), so a
client with scope `define` can fill it with a wrong name or junk that later statements cannot
replace. Forgetting it lets the next statement that carries a definition start it afresh; the
statements themselves are not touched.
"""
from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify, request

from lrs.http import params
from lrs.http.admin import admin_only
from lrs.http.auth import acting
from lrs.http.context import current_lrs

blueprint = Blueprint("admin_activities", __name__, url_prefix="/admin")
blueprint.before_request(admin_only)
log = logging.getLogger(__name__)


class ForgetParams(params.StrictSchema):
    activityId = params.IRI(required=True)


@blueprint.delete("/activities")
def forget_definition() -> Response:
    activity_id = params.load(ForgetParams(), request.args)["activityId"]
    forgotten = current_lrs().activities.forget(activity_id)
    if forgotten:
        log.info("%s forgot the canonical definition of %s", acting(), activity_id)
    return jsonify({"activities": int(forgotten)})
