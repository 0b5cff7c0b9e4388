"""On a real MongoDB (LRS_TEST_MONGO_URI), every query shape GET /statements issues is answered by
an index scan with no blocking sort in memory: `explain` of the very cursor the store runs.

Skipped without LRS_TEST_MONGO_URI: mongomock has no query planner to explain (the embedded
store's own planner is tested in test_embedded_indexes.py).
"""
from __future__ import annotations

import os
from typing import Any

import pytest

from lrs.erasure import _referring_to
from tests.nested import every_value
from tests.store.query_shapes import shapes
from tests.xapi.builders import statement

pytestmark = pytest.mark.skipif(not os.environ.get("LRS_TEST_MONGO_URI"), reason="needs a real MongoDB")

def stages(plan: Any) -> set[str]:
    """Every stage name in an explain plan (classic or slot-based engine)."""
    return {node["stage"] for node in every_value(plan) if isinstance(node, dict) and "stage" in node}


def test_every_statement_query_shape_is_an_index_scan_without_a_blocking_sort(make_app):
    lrs = make_app().extensions["lrs"]
    lrs.statements.store([statement() for _ in range(20)], authority=lrs.default_authority("test"), version="1.0.3")
    failures = []
    for name, query in shapes():
        winning = lrs.statement_store.page_cursor(query).explain()["queryPlanner"]["winningPlan"]
        found = stages(winning)
        if "IXSCAN" not in found or found & {"COLLSCAN", "SORT"}:
            failures.append(f"{name}: {sorted(found)}")
    assert not failures, "\n".join(failures)


def test_a_statement_by_id_is_an_id_lookup(make_app):
    lrs = make_app().extensions["lrs"]
    cursor = lrs.statement_store.collection.find({"_id": "x", "pending": {"$exists": False}})
    found = stages(cursor.explain()["queryPlanner"]["winningPlan"])
    assert found & {"IDHACK", "IXSCAN", "EXPRESS_IXSCAN", "CLUSTERED_IXSCAN"} and "COLLSCAN" not in found


def test_erasure_finds_referring_statements_from_the_partial_ref_index(make_app):
    """The partial index holds only statements with a `ref`; MongoDB uses it only for a query
    that names its filter, which `_referring_to` does."""
    lrs = make_app().extensions["lrs"]
    lrs.statements.store([statement() for _ in range(5)], authority=lrs.default_authority("test"), version="1.0.3")
    cursor = lrs.statement_store.collection.find(_referring_to(["x", "y"]))
    winning = cursor.explain()["queryPlanner"]["winningPlan"]
    assert "COLLSCAN" not in stages(winning) and "ref_referring" in str(winning)
