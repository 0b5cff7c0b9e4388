"""`lrs serve` and the other commands as a newcomer meets them: every start-up mistake is one line
naming the variable (no traceback), and commands that only describe the LRS never open its store."""
from __future__ import annotations

import json
import logging
import os
import re
import socket
import uuid

import pytest
import requests
from click.testing import CliRunner

from lrs.app import create_app
from lrs.cli import main
from lrs.core import LRS
from lrs.server import free_port, ready_line, spawned
from lrs.settings import CORE_PATHS, SettingError
from tests.conftest import ADMIN_KEY, app_settings
from tests.ops.test_failures import lrs_command, one_line

TARGET = {"endpoint": "http://127.0.0.1:9/xapi"}


@pytest.mark.parametrize("env, named", [
    ({"LRS_WORKERS": "4"}, "LRS_WORKERS=4: the embedded store keeps its data in one process's memory"),
    ({"LRS_DATA_DIR": "/proc/nope"}, "LRS_DATA_DIR='/proc/nope': cannot keep the embedded store there: No such file "
                                     "or directory (set LRS_DATA_DIR to a folder this user may create and write)"),
    ({"LRS_HOST": "no-such-host.invalid"}, "LRS_HOST='no-such-host.invalid'"),
    ({"LRS_HOST": ""}, "LRS_HOST='': must not be empty: unset it for 127.0.0.1 (this machine only)"),
    ({"LRS_PLUGINS": "caliper,h5p,caliper"}, "LRS_PLUGINS='caliper,h5p,caliper': names 'caliper' more than once"),
    ({"LRS_ADMIN_SECRET": "abc", "LRS_ADMIN_KEY": "admin"},
     "Error: LRS_ADMIN_SECRET: must be 8 to 200 characters long, as every credential's secret"),
    ({"LRS_ADMIN_KEY": "ops/eu", "LRS_ADMIN_SECRET": "change-me"},
     "LRS_ADMIN_KEY='ops/eu': must be 1 to 128 printable ASCII characters without spaces, colons or slashes"),
    ({"LRS_PUBLIC_URL": "notaurl"}, "LRS_PUBLIC_URL='notaurl': must be an absolute http:// or https:// URL"),
    # pymongo refuses it (InvalidName, a traceback) where the embedded store took it
    ({"LRS_MONGO_DB": "school.lrs", "LRS_MONGO_URI": "mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=100"},
     "LRS_MONGO_DB='school.lrs': must be 1 to 63 bytes without spaces or any of"),
    ({"LRS_MONGO_DB": "school lrs"}, "LRS_MONGO_DB='school lrs': must be 1 to 63 bytes without spaces"),
    ({"LRS_PUBLIC_URL": "ftp://lrs.example.org"}, "LRS_PUBLIC_URL='ftp://lrs.example.org'"),
    ({"LRS_PLUGINS": "forward_xapi", "LRS_FORWARD_XAPI_TARGETS": json.dumps([{"name": "x y", **TARGET}])},
     "LRS_FORWARD_XAPI_TARGETS: forwarding target name 'x y'"),
    ({"LRS_PLUGINS": "forward_xapi", "LRS_FORWARD_XAPI_TARGETS": json.dumps([{"name": "a", **TARGET}] * 2)},
     "LRS_FORWARD_XAPI_TARGETS: two forwarding targets are named 'a'"),
    ({"LRS_PLUGINS": "forward_xapi", "LRS_FORWARD_XAPI_TARGETS": json.dumps([{"name": "a", "version": "3.0", **TARGET}])},
     "LRS_FORWARD_XAPI_TARGETS: targets[0].version: must be one of 1.0.0, 1.0.1, 1.0.2, 1.0.3, 2.0.0"),
    ({"LRS_PLUGINS": "simple_events", "LRS_SIMPLE_EVENTS_PATH": "/xapi/statements"},
     "LRS_SIMPLE_EVENTS_PATH='/xapi/statements': must stay out of the core's paths"),
    ({"LRS_PLUGINS": "h5p", "LRS_H5P_PREFIX": "/admin"}, "LRS_H5P_PREFIX='/admin': must stay out of the core's paths"),
    ({"LRS_PLUGINS": "h5p", "LRS_H5P_STRONG_SCORE": "40", "LRS_H5P_WEAK_SCORE": "60"},
     "LRS_H5P_WEAK_SCORE=60.0: must be below LRS_H5P_STRONG_SCORE (40)"),
    # an adapter's homePage or IRI base: before, every client's event was a 400 blaming its userId
    ({"LRS_PLUGINS": "h5p", "LRS_H5P_BASE_URL": "creatiq.app"},
     "LRS_H5P_BASE_URL='creatiq.app': must be an absolute http:// or https:// URL"),
    ({"LRS_PLUGINS": "simple_events", "LRS_SIMPLE_EVENTS_HOME_PAGE": "oakwood"},
     "LRS_SIMPLE_EVENTS_HOME_PAGE='oakwood': must be an absolute http:// or https:// URL"),
    ({"LRS_PLUGINS": "simple_events", "LRS_SIMPLE_EVENTS_IRI_BASE": "oakwood/events"},
     "LRS_SIMPLE_EVENTS_IRI_BASE='oakwood/events': must be an absolute IRI"),
    ({"LRS_PLUGINS": "caliper", "LRS_CALIPER_HOME_PAGE": "www.example.edu"},
     "LRS_CALIPER_HOME_PAGE='www.example.edu': must be an absolute http:// or https:// URL"),
    ({"LRS_PLUGINS": "simple_events", "LRS_SIMPLE_EVENTS_UNKNOWN_EVENTS": "ignore"},
     "Error: LRS_SIMPLE_EVENTS_UNKNOWN_EVENTS='ignore': must be one of reject, accept"),  # once said 'ignore' twice
    ({"LRS_XAPI_VERSIONS": "1.0.2"}, "Error: LRS_XAPI_VERSIONS='1.0.2': must be one or more of 1.0.3, 2.0.0, "
                                     "separated by commas"),
], ids=lambda value: next(iter(value)) if isinstance(value, dict) else None)
def test_a_start_up_mistake_is_one_line_naming_the_variable(tmp_path, env, named):
    line = one_line(lrs_command("serve", cwd=tmp_path, **{"LRS_PORT": str(free_port()), **env}))
    assert named in line, line
    assert list(tmp_path.iterdir()) == []  # refused before anything was made


def test_an_empty_host_flag_is_refused_as_an_empty_lrs_host(tmp_path):
    """--host '' fell back to 127.0.0.1 while LRS_HOST='' listened on every interface."""
    line = one_line(lrs_command("serve", "--host", "", cwd=tmp_path, LRS_PORT=str(free_port())))
    assert line.startswith("Error: --host='': must not be empty"), line


@pytest.mark.parametrize("args, named", [
    (["--port", "0"], "Error: --port=0: must be a whole number from 1 to 65535"),
    (["--port", "70000"], "Error: --port=70000: must be a whole number from 1 to 65535"),
    (["--host", "no-such-host.invalid"], "Error: --host='no-such-host.invalid', LRS_PORT={port}: cannot listen there"),
    (["--host", "no-such-host.invalid", "--port", "{port}"],
     "Error: --host='no-such-host.invalid', --port={port}: cannot listen there"),
])
def test_a_bad_flag_of_serve_is_named_as_the_flag(tmp_path, args, named):
    """`lrs serve --port 0` said LRS_PORT='0', a variable the operator had not set."""
    port = str(free_port())
    line = one_line(lrs_command("serve", *(arg.format(port=port) for arg in args), cwd=tmp_path, LRS_PORT=port))
    assert line.startswith(named.format(port=port)), line


def test_settings_refuses_a_plugin_named_twice_as_serve_does(tmp_path):
    line = one_line(lrs_command("settings", cwd=tmp_path, LRS_PLUGINS="h5p,h5p"))
    assert line == "Error: LRS_PLUGINS='h5p,h5p': names 'h5p' more than once: name each plugin once", line


def test_plugin_routes_that_would_shadow_each_other_are_refused_naming_both():
    settings = app_settings(plugins="simple_events,h5p", simple_events_path="/api/xapi/statements")
    with pytest.raises(SettingError, match=r"^POST /api/xapi/statements of simple_events.post_events is answered "
                                           r"by h5p.post_statements instead: give one of the two plugins another path"):
        create_app(settings)


def test_a_port_in_use_is_one_line_naming_host_and_port(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = one_line(lrs_command("serve", cwd=tmp_path, LRS_PORT=str(port)))
    assert line == (f"Error: LRS_HOST='127.0.0.1', LRS_PORT={port}: cannot listen there: Address already in use "
                    "(another program listens there, perhaps another `lrs serve`: stop it, or choose another port "
                    "with LRS_PORT)"), line


def test_a_port_in_use_names_the_flag_to_change_when_the_flag_chose_it(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = one_line(lrs_command("serve", "--port", str(port), cwd=tmp_path))
    assert line.endswith("stop it, or choose another port with --port)"), line


def test_a_host_that_is_not_this_machines_says_which_addresses_serve(tmp_path):
    line = one_line(lrs_command("serve", cwd=tmp_path, LRS_HOST="192.0.2.1", LRS_PORT=str(free_port())))
    assert line.endswith("(not an address of this machine: LRS_HOST takes one of its own, or 0.0.0.0 for every one)"), line


def test_a_data_folder_in_use_stops_a_second_server_and_forward_status_but_not_settings(tmp_path):
    env = {"LRS_DATA_DIR": str(tmp_path / "data"), "LRS_PLUGINS": "forward_xapi", "LRS_LOG_LEVEL": "WARNING"}
    with spawned(env, cwd=tmp_path):
        second = one_line(lrs_command("serve", LRS_PORT=str(free_port()), **env))
        status = one_line(lrs_command("forward", "status", **env))
        settings = lrs_command("settings", **env)
    assert f"LRS_DATA_DIR='{tmp_path / 'data'}': another process (pid " in second, second
    assert "give this one another LRS_DATA_DIR, or stop that process" in second, second
    # another folder or stopping the server, as said to a second server, were no advice for a look at forwarding
    assert re.fullmatch(f"Error: LRS_DATA_DIR={re.escape(repr(str(tmp_path / 'data')))}: a server \\(pid \\d+\\) runs "
                        r"on this embedded store, and `lrs forward` commands read it only while none does; meanwhile "
                        r"see forwarding at GET /admin/forwarding or on the console's Forwarding page", status), status
    assert settings.returncode == 0 and "| `LRS_FORWARD_XAPI_TARGETS` |" in settings.stdout, settings.stderr


def test_a_variable_no_setting_reads_is_named_in_the_log_at_start(tmp_path):
    """LRS_PLUGIN=h5p (for LRS_PLUGINS) or a plugin's setting without the plugin were ignored in
    silence: the LRS ran without what the operator meant to configure."""
    log = tmp_path / "serve.log"
    env = {"LRS_PLUGIN": "h5p", "LRS_H5P_PREFIX": "/h5p", "LRS_STATEMENT_PAGE_SIZE": "50", "LRS_URL": "http://x"}
    with open(log, "w") as output, spawned(env, stdout=output, cwd=tmp_path):
        pass
    lines = [line.split(" lrs: ", 1)[1] for line in log.read_text().splitlines() if " is ignored: " in line]
    assert lines == [
        "LRS_H5P_PREFIX is ignored: it is a setting of plugin h5p, which LRS_PLUGINS does not enable",
        "LRS_PLUGIN is ignored: no setting has that name (did you mean LRS_PLUGINS? `lrs settings` lists them)",
        "LRS_STATEMENT_PAGE_SIZE is ignored: no setting has that name (did you mean LRS_STATEMENTS_PAGE_SIZE? "
        "`lrs settings` lists them)",
    ], log.read_text()


def test_settings_opens_no_store_and_makes_no_folder(tmp_path):
    done = lrs_command("settings", cwd=tmp_path)
    assert done.returncode == 0 and "| `LRS_DATA_DIR` | `lrs-data` |" in done.stdout, done.stderr
    assert list(tmp_path.iterdir()) == []


def test_forward_status_on_the_embedded_store_says_which_store_it_read(tmp_path):
    missing = one_line(lrs_command("forward", "status", cwd=tmp_path, LRS_PLUGINS="forward_xapi"))
    assert "no embedded store here: LRS_DATA_DIR='lrs-data' does not exist" in missing, missing
    assert list(tmp_path.iterdir()) == []  # not made by a command that only looks
    (tmp_path / "lrs-data").mkdir()
    done = lrs_command("forward", "status", cwd=tmp_path, LRS_PLUGINS="forward_xapi")
    assert done.returncode == 0, done.stderr
    assert "sees the embedded store of LRS_DATA_DIR='lrs-data', read while no server runs there" in done.stderr
    assert "empty" not in done.stderr


def test_a_revoked_admin_key_is_not_brought_back(tmp_path):
    env = {"LRS_DATA_DIR": str(tmp_path / "data"), "LRS_ADMIN_KEY": "admin", "LRS_ADMIN_SECRET": "first-secret",
           "LRS_LOG_LEVEL": "WARNING"}
    with spawned(env) as (endpoint, _):
        url = endpoint.removesuffix("/xapi")
        created = lrs_command("credentials", "create", "--scope", "admin", "--key", "boss", "--url", url,
                              LRS_ADMIN_KEY="admin", LRS_ADMIN_SECRET="first-secret")
        assert created.returncode == 0, created.stderr
        secret = json.loads(created.stdout)["secret"]
        revoked = lrs_command("credentials", "revoke", "admin", "--url", url, LRS_ADMIN_KEY="boss",
                              LRS_ADMIN_SECRET=secret)
        assert revoked.returncode == 0, revoked.stderr
    restarted = lrs_command("serve", **{**env, "LRS_ADMIN_SECRET": "second-secret", "LRS_PORT": str(free_port())})
    assert one_line(restarted) == ("Error: LRS_ADMIN_KEY names a revoked credential; choose another key "
                                   "(a revoked key stays revoked)")
    with spawned({**env, "LRS_ADMIN_KEY": "", "LRS_ADMIN_SECRET": ""}) as (endpoint, _):
        answer = requests.get(f"{endpoint}/statements", auth=("admin", "second-secret"), timeout=30,
                              headers={"X-Experience-API-Version": "1.0.3"})
    assert answer.status_code == 401


def test_a_url_without_scheme_is_one_line():
    result = CliRunner().invoke(main, ["credentials", "list", "--url", "127.0.0.1:8901", "--admin-key", "a",
                                       "--admin-secret", "b"])
    assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1, result.output
    assert "--url (LRS_URL) '127.0.0.1:8901': give the scheme too, http:// or https://" in result.output


def test_a_trailing_slash_of_the_public_url_is_dropped():
    lrs = create_app(app_settings(public_url="https://lrs.example.org/")).extensions["lrs"]
    assert lrs.default_authority("k")["account"]["homePage"] == "https://lrs.example.org"


def test_the_core_paths_plugins_must_avoid_are_the_apps_own():
    app = create_app(app_settings())
    served = {"/" + rule.rule.split("/")[1] for rule in app.url_map.iter_rules()}
    assert served == set(CORE_PATHS)


def test_a_revoked_admin_key_on_mongodb_is_refused_before_gunicorn_and_by_every_command(shared_store):
    db = f"lrs_test_{uuid.uuid4().hex[:12]}"
    lrs = LRS.from_settings(app_settings(mongo_uri=shared_store, mongo_db=db))
    lrs.start()
    lrs.create_credential("boss", "boss-secret", ["admin"])
    lrs.credentials.revoke(ADMIN_KEY)
    env = {"LRS_MONGO_URI": shared_store, "LRS_MONGO_DB": db, "LRS_ADMIN_KEY": ADMIN_KEY, "LRS_ADMIN_SECRET": "new-secret",
           "LRS_SECRET_HASH_COST": "14"}
    try:
        for args in (["serve"], ["credentials", "list"]):
            line = one_line(lrs_command(*args, LRS_PORT=str(free_port()), **env))
            assert line == "Error: LRS_ADMIN_KEY names a revoked credential; choose another key (a revoked key stays revoked)"
    finally:
        if os.environ.get("LRS_TEST_MONGO_URI"):
            lrs.db.client.drop_database(db)


def test_an_admin_key_naming_another_client_says_what_it_takes_over(make_app, shared_store, caplog):
    store = {"mongo_uri": shared_store, "mongo_db": f"lrs_test_{uuid.uuid4().hex[:12]}"}
    make_app(**store).extensions["lrs"].create_credential("prom", "prom-secret-1", ["metrics"])
    with caplog.at_level(logging.WARNING, logger="lrs.core"):
        lrs = make_app(**store, admin_key="prom", admin_secret="new-secret-1").extensions["lrs"]
    assert ("LRS_ADMIN_KEY names the existing credential 'prom' (scopes: metrics): it now holds scopes all and "
            "admin, and LRS_ADMIN_SECRET replaces its secret") in caplog.text
    assert lrs.credentials.get("prom").scopes == {"all", "admin"}


def test_serve_says_when_it_is_ready_where_its_endpoint_console_and_data_are(tmp_path):
    """gunicorn's lines named neither the xAPI endpoint nor the console, nor the folder a relative
    LRS_DATA_DIR resolved to: a newcomer could not tell the server was up, nor where its data went."""
    log, port = tmp_path / "serve.log", free_port()
    clean = {name: "" for name in os.environ if name.startswith("LRS_")}
    with open(log, "w") as output, spawned({**clean, "LRS_DATA_DIR": "data", "LRS_PLUGINS": "h5p,caliper"},
                                           port=port, stdout=output, cwd=tmp_path):
        pass
    ready = [line for line in log.read_text().splitlines() if "LRS ready" in line]
    assert [line.split(" lrs: ", 1)[1] for line in ready] == [
        f"LRS ready: xAPI endpoint http://127.0.0.1:{port}/xapi, admin console http://127.0.0.1:{port}/console/; "
        f"data in the embedded store in {tmp_path / 'data'} (LRS_DATA_DIR); plugins: h5p, caliper"]


def test_the_ready_line_names_mongodb_without_its_password():
    settings = {"public_url": "https://lrs.example.org/", "mongo_uri": "mongodb://lrs:s3cret@db1,db2/?replicaSet=rs0",
                "mongo_db": "school", "data_dir": "lrs-data", "plugins": ()}
    assert ready_line(settings) == ("LRS ready: xAPI endpoint https://lrs.example.org/xapi, admin console "
                                    "https://lrs.example.org/console/; data in MongoDB "
                                    "mongodb://lrs:***@db1,db2/?replicaSet=rs0, database 'school'; plugins: none")


def test_each_start_logs_what_it_did_to_the_admin_credential(make_app, shared_store, caplog):
    """A restart with another (or a mistyped) LRS_ADMIN_SECRET replaced the admin's secret in
    silence: its clients met 401s with nothing in the log to say why, and the audit trail missed it."""
    store = {"mongo_uri": shared_store, "mongo_db": f"lrs_test_{uuid.uuid4().hex[:12]}"}
    with caplog.at_level(logging.INFO, logger="lrs.credentials"):
        for secret in ("first-secret", "first-secret", "second-secret"):
            make_app(**store, admin_key="ops", admin_secret=secret)
    assert [r.getMessage() for r in caplog.records if r.name == "lrs.credentials"] == [
        "credential 'ops' created by LRS_ADMIN_KEY at start: scopes admin,all, label 'admin'",
        "credential 'ops' given a new secret by LRS_ADMIN_SECRET at start: the one it had, and the console sessions "
        "and OAuth tokens made with it, work no more"]
    assert "first-secret" not in caplog.text and "second-secret" not in caplog.text
