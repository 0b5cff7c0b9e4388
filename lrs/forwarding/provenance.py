"""Provenance: where a forwarded statement came from, kept in a context extension.

Targets offer it as an option (`forward_xapi`: `"provenance": true`); `verify` ignores it. A target sets its own `authority` and `stored` on what it receives (and LRSs must: xAPI
Data 2.4.8/2.4.9), so the source's are lost there unless the statement carries them. With the
target option `"provenance": true` each statement gets, under `context.extensions`,

    "urn:x-lrs:provenance": {"authority": <the source's authority>, "stored": <its stored time>}

Extensions are part of a statement's content: switch it on before the target first receives a
statement, or resent statements will conflict with the copies it holds without it (409).
"""
from __future__ import annotations

from lrs.forwarding.contract import Outgoing

EXTENSION = "urn:x-lrs:provenance"


def with_provenance(item: Outgoing) -> dict:
    """The statement with the source's authority and stored time in its context extensions."""
    statement = item.statement
    context = statement.get("context") or {}
    origin = {key: statement[key] for key in ("authority", "stored") if key in statement}
    extensions = {**(context.get("extensions") or {}), EXTENSION: origin}
    return {**statement, "context": {**context, "extensions": extensions}}


def without_provenance(statement: dict) -> dict:
    """The statement as it was before `with_provenance` (for comparisons)."""
    context = dict(statement.get("context") or {})
    extensions = {k: v for k, v in (context.get("extensions") or {}).items() if k != EXTENSION}
    if extensions:
        context["extensions"] = extensions
    else:
        context.pop("extensions", None)
    stripped = {k: v for k, v in statement.items() if k != "context"}
    return {**stripped, "context": context} if context else stripped
