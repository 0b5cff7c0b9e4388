"""Statements: the newest first with filters and `more` paging, one statement's JSON with its
attachments' metadata, voiding, and a per-day chart.

Filters are the xAPI GET parameters, validated by the resource's own schema and run by the
resource's own query; voiding stores a voiding statement through the statement service, the
path a POST to /xapi/statements takes.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import unicodedata
from contextlib import contextmanager
from typing import Any, Iterator

from flask import Blueprint, Response, redirect, render_template, request, url_for
from marshmallow import fields, validate
from pymongo.errors import DuplicateKeyError

from lrs import schemas
from lrs.console import chart, guard
from lrs.console.inputs import utc_time
from lrs.errors import BadRequest, Conflict, NotFound
from lrs.http import params
from lrs.http.context import current_lrs
from lrs.http.statements import GetParams, decode_cursor, encode_cursor, page_query
from lrs.statements import WriteRights
from lrs.xapi.attachments import declared_attachments
from lrs.xapi.timestamps import format_timestamp, utc_now

blueprint = Blueprint("statements", __name__)
CLAIMS = "console_voiding"  # statements being voided from the console, each by one request
CLAIM_TIME = dt.timedelta(minutes=1)
PAGE_SIZE = 25
FILTERS = ("agent", "verb", "activity", "registration", "since", "until")
VOIDED = "http://adlnet.gov/expapi/verbs/voided"
INVISIBLE = re.compile(r"[^\x20-\x7e\n]+")  # what may be invisible: _escape looks closer


class ChartParams(params.StrictSchema):
    by = fields.String(load_default="verb", validate=validate.OneOf(["verb", "source"]))
    since = fields.Date(load_default=None)
    until = fields.Date(load_default=None)


@blueprint.get("/statements")
def index() -> str:
    lrs = current_lrs()
    if request.args.get("more"):
        raw, after_seq, _ = decode_cursor(request.args["more"])
    else:
        raw, after_seq = _xapi_filters(request.args), None
    args = params.load(GetParams(), raw, "2.0.0")
    documents, next_seq = lrs.statement_store.query(page_query({**args, "limit": PAGE_SIZE}, after_seq, PAGE_SIZE))
    more = encode_cursor(raw, next_seq) if next_seq is not None else None
    return render_template("console/statements.html", rows=[_row(d) for d in documents], more=more,
                           filters={name: request.args.get(name) or raw.get(name, "") for name in FILTERS},
                           paged=after_seq is not None)


@blueprint.get("/statements/<statement_id>")
def one(statement_id: str) -> str:
    lrs = current_lrs()
    document = _stored(statement_id)
    statement = json.loads(document["raw"])
    declared = [attachment for _, attachment in declared_attachments(statement)]
    stored = lrs.attachments.stored(a.get("sha2", "") for a in declared)
    return render_template("console/statement.html", statement=statement, document=document,
                           pretty=_visible(json.dumps(statement, indent=2, ensure_ascii=False)),
                           attachments=[{**a, "stored": a.get("sha2", "").lower() in stored} for a in declared],
                           voidable=_unvoidable(document) is None,
                           stored=format_timestamp(document["stored"]))


@blueprint.post("/statements/<statement_id>/void")
def void(statement_id: str) -> Response:
    """Store a voiding statement by the signed-in credential, as a client would POST it. The xAPI
    resource takes one for any id (xAPI: the target need not exist, and voiding a voided or a
    voiding statement changes nothing); here, where the form was for one statement, that is a
    second click or a stale page, so it is refused and nothing is stored."""
    _stored(statement_id)  # a 404 before any claim
    with _voiding(statement_id):
        why_not = _unvoidable(_stored(statement_id))  # read again under the claim
        if why_not:
            raise Conflict(f"statement {statement_id} {why_not}: nothing was stored")
        credential = guard.current().credential
        voiding = {"actor": credential.authority, "verb": {"id": VOIDED, "display": {"en-US": "voided"}},
                   "object": {"objectType": "StatementRef", "id": statement_id}}
        # An admin may void any statement, and reads them all here anyway (xAPI: statements/write voids any).
        rights = WriteRights(voids="any", sees_others=True)
        [voiding_id] = current_lrs().statements.store([voiding], authority=credential.authority, version="1.0.3",
                                                      source="console", rights=rights)
    guard.notify(f"Voided by statement {voiding_id}.")
    return redirect(url_for(".one", statement_id=statement_id), 303)


@blueprint.get("/chart")
def per_day() -> str:
    wanted = schemas.load(ChartParams(), params.single(request.args), "query")
    until = wanted["until"] or dt.datetime.now(dt.timezone.utc).date()
    try:  # the days shown run from `since` (by default 13 days before `until`) to the end of `until`
        since, end = wanted["since"] or until - dt.timedelta(days=13), until + dt.timedelta(days=1)
    except OverflowError:
        raise BadRequest("until: must be at most 9999-12-30, and from 0001-01-14 unless since is given") from None
    if not dt.timedelta(0) <= until - since <= dt.timedelta(days=366):
        raise BadRequest("since, until: since must be on or before until, at most 366 days apart")
    counts = current_lrs().statement_store.daily_counts(wanted["by"], _midnight(since), _midnight(end))
    return render_template("console/chart.html", chart=chart.stacked(counts, since, until), by=wanted["by"],
                           since=since.isoformat(), until=until.isoformat())


def _visible(pretty: str) -> str:
    """JSON with its invisible characters (bidi overrides, zero-width ones, C1 controls) as \\u
    escapes: the same JSON, but a name with U+202E no longer shows its text reversed, nor two
    names that differ by a U+200B as one. (Outside strings json.dumps writes only ASCII.)"""
    return INVISIBLE.sub(lambda found: "".join(_escape(c) for c in found.group()), pretty)


def _escape(char: str) -> str:
    if unicodedata.category(char) not in ("Cf", "Cc", "Zl", "Zp"):
        return char
    encoded = char.encode("utf-16-be")  # two code units for one beyond the BMP, as JSON spells it
    return "".join(f"\\u{encoded[i:i + 2].hex()}" for i in range(0, len(encoded), 2))


def _stored(statement_id: str) -> dict:
    document = current_lrs().statement_store.get(statement_id)
    if document is None:
        raise NotFound(f"no statement with id {statement_id}")
    return document


@contextmanager
def _voiding(statement_id: str) -> Iterator[None]:
    """This request's claim on voiding `statement_id`, held while it checks and stores: of two
    console requests at once (two admins, two tabs), each of which found the statement not voided,
    one goes on and the other is refused, on MongoDB across processes too. A claim left by a
    process that died holding it is taken over once CLAIM_TIME has passed."""
    claims, now, mine = current_lrs().db[CLAIMS], utc_now(), secrets.token_hex(16)
    claim = {"until": now + CLAIM_TIME, "by": mine}
    try:
        claims.insert_one({"_id": statement_id, **claim})
    except DuplicateKeyError:
        if claims.find_one_and_update({"_id": statement_id, "until": {"$lte": now}}, {"$set": claim}) is None:
            raise Conflict(f"statement {statement_id} is voided already, or being voided by another request at "
                           "this moment: nothing was stored") from None
    try:
        yield
    finally:
        claims.delete_one({"_id": statement_id, "by": mine})


def _unvoidable(document: dict) -> str | None:
    """Why voiding this statement would change nothing, if it would not."""
    if document["voided"]:
        return "is voided already"
    if json.loads(document["raw"])["verb"]["id"] == VOIDED:
        return "voids another statement, and a voiding statement cannot be voided (xAPI)"
    return None


def _xapi_filters(form: Any) -> dict[str, str]:
    """The console's filter fields as xAPI parameters: an e-mail address is an mbox Agent, a
    date-time without a zone is UTC."""
    raw = {name: form.get(name, "").strip() for name in FILTERS if form.get(name, "").strip()}
    if "agent" in raw and not raw["agent"].startswith("{"):
        mbox = raw["agent"] if raw["agent"].startswith("mailto:") else f"mailto:{raw['agent']}"
        raw["agent"] = json.dumps({"mbox": mbox})
    for name in ("since", "until"):
        if name in raw:
            raw[name] = utc_time(raw[name])
    return raw


def _row(document: dict) -> dict[str, Any]:
    """A statement as a list row: actor and object by their name and, beside it, what identifies
    them (a name is the client's free text: "ada@example.com" may be anyone's), linked to the
    statements of that agent or activity (or to the statement a StatementRef names)."""
    statement = json.loads(document["raw"])
    return {"id": statement["id"], "stored": format_timestamp(document["stored"]),
            "actor": _agent(statement["actor"]), "verb": _label(statement["verb"].get("display"), statement["verb"]["id"]),
            "object": _object(statement["object"]), "source": document.get("source", "xapi")}


def _object(obj: dict) -> dict[str, str | None]:
    kind = obj.get("objectType", "Activity")
    if kind in ("Agent", "Group"):
        return _agent(obj)
    if kind == "StatementRef":
        return _named("", obj["id"], url_for(".one", statement_id=obj["id"]))
    if kind == "SubStatement":
        return _named("", kind, None)
    return _named(_label((obj.get("definition") or {}).get("name"), ""), obj["id"], url_for(".index", activity=obj["id"]))


def _agent(agent: dict) -> dict[str, str | None]:
    return _named(agent.get("name", ""), _identifier(agent), _agent_link(agent))


def _named(name: str, identifier: str, link: str | None) -> dict[str, str | None]:
    """A name with the identifier to show under it (none if the name is missing or says it)."""
    return {"name": name or identifier, "identifier": identifier if name and name != identifier else "", "link": link}


def _identifier(agent: dict) -> str:
    if "mbox" in agent:
        return agent["mbox"].removeprefix("mailto:")
    if "account" in agent:
        return f"{agent['account']['name']} on {agent['account']['homePage']}"
    return agent.get("openid") or agent.get("mbox_sha1sum") or f"{agent.get('objectType', 'Group')} without identifier"


def _agent_link(agent: dict) -> str | None:
    """The list filtered by this agent's identifier, as the filter form would have it."""
    for ifi in ("mbox", "account", "openid", "mbox_sha1sum"):
        if ifi in agent:
            wanted = agent["mbox"].removeprefix("mailto:") if ifi == "mbox" else json.dumps({ifi: agent[ifi]})
            return url_for(".index", agent=wanted)
    return None


def _label(language_map: dict | None, fallback: str) -> str:
    if language_map:
        return language_map.get("en-US") or language_map.get("en") or next(iter(language_map.values()))
    return fallback


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.timezone.utc)
