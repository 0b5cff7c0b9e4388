"""Health for orchestrators and load balancers: unauthenticated, cheap, no data in the answer.

/health/live: the process answers HTTP (restart it if not).
/health/ready: the store answers a ping, its indexes were made at start and the configured
plugins are loaded (send it traffic only then). A 503 has the same shape, naming the check that
failed.
"""
from __future__ import annotations

import logging
from typing import Any

import pymongo
from flask import Blueprint, Response, jsonify
from pymongo.database import Database
from pymongo.errors import PyMongoError

from lrs.http.context import current_lrs
from lrs.store import short_reason
from lrs.store.embedded import StoreUnwritable

blueprint = Blueprint("health", __name__, url_prefix="/health")
log = logging.getLogger(__name__)
# How long the ping may wait for MongoDB. The client serving requests waits pymongo's 30 s for a
# server (riding out elections), but a probe asks every second or so and gives up after about one
# (Kubernetes' default timeoutSeconds): waiting 30 s, each probe of an unreachable store would hold
# a thread, thirty of them at once, and the answer would come long after the prober stopped waiting.
READY_PING_SECONDS = 1.0


@blueprint.get("/live")
def live() -> Response:
    return jsonify({"status": "ok"})


@blueprint.get("/ready")
def ready() -> tuple[Response, int]:
    return _readiness(store=_store_answers(current_lrs()))


@blueprint.errorhandler(StoreUnwritable)
def store_unwritable(_: StoreUnwritable) -> tuple[Response, int]:
    """The embedded store commits when the request's unit of work ends, after the view: the ping's
    commit failed (it had another request's changes to write), or another request's failed commit
    took back what was there when the ping ran. Either way the store check fails."""
    return _readiness(store=False)


def _readiness(store: bool) -> tuple[Response, int]:
    lrs = current_lrs()
    checks = {"store": store, "indexes": lrs.started,
              "plugins": all(lrs.plugins.has_plugin(name) for name in lrs.settings["plugins"])}
    ok = all(checks.values())
    return jsonify({"status": "ok" if ok else "unavailable", "checks": checks}), 200 if ok else 503


def _store_answers(lrs: object) -> bool:
    try:
        with pymongo.timeout(READY_PING_SECONDS):
            lrs.db.command("ping")  # type: ignore[attr-defined]
        return True
    except PyMongoError as error:
        log.warning("readiness: %s did not answer the ping: %s", _store_named(lrs.db),  # type: ignore[attr-defined]
                    short_reason(error))
        log.debug("readiness: the ping's error in full: %s", error)
        return False


def _store_named(db: Any) -> str:
    """MongoDB's servers as the client knows them (its seeds, or those it found): the one line of
    a failed probe names them, as pymongo's shortened error may not (no primary among servers that
    answer)."""
    if not isinstance(db, Database):
        return "the store"
    servers = db.client.topology_description.server_descriptions()
    return "MongoDB at " + ", ".join(f"{host}:{port}" if port else str(host) for host, port in servers)
