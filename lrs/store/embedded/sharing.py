"""The in-memory form of a stored document: decoded from its BSON, its strings shared.

Decoding makes a new str object for every key and every string value, so each of 20,000 stored
statements held its own "related_activities", "object_type", "xapi", verb IRI, Activity ids and
Agent keys: at 20,000 statements, keys were 2.0 KB and short string values 1.1 KB of the 9 KB a
statement took in memory. Here every key and every short string value is replaced by one object
per distinct value, kept in a map. Strings cannot change, so sharing them is invisible: every
dict and list of a document stays its own, and documents handed out are copies as before.

A document's own `_id` is left out of the map (it is that document's alone), and so are long
strings (a statement's JSON text: unique, and costly to hash). The map holds at most
`SHARED_LIMIT` strings and starts over when full, so it stays a few MB and strings of deleted
documents do not live on in it; values met again after that are shared again from then on.
`sys.intern` would need no map of ours, but its strings are never freed on early 3.12 releases
(CPython issue 113993) nor on free-threaded builds.
"""
from __future__ import annotations

from typing import Callable

import bson

SHORT = 256  # characters: longer strings are not shared
SHARED_LIMIT = 1 << 17  # distinct strings in the map before it starts over

_strings: dict[str, str] = {}


def decoded(encoded: bytes) -> dict:
    """The document a BSON body holds, its keys and short strings shared with the other
    documents' (the `_id` excepted)."""
    if len(_strings) >= SHARED_LIMIT:
        _strings.clear()
    document = bson.decode(encoded)
    return _shared_dict(document, _strings.setdefault, {"_id": document.pop("_id")} if "_id" in document else {})


def _shared_dict(value: dict, share: Callable[[str, str], str], shared: dict | None = None) -> dict:
    """A copy of `value` with shared strings (after the items of `shared`, if given)."""
    shared = {} if shared is None else shared
    for name, item in value.items():
        kind = type(item)
        if kind is str:
            if len(item) <= SHORT:
                item = share(item, item)
        elif kind is dict:
            item = _shared_dict(item, share)
        elif kind is list and item:
            item = _shared_list(item, share)
        shared[share(name, name)] = item
    return shared


def _shared_list(value: list, share: Callable[[str, str], str]) -> list:
    """A copy of `value` with shared strings, no larger than its items need: a list built item by
    item (decoded, or by a comprehension) keeps room to grow, 88 bytes for one item instead of 64."""
    return [share(item, item) if type(item) is str and len(item) <= SHORT else
            _shared_dict(item, share) if type(item) is dict else
            _shared_list(item, share) if type(item) is list and item else item for item in value].copy()
