"""What the three document resources (State, Activity Profile, Agent Profile) share.

Each resource (see `state` and `profiles`) says how its parameters name a document and a set of
documents; this module holds the common behaviour: content stored byte for byte with its
Content-Type, JSON merge on POST, strong SHA-1 ETags, Last-Modified, and the concurrency rules of
Communication 3.1, which differ by version:

- If-Match (strong comparison) and If-None-Match (weak comparison) are honoured on PUT, POST and
  DELETE (412 when they fail), and If-Unmodified-Since on every method; a GET or HEAD answers its
  preconditions as RFC 9110 13.2.2 orders them (see `lrs.http.conditional`), a 304 included.
- A PUT without either header creates a missing document (204): Communication 3.1 puts the
  header requirement on the client, and TinCanPython and xAPI.js create profiles that way. For an
  existing document it answers 409 on all three resources in xAPI 2.0 and on the profile resources
  in xAPI 1.0.3, where the State resource keeps its overwrite rule. The ADL 1.0.3 conformance suite
  reads the client's duty as the LRS's and wants 400 for a header-less profile PUT that would create;
  LRS_PROFILE_PUT_REQUIRES_PRECONDITION gives that behaviour to operators who need it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any, Callable

from flask import Blueprint, Response, g, request
from marshmallow import ValidationError, fields
from werkzeug.http import parse_options_header

from lrs.errors import BadRequest, NotFound
from lrs.http import params
from lrs.http.auth import require
from lrs.http.body import parse_json, refuse_content_coding
from lrs.http.conditional import answer_read, etags, require_unmodified, unmodified_since
from lrs.http.context import current_lrs
from lrs.http.fields import echoable, field_value
from lrs.statements import utc_now
from lrs.store.documents import DocumentKey, Preconditions, Scope, StoredDocument, etag_of
from lrs.xapi.agents import ifi_key
from lrs.xapi.versions import is_v2

JSON_TYPE = "application/json"
DEFAULT_TYPE = "application/octet-stream"
# A document's record holds its ids and Content-Type beside a content of up to 15 MiB (INLINE_LIMIT),
# in MongoDB's 16 MiB. Through `lrs serve`, whose request line and headers take at most 256 KiB,
# only the alternate syntax's parameters, sent in the body, can reach these.
ID_ROOM = 256 * 1024
TYPE_ROOM = 64 * 1024
# A document goes back with the Content-Type its writer chose. Opened in a browser (a cross-site
# page can make one GET it: a form POST in the alternate syntax carrying the page's own
# credentials), text/html or image/svg+xml would run its scripts in the LRS's origin, beside the
# console and the admin API. A sandboxed document has an origin of its own and runs no script;
# clients reading it with XHR, fetch or any HTTP library ignore both headers.
CONTAINED = {"Content-Security-Policy": "default-src 'none'; sandbox", "X-Content-Type-Options": "nosniff"}
# Why a merge refuses an object that repeats a key, where a PUT stores it byte for byte: Communication
# 2.2 sets each posted key on the stored object and stores the LRS's own serialization, which would
# keep one of the values silently, and which one is meant RFC 8259 4 leaves to each reader.
MERGE_KEYS = ("RFC 8259 4 leaves which of its values is meant to each reader, and a merge, which writes the "
              "document anew, would keep one silently")


class AgentParam(params.AgentJSON):
    """An Agent given as JSON; documents belong to an identified Agent, never to a Group."""

    def _check(self, value: str) -> dict:
        agent = super()._check(value)
        if agent.get("objectType", "Agent") != "Agent":
            raise ValidationError("must be an Agent, not a Group (use the Group's identifier in an Agent object)")
        return agent


class DocumentId(fields.String):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not text:
            raise ValidationError("must not be empty")
        return text


@dataclass(frozen=True)
class DocumentResource:
    """One document resource: its kind, its id parameter, its scopes and its parameter rules."""

    kind: str
    id_param: str
    read_scopes: frozenset[str]
    write_scopes: frozenset[str]
    schema: Callable[[str], params.StrictSchema]  # by HTTP method
    key: Callable[[str, dict], DocumentKey]  # (kind, validated args) -> key of one document
    scope: Callable[[str, dict], Scope]  # (kind, validated args) -> the resource's set of documents
    blind_put_in_v1: bool  # whether 1.0.3 lets a PUT without If-Match/If-None-Match overwrite

    def args(self) -> dict:
        args = params.load(self.schema(request.method), request.args, g.xapi_version)
        _within_room(args)
        return args


def _within_room(args: dict) -> None:
    """A 400 unless the document's ids fit in ID_ROOM. The alternate syntax brings parameters in the
    body, up to LRS_MAX_BODY_BYTES: beside a 15 MiB content, ids of 1.5 MiB made a record over
    MongoDB's 16 MiB, and larger ones a query over it (pymongo refuses both: a 500)."""
    ids = {name: value for name, value in args.items() if isinstance(value, str)}
    if "agent" in args:
        ids["agent"] = ifi_key(args["agent"])  # what is stored, not the JSON given
    size = sum(len(value.encode()) for value in ids.values())
    if size > ID_ROOM:
        raise BadRequest(f"parameters {', '.join(sorted(ids))}: {size} bytes together (UTF-8), and a "
                         f"document's ids take at most {ID_ROOM} bytes")


def register(blueprint: Blueprint, path: str, resource: DocumentResource) -> None:
    """GET (and HEAD), PUT, POST and DELETE of `path` for `resource`."""
    blueprint.add_url_rule(path, f"get_{resource.kind}", lambda: get(resource), methods=["GET"])
    blueprint.add_url_rule(path, f"put_{resource.kind}", lambda: put(resource), methods=["PUT"])
    blueprint.add_url_rule(path, f"post_{resource.kind}", lambda: post(resource), methods=["POST"])
    blueprint.add_url_rule(path, f"delete_{resource.kind}", lambda: delete(resource), methods=["DELETE"])


def agent_key(args: dict) -> str:
    return ifi_key(args["agent"])


def get(resource: DocumentResource) -> Response:
    require(resource.read_scopes)
    args = resource.args()
    store = current_lrs().documents
    if resource.id_param not in args:
        listing = store.listing(resource.scope(resource.kind, args), args.get("since"))
        response = Response(_id_list(listing.ids), mimetype=JSON_TYPE)
        response.set_etag(etag_of(response.get_data()))  # as a document's is of its content (Communication 3.1)
        response.last_modified = listing.latest or utc_now()
        return answer_read(response, listing.latest, "the list of ids")
    if "since" in args:  # Communication 3.2: a parameter the resource does not take is a 400
        raise BadRequest(f"parameter 'since': is not a parameter of this resource when {resource.id_param} is "
                         f"given (it filters the list of ids, a GET without {resource.id_param})")
    document = store.get(resource.key(resource.kind, args))
    if document is None:
        raise NotFound(f"no document with {resource.id_param} {args[resource.id_param]!r} here")
    return answer_read(document_response(document), document.updated, "the document")


def put(resource: DocumentResource) -> Response:
    require(resource.write_scopes)
    key = resource.key(resource.kind, resource.args())
    content, content_type = read_content()
    current_lrs().documents.write(key, lambda current: (content, content_type), _put_preconditions(resource),
                                  utc_now())
    return Response(status=204)


def post(resource: DocumentResource) -> Response:
    require(resource.write_scopes)
    key = resource.key(resource.kind, resource.args())
    content, content_type = read_content()
    posted = _mergeable(content, "document") if is_json(content_type) else None
    if is_json(content_type) and not isinstance(posted, dict):
        raise BadRequest(f"POST merges JSON objects: the posted application/json document is a JSON "
                         f"{_json_kind(posted)}, not an object (Communication 2.2); use PUT to store it")

    def merged(current: StoredDocument | None) -> tuple[bytes, str]:
        return (content, content_type) if current is None else merge(current, posted, content_type)

    current_lrs().documents.write(key, merged, preconditions(), utc_now())
    return Response(status=204)


def delete(resource: DocumentResource) -> Response:
    require(resource.write_scopes)
    args = resource.args()
    store = current_lrs().documents
    if resource.id_param in args:
        store.delete(resource.key(resource.kind, args), preconditions())
    else:
        listing, conditions = store.listing(resource.scope(resource.kind, args)), preconditions()
        since = conditions.unmodified_since
        if conditions.if_match is not None or conditions.if_none_match is not None or since is not None:
            # Deleting every document here is a DELETE of the URL whose GET is their id list: its
            # conditions are compared with that list's ETag and Last-Modified (a failing one
            # deletes nothing), and what is deleted is what they were compared on.
            require_unmodified(listing.latest, since, "the list of ids")
            conditions.check(etag_of(_id_list(listing.ids)) if listing.records else None)
        store.delete_listed(listing)
    return Response(status=204)


def _id_list(ids: list[str]) -> bytes:
    return json.dumps(ids).encode()


def merge(current: StoredDocument, posted: Any, content_type: str) -> tuple[bytes, str]:
    """Communication 2.2: both JSON objects -> the stored one with the posted top-level keys set,
    as application/json (RFC 8259 8.1: UTF-8, which a charset the POST named could contradict)."""
    if not is_json(current.content_type) or posted is None:
        raise BadRequest("POST merges JSON: the stored and the posted document must both have Content-Type "
                         f"application/json (stored: {current.content_type!r}, posted: {content_type!r}); "
                         "use PUT to replace the document")
    stored = _mergeable(current.content, "stored document")
    if not isinstance(stored, dict) or not isinstance(posted, dict):
        raise BadRequest("POST merges JSON objects: the stored and the posted document must both be objects; "
                         "use PUT to replace the document")
    text = json.dumps({**stored, **posted}, ensure_ascii=False, separators=(",", ":"))
    return text.encode("utf-8"), JSON_TYPE  # the LRS's own UTF-8 text, whatever charset the POST named


def _mergeable(content: bytes, what: str) -> Any:
    return parse_json(content, what, unique_keys=True, unique_rule=MERGE_KEYS)


def read_content() -> tuple[bytes, str]:
    """The request's document exactly as sent, and its Content-Type (JSON must parse; a content
    coding is a 415)."""
    refuse_content_coding("the document")
    content_type = field_value(request.headers.get("Content-Type") or DEFAULT_TYPE, "Content-Type")
    if len(content_type) > TYPE_ROOM:  # latin-1, one byte a character; the same room reason as ids
        raise BadRequest(f"Content-Type: {len(content_type)} bytes long, and a document's is at most {TYPE_ROOM}")
    content = request.get_data(cache=False)
    if is_json(content_type):
        parse_json(content, "document")
    return content, content_type


def _json_kind(value: Any) -> str:
    return {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(type(value), "number")


def is_json(content_type: str) -> bool:
    return parse_options_header(content_type)[0].lower() == JSON_TYPE


def preconditions() -> Preconditions:
    """If-Match compares ETags strongly, If-None-Match weakly (RFC 9110 13.1.1, 13.1.2): If-Match
    guards a change made to one exact representation, which only a strong tag names, while
    If-None-Match asks whether the client's copy is still current, which a weak tag can say."""
    return Preconditions(etags("If-Match"), etags("If-None-Match", weak=True), unmodified_since=unmodified_since())


def _put_preconditions(resource: DocumentResource) -> Preconditions:
    """The store checks "exists" atomically with the write, so two blind PUTs cannot both create."""
    guarded = is_v2(g.xapi_version) or not resource.blind_put_in_v1
    strict = not is_v2(g.xapi_version) and current_lrs().settings["profile_put_requires_precondition"]
    return replace(preconditions(), refuse_blind_overwrite=guarded,
                   refuse_blind_create=strict and not resource.blind_put_in_v1)


def document_response(document: StoredDocument) -> Response:
    response = Response(document.content, status=200, content_type=echoable(document.content_type, DEFAULT_TYPE))
    response.set_etag(document.etag)
    response.last_modified = document.updated
    response.headers.update(CONTAINED)
    return response
