"""The Statement resource: PUT, POST, GET (one or a page) and HEAD of /xapi/statements."""
from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

from flask import Blueprint, Response, g, request
from marshmallow import ValidationError, fields, validate

from lrs import client_json
from lrs.auth import DEFINE, READ_DEFINITIONS, READ_STATEMENTS, WRITE_STATEMENTS, Credential
from lrs.errors import BadRequest, Forbidden, NotFound
from lrs.http import params
from lrs.http.attachments import read_statements, statements_response
from lrs.http.auth import require
from lrs.http.context import current_lrs
from lrs.statements import WriteRights, utc_now
from lrs.store.statements import StatementQuery
from lrs.xapi.agents import ifi_key
from lrs.xapi.formats import exact_text, format_statement
from lrs.xapi.timestamps import format_timestamp, parse_timestamp
from lrs.xapi.versions import is_v2

blueprint = Blueprint("statements", __name__)

CONSISTENT_THROUGH = "X-Experience-API-Consistent-Through"
SINGLE_ONLY = {"statementId", "voidedStatementId", "format", "attachments"}


class PutParams(params.StrictSchema):
    statementId = params.UUID(required=True)


class IdentifiedAgent(params.AgentJSON):
    """GET's `agent` filter: an Agent or an identified Group (xAPI Communication 2.1.3). An anonymous
    Group has no identifier to match statements by; taken as "no filter", it answered with others'."""

    def _check(self, value: str) -> dict:
        agent = super()._check(value)
        if ifi_key(agent) is None:
            raise ValidationError("must be an Agent or an identified Group (one with mbox, mbox_sha1sum, openid "
                                  "or account): an anonymous Group identifies no one to filter by")
        return agent


class GetParams(params.StrictSchema):
    statementId = params.UUID()
    voidedStatementId = params.UUID()
    agent = IdentifiedAgent()
    verb = params.IRI()
    activity = params.IRI()
    registration = params.UUID()
    related_activities = params.Boolean()
    related_agents = params.Boolean()
    since = params.Timestamp()
    until = params.Timestamp()
    limit = params.Integer(validate=validate.Range(min=0))
    format = fields.String(validate=validate.OneOf(["ids", "exact", "canonical"]))
    attachments = params.Boolean()
    ascending = params.Boolean()
    more = fields.String()


@blueprint.before_request
def read_consistent_through() -> None:
    """Read before the request's query: read after it, a batch stored meanwhile would be
    claimed as available and yet be missing from the answer (see StatementStore.consistent_through)."""
    g.consistent_through = current_lrs().statement_store.consistent_through(utc_now())


@blueprint.after_request
def consistent_through(response: Response) -> Response:
    if "consistent_through" not in g:  # an earlier before_request answered: there was no query
        read_consistent_through()
    response.headers[CONSISTENT_THROUGH] = format_timestamp(g.consistent_through)
    return response


@blueprint.put("/statements")
def put_statement() -> Response:
    credential = require(WRITE_STATEMENTS)
    statement_id = params.load(PutParams(), request.args, g.xapi_version)["statementId"]
    statement, contents = read_statements(g.xapi_version, put_id=statement_id)
    statement = {**statement, "id": statement.get("id", statement_id)}
    current_lrs().statements.store([statement], authority=credential.authority, version=g.xapi_version,
                                   rights=_rights(credential), contents=contents, read_by_client_json=True)
    return Response(status=204)


@blueprint.post("/statements")
def post_statements() -> Response:
    credential = require(WRITE_STATEMENTS)
    params.no_parameters()
    payload, contents = read_statements(g.xapi_version)
    statements = payload if isinstance(payload, list) else [payload]
    ids = current_lrs().statements.store(statements, authority=credential.authority, version=g.xapi_version,
                                         rights=_rights(credential), contents=contents, read_by_client_json=True)
    return _json(json.dumps(ids))


def _rights(credential: Credential) -> WriteRights:
    """Only a credential that reads every statement may void any of them (xAPI leaves who is
    "authorized to void" to the LRS), or learn, by storing the same statement again, what one it
    cannot see holds. Any other writer voids only what it stored itself."""
    sees_others = credential.allows(READ_STATEMENTS) and not credential.reads_only_own
    return WriteRights(define=credential.allows(DEFINE), voids="any" if sees_others else "own",
                       sees_others=sees_others)


@blueprint.get("/statements")
def get_statements() -> Response:
    credential = require(READ_STATEMENTS)
    own_authority = _own_authority(credential)
    args = params.load(GetParams(), request.args, g.xapi_version)
    if "statementId" in args or "voidedStatementId" in args:
        return _single(args, own_authority)
    raw, after_seq = request.args.to_dict(), None
    if "more" in args:
        if len(args) > 1:
            raise BadRequest("parameter 'more': cannot be combined with other parameters")
        raw, after_seq, through = decode_cursor(args["more"])
        if through is not None:  # a later page claims no more than the first (see encode_cursor)
            g.consistent_through = min(g.consistent_through, through)
        args = params.load(GetParams(), raw, g.xapi_version)
    return _page(args, raw, after_seq, own_authority)


def _own_authority(credential: Credential) -> dict | None:
    """The authority a statements/read/mine credential's reads are limited to (None: reads all).
    One without an identifier (an anonymous Group) could match nothing, so it may not read."""
    if not credential.reads_only_own:
        return None
    if ifi_key(credential.authority) is None:
        raise Forbidden("this credential's authority has no identifier, so it has no statements of its own to read")
    return credential.authority


def _single(args: dict[str, Any], own_authority: dict | None) -> Response:
    if set(request.args) - SINGLE_ONLY or ("statementId" in args and "voidedStatementId" in args):
        raise BadRequest("statementId or voidedStatementId can only be combined with format and attachments")
    wants_voided = "voidedStatementId" in args
    statement_id = args.get("voidedStatementId") or args["statementId"]
    document = current_lrs().statement_store.get(statement_id)
    if (document is None or document["voided"] != wants_voided
            or (own_authority and document.get("authority") != ifi_key(own_authority))):
        raise NotFound(f"no {'voided ' if wants_voided else ''}statement with id {statement_id}")
    [body] = _formatted([document["raw"]], args.get("format", "exact"))
    response = statements_response(body, [document]) if args.get("attachments") else _json(body)
    response.last_modified = document["stored"]
    return response


def page_query(args: dict[str, Any], after_seq: int | None, page_size: int,
               own_authority: dict | None = None, version: str = "2.0.0") -> StatementQuery:
    """The store query for validated GET parameters (GetParams), from `after_seq` on, for a
    reader speaking `version`."""
    limit = args.get("limit") or page_size
    return StatementQuery(
        agent=ifi_key(args["agent"]) if "agent" in args else None,
        related_agents=args.get("related_agents", False),
        reader_1_0=not is_v2(version),
        verb=args.get("verb"),
        activity=args.get("activity"),
        related_activities=args.get("related_activities", False),
        registration=args.get("registration"),
        since=args.get("since"),
        until=args.get("until"),
        authority=ifi_key(own_authority) if own_authority else None,
        ascending=args.get("ascending", False),
        after_seq=after_seq,
        limit=min(limit, page_size),
    )


def _page(args: dict[str, Any], raw: dict[str, str], after_seq: int | None,
          own_authority: dict | None) -> Response:
    lrs = current_lrs()
    query = page_query(args, after_seq, lrs.settings["statements_page_size"], own_authority, g.xapi_version)
    documents, next_seq = lrs.statement_store.query(query)
    fmt = args.get("format", "exact")
    statements = ",".join(_formatted([document["raw"] for document in documents], fmt))
    more = _encode_more(raw, next_seq) if next_seq is not None else ""
    body = f'{{"statements":[{statements}],"more":{json.dumps(more)}}}'
    response = statements_response(body, documents) if args.get("attachments") else _json(body)
    response.last_modified = max((d["stored"] for d in documents), default=None) or utc_now()
    return response


def _formatted(raws: list[str], fmt: str) -> list[str]:
    """Exact statements are returned as stored text; other formats are rebuilt from it. Either
    way a 1.0.x reader gets 2.0 statements in 1.0 form (lrs.xapi.formats.in_version).

    Canonical statements carry the LRS's canonical Activity definitions (refined from every
    definition received), reduced to one language per map by Accept-Language. A reader whose
    scopes deny it the Activities resource (statements/read/mine alone) gets the definitions its
    statements carry instead, as for an Activity the LRS has no canonical definition of: the
    canonical one holds what other clients wrote, and a 403 would fail a client library's whole
    query when every statement in it is the reader's to see.
    """
    if fmt == "exact":
        return [exact_text(raw, g.xapi_version) for raw in raws]
    statements = [json.loads(raw) for raw in raws]
    if fmt == "canonical" and g.credential.allows(READ_DEFINITIONS):
        current_lrs().activities.canonicalise(statements)
    languages = list(request.accept_languages)  # (range, quality) by preference; quality 0 excludes
    return [json.dumps(format_statement(s, fmt, languages, g.xapi_version), ensure_ascii=False) for s in statements]


def _encode_more(raw: dict[str, str], next_seq: int) -> str:
    return f"{request.script_root}{request.path}?more={encode_cursor(raw, next_seq, g.consistent_through)}"


def encode_cursor(raw: dict[str, str], next_seq: int, through: dt.datetime | None = None) -> str:
    """An opaque cursor: the original parameters, re-validated when it comes back, where to go
    on, and the Consistent-Through of the pages so far. A later page answers no later than that:
    a statement stored meanwhile may sort before the pages still to come and be in none."""
    state = {"q": raw, "after": next_seq, **({"through": format_timestamp(through)} if through else {})}
    token = json.dumps(state, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(token).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dict[str, str], int, dt.datetime | None]:
    """The parameters, the seq to go on after and the Consistent-Through (if any) of a cursor."""
    try:
        state = client_json.loads(base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()))
        raw, after = state["q"], state["after"]
        if not isinstance(raw, dict) or not isinstance(after, int) or "more" in raw:
            raise ValueError
        through = parse_timestamp(state["through"], "2.0.0") if "through" in state else None
    except (ValueError, KeyError, TypeError):  # UnicodeDecodeError and binascii.Error are ValueErrors
        raise BadRequest("parameter 'more': not a cursor this LRS issued") from None
    return raw, after, through


def _json(body: str) -> Response:
    return Response(body, status=200, mimetype="application/json")
