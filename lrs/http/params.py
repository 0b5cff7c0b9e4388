"""Query parameters, validated with marshmallow: typed, strict, and unknown names refused.

xAPI says a parameter a resource does not support is an error, not something to ignore, and a
parameter's value is never passed on to MongoDB as anything but a validated plain string.
"""
from __future__ import annotations

import re
from typing import Any, Iterable, Mapping
from urllib.parse import unquote_to_bytes

from flask import request
from marshmallow import RAISE, Schema, ValidationError, fields
from marshmallow.experimental.context import Context
from werkzeug.datastructures import MultiDict

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
            raise ValidationError(self._inner(error)) from None

    def _inner(self, error: XAPIValidationError) -> str:
        """The rule, after the path inside the parameter's value when it is deeper than the value
        itself: `foo: is not an allowed property here` for agent={"mbox": ..., "foo": 1}."""
        name = self.name or ""
        inner = error.path[len(name):] if error.path.startswith(name) else ""
        if inner[:1] not in (".", "["):
            return error.rule
        return f"{inner.removeprefix('.')}: {error.rule}"


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
        try:
            return parse_timestamp(value, request_version())
        except XAPIValidationError as error:
            try:  # since=2026-01-01T08:00:00+01:00 typed into a URL, whose query reads "+" as a space
                parse_timestamp(value.replace(" ", "+"), request_version())
            except XAPIValidationError:
                raise error from None
            raise ValidationError(f"{error.rule}: a '+' in a query string is read as a space, so send "
                                  "the offset's '+' as %2B") from None


class AgentJSON(XAPIField):
    """An Agent or Group given as JSON text, as in `agent={"mbox": "mailto:..."}`."""

    def _check(self, value: str) -> dict:
        try:
            agent = client_json.loads(value)
        except client_json.UnstorableJSON as error:
            raise ValidationError(f"must be an Agent or Group as JSON ({error})") from None
        except ValueError:
            raise ValidationError("must be an Agent or Group as JSON") from None
        validate_agent(agent, self.name)
        return agent


class Boolean(fields.Field):
    """`true` or `false` in any case. xAPI writes them as in JSON, but TinCanPython sends Python's
    `True`/`False` and ADL's reference LRS takes any case, so clients written against it work here."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> bool:
        text = value.lower() if isinstance(value, str) else None
        if text not in ("true", "false"):
            raise ValidationError("must be true or false (in any case)")
        return text == "true"


INTEGER_RULE = "must be an integer of at most 18 ASCII digits (0-9)"


def integer(text: str) -> int | None:
    """`text` as an integer when it is at most 18 ASCII digits (with a leading `-` for a negative
    one), else None. The one rule of every integer parameter, in the core and in adapters:
    Python's int() also takes "+5", " 5", "1_000" and other scripts' digits ("١٢"; str.isdigit
    even takes "²", which int() then refuses), which no client means as a parameter's number."""
    return int(text) if re.fullmatch(r"-?[0-9]{1,18}", text) else None


class Integer(fields.Integer):
    """An integer parameter under the rule of `integer`."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> int:
        number = integer(value) if isinstance(value, str) else None
        if number is None:
            raise ValidationError(INTEGER_RULE)
        return super()._deserialize(number, attr, data, **kwargs)


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


def single(args: MultiDict) -> dict[str, str]:
    """The query string as a dict, or a 400 naming a parameter given more than once."""
    repeated = [name for name, values in args.lists() if len(values) > 1]
    if repeated:
        raise BadRequest(f"parameter {repeated[0]!r}: must be given once")
    return args.to_dict()


def parameter_problems(args: MultiDict, known: Iterable[str], unknown_ignored: bool = False) -> list[tuple[str, str]]:
    """(name, rule) for each parameter given more than once or, unless `unknown_ignored`, not in
    `known`: for adapters, which answer them in their own error formats."""
    known = set(known)
    return [(name, "must be given once" if name in known else "is not a parameter of this resource")
            for name, values in args.lists()
            if (len(values) > 1 if name in known else not unknown_ignored)]


def refuse_parameters(known: Iterable[str], unknown_ignored: bool = False) -> None:
    """A 400 naming each of the request's `parameter_problems`, if any."""
    problems = parameter_problems(request.args, known, unknown_ignored)
    if problems:
        raise BadRequest("; ".join(f"parameter {name!r}: {rule}" for name, rule in problems))


NOT_UTF8 = "must be UTF-8 text once percent-decoded"


def not_utf8(encoded: bytes) -> str | None:
    """The name of the first `name=value` pair of a query string or form body whose name or value
    is not UTF-8 once percent-decoded, or None if every pair is."""
    for pair in encoded.split(b"&"):
        decoded = unquote_to_bytes(pair.replace(b"+", b" "))  # name=value: "=" is in no UTF-8 sequence
        try:
            decoded.decode()
        except UnicodeDecodeError:
            return decoded.partition(b"=")[0].decode(errors="replace")
    return None


def utf8_parameters() -> None:
    """A 400 naming the first parameter whose name or value is not UTF-8 once percent-decoded
    (Communication 1.4: strings are UTF-8). werkzeug keeps such a byte as its escape (%E9 stays
    "%E9"), so stateId=caf%E9, café in Latin-1, named the document of stateId=caf%25E9, the text
    "caf%E9": two ids, one document. A `before_request` of the xAPI resources."""
    name = not_utf8(request.query_string)
    if name is not None:
        raise BadRequest(f"parameter {name!r}: {NOT_UTF8}")


def no_parameters() -> None:
    """For resources that take no query parameter: any one is a 400 naming it (xAPI's rule, and
    the README's for every API of the LRS). Usable as a `before_request`. Without parameters
    there is nothing to refuse, and no schema is built: every POST of statements passes here."""
    if request.args:
        load(StrictSchema(), request.args)


def load(schema: Schema, args: Mapping[str, Any], version: str = "2.0.0") -> dict[str, Any]:
    """Validated parameters, or a 400 naming each bad parameter and its rule. `version` chooses
    the rules of xAPI-typed parameters (timestamps, agents); the newest for non-xAPI resources."""
    if isinstance(args, MultiDict):
        args = single(args)
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
        elif problem == "Missing data for required field.":  # marshmallow's words; the LRS says this
            problem = "is required"
        parts.append(f"parameter {name!r}: {problem}")
    return "; ".join(parts)
