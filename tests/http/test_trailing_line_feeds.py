"""A value with one trailing line feed is refused wherever a format is checked.

Python's `$` also matches before a final "\\n", so a pattern anchored with it and applied with
`match` lets "http://example.com/v\\n" pass as an IRI. One case per family of checked value, in a
statement and in query parameters, each a 400 naming the field.
"""
from __future__ import annotations

import copy
import hashlib
from typing import Any, Callable
from urllib.parse import quote

import pytest

AGENT = '{"mbox": "mailto:ada@example.com"}'
IRI = "http://example.com/v\n"
CONTENT = b"essay"
ATTACHMENT = {"usageType": "http://example.com/usage", "display": {"en-US": "essay"}, "contentType": "text/plain",
              "length": len(CONTENT), "sha2": hashlib.sha256(CONTENT).hexdigest(),
              "fileUrl": "http://example.com/essay.txt"}


def statement() -> dict:
    return {"actor": {"mbox": "mailto:ada@example.com"}, "verb": {"id": "http://example.com/verbs/wrote"},
            "object": {"id": "http://example.com/activities/1", "definition": {"type": "http://example.com/t"}},
            "attachments": [copy.deepcopy(ATTACHMENT)]}


def setting(*keys: Any, value: Any = None) -> Callable[[dict], None]:
    """Sets the value at a path of keys in a statement (the last key with a trailing line feed
    added to its current value unless `value` is given)."""
    def change(body: dict) -> None:
        holder = body
        for key in keys[:-1]:
            holder = holder.setdefault(key, {}) if isinstance(key, str) else holder[key]
        holder[keys[-1]] = value if value is not None else holder[keys[-1]] + "\n"
    return change


def renaming(*keys: Any, new: str, value: Any) -> Callable[[dict], None]:
    """Adds a property whose key carries the trailing line feed (extension keys, language tags)."""
    def change(body: dict) -> None:
        holder = body
        for key in keys:
            holder = holder.setdefault(key, {}) if isinstance(key, str) else holder[key]
        holder[new] = value
    return change


STATEMENT_FIELDS = [
    # IRIs and URIs
    ("verb.id", setting("verb", "id")),
    ("object.id", setting("object", "id")),
    ("object.definition.type", setting("object", "definition", "type")),
    ("object.definition.moreInfo", setting("object", "definition", "moreInfo", value="http://example.com/m\n")),
    ("object.definition.extensions.http://example.com/x\n",
     renaming("object", "definition", "extensions", new="http://example.com/x\n", value=1)),
    ("context.contextActivities.parent.id", setting("context", "contextActivities", "parent", value={"id": IRI})),
    ("context.extensions.http://example.com/x\n", renaming("context", "extensions", new="http://example.com/x\n",
                                                          value=1)),
    ("result.extensions.http://example.com/x\n", renaming("result", "extensions", new="http://example.com/x\n",
                                                         value=1)),
    ("actor.account.homePage", setting("actor", value={"account": {"homePage": IRI, "name": "ada"}})),
    ("actor.openid", setting("actor", value={"openid": IRI})),
    ("attachments[0].usageType", setting("attachments", 0, "usageType")),
    ("attachments[0].fileUrl", setting("attachments", 0, "fileUrl")),
    # Agents' other identifiers
    ("actor.mbox", setting("actor", "mbox")),
    ("actor.mbox_sha1sum", setting("actor", value={"mbox_sha1sum": "a" * 40 + "\n"})),
    # Language tags
    ("context.language", setting("context", "language", value="en-US\n")),
    ("verb.display.en-US\n", renaming("verb", "display", new="en-US\n", value="wrote")),
    # Timestamps, durations, UUIDs, versions
    ("timestamp", setting("timestamp", value="2024-01-02T03:04:05Z\n")),
    ("result.duration", setting("result", "duration", value="PT1H\n")),
    ("id", setting("id", value="c51570e4-f8ed-4c18-bb3a-dfe51b2cc594\n")),
    ("context.registration", setting("context", "registration", value="c51570e4-f8ed-4c18-bb3a-dfe51b2cc594\n")),
    ("context.statement.id", setting("context", "statement", value={
        "objectType": "StatementRef", "id": "c51570e4-f8ed-4c18-bb3a-dfe51b2cc594\n"})),
    ("version", setting("version", value="1.0.3\n")),
    # Attachments' hash and content type
    ("attachments[0].sha2", setting("attachments", 0, "sha2")),
    ("attachments[0].contentType", setting("attachments", 0, "contentType")),
]


def test_the_unchanged_statement_is_accepted(client, xapi_headers):
    assert client.post("/xapi/statements", json=statement(), headers=xapi_headers).status_code == 200


@pytest.mark.parametrize("version", ["1.0.3", "2.0.0"])
@pytest.mark.parametrize("field, change", STATEMENT_FIELDS, ids=[field for field, _ in STATEMENT_FIELDS])
def test_a_trailing_line_feed_in_a_statement_is_a_400_naming_the_field(client, xapi_headers, version, field, change):
    body = statement()
    change(body)
    response = client.post("/xapi/statements", json=body, headers={**xapi_headers, "X-Experience-API-Version": version})
    assert response.status_code == 400, field
    assert response.get_json()["error"]["message"].startswith(f"statement[0].{field}: ")
    assert client.get("/xapi/statements", headers=xapi_headers).get_json()["statements"] == []


def test_the_reported_repro_is_a_400(client, xapi_headers):
    body = {"actor": {"mbox": "mailto:a@example.com"}, "verb": {"id": "http://example.com/v\n"},
            "object": {"id": "http://example.com/o\n"}}
    response = client.post("/xapi/statements", json=body, headers=xapi_headers)
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == "statement[0].verb.id: must be an IRI"


STATE = f"/xapi/activities/state?activityId=http://example.com/a&agent={quote(AGENT)}&stateId=s"
PARAMETERS = [
    ("/xapi/statements?verb=", "verb", IRI),
    ("/xapi/statements?activity=", "activity", IRI),
    ("/xapi/statements?registration=", "registration", "c51570e4-f8ed-4c18-bb3a-dfe51b2cc594\n"),
    ("/xapi/statements?statementId=", "statementId", "c51570e4-f8ed-4c18-bb3a-dfe51b2cc594\n"),
    ("/xapi/statements?since=", "since", "2024-01-02T03:04:05Z\n"),
    ("/xapi/statements?agent=", "agent", '{"mbox": "mailto:ada@example.com\\n"}'),
    ("/xapi/activities?activityId=", "activityId", IRI),
    (f"/xapi/activities/state?agent={quote(AGENT)}&stateId=s&activityId=", "activityId", IRI),
    ("/xapi/activities/profile?profileId=p&activityId=", "activityId", IRI),
    ("/xapi/activities/profile?activityId=http://example.com/a&since=", "since", "2024-01-02T03:04:05Z\n"),
    (STATE + "&registration=", "registration", "c51570e4-f8ed-4c18-bb3a-dfe51b2cc594\n"),
    ("/xapi/agents/profile?profileId=p&agent=", "agent", '{"openid": "http://example.com/ada\\n"}'),
]


@pytest.mark.parametrize("path, name, value", PARAMETERS, ids=[path.split("?")[0] + ":" + name
                                                               for path, name, _ in PARAMETERS])
def test_a_trailing_line_feed_in_a_parameter_is_a_400_naming_it(client, xapi_headers, path, name, value):
    response = client.get(path + quote(value), headers=xapi_headers)
    assert response.status_code == 400
    assert response.get_json()["error"]["message"].startswith(f"parameter {name!r}: ")


def test_a_document_under_an_activity_id_with_a_line_feed_is_not_stored(client, xapi_headers):
    path = f"/xapi/activities/state?agent={quote(AGENT)}&stateId=s&activityId={quote(IRI)}"
    response = client.put(path, json={"a": 1}, headers=xapi_headers)
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == "parameter 'activityId': must be an IRI"
