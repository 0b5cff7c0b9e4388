"""The forwarding engine's own settings (the targets themselves come from forwarder plugins).

They are declared through the core's own `lrs_declare_settings` implementation, which
lrs.plugins registers always, whichever plugins are enabled.
"""
from __future__ import annotations

from typing import Iterable

from lrs.hooks import hookimpl
from lrs.settings import Setting, between, parse_bool

FORWARDING_SETTINGS: tuple[Setting, ...] = (
    Setting("forward_in_process", False, "Run the forwarding worker in the LRS process itself (for "
            "the embedded store, which other processes cannot read). With MongoDB, run "
            "`lrs forward` instead.", parse_bool),
    Setting("forward_poll_seconds", 1.0, "How often an idle forwarding worker looks for new "
            "statements, and a worker whose target waits out its backoff checks whether an operator asked "
            "to retry it now (lrs forward retry).", between(float, 0.01, 3600)),
    Setting("forward_lease_seconds", 15.0, "How long a worker owns a target without renewing its "
            "lease (its heartbeat renews it five times per lease); after a worker dies, another takes "
            "the target over within this long.", between(float, 1, 86400)),
    Setting("forward_retry_base_seconds", 1.0, "First retry delay after a failed delivery; it "
            "doubles with each further failure (with jitter).", between(float, 0.01, 3600)),
    Setting("forward_retry_max_seconds", 300.0, "Longest delay between two delivery attempts, "
            "including one asked for with Retry-After.", between(float, 0.01, 86400)),
    Setting("forward_gap_grace_seconds", 600.0, "How long a sequence number that was allocated "
            "but never became visible is watched before the engine concludes its write failed.",
            between(float, 1, 7 * 86400)),
    Setting("forward_split_after_failures", 3, "Failures in a row (other than outages: no answer, "
            "429, 502, 503, 504, 401, 403, ...) after which a batch is split to find the statement "
            "the target cannot take; that statement is then retried on its own while the rest flows.",
            between(int, 1, 1000)),
    Setting("forward_max_retry_age_seconds", 86400.0, "How long a statement retried on its own may "
            "keep failing (other than by an outage) before it becomes a dead letter with its last "
            "error.", between(float, 1, 365 * 86400)),
    Setting("forward_pause_after_refusals", 10, "Statements refused one by one in a row, with the same "
            "4xx and nothing delivered meanwhile (counted across rounds: a trickle of one statement a round "
            "counts as a backlog does), after which the target is suspected of refusing every "
            "statement (one more, the last of the round, is sent alone to check): it is then paused like "
            "an outage, the statements kept, instead of dead-lettered. 0: never.", between(int, 0, 100000)),
    Setting("forward_probe_seconds", 5.0, "While a target is down, how often a cheap request "
            "(GET /about) checks whether it is back, so delivery resumes without waiting out the "
            "backoff.", between(float, 0.1, 3600)),
)


@hookimpl(tryfirst=True)  # listed right after the core's settings
def lrs_declare_settings() -> Iterable[Setting]:
    return FORWARDING_SETTINGS
