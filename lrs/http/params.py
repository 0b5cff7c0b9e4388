"""Query parameters, validated with marshmallow: typed, strict, and unknown names refused.

xAPI says a parameter a resource does not support is an error, not something to ignore, and a
parameter's value is never passed on to MongoDB as anything but a validated plain string.
"""
from __future__ import annotations

from typing import Any, Mapping

from marshmallow import RAISE, Schema, ValidationError, fields
from marshmallow.experimental.context import Context

from lrs import client_json
from lrs.errors import BadRequest
from lrs.xapi.errors import XAPIValidationError
from lrs.xapi.timestamps import parse_timestamp
from lrs.xapi.validation import validate_agent, validate_iri, validate_uuid


class XAPIField(fields.Field):
    """A field whose rule is one of the xAPI validators; the request's version decides the rules."""

    def _check(self, value: Any) -> Any:
        raise NotImplementedError

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Any:
        if not isinstance(value, str):
            raise ValidationError("must be a single string value")
        try:
            return self._check(value)
        except XAPIValidationError as error:
            raise ValidationError(error.rule) from None


class UUID(XAPIField):
    def _check(self, value: str) -> str:
        validate_uuid(value, self.name)
        return value.lower()


class IRI(XAPIField):
    def _check(self, value: str) -> str:
        validate_iri(value, self.name)
        return value


def request_version() -> str:
    """The xAPI version of the request being validated (set by `load`)."""
    return Context.get()["version"]


class Timestamp(XAPIField):
    def _check(self, value: str) -> Any:
        return parse_timestamp(value, request_version())


class AgentJSON(XAPIField):
    """An Agent or Group given as JSON text, as in `agent={"mbox": "mailto:..."}`."""

    def _check(self, value: str) -> dict:
        try:
            agent = client_json.loads(value)
        except client_json.UnstorableJSON as error:
            raise ValidationError(f"must be an Agent or Group as JSON ({error})") from None
        except ValueError:
            raise ValidationError("must be an Agent or Group as JSON") from None
        validate_agent(agent, self.name, request_version())
        return agent


class Boolean(fields.Field):
    """Exactly `true` or `false`, as in JSON (xAPI's rule for boolean parameters)."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> bool:
        if value not in ("true", "false"):
            raise ValidationError("must be true or false")
        return value == "true"


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


def load(schema: Schema, args: Mapping[str, Any], version: str) -> dict[str, Any]:
    """Validated parameters, or a 400 naming each bad parameter and its rule."""
    if hasattr(args, "to_dict"):
        repeated = [name for name, values in args.lists() if len(values) > 1]
        if repeated:
            raise BadRequest(f"parameter {repeated[0]!r}: must be given once")
        args = args.to_dict()
    try:
        with Context({"version": version}):
            return schema.load(args)
    except ValidationError as error:
        raise BadRequest(_describe(error.messages)) from None


def _describe(messages: Any) -> str:
    parts = []
    for name, problems in sorted(messages.items()):
        problem = "; ".join(problems) if isinstance(problems, list) else str(problems)
        if problem == "Unknown field.":
            problem = "is not a parameter of this resource"
        parts.append(f"parameter {name!r}: {problem}")
    return "; ".join(parts)
