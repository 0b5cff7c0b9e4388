"""The JSON shapes both Caliper APIs answer in (seeds/002 and seeds/003).

Success bodies are the endpoints' own; every failure is `{status: "error", message, errors}` where
`errors` lists `{index, path, message}` for each problem (index: the item of the request, null for
the envelope itself; path: JSONPath into the request body).
"""
from __future__ import annotations

from typing import Any, Iterable

from flask import Blueprint, Response, jsonify, request

from lrs.errors import ItemErrors
from lrs.http.errors import register_adapter_errors
from lrs.http.params import parameter_problems
from lrs_plugins.caliper.tokens import TokenRefused


def reply(status: int, body: dict) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response


def failure(status: int, message: str, problems: Iterable[tuple[Any, str, str]] = ()) -> Response:
    errors = [{"index": index, "path": path, "message": rule} for index, path, rule in problems]
    return reply(status, {"status": "error", "message": message, "errors": errors})


class ParameterErrors(ItemErrors):
    """Bad query parameters: refused before the body is looked at."""


def check_parameters(known: Iterable[str] = ()) -> None:
    """A parameter the endpoint does not take, or one given twice, is a 400 naming it (the OAuth
    token endpoint excepted: RFC 6749 has it ignore unknown ones)."""
    problems = parameter_problems(request.args, known)
    if problems:
        raise ParameterErrors([(None, name, rule) for name, rule in problems])


def register_errors(blueprint: Blueprint) -> None:
    """The error bodies of the endpoints that store: a 400 lists the invalid items or envelope,
    and nothing of the request was stored, whatever failed (the core stores a batch whole or not).
    Listed problems keep their own status (422 for an unsupported Caliper dataVersion)."""
    register_adapter_errors(blueprint, failure, _summary, "internal error; nothing was stored")
    blueprint.register_error_handler(TokenRefused, _refused)
    blueprint.register_error_handler(ItemErrors, lambda error: failure(error.status, _summary(error.errors), error.errors))
    blueprint.register_error_handler(ParameterErrors, lambda error: failure(400, _parameter_errors(error.errors),
                                                                            error.errors))


def register_read_errors(blueprint: Blueprint) -> None:
    """The error bodies of the endpoints that only read: nothing was sent to be stored."""
    register_adapter_errors(blueprint, failure, _parameter_errors, "internal error")
    blueprint.register_error_handler(TokenRefused, _refused)


def _refused(error: TokenRefused) -> Response:
    response = failure(error.status, error.message)
    response.headers["WWW-Authenticate"] = error.challenge()
    return response


def _parameter_errors(problems: list) -> str:
    return f"invalid query parameter(s) ({_first(problems)})"


def _summary(problems: list) -> str:
    items = {index for index, _, _ in problems if index is not None}
    parts = []
    if any(index is None for index, _, _ in problems):
        parts.append("invalid envelope")
    if items:
        parts.append(f"{len(items)} invalid item(s)")
    return f"{' and '.join(parts)}; nothing was stored ({_first(problems)})"


def _first(problems: list) -> str:
    """The first problem, for clients that show only `message` (timeback-caliper does)."""
    _, path, rule = problems[0]
    more = f"; {len(problems) - 1} more in `errors`" if len(problems) > 1 else ""
    return f"{path}: {rule}{more}"
