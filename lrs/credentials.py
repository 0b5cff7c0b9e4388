"""Administering credentials: the one place the admin API, the console and `lrs credentials` go
through to create, list, change, give a new secret and revoke them.

Rules kept here rather than in each caller: scopes must be known (xAPI's, `admin`, `metrics` and the
enabled plugins'); a new secret is shown once and only its hash is kept; an existing key, revoked or
not, is never overwritten by a create (a key names one client for good: an H5P learner's key is
their user id), but an active one can get a new secret; and the last active credential with
scope `admin` cannot be revoked or lose that scope, so the LRS never locks its operators out. Each
change is logged at INFO with who made it (never a secret): the operator's audit trail.
"""
from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable
from urllib.parse import quote

from lrs.auth import ADMIN_SCOPE, Credential, new_key, new_secret
from lrs.errors import BadRequest, Conflict, NotFound
from lrs.logs import clipped
from lrs.settings import KEY_PATTERN, KEY_RULE

if TYPE_CHECKING:  # pragma: no cover
    from lrs.core import LRS

log = logging.getLogger(__name__)
LABEL_MAX_LENGTH = 200
LABEL_RULE = (f"must be at most {LABEL_MAX_LENGTH} characters, none of them a control character "
              "(NUL, tab, line breaks, ESC...)")


@dataclass(frozen=True)
class NewCredential:
    """A credential just created, with its secret in clear: the only time it is known."""

    credential: Credential
    secret: str


def described(credential: Credential) -> dict[str, Any]:
    """A credential as the admin API and the CLI show it: never its secret nor its hash."""
    return {"key": credential.key, "label": credential.label, "scopes": sorted(credential.scopes),
            "authority": credential.authority, "active": credential.active}


def create(lrs: "LRS", scopes: Iterable[str], label: str = "", key: str | None = None,
           secret: str | None = None, *, by: str) -> NewCredential:
    """A new credential (random key and secret unless given); 409 if the key exists. `by` names
    who acts, for the log line each change leaves (the operator's audit trail), as in every
    function here that changes a credential."""
    if key is not None and not re.match(KEY_PATTERN, key):
        raise BadRequest(f"key: {KEY_RULE}")
    scopes, label = _known(lrs, scopes), _checked_label(label)
    key, secret = key or new_key(), secret or new_secret()
    credential = lrs.credentials.insert(key, secret, scopes, lrs.default_authority(key, label), label)
    if credential is None:
        raise Conflict(f"key: a credential with key {key!r} exists already; {_what_instead(lrs, key)}")
    log.info("credential %r created by %s: scopes %s, label %r", key, by, ",".join(sorted(credential.scopes)), label)
    return NewCredential(credential, secret)


def _what_instead(lrs: "LRS", key: str) -> str:
    existing = lrs.credentials.get(key)
    if existing is not None and not existing.active:
        return "it is revoked, and a revoked key is never used again: choose another key"
    return ("choose another key, or give this one a new secret (`lrs credentials rotate KEY`, "
            "POST /admin/credentials/<key>/secret)")


def rotate(lrs: "LRS", key: str, secret: str | None = None, *, by: str) -> NewCredential:
    """A new secret (random unless given) for an active credential, for a client that lost or
    leaked its own; the old secret stops working at once. Key, scopes and authority stay, so an
    H5P learner keeps their user id and statements."""
    current = get(lrs, key)
    secret = secret or new_secret()
    credential = lrs.credentials.replace_secret(key, secret) if current.active else None
    if credential is None:  # revoked, perhaps meanwhile
        raise Conflict(f"credential {key!r} is revoked: a revoked credential never works again; "
                       "create one with another key")
    log.info("credential %r given a new secret by %s", key, by)
    return NewCredential(credential, secret)


def listed(lrs: "LRS") -> list[Credential]:
    """Every credential, revoked ones included, by key."""
    return lrs.credentials.all()


@dataclass(frozen=True)
class Page:
    """A page of credentials by key, with the key to ask the next page `after` (None on the last)
    and the one to ask the previous page `before` (None on the first)."""

    credentials: list[Credential]
    more_after: str | None
    more_before: str | None


def page(lrs: "LRS", limit: int, after: str | None = None, active: bool | None = None,
         scope: str | None = None, before: str | None = None) -> Page:
    """The credentials after `after` or else before `before`, at most `limit` (an LRS with H5P
    learners may hold one per learner). A page reached from another has that one beside it."""
    if before is None:
        found = lrs.credentials.page(after, limit + 1, active, scope)
        kept = found[:limit]
        return Page(kept, kept[-1].key if len(found) > limit else None,
                    kept[0].key if kept and after is not None else None)
    found = lrs.credentials.page(before, limit + 1, active, scope, backwards=True)
    kept = found[:limit][::-1]
    return Page(kept, kept[-1].key if kept else None, kept[0].key if len(found) > limit else None)


def key_in_path(key: str) -> str:
    """A key as one URL path segment, for any key a store may hold: earlier releases created keys
    with `/` (percent-encoded, the server decodes it and the routes take it back) and keys `.` and
    `..`, sent as `%2E` so that no client removes them as dot segments (browsers do still)."""
    encoded = quote(key, safe="")
    return encoded.replace(".", "%2E") if key in (".", "..") else encoded


def get(lrs: "LRS", key: str) -> Credential:
    credential = lrs.credentials.get(key)
    if credential is None:
        raise NotFound(f"no credential with key {clipped(key)!r}")  # a path may hold any length
    return credential


def update(lrs: "LRS", key: str, label: str | None = None, scopes: Iterable[str] | None = None, *,
           by: str) -> Credential:
    """Change a credential's label and/or scopes; it takes effect on its next request. The
    authority stays as created: statements already stored carry it. A revoked credential stays as
    it was revoked: its record is what an audit reads of the key, and scopes it can never use
    again would only mislead whoever lists them."""
    current = changeable(lrs, key)
    changes: dict[str, Any] = {}
    if label is not None:
        changes["label"] = _checked_label(label)
    if scopes is not None:
        changes["scopes"] = _known(lrs, scopes)
        if ADMIN_SCOPE not in changes["scopes"]:
            _keep_an_admin(lrs, current, "remove scope admin from")
    if not changes:
        return current
    reduced = scopes is not None and not current.scopes <= set(changes["scopes"])
    updated = lrs.credentials.update(key, changes, scopes_reduced=reduced) or changeable(lrs, key)  # revoked meanwhile: 409
    if ADMIN_SCOPE not in updated.scopes:
        _undo_if_no_admin_is_left(lrs, current, "remove scope admin from", lambda: lrs.credentials.update(
            key, {"scopes": current.scopes, "label": current.label}))
    log.info("credential %r changed by %s: %s", key, by, _changes(current, updated))
    return updated


def changeable(lrs: "LRS", key: str) -> Credential:
    """The credential of `key` if its label and scopes may be changed: 404 if there is none, 409
    if it is revoked (see `update`)."""
    current = get(lrs, key)
    if not current.active:
        raise Conflict(f"credential {key!r} is revoked: a revoked credential cannot be changed (its label and "
                       "scopes stay as they were when it was revoked); create one with another key")
    return current


def _changes(before: Credential, after: Credential) -> str:
    """What a change did, for its log line: the fields that differ, before and after."""
    shown = [(f"scopes {','.join(sorted(before.scopes))} -> {','.join(sorted(after.scopes))}", before.scopes != after.scopes),
             (f"label {before.label!r} -> {after.label!r}", before.label != after.label)]
    return ", ".join(text for text, differs in shown if differs) or "nothing (the same values)"


def revoke(lrs: "LRS", key: str, *, by: str) -> Credential:
    """Revoke a credential at once; its key stays listed (and unusable) as revoked."""
    current = get(lrs, key)
    _keep_an_admin(lrs, current, "revoke")
    lrs.credentials.revoke(key)
    _undo_if_no_admin_is_left(lrs, current, "revoke", lambda: lrs.credentials.undo_revoke(key))
    if current.active:  # revoking a revoked credential again changes nothing
        log.info("credential %r revoked by %s", key, by)
    return get(lrs, key)


def warn_if_unreachable(lrs: "LRS") -> None:
    """Say at start, with the way out, when no one can use or administer this LRS."""
    if lrs.credentials.count_active(ADMIN_SCOPE):
        return
    how = ("Start it with LRS_ADMIN_KEY and LRS_ADMIN_SECRET set (that credential gets scopes all and admin)"
           + ("" if not lrs.settings["mongo_uri"] else
              ", or run `lrs credentials create --scope admin` with this LRS_MONGO_URI")
           + ", then create the others with `lrs credentials create --url <this LRS>`.")
    if lrs.credentials.count_active() == 0:
        log.warning("No credential exists: every request but /xapi/about will be refused (401). %s", how)
    else:
        log.warning("No active credential has scope admin: /admin and the console refuse everyone. %s", how)


def _known(lrs: "LRS", scopes: Iterable[str]) -> list[str]:
    scopes = list(scopes)
    if not scopes:
        raise BadRequest("scopes: at least one scope is required")
    try:
        lrs.check_scopes(scopes)
    except ValueError as error:
        raise BadRequest(f"scopes: {error}") from None
    return scopes


def _checked_label(label: str) -> str:
    """A label is one line of text: it becomes the authority's name in statements and is printed
    by `lrs credentials list` (one tab-separated line per credential) and in the log, where a
    NUL, a line break or a terminal escape sequence (ESC) would garble or forge what is shown."""
    if len(label) > LABEL_MAX_LENGTH or any(unicodedata.category(c) == "Cc" for c in label):
        raise BadRequest(f"label: {LABEL_RULE}")
    return label


def _keep_an_admin(lrs: "LRS", credential: Credential, action: str) -> None:
    if credential.active and ADMIN_SCOPE in credential.scopes and lrs.credentials.count_active(ADMIN_SCOPE) <= 1:
        raise _last_admin(credential, action)


def _undo_if_no_admin_is_left(lrs: "LRS", before: Credential, action: str, undo: Callable[[], Any]) -> None:
    """The count of `_keep_an_admin` and the change are two steps: two admins revoking (or
    demoting) each other at once both counted two. Counting again after the change and undoing
    it when none is left keeps one: at worst both are refused, to be tried again."""
    if before.active and ADMIN_SCOPE in before.scopes and lrs.credentials.count_active(ADMIN_SCOPE) == 0:
        undo()
        raise _last_admin(before, action)


def _last_admin(credential: Credential, action: str) -> Conflict:
    return Conflict(f"cannot {action} {credential.key!r}: it is the last active credential with scope "
                    "admin; create another admin credential first")
