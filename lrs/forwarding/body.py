"""The request body for a batch: JSON, or multipart/mixed when statements carry attachments.

xAPI wants the attachment contents in the same request as the statements (Communication 1.5.2);
contents are streamed from the attachment store part by part, never held whole in memory.
"""
from __future__ import annotations

import json
from typing import Iterable, Iterator

from lrs.forwarding.contract import Outgoing
from lrs.http.multipart import MultipartWriter, OutPart, attachment_parts
from lrs.xapi.attachments import declared_attachments


class RequestBody:
    """Iterable bytes of known length, so HTTP clients send a Content-Length, not chunks."""

    def __init__(self, content_type: str, length: int, chunks: Iterable[bytes]):
        self.content_type = content_type
        self.length = length
        self._chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._chunks)

    def __len__(self) -> int:
        return self.length


def statements_body(statements: list[dict], batch: list[Outgoing]) -> RequestBody:
    """`statements` (the batch's statements as they are to be sent) and the contents of their
    attachments; contents of statements a transformation left out are not sent."""
    data = json.dumps(statements, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    contents = {content.sha2: content for item in batch for content in item.attachments}
    declared = [attachment for statement in statements for _, attachment in declared_attachments(statement)]
    attachments = attachment_parts(declared, contents)
    if not attachments:
        return RequestBody("application/json", len(data), [data])
    writer = MultipartWriter([OutPart({"Content-Type": "application/json"}, len(data), lambda: [data]), *attachments])
    return RequestBody(writer.content_type, writer.length, writer)
