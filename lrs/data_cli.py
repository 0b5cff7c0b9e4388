"""`lrs erase-agent` and `lrs retention run`: data protection from the command line (MongoDB).

The embedded store lives inside the server process, so there these commands would erase from an
empty store of their own; they refuse and name the HTTP way instead.
"""
from __future__ import annotations

import json
import os

import click

from lrs import client_json
from lrs.core import LRS
from lrs.erasure import erase_agent, erase_older_than

BY = "command line"


def _lrs(what: str) -> LRS:
    if not os.environ.get("LRS_MONGO_URI"):
        raise click.ClickException(f"{what} needs LRS_MONGO_URI: the embedded store lives in the server "
                                   "process (use DELETE /admin/agents?agent=... on the running LRS; "
                                   "retention runs there by itself when LRS_RETENTION_DAYS is set)")
    lrs = LRS.from_settings()
    lrs.start()
    return lrs


@click.command("erase-agent")
@click.argument("agent_json")
def erase_agent_command(agent_json: str) -> None:
    """Erase a person: their statements (and those referring to them), documents, attachment
    contents no other statement uses, and plugin records. AGENT_JSON is an xAPI Agent, or an
    object listing several IFIs ({"mbox": [...], "account": [...]}). Prints the counts as JSON.
    Works on MongoDB (LRS_MONGO_URI); on the embedded store, DELETE /admin/agents of the server."""
    try:
        person = client_json.loads(agent_json)
    except ValueError:
        raise click.BadParameter("must be JSON, e.g. '{\"mbox\": \"mailto:ann@example.com\"}'",
                                 param_hint="AGENT_JSON") from None
    lrs = _lrs("erase-agent")
    try:
        report = erase_agent(lrs, person, by=BY)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="AGENT_JSON") from None
    click.echo(json.dumps(report, indent=2))


@click.group()
def retention() -> None:
    """The retention policy (LRS_RETENTION_DAYS)."""


@retention.command("run")
def retention_run() -> None:
    """Erase statements stored more than LRS_RETENTION_DAYS days ago, once (run it from cron), on
    MongoDB (LRS_MONGO_URI); the server of an embedded store runs it hourly by itself."""
    lrs = _lrs("retention run")
    days = lrs.settings["retention_days"]
    if not days:
        raise click.ClickException("LRS_RETENTION_DAYS is not set (0 keeps everything): nothing to do")
    click.echo(json.dumps(erase_older_than(lrs, days, by=BY), indent=2))
