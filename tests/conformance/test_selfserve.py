"""`--self`: this LRS started with `lrs serve` on a fresh store for a run, then stopped."""
from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request

import pytest

from lrs_conformance.selfserve import ServeError, served_lrs


def about(endpoint) -> dict:
    token = base64.b64encode(f"{endpoint.user}:{endpoint.password}".encode()).decode()
    request = urllib.request.Request(endpoint.url + "/about", headers={"Authorization": "Basic " + token})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)


@pytest.mark.parametrize("versions, listed", [("1.0.3", ["1.0.3"]), ("1.0.3,2.0.0", ["1.0.3", "2.0.0"])])
def test_the_lrs_answers_with_the_run_credential_while_served_and_is_gone_after(tmp_path, versions, listed):
    with served_lrs(tmp_path / "serve.log", versions) as endpoint:
        assert endpoint.url.startswith("http://127.0.0.1:") and endpoint.url.endswith("/xapi")
        assert about(endpoint)["version"] == listed

    with pytest.raises(urllib.error.URLError):
        about(endpoint)
    assert "EMBEDDED" in (tmp_path / "serve.log").read_text()


def test_an_lrs_that_does_not_start_is_a_serve_error_with_its_output(tmp_path, monkeypatch):
    monkeypatch.setenv("LRS_PLUGINS", "no_such_plugin")

    with pytest.raises(ServeError) as raised, served_lrs(tmp_path / "serve.log", "2.0.0", start_timeout=20):
        pass

    assert "no_such_plugin" in str(raised.value)
