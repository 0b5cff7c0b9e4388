"""`lrs forward`: run the worker, see where targets stand, verify one, replay dead letters, retry now,
backfill."""
from __future__ import annotations

import json
import os
import signal
import threading
import time
from typing import Any, Callable, TypeVar

import click

from lrs.core import LRS
from lrs.errors import Conflict, NotFound
from lrs.forwarding import operations
from lrs.forwarding.scan import parse_since
from lrs.forwarding.status import forwarding_status
from lrs.forwarding.verify import verify
from lrs.forwarding.worker import Worker
from lrs.http.admin import MAX_PAGE
from lrs.logs import configure as configure_logging
from lrs.store.embedded import StoreInUse

T = TypeVar("T")
ACTING = "`lrs forward` on MongoDB"  # who acts, for the audit log lines


def _lrs() -> LRS:
    """The LRS, logging like the server (the worker's targets, batches and retries at INFO). On the
    embedded store that is the LRS_DATA_DIR folder, which a running server holds (one line
    pointing to the admin API then), or an empty store in memory. A folder that does not exist is refused rather than
    created: these commands only look at or steer what a server stored there."""
    settings, plugins = LRS.resolve()
    if not settings["mongo_uri"] and settings["data_dir"] and not os.path.isdir(settings["data_dir"]):
        raise click.ClickException(f"no embedded store here: LRS_DATA_DIR={settings['data_dir']!r} does not "
                                   "exist (start `lrs serve` with it first, or set LRS_MONGO_URI)")
    try:
        lrs = LRS(settings, plugins)
    except StoreInUse as error:  # its general advice, another folder or stopping the server, is wrong here
        raise click.ClickException(
            f"LRS_DATA_DIR={settings['data_dir']!r}: a server (pid {error.holder}) runs on this embedded store, "
            "and `lrs forward` commands read it only while none does; meanwhile see forwarding at "
            "GET /admin/forwarding or on the console's Forwarding page") from None
    if not lrs.settings["mongo_uri"]:
        seen = (f"the embedded store of LRS_DATA_DIR={lrs.settings['data_dir']!r}, read while no server runs there"
                if lrs.settings["data_dir"] else "an empty memory-only embedded store (LRS_DATA_DIR is empty)")
        click.echo(f"warning: LRS_MONGO_URI is not set: this command sees {seen}. With the embedded store, "
                   "forwarding runs in the LRS process (LRS_FORWARD_IN_PROCESS=true); watch it at "
                   "GET /admin/forwarding.", err=True)
    configure_logging(lrs.settings["log_level"], lrs.settings["log_format"], lrs.settings["log_library_debug"])
    lrs.start()
    return lrs


@click.group(invoke_without_command=True)
@click.pass_context
def forward(ctx: click.Context) -> None:
    """Run the forwarding worker until SIGTERM or Ctrl-C (or use a subcommand), beside `lrs serve`
    on MongoDB (LRS_MONGO_URI); on the embedded store the server forwards itself
    (LRS_FORWARD_IN_PROCESS=true)."""
    if ctx.invoked_subcommand is not None:
        return
    if not os.environ.get("LRS_MONGO_URI"):  # it would idle forever on an empty store of its own
        raise click.ClickException("lrs forward needs LRS_MONGO_URI: the embedded store lives in the server "
                                   "process; forward there (LRS_FORWARD_IN_PROCESS=true with lrs serve) and "
                                   "watch it at GET /admin/forwarding")
    worker = Worker(_lrs()).start()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    while not stop.wait(1.0):
        pass
    worker.stop()


@forward.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--wait-caught-up", "wait", type=float, default=None, metavar="SECONDS",
              help="Wait up to SECONDS for every target to be caught up (backlog 0); exit 1 if one is not.")
def status(as_json: bool, wait: float | None) -> None:
    """Backlog, lag, delivered count, last success, last error and dead letters of every target."""
    lrs = _lrs()
    deadline = time.monotonic() + (wait or 0)
    report = forwarding_status(lrs)
    while wait is not None and not all(row["caught_up"] for row in report) and time.monotonic() < deadline:
        time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
        report = forwarding_status(lrs)
    _print_status(report, as_json)
    if wait is not None and not all(row["caught_up"] for row in report):
        raise SystemExit(1)


def _print_status(report: list[dict], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    click.echo("target\tbacklog\tlag_s\tdelivered\tper_s\tretrying\tpaused\tbatch_limit\tdead_letters"
               "\tlast_success\tlast_error_at\terror")
    for row in report:
        error = (row.get("last_error") or {}).get("message", "")  # only while failing: past ones are cleared
        limit = (row.get("batch_limit") or {}).get("statements", "-")
        click.echo(f"{row['target']}\t{row['backlog']}\t{row['lag_seconds']:.1f}\t{row['delivered']}\t"
                   f"{row['delivered_per_second']}\t{row['retrying']}\t{row.get('paused') or '-'}\t{limit}\t{row['dead_letters']}\t"
                   f"{row.get('last_success') or '-'}\t{row.get('last_error_at') or '-'}\t{error[:120] or '-'}")


@forward.command("verify")
@click.argument("target")
@click.option("--since", default=None, help="Only statements stored from this RFC 3339 time on.")
def verify_target(target: str, since: str | None) -> None:
    """Check that TARGET holds every statement it should, with the same content; exit 1 if not."""
    lrs = _lrs()
    try:
        if since is not None and parse_since(since) == "now":
            raise ValueError('since: expected an RFC 3339 time, not "now"')
        result = verify(lrs, operations.target_named(lrs, target), since)
    except (NotFound, ValueError) as error:
        raise click.ClickException(str(getattr(error, "message", error))) from None
    for statement_id in result.missing:
        click.echo(f"missing\t{statement_id}")
    for statement_id in result.different:
        click.echo(f"different\t{statement_id}")
    click.echo(f"{target}: {result.checked} statements checked, {len(result.missing)} missing, "
               f"{len(result.different)} different", err=True)
    if not result.ok:
        raise SystemExit(1)


@forward.command("dead-letters")
@click.argument("target")
@click.option("--after", type=click.IntRange(min=-1), default=-1, help="Continue after this statement seq.")
@click.option("--limit", type=click.IntRange(1, MAX_PAGE), default=100, show_default=True,
              help="Most dead letters to list; continue with --after the last one's seq.")
def list_dead_letters(target: str, after: int, limit: int) -> None:
    """List a target's dead letters (statement id, the target's answer) as JSON lines."""
    for letter in _run(operations.dead_letters, target, after, limit):
        click.echo(json.dumps(letter, ensure_ascii=False))


@forward.command()
@click.argument("target")
@click.option("--id", "ids", multiple=True, help="Replay only this statement (repeatable).")
def replay(target: str, ids: tuple[str, ...]) -> None:
    """Ask the worker to send a target's dead letters again (all of them, or --id ones)."""
    count = _run(operations.replay, target, list(ids) or None, by=ACTING)
    click.echo(f"{count} dead letters marked for replay")


@forward.command()
@click.argument("target")
def retry(target: str) -> None:
    """Retry a paused or backing-off target now rather than at its next attempt (its cause fixed on its side)."""
    click.echo(_run(operations.retry, target, by=ACTING)["message"])


@forward.command()
@click.argument("target")
@click.option("--since", required=True, help='RFC 3339 time, or "now" to skip everything stored so far.')
def backfill(target: str, since: str) -> None:
    """Make a target (re)receive everything stored from a point in time on."""
    checkpoint = _run(operations.backfill, target, since, by=ACTING)
    click.echo(f"{target}: continuing after statement seq {checkpoint}")


def _run(operation: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    try:
        return operation(_lrs(), *args, **kwargs)
    except (NotFound, Conflict, ValueError) as error:
        raise click.ClickException(str(getattr(error, "message", error))) from None
