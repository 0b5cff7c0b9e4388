"""marshmallow errors as the LRS reports every bad input: `path: rule`, the path in dotted form
(`scopes.1`, `auth.password_env`), so a caller sees exactly which value broke which rule.
"""
from __future__ import annotations

from typing import Any, Mapping

from marshmallow import Schema, ValidationError

from lrs.errors import BadRequest

# marshmallow's wording for two rules every schema has, in the LRS's words.
_RULES = {"Unknown field.": "is not a known field", "Missing data for required field.": "is required"}


def problems(messages: Any, path: str = "") -> list[str]:
    """Every `path: rule` in marshmallow's nested error messages, in a stable order."""
    if isinstance(messages, Mapping):
        found = []
        for name, inner in sorted(messages.items(), key=lambda item: str(item[0])):
            found += problems(inner, f"{path}.{name}" if path else str(name))
        return found
    if isinstance(messages, list) and all(isinstance(message, str) for message in messages):
        return [f"{path or 'value'}: {'; '.join(_RULES.get(message, message) for message in messages)}"]
    if isinstance(messages, list):
        return [problem for inner in messages for problem in problems(inner, path)]
    return [f"{path or 'value'}: {_RULES.get(str(messages), messages)}"]


def load(schema: Schema, data: Any, what: str = "request body") -> dict[str, Any]:
    """`data` validated by `schema`, or a 400 listing each bad field and its rule."""
    if not isinstance(data, Mapping):
        raise BadRequest(f"{what}: must be a JSON object")
    try:
        return schema.load(data)
    except ValidationError as error:
        raise BadRequest("; ".join(problems(error.messages))) from None
