"""Credentials pages: list, create (the secret shown once, with a copy button and client
snippets), edit label and scopes, give a new secret (shown once the same way), revoke. Everything goes through `lrs.credentials` and the
admin API's own marshmallow schemas."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, redirect, render_template, request, url_for
from marshmallow import ValidationError, fields, validate, validates_schema

from lrs import credentials, schemas
from lrs.auth import OPERATOR_SCOPES, XAPI_SCOPES
from lrs.console import guard
from lrs.console.about import client_snippets
from lrs.http.admin import MAX_PAGE
from lrs.http.admin_credentials import CredentialChange, CredentialPage, NewCredential
from lrs.http.context import current_lrs
from lrs.http.params import Integer, single

blueprint = Blueprint("credentials", __name__)
PAGE_SIZE = 100
FILTERS = ("limit", "active", "scope")  # what the Next and Previous links keep


class ConsolePage(CredentialPage):
    """The admin API's listing parameters, a shorter page, and `before`: the page's Previous link."""

    limit = Integer(load_default=PAGE_SIZE, validate=validate.Range(min=1, max=MAX_PAGE))
    before = fields.String(validate=validate.Length(min=1, max=1000))

    @validates_schema
    def one_way(self, data: dict[str, Any], **_: Any) -> None:
        if "after" in data and "before" in data:
            raise ValidationError("cannot be given with after: a page is either after a key or before it", "before")


@blueprint.get("/credentials")
def index() -> str:
    """The credentials by key, a page at a time: an LRS with an H5P learner per credential holds
    thousands. Filters come as the admin API's parameters (an empty field of the form is none)."""
    lrs = current_lrs()
    wanted = {name: value for name, value in single(request.args).items() if value}
    found = credentials.page(lrs, **schemas.load(ConsolePage(), wanted, "query"))
    kept = {name: wanted[name] for name in FILTERS if name in wanted}
    return render_template("console/credentials.html", page=found, kept=kept, filters=wanted,
                           scopes=lrs.scopes, scope_groups=scope_groups(lrs.scopes))


@blueprint.post("/credentials")
def create() -> str:
    guard.once()
    fields: dict[str, Any] = {"scopes": request.form.getlist("scope"), "label": request.form.get("label", "")}
    if request.form.get("key"):
        fields["key"] = request.form["key"]
    return _shown(credentials.create(current_lrs(), **schemas.load(NewCredential(), fields, "form"), by=guard.acting()),
                  "Credential created")


@blueprint.get("/credentials/<credential_key:key>")
def edit(key: str) -> str:
    lrs = current_lrs()
    return render_template("console/credential_edit.html", credential=credentials.changeable(lrs, key),
                           scope_groups=scope_groups(lrs.scopes))


@blueprint.post("/credentials/<credential_key:key>/change")
def update(key: str) -> Response:
    changes = {"scopes": request.form.getlist("scope"), "label": request.form.get("label", "")}
    credentials.update(current_lrs(), key, **schemas.load(CredentialChange(), changes, "form"), by=guard.acting())
    guard.notify(f"{key}: changes saved.")
    return redirect(url_for(".index"), 303)


@blueprint.post("/credentials/<credential_key:key>/secret")
def rotate(key: str) -> str:
    """For a client that lost or leaked its secret: the old one stops working at once."""
    guard.once()
    return _shown(credentials.rotate(current_lrs(), key, by=guard.acting()), "New secret")


def _shown(made: credentials.NewCredential, heading: str) -> str:
    return render_template("console/credential_created.html", heading=heading, credential=made.credential,
                           secret=made.secret, snippets=client_snippets(made.credential.key, made.secret))


@blueprint.post("/credentials/<credential_key:key>/revoke")
def revoke(key: str) -> Response:
    credentials.revoke(current_lrs(), key, by=guard.acting())
    guard.notify(f"{key} revoked: it works no more.")
    return redirect(url_for(".index"), 303)


SCOPE_HINTS = {
    "statements/write": "store statements",
    "statements/read": "read every statement (and activity definitions)",
    "statements/read/mine": "read only the statements this credential stored",
    "all/read": "read every xAPI resource",
    "all": "read and write every xAPI resource (not admin, not metrics)",
    "state": "read and write the State resource",
    "define": "store activity definitions that refine the stored ones",
    "profile": "read and write Activity and Agent Profiles",
    "admin": "run the LRS: this console and everything under /admin",
    "metrics": "read /metrics and nothing else (a monitoring system)",
}
PLUGIN_HINT = "a scope of an enabled adapter: its page under docs/ says which client needs it"


def scope_groups(scopes: tuple[str, ...]) -> list[tuple[str, list[tuple[str, str]]]]:
    """The scopes a credential may get, as the form groups them, each with what it allows: a
    newcomer making a credential for an LMS cannot tell `all/read` from `statements/read/mine`
    by their names."""
    plugins = [scope for scope in scopes if scope not in XAPI_SCOPES and scope not in OPERATOR_SCOPES]
    groups = [("xAPI", list(XAPI_SCOPES)), ("Administration", list(OPERATOR_SCOPES))]
    groups += [("Plugins", plugins)] if plugins else []
    return [(title, [(scope, SCOPE_HINTS.get(scope, PLUGIN_HINT)) for scope in members]) for title, members in groups]
