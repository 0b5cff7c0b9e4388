"""`lrs`: serve the LRS, manage credentials, show settings, back up and restore the embedded store, copy it to MongoDB."""
from __future__ import annotations

import json
import os
import sys
from typing import Any, Callable

import click
from pymongo.errors import PyMongoError

from lrs import __version__
from lrs.admin_client import AdminAPIError, AdminClient, DirectAdmin
from lrs.core import LRS
from lrs.logs import configure as configure_logging
from lrs.logs import escaped
from lrs.settings import SettingError, settings_table, shown_uri


class _OneLineErrors(click.Group):
    """An operator's mistake (a setting, a plugin, an unreachable MongoDB) ends any command with
    one line naming the variable, the value and what is allowed, and exit status 1; never a
    traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SettingError as error:
            raise click.ClickException(str(error)) from None


@click.group(cls=_OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="lrs")
def main() -> None:
    """A standards-exact xAPI Learning Record Store. Settings are LRS_* environment variables
    (`lrs settings` lists them); `lrs serve` starts it (README.md, Quick start)."""


@main.command()
@click.option("--host", help="Address to bind (default: LRS_HOST).")
@click.option("--port", type=int, help="Port to listen on (default: LRS_PORT).")
def serve(host: str | None, port: int | None) -> None:
    """Run the LRS under gunicorn until SIGTERM or Ctrl-C. Without LRS_MONGO_URI it keeps its data
    in the embedded store, in LRS_DATA_DIR (default ./lrs-data), and runs one process with threads.
    LRS_ADMIN_KEY and LRS_ADMIN_SECRET give it an admin credential."""
    from lrs.server import run

    run(host, port)


@main.command()
def settings() -> None:
    """Print every setting (core and enabled plugins) as the README's Markdown table. It never opens
    the store: it works while a server runs on the same data folder, and creates nothing."""
    resolved, _ = LRS.resolve()
    click.echo(settings_table(resolved.declared.values()))


@main.command()
@click.argument("destination")
def backup(destination: str) -> None:
    """Copy the embedded store (LRS_DATA_DIR) to the file DESTINATION, while `lrs serve` runs on it
    or not: one consistent snapshot holding every write acknowledged before it began, checked, and
    written under a temporary name until whole. Restore it with `lrs restore`."""
    from lrs.store.embedded.backup import back_up

    data_dir = _embedded_data_dir("backup")
    made = back_up(data_dir, destination)
    click.echo(f"backed up LRS_DATA_DIR={data_dir!r} to {str(made.path)!r}: {made.statements:,} "
               f"statements, {made.size / 2**20:,.1f} MiB, in {made.seconds:.1f} s")


@main.command()
@click.argument("backup_file")
def restore(backup_file: str) -> None:
    """Make BACKUP_FILE (from `lrs backup`) the embedded store of LRS_DATA_DIR, with `lrs serve`
    stopped: the backup is checked, the replaced store's log files removed (left there, SQLite
    would apply them to the restored file and damage it), and the folder created if missing."""
    from lrs.store.embedded.backup import restore as restore_store

    data_dir = _embedded_data_dir("restore")
    made = restore_store(backup_file, data_dir)
    click.echo(f"restored {backup_file!r} into LRS_DATA_DIR={data_dir!r}: {made.statements:,} statements, "
               f"{made.size / 2**20:,.1f} MiB, in {made.seconds:.1f} s")


@main.command("copy-to-mongodb")
@click.argument("uri")
@click.option("--from", "backup_file", metavar="BACKUP_FILE",
              help="Copy this file made by `lrs backup` instead of LRS_DATA_DIR's store.")
def copy_to_mongodb(uri: str, backup_file: str | None) -> None:
    """Copy the embedded store (LRS_DATA_DIR, with `lrs serve` stopped) into the empty MongoDB
    database LRS_MONGO_DB at URI, whole and as stored: statements with their stored times and
    authorities, documents, attachments, credentials, plugin records, forwarding state, and the
    indexes. Checked afterwards; the source is never changed. Then serve it with LRS_MONGO_URI=URI."""
    from lrs.store.embedded.to_mongodb import Target, copy_backup, copy_data_dir

    settings, _ = LRS.resolve()
    target = Target(uri, settings["mongo_db"], settings["mongo_timeout_seconds"])
    if backup_file:
        source, copied = repr(backup_file), copy_backup(backup_file, target, click.echo)
    elif settings["mongo_uri"]:
        raise click.ClickException("LRS_MONGO_URI is set: lrs copy-to-mongodb copies the embedded store of "
                                   "LRS_DATA_DIR and takes the MongoDB URI as its argument; run it without LRS_MONGO_URI")
    else:
        data_dir = _embedded_data_dir("copy-to-mongodb")
        source, copied = f"LRS_DATA_DIR={data_dir!r}", copy_data_dir(data_dir, target, click.echo)
    click.echo(f"copied {source} into {target.named()}: {copied.collections} collections, {copied.documents:,} "
               f"documents ({copied.statements:,} statements), {copied.indexes} indexes, checked, in "
               f"{copied.seconds:.1f} s; serve it with LRS_MONGO_URI set to that URI")


def _embedded_data_dir(command: str) -> str:
    settings, _ = LRS.resolve()
    if settings["mongo_uri"]:
        raise click.ClickException(f"lrs {command} is for the embedded store; on MongoDB (LRS_MONGO_URI is set) "
                                   "use mongodump/mongorestore or your deployment's snapshots")
    if not settings["data_dir"]:
        raise click.ClickException(f"LRS_DATA_DIR is empty: the memory-only store has nothing on disk for lrs {command}")
    return settings["data_dir"]


@main.group()
def credentials() -> None:
    """Create, list, change, give new secrets to and revoke API credentials: through a running
    LRS (--url, needed for the embedded store) or straight on MongoDB (LRS_MONGO_URI)."""


def _admin_options(command: Callable) -> Callable:
    """--url and the admin credential, for every `lrs credentials` command."""
    for option in reversed((
        click.option("--url", envvar="LRS_URL", help="Base URL of a running LRS to administer over "
                     "HTTP, e.g. http://127.0.0.1:8000 (env LRS_URL). Without it: LRS_MONGO_URI directly."),
        click.option("--admin-key", envvar="LRS_ADMIN_KEY", help="Key of a credential with scope admin "
                     "(env LRS_ADMIN_KEY); with --url."),
        click.option("--admin-secret", envvar="LRS_ADMIN_SECRET", help="Its secret (env LRS_ADMIN_SECRET)."),
    )):
        command = option(command)
    return command


def _admin(url: str | None, admin_key: str | None, admin_secret: str | None) -> AdminClient | DirectAdmin:
    if url:
        if not url.lower().startswith(("http://", "https://")):
            raise click.ClickException(f"--url (LRS_URL) {shown_uri(url)!r}: give the scheme too, http:// or https://, "
                                       "e.g. http://127.0.0.1:8000")
        if not (admin_key and admin_secret):
            raise click.UsageError("--url needs --admin-key and --admin-secret (or LRS_ADMIN_KEY and "
                                   "LRS_ADMIN_SECRET) of a credential with scope admin")
        return AdminClient(url, admin_key, admin_secret)
    if not os.environ.get("LRS_MONGO_URI"):
        raise click.UsageError("no store to administer: give --url (or LRS_URL) of the running LRS, or set "
                               "LRS_MONGO_URI to work on MongoDB directly. (The embedded store lives in the "
                               "server's memory: only the server can change it.)")
    try:
        lrs = LRS.from_settings()
        configure_logging(lrs.settings["log_level"], lrs.settings["log_format"],  # the audit lines, on stderr
                          lrs.settings["log_library_debug"])
        lrs.start()
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    except PyMongoError as error:
        raise click.ClickException(f"cannot reach MongoDB: {error}") from None
    return DirectAdmin(lrs)


def _key_argument(command: Callable) -> Callable:
    """KEY of an existing credential. An empty one would address the collection, and the server's
    404 or 405 would not say what is wrong."""
    return click.argument("key", callback=_non_empty)(command)


def _non_empty(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if not value:
        raise click.BadParameter("must not be empty")
    return value


def _run(operation: Callable[[], Any]) -> Any:
    try:
        return operation()
    except AdminAPIError as error:
        raise click.ClickException(str(error)) from None


@credentials.command("create")
@click.option("--scope", "scopes", multiple=True, default=["all"], show_default=True,
              help="A scope to grant; repeat for several (xAPI scopes, admin, metrics, enabled plugins' scopes).")
@click.option("--label", default="", help="A name for the credential (shown as the authority's name).")
@click.option("--key", default=None, help="Use this key instead of a random one.")
@click.option("--secret", default=None, help="Use this secret instead of a random one.")
@_admin_options
def create_credential(scopes: tuple[str, ...], label: str, key: str | None, secret: str | None,
                      **admin: str | None) -> None:
    """Create a credential and print it as JSON with its secret (shown only now)."""
    fields = {"scopes": list(scopes), "label": label, "key": key, "secret": secret}
    backend = _admin(**admin)
    created = _run(lambda: backend.create(**{k: v for k, v in fields.items() if v is not None}))
    click.echo(json.dumps(created, indent=2))


@credentials.command("list")
@_admin_options
def list_credentials(**admin: str | None) -> None:
    """List credentials (never their secrets): key, state, scopes, label."""
    backend = _admin(**admin)
    for credential in _run(backend.listed):
        state = "active" if credential["active"] else "revoked"
        key, label = escaped(credential["key"]), escaped(credential["label"])  # as stored by earlier releases too
        click.echo(f"{key}\t{state}\t{','.join(credential['scopes'])}\t{label}")


@credentials.command("update")
@_key_argument
@click.option("--scope", "scopes", multiple=True, help="The new scopes (all of them); repeat for several.")
@click.option("--label", default=None, help="The new label.")
@_admin_options
def update_credential(key: str, scopes: tuple[str, ...], label: str | None, **admin: str | None) -> None:
    """Change a credential's scopes and/or label; it takes effect on its next request."""
    changes = {"scopes": list(scopes) or None, "label": label}
    backend = _admin(**admin)
    updated = _run(lambda: backend.update(key, **{k: v for k, v in changes.items() if v is not None}))
    click.echo(json.dumps(updated, indent=2))


@credentials.command("rotate")
@_key_argument
@click.option("--secret", default=None, help="Use this secret instead of a random one.")
@_admin_options
def rotate_credential(key: str, secret: str | None, **admin: str | None) -> None:
    """Give an active credential a new secret and print it as JSON (shown only now); the old
    secret stops working at once. Key, scopes and label stay."""
    backend = _admin(**admin)
    rotated = _run(lambda: backend.rotate(key, **({"secret": secret} if secret is not None else {})))
    click.echo(json.dumps(rotated, indent=2))


@credentials.command("revoke")
@_key_argument
@_admin_options
def revoke_credential(key: str, **admin: str | None) -> None:
    """Revoke a credential at once; its key stays listed as revoked."""
    backend = _admin(**admin)
    _run(lambda: backend.revoke(key))
    click.echo(f"revoked {key}")


from lrs.data_cli import erase_agent_command, retention  # noqa: E402 (commands of their own, added last)
from lrs.forwarding.cli import forward  # noqa: E402 (a command group of its own, added last)

main.add_command(forward)
main.add_command(erase_agent_command)
main.add_command(retention)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
