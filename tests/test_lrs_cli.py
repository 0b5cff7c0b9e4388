"""The `lrs` command line: settings table, credentials, and `lrs serve` as a real process."""
from __future__ import annotations

import http.server
import json
import logging
import os
import subprocess
import sys
import uuid
from typing import Any, Iterator

import click
import pytest
import requests
from click.testing import CliRunner
from pymongo import MongoClient

import lrs
from lrs.admin_client import AdminAPIError, DirectAdmin
from lrs.cli import main
from lrs.core import LRS
from lrs.server import free_port, spawned
from tests.background_server import BackgroundServer
from tests.conftest import ADMIN_KEY, ADMIN_SECRET, LiveServer, app_settings
from tests.http.test_admin_credentials import many_credentials


def test_settings_prints_every_core_setting_as_a_table():
    result = CliRunner().invoke(main, ["settings"])
    assert result.exit_code == 0
    assert "| `LRS_MONGO_URI` | (empty) |" in result.output
    assert "`LRS_ADMIN_KEY`" in result.output and "`LRS_STATEMENTS_PAGE_SIZE`" in result.output
    assert "| `LRS_PROFILE_PUT_REQUIRES_PRECONDITION` | `false` |" in result.output  # not Python's `False`


def admin_cli(url: str, *args: str) -> Any:
    return CliRunner().invoke(main, ["credentials", *args, "--url", url],
                              env={"LRS_ADMIN_KEY": ADMIN_KEY, "LRS_ADMIN_SECRET": ADMIN_SECRET})


def test_credentials_over_http_create_list_update_revoke(make_app):
    with LiveServer(make_app(plugins="caliper")) as server:
        result = admin_cli(server.url, "create", "--scope", "caliper/events.write", "--label", "AlphaRead")
        assert result.exit_code == 0, result.output
        created = json.loads(result.output)
        assert created["scopes"] == ["caliper/events.write"] and created["key"] and created["secret"]
        assert created["authority"]["name"] == "AlphaRead"
        token = requests.post(f"{server.url}/oauth/token", data={"grant_type": "client_credentials"},
                              auth=(created["key"], created["secret"]), timeout=10)
        assert token.status_code == 200, token.text
        listed = admin_cli(server.url, "list").output.splitlines()
        assert f"{created['key']}\tactive\tcaliper/events.write\tAlphaRead" in listed
        updated = admin_cli(server.url, "update", created["key"], "--label", "Alpha")
        assert json.loads(updated.output)["label"] == "Alpha"
        rotated = json.loads(admin_cli(server.url, "rotate", created["key"]).output)
        assert rotated["key"] == created["key"] and rotated["secret"] != created["secret"]
        for secret, status in ((created["secret"], 401), (rotated["secret"], 200)):
            again = requests.post(f"{server.url}/oauth/token", data={"grant_type": "client_credentials"},
                                  auth=(created["key"], secret), timeout=10)
            assert again.status_code == status, again.text
        assert admin_cli(server.url, "revoke", created["key"]).output.strip() == f"revoked {created['key']}"
        assert f"{created['key']}\trevoked\tcaliper/events.write\tAlpha" in admin_cli(server.url, "list").output
        not_again = admin_cli(server.url, "rotate", created["key"])
        assert not_again.exit_code == 1 and "409" in not_again.output and "revoked" in not_again.output
        refused = admin_cli(server.url, "create", "--scope", "everything")
        assert refused.exit_code == 1 and "400 scopes: unknown scopes: everything" in refused.output


def test_credentials_over_http_need_an_admin_credential(live_server):
    result = CliRunner().invoke(main, ["credentials", "list", "--url", live_server.url + "/xapi"],
                                env={"LRS_ADMIN_KEY": "", "LRS_ADMIN_SECRET": ""})
    assert result.exit_code == 2 and "--admin-key" in result.output
    wrong = CliRunner().invoke(main, ["credentials", "list", "--url", live_server.url, "--admin-key", ADMIN_KEY,
                                      "--admin-secret", "wrong"])
    assert wrong.exit_code == 1 and "401" in wrong.output


def test_list_over_http_follows_the_pages(app, live_server):
    many_credentials(app, 1203)
    listed = admin_cli(live_server.url, "list")
    assert listed.exit_code == 0 and len(listed.output.splitlines()) == 1204
    assert "learner-00007\trevoked\tstatements/write\t" in listed.output.splitlines()


def test_list_prints_one_line_per_credential_whatever_an_earlier_release_let_a_label_hold(app, live_server):
    """A label with a tab, a line break or a terminal escape (stored before labels were checked)
    split the line, forged another credential's line, or drove the terminal; now it is escaped."""
    app.extensions["lrs"].create_credential("lms", "lms-secret-1", ["all"])
    app.extensions["lrs"].credentials.collection.update_one(
        {"_id": "lms"}, {"$set": {"label": "LMS\nroot\tactive\tadmin\t\x1b[2J"}})
    listed = admin_cli(live_server.url, "list")
    assert listed.exit_code == 0 and listed.output.splitlines() == [
        "lms\tactive\tall\tLMS\\nroot\\tactive\\tadmin\\t\\x1b[2J", "test-admin\tactive\tadmin,all\tadmin"]


class NotTheLRS(http.server.BaseHTTPRequestHandler):
    """Whatever may stand at a wrong --url or in front of the LRS: a sign-in page, a proxy's 502."""

    answer: tuple[int, dict[str, str], bytes] = (200, {}, b"")

    def do_GET(self) -> None:
        status, headers, body = self.answer
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def not_the_lrs() -> Iterator[http.server.ThreadingHTTPServer]:
    with BackgroundServer(http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotTheLRS)) as served:
        yield served.server


@pytest.mark.parametrize(("answer", "said"), [
    ((200, {"Content-Type": "text/html"}, b"<html>Sign in</html>"), "200 OK: this answer (text/html)"),
    ((200, {"Content-Type": "application/json"}, b'{"ok": true}'), "200 OK: this answer (application/json)"),
    ((302, {"Location": "https://sso.example.com/login"}, b""), "302 Found to https://sso.example.com/login: this answer"),
    ((502, {"Content-Type": "text/html"}, b"<html>\n<h1>502 Bad Gateway</h1>\n</html>" * 20), "502 Bad Gateway: this answer (text/html)"),
])
def test_an_answer_that_is_not_the_admin_api_s_is_an_error_and_never_a_success(not_the_lrs, monkeypatch, answer, said):
    """Before: a 200 page (a proxy's sign-in) made `revoke` print "revoked lms", nothing revoked, and
    `list` a JSONDecodeError traceback; a redirect was followed, a POST resent as GET; a proxy's 502
    printed 300 characters of its HTML."""
    monkeypatch.setattr(NotTheLRS, "answer", answer)
    url = f"http://127.0.0.1:{not_the_lrs.server_port}/lrs"
    for command, path in [(["revoke", "lms"], "POST {url}/admin/credentials/lms/revoke"),
                          (["list"], "GET {url}/admin/credentials"), (["create"], "POST {url}/admin/credentials")]:
        result = admin_cli(url, *command)
        assert result.exit_code == 1 and result.output.startswith(f"Error: {path.format(url=url)}: {said}"), result.output
        assert "not the LRS admin API's JSON" in result.output and "<html>" not in result.output
        assert len(result.output.splitlines()) == 1


def test_an_lrs_that_does_not_answer_is_one_line_saying_why_and_what_to_check():
    """Before: urllib3's "HTTPConnectionPool(host='127.0.0.1', port=...): Max retries exceeded with url:
    /admin/credentials (Caused by NewConnectionError(...))"."""
    url = f"http://127.0.0.1:{free_port()}"
    down = CliRunner().invoke(main, ["credentials", "list", "--url", url, "--admin-key", "a", "--admin-secret", "b"])
    assert (down.exit_code, down.output.strip()) == (1, f"Error: cannot reach the LRS at {url}: Connection refused; "
                                                        "is it running, and is that its address (--url, LRS_URL)?")


def test_credentials_create_never_prints_a_key_that_cannot_work():
    nowhere = CliRunner().invoke(main, ["credentials", "create"], env={"LRS_MONGO_URI": "", "LRS_URL": ""})
    assert nowhere.exit_code == 2 and "--url" in nowhere.output and "secret" not in nowhere.output
    down = CliRunner().invoke(main, ["credentials", "create", "--url", f"http://127.0.0.1:{free_port()}",
                                     "--admin-key", "a", "--admin-secret", "b"])
    assert down.exit_code == 1 and "cannot reach the LRS" in down.output and "secret" not in down.output
    no_mongo = CliRunner().invoke(main, ["credentials", "create"], env={
        "LRS_URL": "", "LRS_MONGO_URI": f"mongodb://127.0.0.1:{free_port()}/?serverSelectionTimeoutMS=300"})
    assert no_mongo.exit_code == 1 and "no MongoDB server answered" in no_mongo.output
    assert "secret" not in no_mongo.output and len(no_mongo.output.strip().splitlines()) == 1


@pytest.mark.skipif(not os.environ.get("LRS_TEST_MONGO_URI"), reason="needs a real MongoDB (LRS_TEST_MONGO_URI)")
def test_credentials_directly_on_mongodb():
    env = {"LRS_URL": "", "LRS_MONGO_URI": os.environ["LRS_TEST_MONGO_URI"],
           "LRS_MONGO_DB": f"lrs_test_{uuid.uuid4().hex[:12]}", "LRS_ADMIN_KEY": "", "LRS_ADMIN_SECRET": ""}
    try:
        created = json.loads(CliRunner().invoke(main, ["credentials", "create", "--scope", "admin"], env=env).output)
        assert f"{created['key']}\tactive\tadmin\t" in CliRunner().invoke(main, ["credentials", "list"], env=env).output
    finally:
        MongoClient(env["LRS_MONGO_URI"]).drop_database(env["LRS_MONGO_DB"])


def test_credentials_on_mongodb_log_their_audit_lines(monkeypatch, caplog):
    """The changes made without the server were logged nowhere: the command set up no logging, so
    its INFO lines (who created or revoked which credential) were dropped."""
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))  # the handler the command adds goes afterwards
    monkeypatch.setattr(root, "level", logging.WARNING)  # as before any command configures it
    monkeypatch.setattr(LRS, "from_settings", classmethod(lambda cls: LRS(*LRS.resolve(app_settings(log_level="INFO")))))
    env = {"LRS_URL": "", "LRS_MONGO_URI": "mongodb://127.0.0.1:1"}  # not used: from_settings gives an embedded store
    created = CliRunner().invoke(main, ["credentials", "create", "--key", "lms", "--label", "LMS"], env=env)
    assert created.exit_code == 0, created.output
    assert "credential 'lms' created by `lrs credentials` on MongoDB: scopes all, label 'LMS'" in caplog.messages
    assert json.loads(created.stdout)["secret"] not in caplog.text


def test_direct_administration_follows_the_same_rules_as_the_api(app):
    direct = DirectAdmin(app.extensions["lrs"])
    created = direct.create(scopes=["statements/read"], key="reader", secret="reader-secret")
    assert created["secret"] == "reader-secret" and [c["key"] for c in direct.listed()] == ["reader", ADMIN_KEY]
    with pytest.raises(AdminAPIError, match="exists already"):
        direct.create(scopes=["all"], key="reader")
    for key in ("lms/eu", "..", "a:b"):  # the admin API's key rule, on MongoDB too
        with pytest.raises(AdminAPIError, match="key: must be 1 to 128 printable ASCII characters"):
            direct.create(scopes=["all"], key=key)
    with pytest.raises(AdminAPIError, match="last active credential with scope admin"):
        direct.revoke(ADMIN_KEY)
    rotated = direct.rotate("reader")
    assert rotated["key"] == "reader" and rotated["secret"] != "reader-secret"
    lrs = app.extensions["lrs"]
    assert lrs.credentials.verify("reader", rotated["secret"]) and not lrs.credentials.verify("reader", "reader-secret")
    assert direct.revoke("reader")["active"] is False
    with pytest.raises(AdminAPIError, match="revoked"):
        direct.rotate("reader")


def test_credentials_rotate_directly_on_the_store(shared_store, make_app):
    lrs = make_app(mongo_uri=shared_store).extensions["lrs"]
    lrs.create_credential("learner-1", "lost-secret", ["all"])
    env = {"LRS_URL": "", "LRS_MONGO_URI": shared_store, "LRS_MONGO_DB": lrs.db.name}
    result = CliRunner().invoke(main, ["credentials", "rotate", "learner-1", "--secret", "found-secret"], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["secret"] == "found-secret"
    assert lrs.credentials.verify("learner-1", "found-secret") and not lrs.credentials.verify("learner-1", "lost-secret")


def test_serve_refuses_half_an_admin_credential():
    for env in ({"LRS_ADMIN_KEY": "admin", "LRS_ADMIN_SECRET": ""}, {"LRS_ADMIN_KEY": "", "LRS_ADMIN_SECRET": "change-me"}):
        result = CliRunner().invoke(main, ["serve"], env=env)
        assert result.exit_code == 1 and "set both" in result.output and len(result.output.strip().splitlines()) == 1


def test_serve_starts_a_working_lrs_with_the_admin_credential(tmp_path):
    log = tmp_path / "serve.log"
    with open(log, "w") as output, spawned({"LRS_ADMIN_KEY": "admin", "LRS_ADMIN_SECRET": "change-me", "LRS_MONGO_URI": ""},
                                           stdout=output) as (endpoint, _):
        response = requests.get(f"{endpoint}/statements", auth=("admin", "change-me"),
                                headers={"X-Experience-API-Version": "1.0.3"}, timeout=5)
    assert response.status_code == 200
    assert response.json() == {"statements": [], "more": ""}
    assert "NOT durable" in log.read_text()


def test_credentials_over_http_reach_keys_with_slashes_and_dots_and_refuse_new_ones(app):
    """Earlier releases created keys such as `lms/eu` (docs/h5p.md makes a user's id the key), `.`
    and `..`: the CLI must still change, rotate and revoke them; new ones are refused."""
    lrs = app.extensions["lrs"]
    odd = ["lms/eu", ".", "..", "a/revoke"]
    for key in odd:
        lrs.create_credential(key, "old-secret-1", ["statements/read"])
    with LiveServer(app) as server:
        for key in odd:
            assert json.loads(admin_cli(server.url, "update", key, "--label", "EU").output)["label"] == "EU"
            rotated = admin_cli(server.url, "rotate", key, "--secret", "new-secret-1")
            assert rotated.exit_code == 0 and json.loads(rotated.output)["key"] == key, rotated.output
            revoked = admin_cli(server.url, "revoke", key)
            assert revoked.exit_code == 0 and revoked.output.strip() == f"revoked {key}", revoked.output
        refused = admin_cli(server.url, "create", "--scope", "statements/read", "--key", "lms/fr")
    assert refused.exit_code == 1 and "400 key: must be 1 to 128 printable ASCII characters without spaces, " \
                                      "colons or slashes" in refused.output
    assert [lrs.credentials.get(key).active for key in odd] == [False] * len(odd)


def lrs_credentials(url: str, *args: str, secret: str = ADMIN_SECRET) -> subprocess.CompletedProcess:
    """`lrs credentials ARGS --url URL` in a process of its own, with an admin credential."""
    env = {**os.environ, "LRS_ADMIN_KEY": ADMIN_KEY, "LRS_ADMIN_SECRET": secret}
    return subprocess.run([sys.executable, "-m", "lrs.cli", "credentials", *args, "--url", url], env=env,
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def test_an_empty_key_is_a_usage_error_naming_key(live_server):
    """update and rotate '' reached the collection's URL (404 "The requested URL was not found"),
    revoke '' POST /admin/credentials//revoke (405): neither said what was wrong."""
    for args in (("update", "", "--label", "x"), ("rotate", ""), ("revoke", "")):
        done = lrs_credentials(live_server.url, *args)
        assert (done.returncode, done.stdout) == (2, ""), done.stderr
        assert done.stderr.splitlines()[-1] == "Error: Invalid value for 'KEY': must not be empty", done.stderr


def test_a_password_in_the_url_is_never_printed(live_server):
    """--url http://user:pw@host printed the password in 'cannot reach' and in the server's refusals."""
    unreachable = lrs_credentials(f"http://ops:pw-in-url@127.0.0.1:{free_port()}", "list")
    refused = lrs_credentials(live_server.url.replace("http://", "http://ops:pw-in-url@"), "list", secret="wrong")
    no_scheme = lrs_credentials(live_server.url.replace("http://", "ops:pw-in-url@"), "list")
    for done in (unreachable, refused, no_scheme):
        assert done.returncode == 1 and "pw-in-url" not in done.stdout + done.stderr, done.stderr
    assert "Error: cannot reach the LRS at http://ops:***@127.0.0.1:" in unreachable.stderr
    assert f"Error: GET {live_server.url.replace('http://', 'http://ops:***@')}/admin/credentials: 401 " in refused.stderr
    assert "Error: --url (LRS_URL) 'ops:***@127.0.0.1:" in no_scheme.stderr


def test_update_of_a_revoked_credential_over_http_is_refused_naming_the_rule(app, live_server):
    app.extensions["lrs"].create_credential("lms", "lms-secret-1", ["statements/write"], label="LMS")
    assert admin_cli(live_server.url, "revoke", "lms").exit_code == 0
    refused = admin_cli(live_server.url, "update", "lms", "--label", "renamed", "--scope", "all")
    assert refused.exit_code == 1
    assert "409 credential 'lms' is revoked: a revoked credential cannot be changed" in refused.output
    assert app.extensions["lrs"].credentials.get("lms").label == "LMS"


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    for name, command in group.commands.items():
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))


def test_every_command_and_option_says_what_it_is_in_its_help():
    """`lrs forward dead-letters --help` listed --limit with no word on what it limits."""
    silent = [f"lrs {' '.join(path)}" + (f" {param.opts[0]}" if param else "")
              for path, command in _commands(main)
              for param in [None, *[p for p in command.params if isinstance(p, click.Option)]]
              if not (param.help if param else command.help)]
    assert silent == []


@pytest.mark.parametrize("path", [(), ("serve",), ("forward", "status"), ("credentials", "create")],
                         ids=lambda path: " ".join(("lrs", *path)))
def test_dash_h_is_help_on_every_command(path):
    """`lrs -h` was "No such option: -h", the first thing a newcomer types."""
    result = CliRunner().invoke(main, [*path, "-h"], prog_name="lrs")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Usage: {' '.join(('lrs', *path))} ") and "-h, --help" in result.output


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_the_version_is_one_flag_away(flag):
    result = CliRunner().invoke(main, [flag])
    assert (result.exit_code, result.output) == (0, f"lrs, version {lrs.__version__}\n")
