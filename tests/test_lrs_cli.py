"""The `lrs` command line: settings table, credentials, and `lrs serve` as a real process."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import requests
from click.testing import CliRunner

from lrs.cli import main


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_starts_a_working_lrs_with_the_admin_credential():
    port = free_port()
    env = {**os.environ, "LRS_ADMIN_KEY": "admin", "LRS_ADMIN_SECRET": "pw", "LRS_PORT": str(port)}
    env.pop("LRS_MONGO_URI", None)
    process = subprocess.Popen([sys.executable, "-c", "from lrs.cli import main; main(['serve'])"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = f"http://127.0.0.1:{port}/xapi"
        for _ in range(100):
            try:
                requests.get(f"{url}/about", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        response = requests.get(f"{url}/statements", auth=("admin", "pw"),
                                headers={"X-Experience-API-Version": "1.0.3"}, timeout=5)
        assert response.status_code == 200
        assert response.json() == {"statements": [], "more": ""}
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=20)
    assert "NOT durable" in output
