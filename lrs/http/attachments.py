"""Statement requests and responses that carry attachments (Communication 1.5.2, Data 2.4.11, 2.6).

A PUT or POST of statements is JSON, or multipart/mixed whose first part is the statements' JSON
and whose other parts are attachment contents named by their sha2. The LRS decides on the first
part alone, so the statements are validated before any content is read; each content part is
then streamed into the attachment store while it is hashed, checked against the declared sha2s,
and kept once per sha2. Signatures are verified last, from the stored content. Each content is
held for the request until its response (`AttachmentStore.save`), so that an erasure running
meanwhile cannot remove a content the request's statements are about to use. Then the contents
it saved that no statement uses (the request was refused, or all its statements were stored
already) are erased like an erasure's, unless another request holds them: nothing would ever
serve or erase them, and they are what a learner sent.

GET with attachments=true answers multipart/mixed too: the statements' JSON, then the stored
contents that came with them, streamed from the store. Each part is headed with the sha2 and
contentType a statement declares, as it wrote them: a part's headers must match its attachment's
properties (Communication 1.5.2), in requests, which are refused otherwise, and in answers.
"""
from __future__ import annotations

import json
import logging
from email.message import Message
from typing import Any, Iterable

from bson import ObjectId
from flask import Response, after_this_request, request
from werkzeug.http import parse_options_header

from lrs.core import LRS
from lrs.erasure import erase_unused_contents
from lrs.errors import BadRequest, ItemErrors, PayloadTooLarge
from lrs.http.body import JSON_TYPES, parse_json, refuse_content_coding, require_utf8
from lrs.http.context import current_lrs
from lrs.http.multipart import MultipartReader, MultipartWriter, OutPart, Part, attachment_parts
from lrs.signatures import InvalidSignature, check_signature_attachment, is_signature, verify_signature
from lrs.statements import require_unique_ids
from lrs.store.attachments import ContentMismatch
from lrs.xapi.attachments import declared_attachments

log = logging.getLogger(__name__)

MULTIPART = "multipart/mixed"
HASH_HEADER = "x-experience-api-hash"
IDENTITY_ENCODINGS = ("binary", "8bit", "7bit")  # RFC 2045 6.2: the content is as it is sent


def read_statements(version: str, put_id: str | None = None) -> tuple[Any, frozenset[str]]:
    """The statements payload of a PUT or POST, its attachment contents stored and checked, and
    the sha2s of the contents received (the ones to serve with these statements). A PUT's body
    (`put_id`: its statementId) must be one statement of that id, or of none: then its signature
    is checked as the statement of `put_id` it is stored as."""
    lrs = current_lrs()
    refuse_content_coding("the statements")
    if request.mimetype == MULTIPART:
        payload, received = _read_multipart(lrs, version, put_id)
    elif not request.mimetype or request.mimetype in JSON_TYPES:
        require_utf8(request.content_type, "request body")
        payload, received = parse_json(request.get_data(cache=False), unique_keys=True), set()
        _check_put(payload, put_id)
    else:
        raise BadRequest(f"Content-Type {request.mimetype!r} is not supported for statements; "
                         f"use application/json, or {MULTIPART} to send attachment contents")
    statements = _as_list(payload)
    _require_contents(statements, received)
    if put_id is not None and "id" not in payload:
        statements = [{**payload, "id": put_id}]
    _verify_signatures(statements, received, lrs, version)
    return payload, frozenset(received)


def _check_put(payload: Any, put_id: str | None) -> None:
    """A PUT's body is one statement of the id its statementId names (when it gives one)."""
    if put_id is None:
        return
    if not isinstance(payload, dict):
        raise BadRequest("PUT statements takes one Statement object")
    if "id" in payload and str(payload["id"]).lower() != put_id:
        raise BadRequest("statement.id: must equal the statementId parameter")


def _read_multipart(lrs: LRS, version: str, put_id: str | None) -> tuple[Any, set[str]]:
    boundary = _boundary()
    request.limit_body(lrs.settings["max_attachment_request_bytes"], "LRS_MAX_ATTACHMENT_REQUEST_BYTES")
    parts = MultipartReader(request.stream, boundary).parts()
    first = next(parts, None)
    if first is None:
        raise BadRequest("multipart body: has no parts; the first part must hold the statements")
    if _media_type(first.headers.get("content-type")) not in JSON_TYPES:
        raise BadRequest("multipart body: the first part must have Content-Type application/json "
                         "and hold the statements")
    _check_encoding(first, "multipart part 1", IDENTITY_ENCODINGS)
    require_utf8(first.headers.get("content-type"), "multipart part 1 (the statements)")
    payload = parse_json(first.read(lrs.settings["max_body_bytes"], "the statements part"), "the statements part",
                         unique_keys=True)
    _check_put(payload, put_id)  # decided on the first part, as the rest: no content is read for a refused PUT
    statements = _as_list(payload)
    errors = lrs.statements.check(statements, version, read_by_client_json=True)
    if errors:
        raise ItemErrors(errors)
    require_unique_ids(statements)
    declared = _declared(statements)
    limit = lrs.settings["max_attachment_parts"]
    needed = len(_needed(statements))
    if needed > limit:
        raise PayloadTooLarge(f"the statements need {needed} attachment contents; a request may carry at most "
                              f"{limit} (LRS_MAX_ATTACHMENT_PARTS): send smaller batches")
    saved: set[str] = set()
    holder = _holder(lrs, declared, saved)
    received = set()
    for number, part in enumerate(parts, start=2):
        if number - 1 > limit:
            raise PayloadTooLarge(f"multipart body: more than {limit} attachment parts (LRS_MAX_ATTACHMENT_PARTS)")
        received.add(_save_part(lrs, part, number, declared, holder, saved))
    return payload, received


def _boundary() -> str:
    """The request's one boundary parameter. Given twice, readers differ on which one frames the
    body (werkzeug takes the last, others the first), so a proxy could check other parts than the
    LRS reads; the stdlib's parameter list keeps both, where werkzeug's dict keeps one."""
    message = Message()
    message["Content-Type"] = request.headers.get("Content-Type", "")
    given = [name for name, _ in message.get_params([])[1:] if name.rstrip("*") == "boundary"]
    if len(given) > 1:
        raise BadRequest(f"Content-Type {MULTIPART}: the boundary parameter is given {len(given)} times; "
                         "a parameter is given once (RFC 6838 4.3)")
    boundary = request.mimetype_params.get("boundary")
    if not boundary:
        raise BadRequest(f"Content-Type {MULTIPART}: the boundary parameter is missing")
    return boundary


def _holder(lrs: LRS, declared: dict[str, list[tuple[str, dict]]], saved: set[str]) -> ObjectId:
    """The id this request holds its contents under, released once its statements are stored
    (or it failed): after the view, whatever it answered. Then those of the `saved` contents
    that no statement uses are erased (see the module docstring)."""
    holder = ObjectId()

    @after_this_request
    def release(response: Response) -> Response:
        try:
            lrs.attachments.release(declared, holder)
        except Exception as error:  # the answer stands: a hold left behind lapses (STALE_UPLOAD)
            log.warning("could not release this request's hold on its attachment contents: %s", error)
            return response
        try:
            erase_unused_contents(lrs, saved)
        except Exception as error:  # the answer stands; such contents stay (the embedded store's start erases them)
            log.warning("could not erase the attachment contents no statement of this request uses: %s", error)
        return response

    return holder


def _save_part(lrs: LRS, part: Part, number: int, declared: dict[str, list[tuple[str, dict]]],
               holder: ObjectId, saved: set[str]) -> str:
    """Store one content part (adding its sha2 to `saved` once it is, whatever is checked after);
    returns its sha2. Every check but the hash itself comes first."""
    where = f"multipart part {number}"
    sha2 = part.headers.get(HASH_HEADER, "").lower()
    if not sha2:
        raise BadRequest(f"{where}: the X-Experience-API-Hash header is missing")
    if sha2 not in declared:
        raise BadRequest(f"{where}: X-Experience-API-Hash {sha2} is not the sha2 of any attachment "
                         "of the statements")
    _check_encoding(part, where, ("binary",))
    # Both are plain HTTP field values already: part header lines are checked as they are read
    # (multipart._parse_headers), and a contentType by the statement's validation.
    content_type = _content_type(part, where, declared[sha2])
    attachment = declared[sha2][0][1]
    try:
        length = lrs.attachments.save(sha2, part.chunks(), content_type, holder)
    except ContentMismatch as error:
        raise BadRequest(f"{where}: {error}; a part's content must hash to its X-Experience-API-Hash "
                         "(xAPI Communication 1.5.2)") from None
    saved.add(sha2)
    header_length = part.headers.get("content-length")
    if header_length is not None and not header_length == str(length) == str(attachment.get("length")):
        raise BadRequest(f"{where}: Content-Length {header_length}, {length} bytes received and the attachment's "
                         f"length {attachment.get('length')} must all agree")
    return sha2


def _check_encoding(part: Part, where: str, allowed: tuple[str, ...]) -> None:
    """Parts are read as they come, never decoded: a part declaring another encoding (base64,
    quoted-printable) would be stored as its encoded text. xAPI requires binary for contents
    (Communication 1.5.2); the statements part may also say 7bit or 8bit, which change nothing."""
    encoding = part.headers.get("content-transfer-encoding", "binary")
    if encoding.lower() not in allowed:
        raise BadRequest(f"{where}: Content-Transfer-Encoding must be {' or '.join(allowed)}, not {encoding!r}")


def _content_type(part: Part, where: str, declarations: list[tuple[str, dict]]) -> str:
    """The part's Content-Type, which must match the contentType of an attachment it is the
    content of (Communication 1.5.2: "the value of these parameters and properties MUST match"),
    or that contentType when the part has none (a Content-Type is only recommended)."""
    content_type = part.headers.get("content-type")
    if not content_type:
        return declarations[0][1]["contentType"]
    if not any(_matches(content_type, attachment["contentType"]) for _, attachment in declarations):
        path, attachment = declarations[0]
        raise BadRequest(f"{where}: Content-Type {content_type!r} does not match the contentType "
                         f"{attachment['contentType']!r} of {path}; a part's Content-Type must match the "
                         "contentType of its attachment (xAPI Communication 1.5.2): the same type and "
                         "subtype, and only parameters the contentType gives, with its values")
    return content_type


def _matches(part_type: str, content_type: str) -> bool:
    """Whether a part's Content-Type matches an attachment's contentType: case, spacing and
    quoting aside, the same type and subtype, and each parameter the part gives is the
    contentType's. The part may leave parameters out: the spec's own example request
    (Communication 1.5.2) heads the content of a `text/plain; charset=ascii` attachment with
    `Content-Type:text/plain`, and an LRS must accept requests in that format."""
    part_mimetype, part_params = _media_type_key(part_type)
    mimetype, params = _media_type_key(content_type)
    return part_mimetype == mimetype and part_params <= params


def _media_type_key(value: str) -> tuple[str, frozenset[tuple[str, str]]]:
    mimetype, params = parse_options_header(value)
    return mimetype.lower(), frozenset((name.lower(), param.lower()) for name, param in params.items())


def _needed(statements: list) -> set[str]:
    """The sha2s of the attachments without a fileUrl: their contents must come with the request."""
    return {attachment["sha2"].lower() for _, _, attachment in _attachments(statements)
            if "fileUrl" not in attachment and isinstance(attachment.get("sha2"), str)}


def _require_contents(statements: list, received: set[str]) -> None:
    """Every attachment without a fileUrl must have had its content in this request."""
    for _, path, attachment in _attachments(statements):
        sha2 = attachment.get("sha2")
        if "fileUrl" not in attachment and isinstance(sha2, str) and sha2.lower() not in received:
            how = ("was not among the parts" if request.mimetype == MULTIPART
                   else f"must be sent in a {MULTIPART} request")
            raise BadRequest(f"{path}: has no fileUrl, so its content (X-Experience-API-Hash {sha2}) {how}")


def _verify_signatures(statements: list, received: set[str], lrs: LRS, version: str) -> None:
    """Signature attachments are checked; those whose JWS came with the request are verified."""
    limit = lrs.settings["max_body_bytes"]
    # A JWS signs the statement it is attached to (Data 2.6): a SubStatement's attachments are contents.
    for statement, path, attachment in _attachments(statements, substatements=False):
        if not is_signature(attachment):
            continue
        try:
            check_signature_attachment(attachment)
            sha2 = str(attachment.get("sha2", "")).lower()
            if sha2 in received:
                content = lrs.attachments.read(sha2, limit)
                if content is None:
                    raise InvalidSignature(f"a JWS larger than {limit} bytes is not accepted")
                verify_signature(statement, content, version)
        except InvalidSignature as error:
            raise BadRequest(f"{path}: {error}") from None


def statements_response(body: str, documents: list[dict]) -> Response:
    """multipart/mixed: the statements JSON `body`, then the stored contents that came with these
    statement `documents`, each headed with the sha2 and contentType its statements declare."""
    served = [attachment for document in documents for attachment in _served(document)]
    stored = current_lrs().attachments.stored(attachment["sha2"] for attachment in served)
    data = body.encode("utf-8")
    parts = [OutPart({"Content-Type": "application/json"}, len(data), lambda: [data]),
             *attachment_parts(served, stored)]
    writer = MultipartWriter(parts)
    response = Response(iter(writer), status=200, content_type=writer.content_type)
    response.content_length = writer.length
    return response


def _served(document: dict) -> list[dict]:
    """The attachment objects of a stored statement whose content came with it (its `attachments`
    field): a sha2 it merely declares, with a fileUrl, must not serve another statement's content."""
    if not document["attachments"]:
        return []
    received = {sha2.lower() for sha2 in document["attachments"]}
    attachments = [attachment for _, attachment in declared_attachments(json.loads(document["raw"]))]
    return [attachment for attachment in attachments if attachment["sha2"].lower() in received]


def _as_list(payload: Any) -> list:
    return payload if isinstance(payload, list) else [payload]


def _attachments(statements: list, substatements: bool = True) -> Iterable[tuple[dict, str, dict]]:
    """(statement, JSON path, attachment) of every attachment object, a SubStatement's included
    unless `substatements` is false, skipping what validation rejects anyway."""
    for index, statement in enumerate(statements):
        for where, attachment in declared_attachments(statement):
            if substatements or not where.startswith(".object."):
                yield statement, f"statement[{index}]{where}", attachment


def _declared(statements: list) -> dict[str, list[tuple[str, dict]]]:
    """The attachment objects declaring each sha2 (lower-cased, as parts are matched by the
    digest, whatever case either side writes it in), with their JSON paths, for checking parts."""
    declared: dict[str, list[tuple[str, dict]]] = {}
    for _, path, attachment in _attachments(statements):
        declared.setdefault(str(attachment.get("sha2")).lower(), []).append((path, attachment))
    return declared


def _media_type(value: str | None) -> str:
    return (value or "").split(";")[0].strip().lower()
