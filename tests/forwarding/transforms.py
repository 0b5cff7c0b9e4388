"""A transformation hook for tests, loaded by dotted path from a target's configuration."""
from __future__ import annotations

MARK = "http://example.com/extensions/forwarding"


def skip_or_break(statement: dict) -> dict | None:
    """Leave out statements marked "skip"; send statements marked "break" without their verb,
    which any LRS refuses; tag every other one so the target shows the hook ran."""
    mark = statement.get("context", {}).get("extensions", {}).get(MARK)
    if mark == "skip":
        return None
    if mark == "break":
        return {key: value for key, value in statement.items() if key != "verb"}
    return statement
