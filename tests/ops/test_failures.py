"""Operator mistakes explain themselves: one line naming the variable, the value and what is
allowed, a non-zero exit, no traceback; an unreachable MongoDB within a bound."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from lrs.core import LRS
from lrs.server import free_port
from tests.conftest import app_settings

ALL_PLUGINS = "simple_events,h5p,caliper,forward_xapi"


def lrs_command(*args: str, timeout: float = 60, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess:
    """`lrs ARGS` in a clean environment (no LRS_* of the caller) with these variables, in `cwd`
    (where the default LRS_DATA_DIR, lrs-data, would be)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LRS_")}
    return subprocess.run([sys.executable, "-m", "lrs.cli", *args], env={**clean, **env}, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL, cwd=cwd)


def one_line(done: subprocess.CompletedProcess) -> str:
    assert done.returncode != 0, done.stdout
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


@pytest.mark.parametrize("variable, value, allowed", [
    ("LRS_PORT", "abc", "a whole number from 1 to 65535"),
    ("LRS_PORT", "70000", "a whole number from 1 to 65535"),
    ("LRS_MAX_BODY_BYTES", "20MB", "a whole number from 1024 to"),
    ("LRS_AUTH_CACHE_SECONDS", "5m", "a number from 0 to 86400"),
    ("LRS_THREADS", "-1", "a whole number from 1 to 1000"),
    ("LRS_LOG_LEVEL", "verbose", "one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
    ("LRS_STATEMENTS_PAGE_SIZE", "0", "a whole number from 1 to 10000"),
    ("LRS_LOG_FORMAT", "xml", "one of text, json"),
    ("LRS_FORWARD_POLL_SECONDS", "0", "a number from 0.01 to 3600"),
])
def test_a_bad_setting_stops_lrs_serve_with_one_line(variable, value, allowed):
    line = one_line(lrs_command("serve", **{variable: value, "LRS_PORT": str(free_port()), **{variable: value}}))
    assert f"{variable}={value!r}" in line and allowed in line, line


def test_an_unknown_plugin_is_one_line_naming_the_known_ones():
    line = one_line(lrs_command("serve", LRS_PLUGINS="h5p,caliperr", LRS_PORT=str(free_port())))
    assert "LRS_PLUGINS" in line and "caliperr" in line and "simple_events" in line, line


def test_a_malformed_mongo_uri_is_one_line_without_the_password():
    line = one_line(lrs_command("serve", LRS_MONGO_URI="mongodb://ann:s3cret@", LRS_PORT=str(free_port())))
    assert "LRS_MONGO_URI" in line and "s3cret" not in line, line


@pytest.mark.parametrize("args", [["serve"], ["credentials", "list"]])
@pytest.mark.parametrize("password, hosts, reason", [
    ("S3cr3t@2024", "127.0.0.1:27017", "Username and password must be escaped"),
    ("S3cr/t2024", "127.0.0.1:27017", "Port contains non-digit characters"),
    ("S3cr3t2024", "127.0.0.1:notaport", "Port contains non-digit characters"),
    # pymongo reads this one as user:p on a host of the password's, and names that host
    ("p@localhost:{port}/w0rd", "127.0.0.1:27017", "[Errno 111] Connection refused"),
])
def test_an_unescaped_password_or_a_bad_port_is_one_line_hiding_the_whole_password(args, password, hosts, reason):
    """An @ or / left unescaped in the password is the usual way to get this URI wrong: the mask
    hides up to the last @, pymongo's ValueError is told like its other refusals, and what of the
    password pymongo's reason names is hidden too."""
    password = password.format(port=free_port())
    done = lrs_command(*args, LRS_MONGO_URI=f"mongodb://lrs:{password}@{hosts}", LRS_MONGO_TIMEOUT_SECONDS="1",
                       LRS_PORT=str(free_port()))
    line = one_line(done)
    assert line.startswith(f"Error: LRS_MONGO_URI='mongodb://lrs:***@{hosts}': ") and reason in line, line
    for piece in {password, *re.split("[@/:]", password)}:
        assert len(piece) < 3 or piece not in line, line


@pytest.mark.parametrize("args", [["serve"], ["credentials", "list"], ["forward", "status"]])
def test_an_unreachable_mongodb_is_one_line_within_the_bound(args):
    port = free_port()  # nothing listens there
    done = lrs_command(*args, LRS_MONGO_URI=f"mongodb://127.0.0.1:{port}/?directConnection=true",
                       LRS_MONGO_TIMEOUT_SECONDS="1", LRS_PORT=str(free_port()), timeout=60)
    line = one_line(done)
    assert "LRS_MONGO_URI" in line and f"127.0.0.1:{port}" in line and "within 1 s" in line, line


def test_plugin_settings_are_checked_too():
    line = one_line(lrs_command("serve", LRS_PLUGINS="h5p", LRS_H5P_STRONG_SCORE="lots", LRS_PORT=str(free_port())))
    assert "LRS_H5P_STRONG_SCORE='lots'" in line and "from 0 to 100" in line, line


def test_every_numeric_setting_has_a_range():
    """Huge and negative values are refused by every number-valued setting, core and plugins'."""
    declared = LRS.from_settings(app_settings(plugins=ALL_PLUGINS)).settings.declared.values()
    numeric = [s for s in declared if isinstance(s.default, (int, float)) and not isinstance(s.default, bool)]
    assert len(numeric) >= 15
    for setting in numeric:
        for raw in ("-1e30", "1e30", "nan"):
            with pytest.raises(ValueError):
                setting.parse(raw)
        assert setting.parse(str(setting.default)) == setting.default, setting.env


def test_lrs_forward_refuses_the_embedded_store_at_once():
    line = one_line(lrs_command("forward", LRS_PLUGINS="forward_xapi"))
    assert "lrs forward needs LRS_MONGO_URI" in line and "LRS_FORWARD_IN_PROCESS=true" in line, line


def test_lrs_forward_logs_its_targets_and_batches_at_info(tmp_path):
    """A worker against a store served over the wire: its log names the target and a delivery."""
    import json
    import signal
    import time
    import uuid

    import requests

    from lrs.server import spawned, stop
    from tests.conftest import ADMIN_KEY, ADMIN_SECRET, basic_auth
    from tests.forwarding.wire_store import WireStore

    with WireStore() as store, spawned({"LRS_ADMIN_KEY": ADMIN_KEY, "LRS_ADMIN_SECRET": ADMIN_SECRET,
                                        "LRS_LOG_LEVEL": "WARNING"}) as (target, _):
        env = {"LRS_MONGO_URI": store.uri, "LRS_MONGO_DB": f"f{uuid.uuid4().hex[:8]}", "LRS_PLUGINS": "forward_xapi",
               "LRS_FORWARD_POLL_SECONDS": "0.1", "LRS_FORWARD_XAPI_TARGETS": json.dumps([{
                   "name": "replica", "endpoint": target,
                   "auth": {"type": "basic", "username": ADMIN_KEY, "password": ADMIN_SECRET}}])}
        source = LRS.from_settings(app_settings(mongo_uri=store.uri, mongo_db=env["LRS_MONGO_DB"]))
        source.start()
        source.statements.store([{"actor": {"mbox": "mailto:a@example.com"}, "verb": {"id": "http://example.com/v"},
                                  "object": {"id": "http://example.com/o"}}],
                                authority=source.default_authority("t"), version="1.0.3")
        clean = {k: v for k, v in os.environ.items() if not k.startswith("LRS_")}
        log = tmp_path / "forward.log"
        with open(log, "wb") as out:
            worker = subprocess.Popen([sys.executable, "-m", "lrs.cli", "forward"], env={**clean, **env},
                                      stdout=out, stderr=subprocess.STDOUT)
            try:
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline and "delivered 1 statements" not in log.read_text():
                    time.sleep(0.2)
            finally:
                worker.send_signal(signal.SIGTERM)
                stop(worker)
        text = log.read_text()
        assert "replica" in text and "delivered 1 statements" in text, text
        assert requests.get(f"{target}/statements", headers={"Authorization": basic_auth(),
                            "X-Experience-API-Version": "1.0.3"}, timeout=30).json()["statements"]
