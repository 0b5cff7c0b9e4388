"""The `lrs` command line: settings table, credentials, and `lrs serve` as a real process."""
from __future__ import annotations

import json

import requests
from click.testing import CliRunner

from lrs.cli import main
from lrs.server import spawned


def test_settings_prints_every_core_setting_as_a_table():
    result = CliRunner().invoke(main, ["settings"])
    assert result.exit_code == 0
    assert "| `LRS_MONGO_URI` | (empty) |" in result.output
    assert "`LRS_ADMIN_KEY`" in result.output and "`LRS_STATEMENTS_PAGE_SIZE`" in result.output


def test_credentials_create_prints_key_secret_and_scopes():
    result = CliRunner().invoke(main, ["credentials", "create", "--scope", "statements/read", "--label", "reader"])
    assert result.exit_code == 0, result.output
    created = json.loads(result.output[result.output.index("{"):])
    assert created["scopes"] == ["statements/read"] and created["key"] and created["secret"]
    assert created["authority"]["name"] == "reader"


def test_credentials_create_refuses_unknown_scopes():
    result = CliRunner().invoke(main, ["credentials", "create", "--scope", "everything"])
    assert result.exit_code != 0
    assert "unknown scopes" in result.output


def test_serve_starts_a_working_lrs_with_the_admin_credential(tmp_path):
    log = tmp_path / "serve.log"
    with open(log, "w") as output:
        with spawned({"LRS_ADMIN_KEY": "admin", "LRS_ADMIN_SECRET": "pw", "LRS_MONGO_URI": ""},
                     stdout=output) as (endpoint, _):
            response = requests.get(f"{endpoint}/statements", auth=("admin", "pw"),
                                    headers={"X-Experience-API-Version": "1.0.3"}, timeout=5)
    assert response.status_code == 200
    assert response.json() == {"statements": [], "more": ""}
    assert "NOT durable" in log.read_text()
