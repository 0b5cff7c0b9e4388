"""`lrs`: serve the LRS, manage credentials, show settings."""
from __future__ import annotations

import json
import os
import sys

import click

from lrs.auth import new_key, new_secret
from lrs.core import LRS
from lrs.settings import settings_table


@click.group()
def main() -> None:
    """A standards-exact xAPI Learning Record Store."""


@main.command()
@click.option("--host", help="Address to bind (default: LRS_HOST).")
@click.option("--port", type=int, help="Port to listen on (default: LRS_PORT).")
def serve(host: str | None, port: int | None) -> None:
    """Run the LRS under gunicorn. The embedded store runs one process with threads."""
    from lrs.server import run

    run(host, port)


@main.command()
def settings() -> None:
    """Print every setting (core and enabled plugins) as the README's Markdown table."""
    lrs = LRS.from_settings()
    click.echo(settings_table(lrs.settings.declared.values()))


@main.group()
def credentials() -> None:
    """Create, list and revoke API credentials (needs LRS_MONGO_URI to be useful)."""


@credentials.command("create")
@click.option("--scope", "scopes", multiple=True, default=["all"], show_default=True,
              help="A scope to grant; repeat for several.")
@click.option("--label", default="", help="A name for the credential (shown as the authority's name).")
@click.option("--key", default=None, help="Use this key instead of a random one.")
@click.option("--secret", default=None, help="Use this secret instead of a random one.")
def create_credential(scopes: tuple[str, ...], label: str, key: str | None, secret: str | None) -> None:
    """Create a credential and print its key and secret (the secret is shown only now)."""
    lrs = _lrs()
    key, secret = key or new_key(), secret or new_secret()
    try:
        credential = lrs.create_credential(key, secret, scopes, label=label)
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    click.echo(json.dumps({"key": credential.key, "secret": secret, "scopes": sorted(credential.scopes),
                           "authority": credential.authority}, indent=2))


@credentials.command("list")
def list_credentials() -> None:
    """List credentials (never their secrets)."""
    for credential in _lrs().credentials.all():
        state = "active" if credential.active else "revoked"
        click.echo(f"{credential.key}\t{state}\t{','.join(sorted(credential.scopes))}\t{credential.label}")


@credentials.command("revoke")
@click.argument("key")
def revoke_credential(key: str) -> None:
    """Revoke a credential at once; its key stays listed as revoked."""
    if not _lrs().credentials.revoke(key):
        raise click.ClickException(f"no credential with key {key}")
    click.echo(f"revoked {key}")


def _lrs() -> LRS:
    if not os.environ.get("LRS_MONGO_URI"):
        click.echo("warning: LRS_MONGO_URI is not set; the embedded store forgets this when the "
                   "command ends. Use LRS_ADMIN_KEY/LRS_ADMIN_SECRET with the embedded store.", err=True)
    lrs = LRS.from_settings()
    lrs.start()
    return lrs


from lrs.forwarding.cli import forward  # noqa: E402 (a command group of its own, added last)

main.add_command(forward)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
