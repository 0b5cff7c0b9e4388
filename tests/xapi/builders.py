"""Statement builders shared by the xAPI model tests."""
from __future__ import annotations

import copy
from typing import Any

AGENT = {"objectType": "Agent", "name": "Ann", "mbox": "mailto:ann@example.com"}
VERB = {"id": "http://adlnet.gov/expapi/verbs/attended", "display": {"en-US": "attended", "en-GB": "attended"}}
ACTIVITY = {"objectType": "Activity", "id": "http://example.com/activities/meeting",
            "definition": {"name": {"en-US": "Meeting"}, "description": {"en-US": "A meeting"},
                           "type": "http://adlnet.gov/expapi/activities/meeting"}}
SHA256 = "495395e777cd98da653df9615d09c0fd6bb2f8d4788394cd53c56a3bfdcd848a"


def statement(**changes: Any) -> dict:
    """A minimal valid statement, with top-level properties replaced or added."""
    base = {"actor": AGENT, "verb": VERB, "object": ACTIVITY}
    return copy.deepcopy({**base, **changes})


def substatement(**changes: Any) -> dict:
    return statement(object={"objectType": "SubStatement", "actor": AGENT, "verb": VERB, "object": ACTIVITY,
                             **changes})


def at(document: dict, path: str, value: Any) -> dict:
    """A copy of `document` with the value at dotted `path` set (or removed when value is DELETE)."""
    document = copy.deepcopy(document)
    *parents, last = path.split(".")
    target = document
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    if value is DELETE:
        del target[last]
    elif isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return document


DELETE = object()
