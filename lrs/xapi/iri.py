"""RFC 3987 IRIs, checked part by part in linear time and constant memory.

rfc3987's pattern is the grammar as one regular expression, and Python's backtracking engine
keeps a frame for each repetition of a group: about 140 bytes of memory per character (a 4 MB
activity id took 570 MB, a longer one raised MemoryError, a 500), and time quadratic in a run of
percent-encodings that does not end as an IRI may (300,000 characters took 30 s). Here the IRI is
cut at its delimiters, each %HH is read as U+00A0 (a ucschar, which RFC 3987 allows exactly where
it allows pct-encoded: user info, host name, path, query, fragment) and each part is then a run
of characters of one class, which the engine matches in a loop.
"""
from __future__ import annotations

import re

import rfc3987

_UCSCHAR = ("\xa0-\ud7ff\uf900-\ufdcf\ufdf0-\uffef" + "".join(
    f"{chr(plane << 16)}-{chr((plane << 16) + 0xFFFD)}" for plane in range(1, 14)) + "\U000e1000-\U000efffd")
_IPRIVATE = "\ue000-\uf8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd"
_UNRESERVED = "A-Za-z0-9._~\\-"
_SUB_DELIMS = "!$&'()*+,;="
_IPCHAR = _UNRESERVED + _UCSCHAR + _SUB_DELIMS + ":@"

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")
_USERINFO = re.compile(f"[{_UNRESERVED}{_UCSCHAR}{_SUB_DELIMS}:]*")
_REG_NAME = re.compile(f"[{_UNRESERVED}{_UCSCHAR}{_SUB_DELIMS}]*")  # an IPv4 address is one too
_PORT = re.compile(r"[0-9]*")
_PATH = re.compile(f"[{_IPCHAR}/]*")
_QUERY = re.compile(f"[{_IPCHAR}{_IPRIVATE}/?]*")
_FRAGMENT = re.compile(f"[{_IPCHAR}/?]*")
_IPV6 = rfc3987.get_compiled_pattern(r"^%(IPv6address)s\Z")
_IPV6_LONGEST = 45  # eight groups of four, or six and an IPv4 address, and their colons
_IPV_FUTURE = re.compile(f"v[0-9A-Fa-f]+\\.[{_UNRESERVED}{_SUB_DELIMS}:]+")
_PERCENT_ENCODED = re.compile(r"%[0-9A-Fa-f]{2}")


def is_iri(value: str) -> bool:
    """An absolute IRI: scheme ":" ihier-part ["?" iquery] ["#" ifragment]."""
    scheme, colon, rest = _PERCENT_ENCODED.sub("\xa0", value).partition(":")
    rest, hash_, fragment = rest.partition("#")
    hier, question, query = rest.partition("?")
    return (bool(colon) and _SCHEME.fullmatch(scheme) is not None and _hier_part(hier)
            and (not question or _QUERY.fullmatch(query) is not None)
            and (not hash_ or _FRAGMENT.fullmatch(fragment) is not None))


def _hier_part(hier: str) -> bool:
    """"//" iauthority ipath-abempty, or a path that does not start with "//"."""
    if not hier.startswith("//"):
        return _PATH.fullmatch(hier) is not None
    authority, slash, path = hier[2:].partition("/")
    return _authority(authority) and _PATH.fullmatch(slash + path) is not None


def _authority(authority: str) -> bool:
    """[iuserinfo "@"] ihost [":" port]; neither the user info nor the host holds an "@"."""
    userinfo, at, host_port = authority.rpartition("@")
    if at and _USERINFO.fullmatch(userinfo) is None:
        return False
    if host_port.startswith("["):
        literal, bracket, port = host_port[1:].partition("]")
        return bool(bracket) and _ip_literal(literal) and (not port or _port(port))
    host, colon, port = host_port.partition(":")
    return _REG_NAME.fullmatch(host) is not None and (not colon or _PORT.fullmatch(port) is not None)


def _port(text: str) -> bool:
    return text.startswith(":") and _PORT.fullmatch(text[1:]) is not None


def _ip_literal(literal: str) -> bool:
    if len(literal) <= _IPV6_LONGEST and _IPV6.match(literal):
        return True
    return _IPV_FUTURE.fullmatch(literal) is not None
