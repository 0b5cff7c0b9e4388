"""The plugin contract, proven with a small plugin that uses every adapter-side hook."""
from __future__ import annotations

import pytest
from flask import Blueprint, jsonify, request

from lrs.core import LRS
from lrs.errors import ItemErrors
from lrs.hooks import hookimpl
from lrs.plugins import PluginError
from lrs.settings import Setting
from tests.conftest import app_settings, basic_auth


class EchoAdapter:
    """Turns {"who": ..., "did": ...} into a statement; remembers what was stored."""

    PLUGIN_NAME = "echo"

    def __init__(self):
        self.stored: list[tuple[list[dict], str]] = []

    @hookimpl
    def lrs_declare_settings(self):
        return [Setting("echo_home_page", "http://echo.example.com", "Account homePage of echo users.")]

    @hookimpl
    def lrs_declare_scopes(self):
        return ["echo/write"]

    @hookimpl
    def lrs_register_routes(self, app, lrs):
        blueprint = Blueprint("echo", __name__)

        @blueprint.post("/echo")
        def echo():
            payload = request.get_json()
            statement = {"actor": {"account": {"homePage": lrs.settings["echo_home_page"], "name": payload["who"]}},
                         "verb": {"id": payload["did"]}, "object": {"id": "http://echo.example.com/thing"}}
            try:
                ids = lrs.statements.store([statement], authority=lrs.default_authority("echo"),
                                           version="1.0.3", source=self.PLUGIN_NAME)
            except ItemErrors as error:
                return jsonify({"errors": error.errors}), 400
            return jsonify({"ids": ids})

        app.register_blueprint(blueprint)

    @hookimpl
    def lrs_statements_stored(self, statements, source, lrs):
        self.stored.append((statements, source))


def test_adapter_routes_store_through_the_core_and_are_readable_as_xapi(make_app):
    plugin = EchoAdapter()
    app = make_app(extra_plugins=(plugin,))
    client = app.test_client()
    response = client.post("/echo", json={"who": "ada", "did": "http://adlnet.gov/expapi/verbs/completed"})
    assert response.status_code == 200, response.get_data(as_text=True)
    [statement_id] = response.get_json()["ids"]
    got = client.get(f"/xapi/statements?statementId={statement_id}",
                     headers={"Authorization": basic_auth(), "X-Experience-API-Version": "1.0.3"}).get_json()
    assert got["actor"]["account"] == {"homePage": "http://echo.example.com", "name": "ada"}
    [(statements, source)] = plugin.stored
    assert source == "echo" and statements[0]["id"] == statement_id
    assert app.extensions["lrs"].statement_store.collection.find_one({"_id": statement_id})["source"] == "echo"


def test_adapter_statements_are_validated_like_native_ones(make_app):
    app = make_app(extra_plugins=(EchoAdapter(),))
    response = app.test_client().post("/echo", json={"who": "ada", "did": "not an iri"})
    assert response.status_code == 400
    [[index, path, rule]] = response.get_json()["errors"]
    assert index == 0 and path.startswith("statement[0].verb") and rule


def test_plugin_settings_come_from_the_environment(make_app, monkeypatch):
    monkeypatch.setenv("LRS_ECHO_HOME_PAGE", "http://other.example.com")
    app = make_app(extra_plugins=(EchoAdapter(),))
    assert app.extensions["lrs"].settings["echo_home_page"] == "http://other.example.com"


def test_plugin_scopes_can_be_granted(make_app):
    app = make_app(extra_plugins=(EchoAdapter(),))
    lrs = app.extensions["lrs"]
    assert lrs.create_credential("k", "s", ["echo/write"]).scopes == {"echo/write"}
    with pytest.raises(ValueError, match="unknown scopes"):
        lrs.create_credential("k2", "s", ["nope"])


def test_a_plugin_that_is_not_installed_stops_the_start(make_app):
    with pytest.raises(PluginError, match="not installed"):
        make_app(plugins="no_such_plugin")


def test_a_plugin_that_is_not_enabled_adds_no_route(app):
    assert app.test_client().post("/echo", json={}).status_code == 404


class Misspelled:
    PLUGIN_NAME = "misspelled"

    @hookimpl
    def lrs_register_route(self, app, lrs):  # one letter short of lrs_register_routes
        raise AssertionError("never called")


class WrongArgument:
    PLUGIN_NAME = "wrong-argument"

    @hookimpl
    def lrs_statements_stored(self, statements, origin):
        raise AssertionError("never called")


@pytest.mark.parametrize("plugin, message", [
    (Misspelled(), "plugin 'misspelled' does not fit the hooks .*: unknown hook 'lrs_register_route'"),
    (WrongArgument(), "plugin 'wrong-argument' does not fit the hooks .*Argument.*'origin'.* not be found"),
])
def test_a_hook_implementation_that_matches_no_hook_stops_the_start(make_app, plugin, message):
    with pytest.raises(PluginError, match=message):
        make_app(extra_plugins=(plugin,))


class Failing:
    PLUGIN_NAME = "failing"

    @hookimpl
    def lrs_statements_stored(self, statements, source, lrs):
        raise RuntimeError("the analytics cache is down")


def test_a_failing_stored_hook_is_logged_and_changes_nothing_for_the_client_or_other_plugins(make_app, caplog):
    echo = EchoAdapter()
    app = make_app(extra_plugins=(echo, Failing()))  # the failing one is called first (pluggy: last registered)
    client = app.test_client()
    response = client.post("/echo", json={"who": "ada", "did": "http://adlnet.gov/expapi/verbs/completed"})
    assert response.status_code == 200, response.get_data(as_text=True)
    [statement_id] = response.get_json()["ids"]
    assert [statements[0]["id"] for statements, _ in echo.stored] == [statement_id]
    [record] = [r for r in caplog.records if r.name == "lrs.plugins"]
    assert record.getMessage() == "plugin 'failing': lrs_statements_stored failed"
    assert "the analytics cache is down" in str(record.exc_info[1])
    assert client.post("/echo", json={"who": "ada", "did": "http://adlnet.gov/expapi/verbs/completed"}
                       ).status_code == 200


class Starting:
    PLUGIN_NAME = "starting"

    def __init__(self):
        self.started: list = []

    @hookimpl
    def lrs_startup(self, lrs):
        self.started.append(lrs)


def test_lrs_startup_runs_when_the_lrs_starts_without_any_web_app():
    plugin = Starting()
    lrs = LRS.from_settings(app_settings(), (plugin,))
    assert plugin.started == []
    lrs.start()
    assert plugin.started == [lrs]


def test_caliper_indexes_exist_after_a_start_without_routes():
    lrs = LRS.from_settings(app_settings(plugins="caliper"))
    lrs.start()  # what `lrs forward` and `lrs credentials` do: no lrs_register_routes
    assert any(index.get("expireAfterSeconds") == 0 for index in
               lrs.plugin_collection("caliper", "tokens").index_information().values())
    assert len(lrs.plugin_collection("caliper", "sessions").index_information()) > 1


def test_the_read_api_shows_plugins_only_visible_statements(app):
    lrs = app.extensions["lrs"]
    store = lrs.statement_store
    verb = "http://adlnet.gov/expapi/verbs/completed"
    kept, voided = lrs.statements.store(
        [{"actor": {"mbox": f"mailto:{name}@example.com"}, "verb": {"id": verb},
          "object": {"id": "http://example.com/a"}} for name in ("kept", "voided")],
        authority=lrs.default_authority("admin"), version="1.0.3")
    [voiding] = lrs.statements.store([{"actor": {"mbox": "mailto:admin@example.com"},
                                       "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
                                       "object": {"objectType": "StatementRef", "id": voided}}],
                                     authority=lrs.default_authority("admin"), version="1.0.3")
    pending = {"_id": "00000000-0000-4000-8000-000000000000", "raw": "{}", "pending": "a-batch", "verb": verb,
               "seq": 0, "stored": None}
    store.collection.insert_one(pending)  # what a batch looks like while it is being written

    for match in ({"verb": verb}, {"verb": verb, "pending": "a-batch", "voided": True}):  # cannot be overridden
        assert [s["id"] for s in store.visible(match)] == [kept]
        assert store.aggregate_visible(match, [{"$group": {"_id": "$verb", "n": {"$sum": 1}}}]) == [
            {"_id": verb, "n": 1}]
    assert store.settled_ids([kept, voided, voiding, pending["_id"]]) == {kept, voided, voiding}
    settled = store.settled([kept, voided, voiding, pending["_id"]])
    assert {statement_id: statement["id"] for statement_id, statement in settled.items()} == {
        kept: kept, voided: voided, voiding: voiding}
