"""Secret hashing: werkzeug's scrypt at the configured cost, hashes of the earlier format still
verify, and the environment cannot set a cost below the safe floor."""
from __future__ import annotations

import hashlib

import pytest

from lrs.auth import check_secret, hash_secret
from lrs.settings import CORE_SETTINGS, Settings
from tests.conftest import basic_auth

XAPI = {"X-Experience-API-Version": "1.0.3"}


def test_a_secret_is_stored_hashed_at_the_configured_cost_and_verifies(make_app):
    app = make_app(secret_hash_cost=8)
    lrs = app.extensions["lrs"]
    lrs.create_credential("reader", "reader-secret", ["statements/read"])
    stored = lrs.credentials.collection.find_one({"_id": "reader"})["secret_hash"]
    assert stored.startswith(f"scrypt:{2 ** 8}:8:1$") and "reader-secret" not in stored
    client = app.test_client()
    assert client.get("/xapi/statements", headers={**XAPI, "Authorization": basic_auth("reader", "reader-secret")}
                      ).status_code == 200
    assert client.get("/xapi/statements", headers={**XAPI, "Authorization": basic_auth("reader", "wrong")}
                      ).status_code == 401


def test_a_hash_in_the_format_written_before_werkzeug_still_verifies(app):
    salt = bytes(range(16))
    digest = hashlib.scrypt(b"old-secret", salt=salt, n=2 ** 14, r=8, p=1)
    old = f"scrypt$16384$8$1${salt.hex()}${digest.hex()}"
    assert check_secret("old-secret", old) and not check_secret("other", old)
    lrs = app.extensions["lrs"]
    lrs.create_credential("old", "placeholder", ["all"])
    lrs.credentials.collection.update_one({"_id": "old"}, {"$set": {"secret_hash": old}})
    response = app.test_client().get("/xapi/statements", headers={**XAPI, "Authorization": basic_auth("old", "old-secret")})
    assert response.status_code == 200


@pytest.mark.parametrize("hashed", ["", "scrypt$1$2", "md5$x$y", "scrypt:zz:8:1$salt$00"])
def test_a_malformed_hash_verifies_nothing(hashed):
    assert not check_secret("secret", hashed)


def test_the_default_cost_is_werkzeugs_and_a_fresh_hash_verifies():
    hashed = hash_secret("s3cret")
    assert hashed.startswith("scrypt:32768:8:1$") and check_secret("s3cret", hashed)


@pytest.mark.parametrize("value", ["13", "4", "18", "fast"])
def test_the_environment_cannot_set_a_cost_outside_14_to_17(value):
    with pytest.raises(ValueError, match="LRS_SECRET_HASH_COST"):
        Settings.resolve(CORE_SETTINGS, environ={"LRS_SECRET_HASH_COST": value})


def test_the_environment_can_raise_the_cost():
    assert Settings.resolve(CORE_SETTINGS, environ={"LRS_SECRET_HASH_COST": "16"})["secret_hash_cost"] == 16


def test_a_verified_pair_is_remembered_until_its_hash_changes_or_it_expires(make_app, monkeypatch):
    lrs = make_app(auth_cache_seconds=300).extensions["lrs"]
    lrs.create_credential("reader", "first", ["statements/read"])
    calls = []
    monkeypatch.setattr("lrs.store.credentials.check_secret", lambda *a: calls.append(a) or check_secret(*a))
    assert lrs.credentials.verify("reader", "first") and lrs.credentials.verify("reader", "first")
    assert len(calls) == 1
    lrs.create_credential("reader", "second", ["statements/read"])  # a new hash: the memory no longer counts
    calls.clear()  # saving checked the old secret too (a new one is a loss: Credential.losses)
    assert not lrs.credentials.verify("reader", "first") and len(calls) == 1


def test_with_no_cache_time_every_verification_hashes(make_app, monkeypatch):
    lrs = make_app(auth_cache_seconds=0).extensions["lrs"]
    lrs.create_credential("reader", "first", ["statements/read"])
    calls = []
    monkeypatch.setattr("lrs.store.credentials.check_secret", lambda *a: calls.append(a) or check_secret(*a))
    assert lrs.credentials.verify("reader", "first") and lrs.credentials.verify("reader", "first")
    assert len(calls) == 2
