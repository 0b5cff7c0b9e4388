"""Forwarding: each target's backlog, lag, last success and error, retry schedule; its dead
letters with replay (one or all); retry now; backfill from a point in time. The engine's own operations
(`lrs.forwarding.status`, `lrs.forwarding.operations`) do the work, as for `lrs forward` and
/admin/forwarding."""
from __future__ import annotations

from flask import Blueprint, Response, redirect, render_template, request, url_for

from lrs import schemas
from lrs.console import guard
from lrs.console.inputs import utc_time
from lrs.errors import BadRequest
from lrs.forwarding import operations
from lrs.forwarding.status import forwarding_status
from lrs.http.admin import Backfill
from lrs.http.context import current_lrs

blueprint = Blueprint("forwarding", __name__)
DEAD_LETTERS_SHOWN = 50


@blueprint.get("/forwarding")
def index() -> str:
    lrs = current_lrs()
    targets = forwarding_status(lrs)
    letters = {t["target"]: operations.dead_letters(lrs, t["target"], -1, DEAD_LETTERS_SHOWN) for t in targets}
    return render_template("console/forwarding.html", targets=targets, letters=letters)


@blueprint.post("/forwarding/<target>/replay")
def replay(target: str) -> Response:
    """Replay one dead letter (form field `statement_id`) or, without it, all of the target's."""
    statement_id = request.form.get("statement_id")
    marked = operations.replay(current_lrs(), target, [statement_id] if statement_id else None, by=guard.acting())
    guard.notify(f"{marked} dead letter(s) of {target} marked for replay")
    return redirect(url_for(".index"), 303)


@blueprint.post("/forwarding/<target>/retry")
def retry(target: str) -> Response:
    guard.notify(operations.retry(current_lrs(), target, by=guard.acting())["message"])
    return redirect(url_for(".index"), 303)


@blueprint.post("/forwarding/<target>/backfill")
def backfill(target: str) -> Response:
    since = schemas.load(Backfill(), {"since": utc_time(request.form.get("since", ""))}, "form")["since"]
    try:
        checkpoint = operations.backfill(current_lrs(), target, since, by=guard.acting())
    except ValueError as error:
        raise BadRequest(str(error)) from None  # it names the field already
    guard.notify(f"{target} goes on from sequence {checkpoint}")
    return redirect(url_for(".index"), 303)
