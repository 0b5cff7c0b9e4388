"""The Statement as the LRS stores it: the properties the LRS sets or normalises (Data 2.4).

Set: id (when absent), stored, authority (always overwritten by the credential's), version (when
absent: "1.0.0" for 1.0.x requests, "2.0.0" for 2.0.x ones), timestamp (when absent: stored).
Normalised: timestamps to UTC with millisecond precision (2.0 requires converting to UTC; 1.0.3
allows returning another zone for the same instant), every contextActivities value to an array
(Data 2.4.6.2), and UUIDs (id, registration, StatementRef ids) to lowercase, so a query parameter,
which is lowercased too, finds them. The input is never mutated; unchanged parts are shared.
"""
from __future__ import annotations

import datetime as dt
import uuid

from lrs.xapi.timestamps import format_timestamp, parse_timestamp
from lrs.xapi.versions import is_v2


def prepare_statement(statement: dict, *, authority: dict, version: str) -> dict:
    """The validated `statement` as it will be stored and returned with format=exact, but for the
    times the LRS sets when it stores it (`stored_times`)."""
    prepared = _prepare_body(statement, version)
    prepared.pop("stored", None)
    prepared["id"] = statement["id"].lower() if "id" in statement else str(uuid.uuid4())
    prepared["authority"] = authority
    prepared.setdefault("version", "2.0.0" if is_v2(version) else "1.0.0")
    return prepared


def stored_times(prepared: dict, stored: dt.datetime) -> dict[str, str]:
    """What a prepared statement gains once stored: `stored`, and `timestamp` when it has none.

    Apart from prepare_statement because the store picks the time: it gives a batch its stored
    time where it orders it, so that stored times rise in the order statements become visible."""
    stored_text = format_timestamp(stored)
    return {"stored": stored_text} if "timestamp" in prepared else {"stored": stored_text, "timestamp": stored_text}


def _prepare_body(statement: dict, version: str) -> dict:
    """A shallow copy with timestamp, object and context normalised; shared by SubStatements."""
    prepared = dict(statement)
    if statement.get("timestamp") is not None:
        prepared["timestamp"] = format_timestamp(parse_timestamp(statement["timestamp"], version))
    elif "timestamp" in statement:
        del prepared["timestamp"]  # a 2.0 null timestamp: "not given" (see validation._statement_body)
    obj = statement["object"]
    object_type = obj.get("objectType")
    if object_type == "SubStatement":
        prepared["object"] = _prepare_body(obj, version)
    elif object_type == "StatementRef":
        prepared["object"] = {**obj, "id": obj["id"].lower()}
    if "context" in statement:
        prepared["context"] = _prepare_context(statement["context"])
    return prepared


def _prepare_context(context: dict) -> dict:
    prepared = dict(context)
    if "registration" in context:
        prepared["registration"] = context["registration"].lower()
    if "statement" in context:
        prepared["statement"] = {**context["statement"], "id": context["statement"]["id"].lower()}
    if "contextActivities" in context:
        prepared["contextActivities"] = {
            kind: value if type(value) is list else [value]
            for kind, value in context["contextActivities"].items()}
    return prepared
