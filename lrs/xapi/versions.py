"""xAPI versions: which the LRS speaks, and the X-Experience-API-Version header negotiation.

The LRS speaks the 1.0.x family (answering as 1.0.3, its latest patch) and the 2.0.x family
(answering as 2.0.0). Per Communication 3.3 (1.0.3) and 9274.1.1 4.1.7 (2.0), "1.0" and "2.0" are
accepted as "1.0.0" and "2.0.0"; anything before 1.0.0, or from 1.1.0 / 2.1.0 on, is refused.
An operator may enable only one family (LRS_XAPI_VERSIONS); a request for the other is refused too.
"""
from __future__ import annotations

import re

from lrs.xapi.errors import XAPIValidationError

SUPPORTED_VERSIONS = ("1.0.3", "2.0.0")
_HEADER = "X-Experience-API-Version"
_LATEST_PATCH = {"1.0": "1.0.3", "2.0": "2.0.0"}
_VERSION = re.compile(r"(\d+\.\d+)(?:\.\d+)?")


def negotiate_version(header: str | None, enabled: tuple[str, ...] = SUPPORTED_VERSIONS) -> str:
    """The version to apply and echo for a request's X-Experience-API-Version header value."""
    if header is None or not header.strip():
        raise XAPIValidationError(_HEADER, f"is required on every resource but /about; send one of the versions "
                                           f"this LRS speaks: {', '.join(enabled)}")
    match = _VERSION.fullmatch(header.strip())
    if match is None:
        raise XAPIValidationError(_HEADER, f"{header!r} is not a version number like 1.0.3 or 2.0.0")
    latest = _LATEST_PATCH.get(match.group(1))
    if latest not in enabled:
        raise XAPIValidationError(_HEADER, f"version {header} is not supported; use {_families(enabled)}")
    return latest


def answer_version(header: str | None, enabled: tuple[str, ...]) -> str:
    """The version a response names: the request's when it named an enabled one, else the newest enabled."""
    try:
        return negotiate_version(header, enabled)
    except XAPIValidationError:
        return enabled[-1]


def _families(enabled: tuple[str, ...]) -> str:
    return " or ".join(version.rsplit(".", 1)[0] + ".x" for version in enabled)


def is_v2(version: str) -> bool:
    """Whether the 2.0 rules apply (RFC 3339 timestamps, context agents and groups, ...)."""
    return version.startswith("2.")
