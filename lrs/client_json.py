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
from typing import Any

MAX_DEPTH = 100  # MongoDB's own limit on document nesting
INT64 = range(-2 ** 63, 2 ** 63)


class UnstorableJSON(ValueError):
    """Well-formed JSON holding a value the LRS cannot keep, at `path` (JSON path), and the rule."""

    def __init__(self, path: str, rule: str):
        super().__init__(f"{path}: {rule}")
        self.path = path
        self.rule = rule


def loads(text: str | bytes) -> Any:
    """Parse JSON text (UTF-8 if bytes) and check it with `check_storable`.

    Raises UnicodeDecodeError for bytes that are not UTF-8 and ValueError (UnstorableJSON for the
    limits above) for anything else.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise UnstorableJSON("$", f"nested deeper than {MAX_DEPTH} levels") from None
    check_storable(value)
    return value


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

