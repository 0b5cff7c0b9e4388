"""Form values as the services take them."""
from __future__ import annotations


def utc_time(value: str) -> str:
    """An <input type=datetime-local> value (YYYY-MM-DDTHH:MM, no zone) as RFC 3339 UTC; anything
    else unchanged, for the service to judge."""
    value = value.strip()
    return f"{value}:00Z" if len(value) == 16 and value[10:11] == "T" else value
