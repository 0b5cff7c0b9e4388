"""The one exception the data model raises: which value broke which rule."""
from __future__ import annotations


class XAPIValidationError(ValueError):
    """An invalid value: `path` locates it (e.g. "statement[2].actor.mbox"), `rule` says why.

    Kept apart from HTTP status codes: the HTTP layer turns it into 400 Bad Request, a parameter
    parser into its own message, an adapter into a per-item error.
    """

    def __init__(self, path: str, rule: str):
        super().__init__(f"{path}: {rule}")
        self.path = path
        self.rule = rule
