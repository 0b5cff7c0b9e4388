"""Signed statements (Data 2.6): JWS checks against real RSA keys and X.509 chains made here."""
from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from cryptography.x509.oid import NameOID
from joserfc import jws
from joserfc.jwk import OctKey, RSAKey

from lrs.signatures import InvalidSignature, check_signature_attachment, verify_signature

STATEMENT = {
    "id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee",
    "actor": {"mbox": "mailto:signer@example.com", "name": "Signer"},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/passed", "display": {"en-US": "passed"}},
    "object": {"id": "http://example.com/exam"},
    "result": {"duration": "PT1M0.12S"},
    "timestamp": "2026-01-01T12:00:00.000Z",
}
SIGNATURE_ATTACHMENT = {"usageType": "http://adlnet.gov/expapi/attachments/signature", "display": {"en-US": "sig"},
                        "contentType": "application/octet-stream", "length": 1, "sha2": "ab" * 32}


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def certificate(subject_key: rsa.RSAPrivateKey, name: str, issuer_key: rsa.RSAPrivateKey, issuer: str) -> str:
    """A base64 DER certificate, as x5c carries it."""
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(subject_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
            .sign(issuer_key, hashes.SHA256()))
    return base64.b64encode(cert.public_bytes(Encoding.DER)).decode()


@pytest.fixture(scope="module")
def keys() -> dict:
    ca, leaf = new_key(), new_key()
    return {"ca": ca, "leaf": leaf,
            "chain": [certificate(leaf, "signer", ca, "test CA"), certificate(ca, "test CA", ca, "test CA")]}


def sign(payload: dict | str, private: rsa.RSAPrivateKey, alg: str = "RS256", **header) -> bytes:
    pem = private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    text = payload if isinstance(payload, str) else json.dumps(payload)
    return jws.serialize_compact({"alg": alg, **header}, text, RSAKey.import_key(pem), algorithms=[alg]).encode()


def signed(statement: dict) -> dict:
    return {**statement, "attachments": [*statement.get("attachments", []), SIGNATURE_ATTACHMENT]}


@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512"])
def test_valid_signatures_with_an_x5c_chain_are_accepted(keys, alg):
    token = sign(STATEMENT, keys["leaf"], alg, x5c=keys["chain"])
    verify_signature(signed(STATEMENT), token, "1.0.3")


def test_without_x5c_the_algorithm_and_payload_are_checked(keys):
    verify_signature(signed(STATEMENT), sign(STATEMENT, keys["leaf"]), "2.0.0")


def test_a_tampered_signature_is_rejected(keys):
    token = sign(STATEMENT, keys["leaf"], x5c=keys["chain"])
    head, payload, signature = token.split(b".")
    flipped = signature[:10] + (b"A" if signature[10:11] != b"A" else b"B") + signature[11:]
    with pytest.raises(InvalidSignature, match="does not verify"):
        verify_signature(signed(STATEMENT), b".".join([head, payload, flipped]), "1.0.3")


def test_a_signature_by_another_key_than_the_certificates_is_rejected(keys):
    token = sign(STATEMENT, new_key(), x5c=keys["chain"])
    with pytest.raises(InvalidSignature, match="does not verify"):
        verify_signature(signed(STATEMENT), token, "1.0.3")


def test_a_chain_whose_links_do_not_issue_each_other_is_rejected(keys):
    stranger = new_key()
    chain = [keys["chain"][0], certificate(stranger, "test CA", stranger, "test CA")]
    with pytest.raises(InvalidSignature, match="x5c"):
        verify_signature(signed(STATEMENT), sign(STATEMENT, keys["leaf"], x5c=chain), "1.0.3")


def test_x5c_must_hold_certificates(keys):
    with pytest.raises(InvalidSignature, match="x5c"):
        verify_signature(signed(STATEMENT), sign(STATEMENT, keys["leaf"], x5c=["bm90IGEgY2VydA=="]), "1.0.3")


@pytest.mark.parametrize("change", [
    {"verb": {"id": "http://adlnet.gov/expapi/verbs/failed"}},
    {"result": {"duration": "PT2M"}},
    {"timestamp": "2026-01-01T12:00:01.000Z"},
    {"attachments": [{**SIGNATURE_ATTACHMENT, "usageType": "http://example.com/essay", "contentType": "text/plain"}]},
])
def test_a_statement_changed_after_signing_is_rejected(keys, change):
    token = sign(STATEMENT, keys["leaf"], x5c=keys["chain"])
    with pytest.raises(InvalidSignature, match="not the same statement"):
        verify_signature(signed({**STATEMENT, **change}), token, "1.0.3")


def test_differences_the_comparison_rule_ignores_are_accepted(keys):
    token = sign(STATEMENT, keys["leaf"])
    received = {**STATEMENT, "result": {"duration": "PT1M0.1234S"}, "timestamp": "2026-01-01T13:00:00+01:00",
                "verb": {"id": STATEMENT["verb"]["id"]}}
    verify_signature(signed(received), token, "2.0.0")


def test_an_hmac_algorithm_is_rejected():
    token = jws.serialize_compact({"alg": "HS256"}, json.dumps(STATEMENT), OctKey.import_key(b"k" * 32),
                                  algorithms=["HS256"]).encode()
    with pytest.raises(InvalidSignature, match="RS256, RS384, RS512"):
        verify_signature(signed(STATEMENT), token, "1.0.3")


def test_a_payload_that_is_not_json_is_rejected(keys):
    broken = json.dumps(STATEMENT).replace('"', "'", 1)
    with pytest.raises(InvalidSignature, match="not a JSON"):
        verify_signature(signed(STATEMENT), sign(broken, keys["leaf"]), "1.0.3")


def test_a_payload_that_is_not_a_valid_statement_is_rejected(keys):
    with pytest.raises(InvalidSignature, match="not a valid statement"):
        verify_signature(signed(STATEMENT), sign({"actor": STATEMENT["actor"]}, keys["leaf"]), "1.0.3")


@pytest.mark.parametrize("content", [b"", b"not a jws", b"a.b", b"!!.??.**"])
def test_content_that_is_no_compact_jws_is_rejected(content):
    with pytest.raises(InvalidSignature):
        verify_signature(signed(STATEMENT), content, "1.0.3")


def test_a_signature_attachment_must_be_an_octet_stream():
    check_signature_attachment(SIGNATURE_ATTACHMENT)
    with pytest.raises(InvalidSignature, match="application/octet-stream"):
        check_signature_attachment({**SIGNATURE_ATTACHMENT, "contentType": "text/plain; charset=ascii"})
