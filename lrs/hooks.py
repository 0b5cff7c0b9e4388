"""The plugin contract: every pluggy hook a plugin may implement, documented here.

Built-in plugins (in `plugins/`) and third-party ones (the `lrs.plugins` setuptools entry-point
group) are the same thing: a module with functions marked `@hookimpl`. Only the plugins named in
`LRS_PLUGINS` are registered, so a plugin that is not enabled adds no route and no behaviour.

A plugin module names itself with a module-level `PLUGIN_NAME` (defaults to its entry-point name).
A `@hookimpl` whose name is not one of the hooks below (a misspelling) or that takes an argument
its hook does not have stops the LRS at start. docs/writing-plugins.md documents every hook and
tests/test_docs.py checks that it does.

Reading stored statements: plugins use the statement store's read API, never its collection, so
a change of how batches are written cannot show half-written ones to them:
`lrs.statement_store.visible(match, sort, limit)` (parsed statements),
`lrs.statement_store.aggregate_visible(match, pipeline)` (a pipeline after a leading $match),
`lrs.statement_store.settled_ids(ids)` and `lrs.statement_store.settled(ids)` (parsed statements
by id, voided ones included). "Visible" leaves out voided statements and those of batches still
being written; "settled" only the latter. `match` and the pipeline may use these derived fields (and `seq`,
a monotonic sort key, and `stored`, a datetime):
    verb, actor (an IFI key: lrs.xapi.agents.ifi_key), object_id, object_type, timestamp (a
    datetime), authority, registration, source (the adapter's PLUGIN_NAME or "xapi");
    agents, related_agents, activities, related_activities (lists; indexed: match on them first);
    result.{scaled, raw, min, max, success, completion, duration_seconds};
    context.{parent, grouping, category, other} (lists of activity ids), context.{platform, instructor}.
An index on (source, timestamp, seq) reads a source's statements sorted [("timestamp", -1),
("seq", -1)] a page at a time, with or without a timestamp range.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

import pluggy

if TYPE_CHECKING:  # pragma: no cover
    from flask import Flask

    from lrs.core import LRS
    from lrs.forwarding.contract import Target
    from lrs.settings import Setting

PROJECT = "lrs"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def lrs_declare_settings() -> Iterable["Setting"]:
    """Return the plugin's settings (`lrs.settings.Setting`), named `<plugin>_<what>`.

    They are read from `LRS_<PLUGIN>_<WHAT>` like the core's, appear in `lrs settings`, and are
    available to every hook as `lrs.settings["<plugin>_<what>"]`.
    """


@hookspec
def lrs_declare_scopes() -> Iterable[str]:
    """Return extra credential scopes the plugin checks (e.g. `caliper/events.write`).

    `lrs credentials create --scope` accepts them beside the xAPI scopes. A credential with scope
    `all` does not get plugin scopes implicitly unless the plugin says so in its own checks.
    """


@hookspec
def lrs_startup(lrs: "LRS") -> None:
    """Prepare the plugin's storage (indexes, recovery) once the core's is ready.

    Run by `LRS.start()`, so by every command that opens the LRS (`lrs serve`, `lrs forward`,
    `lrs credentials`, ...), not only the web app. Must be idempotent: every process runs it.
    """


@hookspec
def lrs_register_routes(app: "Flask", lrs: "LRS") -> None:
    """Add the plugin's HTTP routes, normally by `app.register_blueprint(...)`.

    Adapters turn foreign payloads into xAPI statements and hand them to
    `lrs.statements.store(..., source=PLUGIN_NAME)`, which validates them exactly like native
    statements. Adapters never write the statements collection themselves; state of their own
    (sessions, tokens) goes in `lrs.plugin_collection(PLUGIN_NAME, "what")`.
    """


@hookspec
def lrs_statements_stored(statements: list[dict], source: str, lrs: "LRS") -> None:
    """Called after statements were durably stored, with the statements as stored.

    `source` is "xapi" for the xAPI resource or the adapter plugin's name. Runs in the request,
    once its writes are acknowledged (on the embedded store: after the view, once its commit
    succeeded; never for a request whose commit the disk refused), so keep it quick; durable work (forwarding) reads the store rather than relying on this call.
    Each implementation runs on its own: one that raises is logged (with the plugin's name) and
    changes nothing for the client, whose statements are stored, nor for the other plugins.
    """


@hookspec
def lrs_forward_targets(lrs: "LRS") -> Iterable["Target"]:
    """Return the forwarding targets this plugin provides (`lrs.forwarding.contract.Target`):
    objects with `options` (`TargetOptions`: a unique name, batch size, requests in flight,
    filter, start point, request timeout) and `deliver(batch, deadline) -> Outcome`.

    Called when the LRS starts (to check the targets), when a worker starts and by status
    queries, so build targets from settings here, cheaply. The core's forwarding engine owns
    ordering, batching, retries with backoff, dead letters, leases and checkpoints; a target only
    knows how to send one batch to one external system and how to tell delivered,
    refused-for-its-content and try-again apart.
    """


@hookspec
def lrs_erase_agent(lrs: "LRS", agent_keys: list[str]) -> int:
    """Remove what the plugin keeps about a person outside statements (sessions, profiles, ...)
    and return how many records it removed. `agent_keys` are the person's IFI keys
    (`lrs.xapi.agents.ifi_key`: "mbox:mailto:...", "account:<homePage>|<name>", ...).

    Called by `lrs erase-agent` and `DELETE /admin/agents` after the core removed the person's
    statements and documents; statements are the core's, so data derived from them at query time
    needs nothing here.
    """


@hookspec
def lrs_statements_erased(statement_ids: list[str], lrs: "LRS") -> None:
    """These statements were removed for good (a person's erasure or the retention policy), in
    chunks of at most 1,000 ids: drop what the plugin keeps per statement (index entries,
    copies), so nothing it serves still shows them."""
