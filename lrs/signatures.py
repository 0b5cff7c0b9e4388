"""Signed statements (xAPI Data 2.6): checking a statement against the JWS attached to it.

The JWS (compact serialisation) is an attachment with the signature usageType. Its payload is the
statement as signed, before the signature attachment was added; the received statement without
its signature attachment must be the same statement by the comparison rule. When the JWS header
carries an `x5c` chain, the signature must verify with the first certificate's key and each
certificate must be issued by the next; the spec presents this as a way to catch mistakes, not as
proof of who signed, so certificate validity dates and trust anchors are not checked. Without
`x5c` there is no key to verify with, and the algorithm and payload checks are all that apply.

JWS decoding and RSA verification are joserfc's (explicit algorithm allow-list, no `none`); the
X.509 chain check is `cryptography`'s.
"""
from __future__ import annotations

import base64
import binascii

from cryptography import x509
from cryptography.exceptions import InvalidSignature as BadCertificateSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import SignatureAlgorithmOID
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey

from lrs import client_json
from lrs.xapi.equality import same_statement
from lrs.xapi.errors import XAPIValidationError
from lrs.xapi.timestamps import parse_timestamp
from lrs.xapi.validation import validate_statement

SIGNATURE_USAGE = "http://adlnet.gov/expapi/attachments/signature"
SIGNATURE_CONTENT_TYPE = "application/octet-stream"
ALGORITHMS = ("RS256", "RS384", "RS512")


class InvalidSignature(ValueError):
    """Why a statement's signature is malformed or does not match it (the LRS answers 400)."""


def is_signature(attachment: object) -> bool:
    return isinstance(attachment, dict) and attachment.get("usageType") == SIGNATURE_USAGE


def check_signature_attachment(attachment: dict) -> None:
    """The declaration itself: a signature attachment must say it is an octet stream."""
    content_type = attachment.get("contentType")
    if not isinstance(content_type, str) or content_type.split(";")[0].strip().lower() != SIGNATURE_CONTENT_TYPE:
        raise InvalidSignature(f"a signature attachment must have contentType {SIGNATURE_CONTENT_TYPE}, "
                               f"not {content_type!r}")


def verify_signature(statement: dict, signature: bytes, version: str) -> None:
    """Raise InvalidSignature unless `signature` is a well-formed JWS of `statement` (a valid one)."""
    registry = _registry(len(signature))
    try:
        token = jws.extract_compact(signature.strip(), registry=registry)
    except (JoseError, ValueError, TypeError, binascii.Error, RecursionError):  # a header nested too deep
        raise InvalidSignature("the signature is not a JWS in compact serialisation") from None
    header = token.headers()
    if header.get("alg") not in ALGORITHMS:
        raise InvalidSignature(f"the JWS algorithm must be one of {', '.join(ALGORITHMS)}, not {header.get('alg')!r}")
    _check_header(header, registry)
    if "x5c" in header:
        _verify_with_chain(token, header["x5c"], registry)
    signed = _payload_statement(token.payload, version)
    _check_ids(signed, statement)
    if not _same_signed_statement(signed, statement):
        raise InvalidSignature("the JWS payload is not the same statement as the one received")


def _registry(size: int) -> jws.JWSRegistry:
    """joserfc's default size limits suit tokens (a 512-byte header); this JWS carries a certificate
    chain and a whole statement, and its size is already bounded by the caller."""
    registry = jws.JWSRegistry(algorithms=list(ALGORITHMS), strict_check_header=False)
    registry.max_header_length = registry.max_payload_length = registry.max_signature_length = size
    return registry


def _check_header(header: dict, registry: jws.JWSRegistry) -> None:
    """RFC 7515 4.1, with or without a key to verify with: a JWS whose `crit` names an extension
    the LRS does not implement is invalid, and so is a registered parameter of the wrong type."""
    try:
        registry.check_header(header)
    except JoseError as error:
        raise InvalidSignature(f"the JWS header is not valid (RFC 7515 4.1): "
                               f"{error.description or error.error}") from None


def _verify_with_chain(token: jws.CompactSignature, chain: object, registry: jws.JWSRegistry) -> None:
    certificates = _certificates(chain)
    for certificate, issuer in zip(certificates, certificates[1:], strict=False):
        try:
            _check_issued_by(certificate, issuer)
        except (ValueError, TypeError, BadCertificateSignature) as error:
            raise InvalidSignature(f"x5c: certificate {certificate.subject.rfc4514_string()!r} is not issued by "
                                   f"the next one in the chain ({str(error) or type(error).__name__})") from None
    public_key = certificates[0].public_key()
    if not isinstance(public_key, RSAPublicKey):
        raise InvalidSignature("x5c: the signing certificate's key is not an RSA key, as RS256/384/512 need")
    key = RSAKey.import_key(public_key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    try:
        valid = jws.validate_compact(token, key, registry=registry)
    except JoseError as error:
        raise InvalidSignature(f"the JWS does not verify: {error.description or type(error).__name__}") from None
    if not valid:
        raise InvalidSignature("the JWS signature does not verify with the key of its x5c certificate")


def _check_issued_by(certificate: x509.Certificate, issuer: x509.Certificate) -> None:
    """`cryptography` checks the issuer's name and signature, but refuses a SHA-1 signature
    (ValueError), which the certificates of the spec's own signed statement example (xAPI 1.0.3
    Data Appendix D) and most X.509 chains of its time have. The check only catches mistakes
    (Data 2.6), so such a link is checked with the same primitives: RSA PKCS#1 v1.5 and SHA-1."""
    try:
        certificate.verify_directly_issued_by(issuer)
        return
    except ValueError:
        issuer_key = issuer.public_key()
        legacy = (isinstance(certificate.signature_hash_algorithm, hashes.SHA1)
                  and isinstance(issuer_key, RSAPublicKey)
                  and certificate.signature_algorithm_oid == SignatureAlgorithmOID.RSA_WITH_SHA1)
        if not legacy:
            raise
    if certificate.issuer != issuer.subject:
        raise ValueError("the certificate's issuer is not the next one's subject")
    issuer_key.verify(certificate.signature, certificate.tbs_certificate_bytes, padding.PKCS1v15(), hashes.SHA1())


def _certificates(chain: object) -> list[x509.Certificate]:
    if not isinstance(chain, list) or not chain or not all(isinstance(c, str) for c in chain):
        raise InvalidSignature("x5c: must be a non-empty array of base64 DER certificates")
    try:
        return [x509.load_der_x509_certificate(base64.b64decode(c, validate=True)) for c in chain]
    except (ValueError, binascii.Error):
        raise InvalidSignature("x5c: an entry is not a base64 DER X.509 certificate") from None


def _payload_statement(payload: bytes, version: str) -> dict:
    try:
        signed = client_json.loads(payload)
    except ValueError:  # UnicodeDecodeError and UnstorableJSON included
        raise InvalidSignature("the JWS payload is not a JSON serialisation of a statement") from None
    try:
        validate_statement(signed, version, "JWS payload")
    except XAPIValidationError as error:
        raise InvalidSignature(f"the JWS payload is not a valid statement: {error}") from None
    return signed


def _check_ids(signed: dict, received: dict) -> None:
    """The comparison rule ignores ids because the LRS assigns one to a statement sent without it
    (Data 2.3.1); that cannot explain two ids the client sent itself, so those must be the same
    UUID. A payload without an id still fits a statement given one later (PUT, or an LRS-assigned id)."""
    if "id" in signed and "id" in received and signed["id"].lower() != received["id"].lower():
        raise InvalidSignature(f"the JWS payload is a statement with id {signed['id']}, "
                               f"not the received statement's id {received['id']}")


def _same_signed_statement(signed: dict, received: dict) -> bool:
    """The comparison rule, plus what it leaves out but a signature covers: the other attachments
    and, when the signer gave one, the timestamp (as an instant)."""
    unsigned = {**received, "attachments": [a for a in received.get("attachments", ()) if not is_signature(a)]}
    if not unsigned["attachments"]:
        del unsigned["attachments"]
    if not same_statement(signed, unsigned):
        return False
    if sorted(_sha2s(signed)) != sorted(_sha2s(unsigned)):
        return False
    if "timestamp" in signed:
        return "timestamp" in received and _instant(signed["timestamp"]) == _instant(received["timestamp"])
    return True


def _sha2s(statement: dict) -> list[str]:
    return [a["sha2"].lower() for a in statement.get("attachments", ())]


def _instant(timestamp: str) -> object:
    return parse_timestamp(timestamp, "1.0.0")
