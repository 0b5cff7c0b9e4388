"""The LRS behind the request being handled: HTTP code reaches the core through this, not globals."""
from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app

if TYPE_CHECKING:  # pragma: no cover
    from lrs.core import LRS


def current_lrs() -> "LRS":
    """The LRS of the Flask application handling the current request (`app.extensions["lrs"]`)."""
    return current_app.extensions["lrs"]
