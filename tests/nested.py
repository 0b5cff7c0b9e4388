"""Walking a JSON-like document (a stored document, a command, an explain plan) at every depth."""
from __future__ import annotations

from typing import Any, Iterator


def every_value(value: Any) -> Iterator[Any]:
    """The value itself, then every value inside it: the values of its dicts and the items of its
    lists, however deep."""
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from every_value(item)
    elif isinstance(value, list):
        for item in value:
            yield from every_value(item)
