"""Health for orchestrators and load balancers: unauthenticated, cheap, no data in the answer.

/health/live: the process answers HTTP (restart it if not).
/health/ready: the store answers a ping, its indexes were made at start and the configured
plugins are loaded (send it traffic only then).
"""
from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify
from pymongo.errors import PyMongoError

from lrs.http.context import current_lrs

blueprint = Blueprint("health", __name__, url_prefix="/health")
log = logging.getLogger(__name__)


@blueprint.get("/live")
def live() -> Response:
    return jsonify({"status": "ok"})


@blueprint.get("/ready")
def ready() -> tuple[Response, int]:
    lrs = current_lrs()
    checks = {"store": _store_answers(lrs), "indexes": lrs.started,
              "plugins": all(lrs.plugins.has_plugin(name) for name in lrs.settings["plugins"])}
    ok = all(checks.values())
    return jsonify({"status": "ok" if ok else "unavailable", "checks": checks}), 200 if ok else 503


def _store_answers(lrs: object) -> bool:
    try:
        lrs.db.command("ping")  # type: ignore[attr-defined]
        return True
    except PyMongoError as error:
        log.warning("readiness: the store does not answer: %s", error)
        return False
