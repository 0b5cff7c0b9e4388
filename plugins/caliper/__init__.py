"""The IMS Caliper 1.2 adapter: clients of the Caliper envelope API (seeds/002) and of the
Events API (seeds/003) point at this LRS unchanged; every event they send becomes an xAPI
statement, with the event itself kept inside it.

Enable with `LRS_PLUGINS=caliper`; create OAuth clients with
`lrs credentials create --scope caliper/events.write`. See docs/caliper.md.
"""
from __future__ import annotations

from typing import Iterable

from flask import Flask
from pymongo import ASCENDING

from lrs.core import LRS
from lrs.hooks import hookimpl
from lrs.settings import Setting, between, parse_http_url
from lrs.store.indexing import declare_index
from lrs_plugins.caliper import http, oauth_http, read_http
from lrs_plugins.caliper.ingest import PLUGIN_NAME
from lrs_plugins.caliper.jobs import Jobs
from lrs_plugins.caliper.mapping import agent
from lrs_plugins.caliper.session_events import SessionEvents
from lrs_plugins.caliper.sessions import SessionStore
from lrs_plugins.caliper.stored_events import StoredEvents
from lrs_plugins.caliper.tokens import LRS_SCOPE, TokenStore
from lrs_plugins.caliper.upgrades import upgrade


@hookimpl
def lrs_declare_settings() -> Iterable[Setting]:
    return [
        Setting("caliper_token_lifetime", 3600, "Seconds an OAuth Bearer token from POST /oauth/token "
                "stays valid (`expires_in`).", between(int, 1, 30 * 86400)),
        Setting("caliper_heartbeat_timeout", 300.0, "Seconds (server time) a session created with "
                "`requiresHeartbeat` may go without a heartbeat before it is TimedOut.",
                between(float, 1, 7 * 86400)),
        Setting("caliper_home_page", "", "account.homePage of actors whose IRI has no authority, "
                "e.g. urn:... (empty: LRS_PUBLIC_URL).", parse_http_url),
    ]


@hookimpl
def lrs_declare_scopes() -> Iterable[str]:
    return [LRS_SCOPE]


def _stores(lrs: LRS) -> tuple[TokenStore, SessionStore, StoredEvents, Jobs]:
    return (TokenStore(lrs.plugin_collection(PLUGIN_NAME, "tokens"), lrs.settings["caliper_token_lifetime"]),
            SessionStore(lrs.plugin_collection(PLUGIN_NAME, "sessions"), lrs.settings["caliper_heartbeat_timeout"]),
            StoredEvents(lrs, lrs.plugin_collection(PLUGIN_NAME, "events")),
            Jobs(lrs.plugin_collection(PLUGIN_NAME, "jobs")))


@hookimpl
def lrs_startup(lrs: LRS) -> None:
    for store in _stores(lrs):
        store.ensure_indexes()
    # described entities: by client (the `_id`), and by IRI for erasure
    declare_index(lrs.plugin_collection(PLUGIN_NAME, "entities"), [("entityId", ASCENDING)])
    upgrade(lrs)


@hookimpl
def lrs_erase_agent(lrs: LRS, agent_keys: list[str]) -> int:
    """A person's sessions, the Person entities envelopes described and the index entries of their
    events (actor IRI and email), found by the actor IRIs their xAPI accounts were made from
    (mapping.agent, backwards)."""
    home_page = lrs.settings["caliper_home_page"] or lrs.settings["public_url"]
    iris = [iri for key in agent_keys if key.startswith("account:") for iri in _actor_iris(key, home_page)]
    if not iris:
        return 0
    sessions = lrs.plugin_collection(PLUGIN_NAME, "sessions").delete_many({"learner": {"$in": iris}})
    entities = lrs.plugin_collection(PLUGIN_NAME, "entities").delete_many({"entityId": {"$in": iris}})
    events = lrs.plugin_collection(PLUGIN_NAME, "events").delete_many({"actorId": {"$in": iris}})
    return sessions.deleted_count + entities.deleted_count + events.deleted_count


@hookimpl
def lrs_statements_erased(statement_ids: list[str], lrs: LRS) -> None:
    """The listing's index entries (GET /caliper/events) of erased statements: their `_id` is the
    statement id, and they hold the actor's id and email."""
    lrs.plugin_collection(PLUGIN_NAME, "events").delete_many({"_id": {"$in": statement_ids}})


def _actor_iris(key: str, home_page: str) -> list[str]:
    """The actor IRIs that mapping.agent turns into this account, and only those: erasing one
    person must not reach another's entries."""
    page, _, name = key.removeprefix("account:").partition("|")
    account = {"homePage": page, "name": name}
    return [iri for iri in (f"{page}/{name}", f"{page}{name}", name) if agent(iri, home_page)["account"] == account]


@hookimpl
def lrs_register_routes(app: Flask, lrs: LRS) -> None:
    settings = lrs.settings
    tokens, sessions, stored_events, jobs = _stores(lrs)
    session_events = SessionEvents(lrs, sessions, settings["caliper_home_page"] or settings["public_url"])
    app.register_blueprint(oauth_http.blueprint(lrs, tokens))
    app.register_blueprint(http.blueprint(lrs, tokens, session_events, stored_events, jobs))
    app.register_blueprint(read_http.blueprint(lrs, tokens, stored_events, jobs))
