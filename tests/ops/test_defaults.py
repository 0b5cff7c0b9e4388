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


def test_every_credentials_authority_is_fixed_when_made_the_admin_ones_too(tmp_path):
    """LRS_PUBLIC_URL set at a later start gives credentials made from then on its authority; the
    admin credential, like the others, keeps the one it was made with (its stored statements
    carry it), where it used to follow LRS_PUBLIC_URL at each start."""
    env = {"LRS_DATA_DIR": str(tmp_path / "data"), "LRS_ADMIN_KEY": ADMIN_KEY, "LRS_ADMIN_SECRET": ADMIN_SECRET,
           "LRS_LOG_LEVEL": "WARNING", "LRS_PUBLIC_URL": ""}
    with spawned(env) as (endpoint, _):
        first_url = endpoint.removesuffix("/xapi")
        made = requests.post(f"{first_url}/admin/credentials", json={"scopes": ["all"], "key": "early"},
                             headers=HEADERS, timeout=30).json()
        requests.post(f"{endpoint}/statements", json=STATEMENT, headers=HEADERS, timeout=30).raise_for_status()
    with spawned({**env, "LRS_PUBLIC_URL": "https://lrs.example.org/"}) as (endpoint, _):
        base = endpoint.removesuffix("/xapi")
        requests.post(f"{base}/admin/credentials", json={"scopes": ["all"], "key": "late"}, headers=HEADERS,
                      timeout=30).raise_for_status()
        for key, secret in ((ADMIN_KEY, ADMIN_SECRET), ("early", made["secret"])):
            requests.post(f"{endpoint}/statements", json=STATEMENT, timeout=30,
                          headers={**HEADERS, "Authorization": basic_auth(key, secret)}).raise_for_status()
        stored = requests.get(f"{endpoint}/statements", headers=HEADERS, timeout=30).json()["statements"]
        listed = requests.get(f"{base}/admin/credentials", headers=HEADERS, timeout=30).json()["credentials"]
    homes = sorted((s["authority"]["account"]["name"], s["authority"]["account"]["homePage"]) for s in stored)
    assert homes == sorted([(ADMIN_KEY, first_url), (ADMIN_KEY, first_url), ("early", first_url)])
    assert {c["key"]: c["authority"]["account"]["homePage"] for c in listed} == {
        ADMIN_KEY: first_url, "early": first_url, "late": "https://lrs.example.org"}


def test_serve_warns_when_the_public_url_is_unset_beyond_this_machine(tmp_path):
    """Listening on every interface (0.0.0.0, only while this test runs) without LRS_PUBLIC_URL
    makes authorities and IRIs that name 127.0.0.1: said once, at start; on 127.0.0.1 or with
    LRS_PUBLIC_URL set, nothing is said."""
    def served(host: str, public_url: str) -> tuple[str, list[str]]:
        log = tmp_path / f"{host}{bool(public_url)}.log"
        serve = [sys.executable, "-m", "lrs.cli", "serve", "--host", host]  # --host wins over spawned's LRS_HOST
        with open(log, "w") as output, spawned({"LRS_PUBLIC_URL": public_url, "LRS_LOG_LEVEL": "INFO"},
                                               stdout=output, command=serve) as (endpoint, _):
            port = endpoint.split(":")[2].removesuffix("/xapi")
        return port, [line for line in log.read_text().splitlines() if "LRS_PUBLIC_URL" in line]

    port, warnings = served("0.0.0.0", "")
    assert len(warnings) == 1 and " WARNING " in warnings[0], warnings
    assert (f"LRS_PUBLIC_URL is unset while lrs serve listens on 0.0.0.0:{port}, beyond this machine: credentials "
            f"made now get an authority on http://127.0.0.1:{port} for good") in warnings[0]
    assert served("127.0.0.1", "")[1] == served("0.0.0.0", "https://lrs.example.org")[1] == []


def test_the_app_under_gunicorn_run_directly_warns_when_the_public_url_is_unset(tmp_path):
    """gunicorn's -b is the server's own: LRS_PUBLIC_URL's default (LRS_HOST, LRS_PORT) cannot know
    it, so the app built for a WSGI server of the operator's says that the variable is missing."""
    def served(public_url: str) -> tuple[int, list[str]]:
        log, port = tmp_path / f"{bool(public_url)}.log", free_port()
        gunicorn = [sys.executable, "-m", "gunicorn", "lrs.wsgi:app", "-k", "lrs.worker.BufferingWorker",
                    "-b", f"127.0.0.1:{port}"]
        with open(log, "w") as output, spawned({"LRS_PUBLIC_URL": public_url, "LRS_DATA_DIR": ""}, port=port,
                                               stdout=output, command=gunicorn, cwd=tmp_path):
            pass
        return port, [line for line in log.read_text().splitlines() if "LRS_PUBLIC_URL" in line]

    port, [warning] = served("")  # spawned passes LRS_PORT, which gunicorn ignores and the default follows
    assert "WARNING" in warning
    assert ("LRS_PUBLIC_URL is unset while the app runs under a WSGI server of your own: credentials made now get "
            f"an authority on http://127.0.0.1:{port} for good") in warning
    assert served("https://lrs.example.org")[1] == []
