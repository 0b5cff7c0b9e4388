"""Form values as the services take them."""
from __future__ import annotations

import re

# What an <input type=datetime-local> sends (HTML's normalized local date and time: seconds and
# their fraction only when not zero), and what an operator types into a URL in the same form.
LOCAL_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?")


def utc_time(value: str) -> str:
    """A date-time without a zone, as the console's fields take it, as RFC 3339 UTC; anything
    else unchanged, for the service to judge."""
    value = value.strip()
    if not LOCAL_TIME.fullmatch(value):
        return value
    return f"{value}Z" if len(value) > 16 else f"{value}:00Z"
