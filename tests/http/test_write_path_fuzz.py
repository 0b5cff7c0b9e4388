"""Property-based test of the write path: generated statements over real HTTP never get a 5xx,
a batch is stored whole or not at all, and nothing is left pending after any request.

The values come from everywhere JSON allows (integers of any size, floats up to infinity, every
code point including lone surrogates, deep nesting) and land where statements carry client
values: names, language maps, extensions, scores, responses; sometimes a whole property is
replaced by one.
"""
from __future__ import annotations

import json
import uuid
from typing import Any, Iterator

import pytest
import requests
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from lrs.app import create_app
from tests.conftest import ADMIN_KEY, ADMIN_SECRET, LiveServer, app_settings

HEADERS = {"X-Experience-API-Version": "1.0.3", "Content-Type": "application/json"}
EXAMPLES = 300

# Biased towards what storage cannot hold: lone surrogates, NUL, integers past 64 bits, infinity.
strings = st.text(st.characters(blacklist_categories=()) | st.sampled_from(["\ud800", "\udfff", "\x00", "\u00e9"]),
                  max_size=12)
numbers = (st.integers() | st.floats()
           | st.sampled_from([2 ** 63 - 1, 2 ** 63, -2 ** 63, -2 ** 63 - 1, int("9" * 4000), 1e308, float("inf")]))
json_values = st.recursive(st.none() | st.booleans() | numbers | strings,
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(strings, inner, max_size=3),
                           max_leaves=12)
anything = json_values | st.integers(min_value=1, max_value=400).map(lambda depth: _nested(depth))

EXT = "http://example.com/ext"
# Where a generated value goes (a path of keys into the base statement), and what kind it is.
PLACES = [
    (("actor", "name"), strings), (("verb", "display", "en-US"), strings),
    (("object", "definition", "name", "en-US"), strings), (("object", "definition", "extensions", EXT), anything),
    (("result", "score", "raw"), numbers), (("result", "score", "scaled"), numbers),
    (("result", "score", "max"), numbers), (("result", "response"), strings),
    (("result", "extensions", EXT), anything), (("context", "extensions", EXT), anything),
    (("context", "platform"), strings), (("timestamp",), strings), (("result",), anything),
    (("context",), anything), (("object",), anything), (("actor",), anything), (("verb",), anything),
]
mutation = st.sampled_from(PLACES).flatmap(lambda entry: st.tuples(st.just(entry[0]), entry[1]))


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def base_statement() -> dict:
    return {"actor": {"mbox": "mailto:fuzz@example.com"}, "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
            "object": {"id": "http://example.com/q/1", "definition": {}}, "result": {"score": {}},
            "context": {}}


def place(statement: dict, path: tuple[str, ...], value: Any) -> dict:
    target = statement
    for key in path[:-1]:
        if not isinstance(target.get(key), dict):
            target[key] = {}
        target = target[key]
    target[path[-1]] = value
    return statement


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, Any]]:
    app = create_app(app_settings())
    with LiveServer(app) as live:
        yield live.url + "/xapi", app.extensions["lrs"]


@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutations=st.lists(mutation, min_size=1, max_size=3))
def test_generated_statements_never_get_a_5xx_or_leave_anything_pending(server, mutations):
    endpoint, lrs = server
    good_id, fuzzed_id = str(uuid.uuid4()), str(uuid.uuid4())
    fuzzed = base_statement()
    for path, value in mutations:
        place(fuzzed, path, value)
    batch = [{**base_statement(), "id": good_id}, {**fuzzed, "id": fuzzed_id}]
    response = requests.post(f"{endpoint}/statements", data=json.dumps(batch), headers=HEADERS,
                             auth=(ADMIN_KEY, ADMIN_SECRET), timeout=60)
    event(f"status {response.status_code}")  # pytest --hypothesis-show-statistics shows the mix
    assert response.status_code < 500, response.text
    assert response.status_code in (200, 400), response.text
    assert lrs.statement_store.batches.count_documents({}) == 0
    assert lrs.statement_store.collection.count_documents({"pending": {"$exists": True}}) == 0
    got = requests.get(f"{endpoint}/statements", params={"statementId": good_id}, headers=HEADERS,
                       auth=(ADMIN_KEY, ADMIN_SECRET), timeout=60)
    assert got.status_code == (200 if response.status_code == 200 else 404)  # all or nothing
    if response.status_code == 200:
        json.loads(requests.get(f"{endpoint}/statements", params={"statementId": fuzzed_id}, headers=HEADERS,
                                auth=(ADMIN_KEY, ADMIN_SECRET), timeout=60).text)  # stored as valid JSON
