"""JSON from clients, parsed strictly and only as far as the LRS can hold it.

Python's json module accepts more than MongoDB and the LRS's own code can handle: integers of any
size, numbers that overflow to infinity, escaped lone surrogates ("\\ud800", which no UTF-8 text
can carry) and nesting deep enough to exhaust the interpreter's stack. Each of these used to get
as far as the store and fail there. Every piece of client JSON (request bodies, query parameters,
`more` cursors, signed JWS payloads) is read here instead, so such values are refused with the
path of the offending value before anything is written.
"""
from __future__ import annotations

import json
import math
from typing import Any, Callable

MAX_DEPTH = 100  # MongoDB's own limit on document nesting
INT64 = range(-2 ** 63, 2 ** 63)
STATEMENT_PROPERTIES = "xAPI Data 2.2: each property is used no more than one time"


class UnstorableJSON(ValueError):
    """Well-formed JSON holding a value the LRS cannot keep, at `path` (JSON path), and the rule."""

    def __init__(self, path: str, rule: str):
        super().__init__(f"{path}: {rule}")
        self.path = path
        self.rule = rule


def loads(text: str | bytes, unique_keys: bool = False, unique_rule: str = STATEMENT_PROPERTIES) -> Any:
    """Parse JSON text (UTF-8 if bytes) and check it with `check_storable`.

    `unique_keys`: an object giving a key twice is refused (UnstorableJSON naming that key and
    citing `unique_rule`), where Python, as most parsers, keeps the last value silently. RFC 8259 4
    leaves such an object's meaning to the reader, so what the LRS validated and stored could
    differ from what the client's own parser, or a proxy that checked the request, took it to say.

    Raises UnicodeDecodeError for bytes that are not UTF-8 and ValueError (UnstorableJSON for the
    limits above) for anything else.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    try:
        value = _parse(text, _unique_object if unique_keys else None)
    except _RepeatedKey:
        path = _repeated_key(_parse(text, _MarkedObject))
        raise UnstorableJSON(path, "this key is given more than once in its object; a key may appear only "
                                   f"once ({unique_rule})") from None
    check_storable(value)
    return value


def _parse(text: str, object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None) -> Any:
    try:
        return json.loads(text, parse_constant=_no_constant, object_pairs_hook=object_pairs_hook)
    except RecursionError:
        raise UnstorableJSON("$", f"nested deeper than {MAX_DEPTH} levels") from None


class _RepeatedKey(Exception):
    """An object gave a key twice; where, the slower second parse finds (`_MarkedObject`)."""


def _unique_object(pairs: list[tuple[str, Any]]) -> dict:
    """The object of `pairs`, checked on the fast path: one dict and one length comparison each, as
    every object of every statement passes here."""
    value = dict(pairs)
    if len(value) != len(pairs):
        raise _RepeatedKey
    return value


class _MarkedObject(dict):
    """An object that remembers the first key it was given twice (`repeated`; None if none)."""

    def __init__(self, pairs: list[tuple[str, Any]]):
        super().__init__(pairs)
        self.repeated = None
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                self.repeated = key
                break
            seen.add(key)


def _repeated_key(value: Any) -> str:
    """The JSON path of the first repeated key (in document order) of a parse by `_MarkedObject`;
    "$" if there is none, which cannot be when the fast parse found one."""
    stack = [(value, "$")]
    while stack:
        item, where = stack.pop()
        if isinstance(item, _MarkedObject) and item.repeated is not None:
            return f"{where}.{item.repeated}"
        if isinstance(item, dict):
            stack.extend(reversed([(child, f"{where}.{key}") for key, child in item.items()]))
        elif isinstance(item, list):
            stack.extend(reversed([(child, f"{where}[{index}]") for index, child in enumerate(item)]))
    return "$"


def check_storable(value: Any, path: str = "$") -> None:
    """Raise UnstorableJSON naming the first value (by JSON path) the store cannot hold.

    Every statement of every request passes here, so a quick pass that builds no paths answers
    first; only a value it doubts is walked again, path by path, to name what is wrong.
    """
    if not _plainly_storable(value, 0):
        _find_unstorable(value, path)


def _plainly_storable(item: Any, depth: int) -> bool:
    """True when `item` certainly holds nothing unstorable; False when in doubt (any type other
    than JSON's own). Its recursion stops at MAX_DEPTH, so it cannot overflow the stack. Plain
    loops, with strings checked in place (`isascii` first: it answers for almost every string
    without the encode), because every statement of every request passes here: a generator per
    array, or a function call per string, cost a third of the walk."""
    if depth > MAX_DEPTH:
        return False
    kind = type(item)
    if kind is dict:
        children: Any = item.values()
        for key in item:
            if type(key) is not str or not (key.isascii() or _encodable(key)):
                return False
    elif kind is list:
        if item and depth >= MAX_DEPTH:  # its items, strings too, are deeper than the limit
            return False
        children = item
    else:
        return _plain_scalar(item)
    for child in children:
        if type(child) is str:
            if not (child.isascii() or _encodable(child)):
                return False
        elif not _plainly_storable(child, depth + 1):
            return False
    return True


def _plain_scalar(item: Any) -> bool:
    kind = type(item)
    if kind is str:
        return item.isascii() or _encodable(item)
    if kind is int:
        return item in INT64
    if kind is float:
        return math.isfinite(item)
    return kind is bool or item is None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _find_unstorable(value: Any, path: str) -> None:
    """The slow, exact walk: iterative, so that the nesting it checks for cannot itself overflow
    the stack."""
    stack = [(value, path, 0)]
    while stack:
        item, where, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise UnstorableJSON(where, f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(item, dict):
            for key, child in item.items():
                _check_text(key, f"{where} (a key)")
                stack.append((child, f"{where}.{key}", depth + 1))
        elif isinstance(item, list):
            stack.extend((child, f"{where}[{index}]", depth + 1) for index, child in enumerate(item))
        elif isinstance(item, str):
            _check_text(item, where)
        elif isinstance(item, float) and not math.isfinite(item):
            raise UnstorableJSON(where, "numbers must be within the range of a 64-bit float")
        elif isinstance(item, int) and not isinstance(item, bool) and item not in INT64:
            raise UnstorableJSON(where, "integers must fit in 64 bits (-2^63 to 2^63-1)")


def _check_text(text: str, where: str) -> None:
    if not _encodable(text):
        raise UnstorableJSON(where, "contains a lone surrogate (\\ud800-\\udfff), which is not a "
                             "Unicode character")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")

