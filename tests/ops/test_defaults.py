"""Defaults that follow what is actually served, and instances that do not step on each other."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import requests

from lrs.server import free_port, spawned
from tests.conftest import ADMIN_KEY, ADMIN_SECRET, basic_auth

HEADERS = {"Authorization": basic_auth(), "X-Experience-API-Version": "1.0.3"}
STATEMENT = {"actor": {"mbox": "mailto:a@example.com"}, "verb": {"id": "http://example.com/v"},
             "object": {"id": "http://example.com/o"}}


def test_public_url_follows_the_served_port_and_two_instances_share_no_control_socket(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = {"LRS_ADMIN_KEY": ADMIN_KEY, "LRS_ADMIN_SECRET": ADMIN_SECRET, "LRS_LOG_LEVEL": "WARNING",
           "HOME": str(home), "XDG_RUNTIME_DIR": ""}
    with spawned(env) as (first, _), spawned(env) as (second, _):
        for endpoint in (first, second):
            [statement_id] = requests.post(f"{endpoint}/statements", json=STATEMENT, headers=HEADERS,
                                           timeout=30).json()
            stored = requests.get(f"{endpoint}/statements", params={"statementId": statement_id}, headers=HEADERS,
                                  timeout=30).json()
            assert stored["authority"]["account"]["homePage"] == endpoint.removesuffix("/xapi")
    assert list(Path(home).rglob("*.ctl")) == []


def test_the_cli_and_the_server_agree_on_the_public_url():
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LRS_")}
    done = subprocess.run([sys.executable, "-m", "lrs.cli", "settings"], env={**clean, "LRS_PORT": str(port)},
                          capture_output=True, text=True, timeout=60, check=True)
    assert done.stderr == ""  # no embedded-store warning for a command that opens no store
    code = "from lrs.core import LRS; print(LRS.resolve()[0]['public_url'])"
    resolved = subprocess.run([sys.executable, "-c", code], env={**clean, "LRS_PORT": str(port), "LRS_HOST": "0.0.0.0"},
                              capture_output=True, text=True, timeout=60, check=True)
    assert resolved.stdout.strip() == f"http://127.0.0.1:{port}"
