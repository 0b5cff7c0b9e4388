"""The attachment objects a statement declares: its own and its SubStatement's.

A SubStatement is validated as a Statement (Data 2.4.4.3), attachments included, and the spec
only recommends moving its attachments up to the statement (Data 2.4.11). Whatever declares the
content of an attachment without a fileUrl, that content travels in the request and is served
with the statement (Communication 1.5.2), so everything that matches contents to attachments reads
them here.
"""
from __future__ import annotations

from typing import Any, Iterator


def declared_attachments(statement: Any) -> Iterator[tuple[str, dict]]:
    """(JSON path below the statement, attachment object) of each attachment object the statement
    and its SubStatement declare, in that order, skipping what validation rejects anyway."""
    obj = statement.get("object") if isinstance(statement, dict) else None
    substatement = obj if isinstance(obj, dict) and obj.get("objectType") == "SubStatement" else None
    for where, body in (("", statement), (".object", substatement)):
        attachments = body.get("attachments") if isinstance(body, dict) else None
        if isinstance(attachments, list):
            for position, attachment in enumerate(attachments):
                if isinstance(attachment, dict):
                    yield f"{where}.attachments[{position}]", attachment
