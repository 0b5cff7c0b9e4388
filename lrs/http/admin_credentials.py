"""The admin API for credentials: create (the secret is shown once), list, read, change, give a
new secret (shown once), revoke.

Under /admin/credentials with the same `admin` scope check as all of /admin. Bodies are validated
with marshmallow here; the rules about scopes, existing keys and the last admin live in
`lrs.credentials`, which the console and `lrs credentials` share.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request
from marshmallow import fields, validate
from werkzeug.exceptions import MethodNotAllowed
from werkzeug.routing import PathConverter

from lrs import credentials, schemas
from lrs.auth import Credential
from lrs.errors import NotFound
from lrs.http.admin import MAX_PAGE, admin_only, object_body
from lrs.http.auth import acting
from lrs.http.context import current_lrs
from lrs.http.params import Boolean, Integer, StrictSchema, no_parameters, single
from lrs.settings import KEY_PATTERN, KEY_RULE, SECRET_LENGTH

blueprint = Blueprint("admin_credentials", __name__, url_prefix="/admin/credentials")
blueprint.before_request(admin_only)


@blueprint.before_request
def parameters_of_the_listing_only() -> None:
    if request.endpoint != f"{blueprint.name}.listed":
        no_parameters()


class KeyConverter(PathConverter):
    """`<credential_key:key>`: a key in a path, even one an earlier release let hold `/` (the
    rest of the path up to the route's fixed last segment, `%2F` or not), `.` or `..`."""

    regex = ".+?"
    part_isolating = False

    def to_url(self, value: str) -> str:
        return credentials.key_in_path(value)


def _scopes(**kwargs: Any) -> fields.List:
    return fields.List(fields.String(validate=validate.Length(min=1, max=100)), validate=validate.Length(min=1, error="at least one scope is required"),
                       **kwargs)


class CredentialChange(StrictSchema):
    scopes = _scopes()
    label = fields.String()  # its rule is lrs.credentials's, the same for every way in


def _secret() -> fields.String:
    low, high = SECRET_LENGTH  # the rule LRS_ADMIN_SECRET follows too
    return fields.String(validate=validate.Length(min=low, max=high))


class NewCredential(CredentialChange):
    scopes = _scopes(required=True)
    key = fields.String(validate=validate.Regexp(KEY_PATTERN, error=KEY_RULE))
    secret = _secret()


class NewSecret(StrictSchema):
    secret = _secret()


class CredentialPage(StrictSchema):
    limit = Integer(load_default=MAX_PAGE, validate=validate.Range(min=1, max=MAX_PAGE))
    after = fields.String(validate=validate.Length(min=1, max=1000))  # a key: that of `more_after`
    active = Boolean()
    scope = fields.String(validate=validate.Length(min=1, max=100))


@blueprint.post("")
def create() -> tuple[Response, int]:
    """201 with the secret: the only answer that ever holds it."""
    return _with_secret(credentials.create(current_lrs(), **schemas.load(NewCredential(), object_body()), by=acting())), 201


@blueprint.post("/<credential_key:key>/secret")
def new_secret(key: str) -> Response:
    """Body {} for a random secret, or {"secret": ...}; the new secret is in this answer only."""
    return _with_secret(credentials.rotate(current_lrs(), key, **schemas.load(NewSecret(), object_body()), by=acting()))


def _with_secret(made: credentials.NewCredential) -> Response:
    response = jsonify({**credentials.described(made.credential), "secret": made.secret})
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get("")
def listed() -> Response:
    """?limit (1 to 1000, default 1000), ?after (a `more_after`), ?active=true|false, ?scope=<scope>."""
    found = credentials.page(current_lrs(), **schemas.load(CredentialPage(), single(request.args), "query"))
    return jsonify({"credentials": [credentials.described(c) for c in found.credentials], "more_after": found.more_after})


@blueprint.get("/<credential_key:key>")
def one(key: str) -> Response:
    return jsonify(credentials.described(_existing(key)))


def _existing(key: str) -> Credential:
    """The credential of a GET or PATCH path. A key may hold `/` (see KeyConverter), so
    `GET .../lms/revoke` reads as the key `lms/revoke`: when that is no key but `lms` is, the
    request is the revoke (or new secret) of `lms` with the wrong method, a 405 saying so."""
    try:
        return credentials.get(current_lrs(), key)
    except NotFound:
        owner, _, action = key.rpartition("/")
        if action in ("revoke", "secret") and current_lrs().credentials.get(owner) is not None:
            raise MethodNotAllowed(valid_methods=["OPTIONS", "POST"]) from None
        raise


@blueprint.patch("/<credential_key:key>")
def change(key: str) -> Response:
    """Body {"label": ..., "scopes": [...]}, either or both."""
    _existing(key)
    return jsonify(credentials.described(credentials.update(current_lrs(), key, **schemas.load(CredentialChange(), object_body()),
                                                        by=acting())))


@blueprint.post("/<credential_key:key>/revoke")
def revoke(key: str) -> Response:
    return jsonify(credentials.described(credentials.revoke(current_lrs(), key, by=acting())))
