"""The simple events adapter: clients of the "EdTech Impact" style event API (seeds/000) switch
their base URL to this LRS and keep working; every event becomes one ordinary xAPI statement.

Enable with `LRS_PLUGINS=simple_events`; issue API keys with
`lrs credentials create --scope simple_events`. See docs/simple_events.md.
"""
from __future__ import annotations

from typing import Iterable

from flask import Flask

from lrs.core import LRS
from lrs.hooks import hookimpl
from lrs.settings import Setting, choice, parse_http_url, plugin_path
from lrs.xapi.values import is_iri
from lrs_plugins.simple_events.http import PLUGIN_NAME, register
from lrs_plugins.simple_events.mapping import UNKNOWN_EVENTS, EventMapping


def _iri_base(value: str) -> str:
    """Empty, or an absolute IRI that the minted activity, verb and extension IRIs extend."""
    base = value.strip()
    if base and not is_iri(base):
        raise ValueError("must be an absolute IRI, e.g. https://lrs.example.org/simple-events")
    return base


@hookimpl
def lrs_declare_settings() -> Iterable[Setting]:
    return [
        Setting("simple_events_path", "/events", "Path the simple events API is served on (not under the core's /xapi, /admin, ...).", plugin_path),
        Setting("simple_events_home_page", "", "homePage of the account actor made from `userId` "
                "(empty: LRS_PUBLIC_URL).", parse_http_url),
        Setting("simple_events_iri_base", "", "Base of every IRI the adapter mints: activities, "
                "schools, classes, trait extensions (empty: LRS_PUBLIC_URL/simple-events).", _iri_base),
        Setting("simple_events_platform", "simple events", "`context.platform` of every statement, "
                "and the name of the platform activity that loggedin/loggedout are about."),
        Setting("simple_events_unknown_events", "reject", "What an event name outside the six "
                "standard ones does: `reject` (400, nothing stored) or `accept` (a verb IRI is "
                "minted under the IRI base).", choice(*UNKNOWN_EVENTS)),
    ]


@hookimpl
def lrs_declare_scopes() -> Iterable[str]:
    return [PLUGIN_NAME]


@hookimpl
def lrs_register_routes(app: Flask, lrs: LRS) -> None:
    register(app, lrs, lrs.settings["simple_events_path"], EventMapping.from_settings(lrs.settings))
