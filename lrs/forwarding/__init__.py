"""The forwarding engine: copies what this LRS stores into other systems, without losing any.

Forwarder plugins provide targets (`lrs_forward_targets`); a target knows how to deliver one
batch (see `contract`). Everything else is here and shared by every target: which statements a
target wants (`filters`), choosing batches without skipping statements still being written
(`scan`), delivering rounds of batches in parallel and splitting refused or failing ones down to
the statements at fault (`delivery`), the batch size a target takes (`sizing`), request bodies with attachments (`body`), retries with
backoff (`backoff`), leases, checkpoints and counters (`state`), dead letters (`dead_letters`),
statements set aside to be retried alone (`parked`), the cycle tying them together (`engine`),
the threads running it (`worker`, `inprocess`), the numbers operators watch (`status`), what
operators do (`operations`), an end-to-end check (`verify`), provenance (`provenance`) and
`lrs forward` (`cli`). docs/forwarding.md is the operator's guide.

Forwarder plugins import from `contract` (Target, TargetOptions, Outgoing, Outcome, Deadline,
classify_http, classify_statements_post), `filters` (StatementFilter), `scan` (parse_since),
`body` (statements_body) and `provenance` (with_provenance).
"""
