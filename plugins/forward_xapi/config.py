"""Targets of the xAPI forwarder, from LRS_FORWARD_XAPI_TARGETS: a JSON list, or @/path/to/file.json.

Validated with marshmallow schemas; every error names its place, e.g.
`targets[0].auth.password: required (or password_env)`. Secrets can stay out of that JSON:
`password_env` / `token_env` name an environment variable to read them from. They never appear
in a repr, a log line or the status output.
"""
from __future__ import annotations

import base64
import importlib
import json
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates_schema

from lrs.forwarding.contract import TargetOptions
from lrs.forwarding.filters import StatementFilter
from lrs.forwarding.scan import parse_since
from lrs.forwarding.targets import check_names

Transform = Callable[[dict], "dict | None"]
MAX_BATCH = 1000
MAX_IN_FLIGHT = 64
REQUIRED = {"required": "required"}
# The X-Experience-API-Version values a target may expect: every published xAPI version.
TARGET_VERSIONS = ("1.0.0", "1.0.1", "1.0.2", "1.0.3", "2.0.0")


@dataclass(frozen=True)
class XAPITargetConfig:
    options: TargetOptions
    endpoint: str
    version: str = "1.0.3"
    headers: dict[str, str] = field(default_factory=dict)
    authorization: str | None = field(default=None, repr=False)
    transform: Transform | None = None
    provenance: bool = False

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
    loaded = tuple(_load(target, f"targets[{index}]") for index, target in enumerate(targets))
    check_names(target.options.name for target in loaded)
    return loaded


def _load(target: Any, path: str) -> XAPITargetConfig:
    if not isinstance(target, dict):
        raise ValueError(f"{path}: must be an object")
    try:
        return TargetSchema().load(target)
    except ValidationError as error:
        raise ValueError("; ".join(_flatten(error.messages, path))) from None


def _flatten(messages: Any, path: str) -> list[str]:
    """marshmallow's nested error dict as `path.to.key: message` lines."""
    if isinstance(messages, Mapping):
        return [line for key, value in messages.items()
                for line in _flatten(value, path if key == "_schema" else
                                     f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}")]
    if isinstance(messages, list) and all(isinstance(message, str) for message in messages):
        return [f"{path}: {'; '.join(messages)}"]
    return [line for value in messages for line in _flatten(value, path)]


class _Number(fields.Float):
    """A JSON number, not a string or a boolean that happens to convert to one."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValidationError("must be a number")
        return super()._deserialize(value, attr, data, **kwargs)


def _integer(low: int, high: int, default: int) -> fields.Integer:
    return fields.Integer(strict=True, load_default=default, validate=validate.Range(low, high),
                          error_messages={"invalid": "must be an integer"})


def _text(check: Callable[[str], None] | None = None, **kwargs: Any) -> fields.String:
    """A non-empty string, checked by `check` too."""
    checks = [validate.Length(min=1, error="must be a non-empty string"), *([check] if check else [])]
    return fields.String(validate=checks, error_messages={**REQUIRED, "invalid": "must be a string"}, **kwargs)


class AuthSchema(Schema):
    """{"type": "basic", "username", "password"} or {"type": "bearer", "token"}; `password_env` /
    `token_env` read the secret from the environment. Loads as the Authorization header value."""

    class Meta:
        unknown = RAISE

    type = fields.String(required=True, validate=validate.OneOf(["basic", "bearer"]), error_messages=REQUIRED)
    username = _text()
    password = _text()
    password_env = _text()
    token = _text()
    token_env = _text()

    @validates_schema
    def _complete(self, data: dict, **kwargs: Any) -> None:
        if data["type"] == "basic" and "username" not in data:
            raise ValidationError("required", "username")
        _secret(data, "password" if data["type"] == "basic" else "token")

    @post_load
    def _header(self, data: dict, **kwargs: Any) -> str:
        if data["type"] == "basic":
            credentials = f"{data['username']}:{_secret(data, 'password')}".encode()
            return "Basic " + base64.b64encode(credentials).decode()
        return "Bearer " + _secret(data, "token")


def _secret(auth: dict, key: str) -> str:
    if f"{key}_env" in auth:
        variable = auth[f"{key}_env"]
        if variable not in os.environ:
            raise ValidationError("names no set environment variable", f"{key}_env")
        return os.environ[variable]
    if key not in auth:
        raise ValidationError(f"required (or {key}_env)", key)
    return auth[key]


def _endpoint(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("must be an http(s) URL, e.g. https://lrs.example/xapi")
    if parts.username or parts.password:
        raise ValidationError("put credentials in auth, not in the URL")
    if parts.query or parts.fragment:
        raise ValidationError("must not have a query or fragment")


def _single_line(value: str) -> None:
    if "\r" in value or "\n" in value:
        raise ValidationError("must be a single line")


def _since(value: str) -> None:
    try:
        parse_since(value)
    except ValueError as error:
        raise ValidationError(str(error).removeprefix("since: ")) from None


def _transform(value: str) -> Transform:
    """"package.module:function", called with each statement; returns the statement to send
    (possibly changed) or None to leave it out."""
    if value.count(":") != 1:
        raise ValidationError('must be "package.module:function"')
    module_name, function_name = value.split(":")
    try:
        function = getattr(importlib.import_module(module_name), function_name)
    except (ImportError, AttributeError) as error:
        raise ValidationError(f"cannot load {value}: {error}") from None
    if not callable(function):
        raise ValidationError(f"{value} is not callable")
    return function


class TargetSchema(Schema):
    class Meta:
        unknown = RAISE

    name = _text(required=True)
    endpoint = _text(_endpoint, required=True)
    auth = fields.Nested(AuthSchema, load_default=None)
    version = _text(validate.OneOf(TARGET_VERSIONS, error="must be one of {choices}"), load_default="1.0.3")
    headers = fields.Dict(keys=fields.String(validate=_single_line), values=fields.String(validate=_single_line),
                          load_default=dict)
    batch_size = _integer(1, MAX_BATCH, 100)
    in_flight = _integer(1, MAX_IN_FLIGHT, 1)
    timeout = _Number(load_default=10.0, validate=validate.Range(0.001, 3600))
    filter = fields.Dict(load_default=dict)
    transform = _text(load_default=None)
    since = _text(_since, load_default=None)
    provenance = fields.Boolean(load_default=False, truthy={True}, falsy={False})

    @post_load
    def _config(self, data: dict, **kwargs: Any) -> XAPITargetConfig:
        try:
            wanted = StatementFilter.from_config(data["filter"], "filter")
        except ValueError as error:
            path, _, message = str(error).partition(": ")
            raise ValidationError(message, path) from None
        transform = None if data["transform"] is None else _loaded(data["transform"])
        options = TargetOptions(name=data["name"], batch_size=data["batch_size"], filter=wanted, since=data["since"],
                                timeout=data["timeout"], in_flight=data["in_flight"], address=data["endpoint"])
        return XAPITargetConfig(options=options, endpoint=data["endpoint"], version=data["version"],
                                headers=data["headers"], authorization=data["auth"], transform=transform,
                                provenance=data["provenance"])


def _loaded(value: str) -> Transform:
    try:
        return _transform(value)
    except ValidationError as error:
        raise ValidationError(error.messages, "transform") from None
