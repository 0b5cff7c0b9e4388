"""Targets of the xAPI forwarder, from LRS_FORWARD_XAPI_TARGETS: a JSON list, or @/path/to/file.json.

Secrets can stay out of that JSON: `password_env` / `token_env` name an environment variable to
read them from. They never appear in a repr, a log line or the status output.
"""
from __future__ import annotations

import base64
import importlib
import json
import os
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlsplit

from lrs.forwarding.contract import TargetOptions
from lrs.forwarding.filters import StatementFilter
from lrs.forwarding.scan import parse_since

Transform = Callable[[dict], "dict | None"]
KEYS = {"name", "endpoint", "auth", "version", "headers", "batch_size", "timeout", "filter", "transform", "since"}
MAX_BATCH = 1000


@dataclass(frozen=True)
class XAPITargetConfig:
    options: TargetOptions
    endpoint: str
    version: str = "1.0.3"
    headers: dict[str, str] = field(default_factory=dict)
    authorization: str | None = field(default=None, repr=False)
    transform: Transform | None = None

    @property
    def statements_url(self) -> str:
        return self.endpoint.rstrip("/") + "/statements"


def parse_targets(value: str) -> tuple[XAPITargetConfig, ...]:
    """The setting's value: "" (no targets), a JSON list of target objects, or "@" and a file path."""
    value = value.strip()
    if not value:
        return ()
    if value.startswith("@"):
        try:
            with open(value[1:], encoding="utf-8") as file:
                value = file.read()
        except OSError as error:
            raise ValueError(f"cannot read the targets file: {error}") from None
    try:
        targets = json.loads(value)
    except ValueError as error:
        raise ValueError(f"not valid JSON ({error})") from None
    if not isinstance(targets, list):
        raise ValueError("must be a JSON list of target objects")
    return tuple(parse_target(target, f"targets[{index}]") for index, target in enumerate(targets))


def parse_target(target: Any, path: str) -> XAPITargetConfig:
    if not isinstance(target, dict):
        raise ValueError(f"{path}: must be an object")
    unknown = set(target) - KEYS
    if unknown:
        raise ValueError(f"{path}: unknown keys {', '.join(sorted(unknown))} (known: {', '.join(sorted(KEYS))})")
    name = _required_string(target, "name", path)
    options = TargetOptions(
        name=name,
        batch_size=_number(target, "batch_size", path, 100, int, 1, MAX_BATCH),
        filter=StatementFilter.from_config(target.get("filter", {}), f"{path}.filter"),
        since=_since(target.get("since"), path),
        timeout=_number(target, "timeout", path, 10.0, float, 0.001, 3600),
    )
    return XAPITargetConfig(
        options=options,
        endpoint=_endpoint(_required_string(target, "endpoint", path), path),
        version=_string(target, "version", path, "1.0.3"),
        headers=_headers(target.get("headers", {}), path),
        authorization=_authorization(target.get("auth"), f"{path}.auth"),
        transform=_transform(target.get("transform"), path),
    )


def _required_string(target: dict, key: str, path: str) -> str:
    if key not in target:
        raise ValueError(f"{path}.{key}: required")
    return _string(target, key, path, "")


def _string(target: dict, key: str, path: str, default: str) -> str:
    value = target.get(key, default)
    if not isinstance(value, str) or (key in target and not value):
        raise ValueError(f"{path}.{key}: must be a non-empty string")
    return value


def _number(target: dict, key: str, path: str, default: Any, kind: type, low: float, high: float) -> Any:
    value = target.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and not isinstance(value, int)):
        raise ValueError(f"{path}.{key}: must be {'an integer' if kind is int else 'a number'}")
    if not low <= value <= high:
        raise ValueError(f"{path}.{key}: must be between {low:g} and {high:g}")
    return kind(value)


def _since(value: Any, path: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValueError(f'{path}.since: must be "now" or an RFC 3339 time')
    try:
        return parse_since(value)
    except ValueError as error:
        raise ValueError(f"{path}.{error}") from None


def _endpoint(url: str, path: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{path}.endpoint: must be an http(s) URL, e.g. https://lrs.example/xapi")
    if parts.username or parts.password:
        raise ValueError(f"{path}.endpoint: put credentials in auth, not in the URL")
    if parts.query or parts.fragment:
        raise ValueError(f"{path}.endpoint: must not have a query or fragment")
    return url


def _headers(headers: Any, path: str) -> dict[str, str]:
    if not isinstance(headers, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and "\n" not in k + v and "\r" not in k + v
            for k, v in headers.items()):
        raise ValueError(f"{path}.headers: must be an object of single-line string values")
    return dict(headers)


def _authorization(auth: Any, path: str) -> str | None:
    """The Authorization header value for {"type": "basic", "username", "password"} or
    {"type": "bearer", "token"}; `password_env` / `token_env` read the secret from the environment."""
    if auth is None:
        return None
    if not isinstance(auth, dict) or auth.get("type") not in ("basic", "bearer"):
        raise ValueError(f'{path}: must be an object with "type": "basic" or "bearer"')
    if auth["type"] == "basic":
        username = _string(auth, "username", path, "")
        password = _secret(auth, "password", path)
        return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
    return "Bearer " + _secret(auth, "token", path)


def _secret(auth: dict, key: str, path: str) -> str:
    if f"{key}_env" in auth:
        variable = auth[f"{key}_env"]
        if not isinstance(variable, str) or variable not in os.environ:
            raise ValueError(f"{path}.{key}_env: names no set environment variable")
        return os.environ[variable]
    value = auth.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{path}.{key}: required (or {key}_env)")
    return value


def _transform(value: Any, path: str) -> Transform | None:
    """"package.module:function", called with each statement; returns the statement to send
    (possibly changed) or None to leave it out."""
    if value is None:
        return None
    if not isinstance(value, str) or value.count(":") != 1:
        raise ValueError(f'{path}.transform: must be "package.module:function"')
    module_name, function_name = value.split(":")
    try:
        function = getattr(importlib.import_module(module_name), function_name)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"{path}.transform: cannot load {value}: {error}") from None
    if not callable(function):
        raise ValueError(f"{path}.transform: {value} is not callable")
    return function
