"""Which statements a target wants, as a MongoDB filter on the store's derived fields.

Within one kind the values are alternatives; the kinds combine with AND. Every value is a plain
string from the operator's configuration, matched by equality, `$in` or an escaped prefix
regex, so no value can smuggle a query operator in.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lrs.xapi.agents import ifi_key


@dataclass(frozen=True)
class StatementFilter:
    verbs: tuple[str, ...] = ()
    activity_prefixes: tuple[str, ...] = ()
    actors: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, config: dict[str, Any], path: str = "filter") -> "StatementFilter":
        """From {"verbs": [...], "activity_prefixes": [...], "actors": [...], "sources": [...]};
        an actor is an agent object ({"mbox": ...}), a "mailto:" address or a stored key."""
        if not isinstance(config, dict):
            raise ValueError(f"{path}: must be an object")
        unknown = set(config) - {"verbs", "activity_prefixes", "actors", "sources"}
        if unknown:
            raise ValueError(f"{path}: unknown keys {', '.join(sorted(unknown))}")
        return cls(verbs=_strings(config, "verbs", path),
                   activity_prefixes=_strings(config, "activity_prefixes", path),
                   actors=tuple(_actor_key(value, f"{path}.actors") for value in _list(config, "actors", path)),
                   sources=_strings(config, "sources", path))

    def mongo(self) -> dict[str, Any]:
        """The conditions on statement documents (visibility is the caller's business)."""
        query: dict[str, Any] = {}
        if self.verbs:
            query["verb"] = {"$in": list(self.verbs)}
        if self.actors:
            query["agents"] = {"$in": list(self.actors)}
        if self.sources:
            query["source"] = {"$in": list(self.sources)}
        if self.activity_prefixes:
            query["$or"] = [{"related_activities": {"$regex": "^" + re.escape(prefix)}}
                            for prefix in self.activity_prefixes]
        return query

    def describe(self) -> dict[str, list[str]]:
        return {name: list(values) for name, values in vars(self).items() if values}


def _list(config: dict, key: str, path: str) -> list:
    value = config.get(key, [])
    if not isinstance(value, list):
        raise ValueError(f"{path}.{key}: must be a list")
    return value


def _strings(config: dict, key: str, path: str) -> tuple[str, ...]:
    values = _list(config, key, path)
    if not all(isinstance(value, str) and value for value in values):
        raise ValueError(f"{path}.{key}: must be a list of non-empty strings")
    return tuple(values)


def _actor_key(value: Any, path: str) -> str:
    if isinstance(value, dict):
        try:
            key = ifi_key(value)
        except (KeyError, TypeError, AttributeError):
            key = None
        if key is None:
            raise ValueError(f"{path}: an agent needs an identifier (mbox, mbox_sha1sum, openid, account)")
        return key
    if isinstance(value, str) and value.startswith("mailto:"):
        return ifi_key({"mbox": value}) or value
    if isinstance(value, str) and value:
        return value
    raise ValueError(f"{path}: must be an agent object, a mailto: address or a stored agent key")
