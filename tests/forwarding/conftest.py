"""Fixtures of the forwarding tests."""
from __future__ import annotations

import os
from typing import Iterator

import pytest

from tests.forwarding.wire_store import WireStore


@pytest.fixture
def shared_store() -> Iterator[str]:
    """A store URI other processes can use; requested before make_app, so it outlives its apps:
    the MongoDB of LRS_TEST_MONGO_URI, otherwise the embedded store served over the wire protocol."""
    if os.environ.get("LRS_TEST_MONGO_URI"):
        yield os.environ["LRS_TEST_MONGO_URI"]
        return
    with WireStore() as store:
        yield store.uri
