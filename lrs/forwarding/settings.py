"""The forwarding engine's own settings (the targets themselves come from forwarder plugins)."""
from __future__ import annotations

from lrs.settings import Setting, parse_bool


def positive_number(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise ValueError(f"must be greater than 0, got {value!r}")
    return number


FORWARDING_SETTINGS: tuple[Setting, ...] = (
    Setting("forward_in_process", False, "Run the forwarding worker in the LRS process itself (for "
            "the embedded store, which other processes cannot read). With MongoDB, run "
            "`lrs forward` instead.", parse_bool),
    Setting("forward_poll_seconds", 1.0, "How often an idle forwarding worker looks for new "
            "statements.", positive_number),
    Setting("forward_lease_seconds", 60.0, "How long a worker owns a target without renewing its "
            "lease; after a worker dies, another takes the target over after this long. At least "
            "twice every target's request timeout.", positive_number),
    Setting("forward_retry_base_seconds", 1.0, "First retry delay after a failed delivery; it "
            "doubles with each further failure (with jitter).", positive_number),
    Setting("forward_retry_max_seconds", 300.0, "Longest delay between two delivery attempts, "
            "including one asked for with Retry-After.", positive_number),
    Setting("forward_gap_grace_seconds", 600.0, "How long a sequence number that was allocated "
            "but never became visible is watched before the engine concludes its write failed.",
            positive_number),
)
