"""Fixtures for the plugin tests."""
from __future__ import annotations

from typing import Any, Iterator

import pytest

from lrs.app import create_app
from tests.conftest import app_settings
from tests.plugins.caliper_support import CLIENT_ID, CLIENT_SECRET, PUBLIC_URL


@pytest.fixture(scope="module")
def refusing() -> Iterator[Any]:
    """A test client of a Caliper LRS shared by a module's refusal tests, which store nothing
    (and check that they don't)."""
    app = create_app(app_settings(plugins="caliper", public_url=PUBLIC_URL))
    lrs = app.extensions["lrs"]
    lrs.create_credential(CLIENT_ID, CLIENT_SECRET, ["caliper/events.write"], label="AlphaRead")
    yield app.test_client()
    if lrs.settings["mongo_uri"]:
        lrs.db.client.drop_database(lrs.db.name)
