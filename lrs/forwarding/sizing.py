"""How many statements to send a target at once, once it said a batch was too large (413).

A target behind a proxy with a body limit (nginx's `client_max_body_size`, a gateway's) answers
413 to a full batch. The engine narrows that batch down like any refusal, but starting every
round from the configured `batch_size` again would cost the same refused requests each round.
So the largest batch the target took is remembered and used from then on; after `GROW_AFTER`
rounds delivered at that size without a 413, twice as many are tried again (up to `batch_size`),
so a limit that was raised is found again: a limit that stays costs one refused request per
`GROW_AFTER` rounds.

Kept in the worker's memory, per target: a worker that starts (or takes a target over) begins
at `batch_size` and learns the limit again from its first refused batch.
"""
from __future__ import annotations

import logging

log = logging.getLogger(__name__)

GROW_AFTER = 10  # rounds delivered at the learnt size, without a 413, before twice as many are tried


class BatchSize:
    def __init__(self, target: str, configured: int):
        self.target = target
        self.configured = configured
        self.current = configured
        self._fitting = 0  # rounds delivered at `current` since the last 413

    def learn(self, too_large: int | None, largest_delivered: int) -> None:
        """What a round showed: the fewest statements a 413 was answered for (None: no 413) and
        the most the target took in one request."""
        if too_large is not None:
            fits = largest_delivered if 0 < largest_delivered < too_large else max(1, too_large // 2)
            if fits < self.current:
                log.warning("forwarding %s: the target refuses %d statements at once as too large (HTTP 413); "
                            "sending at most %d at a time (this worker remembers it until it restarts; "
                            "lower the target's batch_size to make it last)", self.target, too_large, fits)
            self.current, self._fitting = min(self.current, fits), 0
            return
        if self.current >= self.configured or largest_delivered < self.current:
            return
        self._fitting += 1
        if self._fitting >= GROW_AFTER:
            grown = min(self.configured, self.current * 2)
            log.info("forwarding %s: %d rounds of %d statements got through; trying %d at a time",
                     self.target, GROW_AFTER, self.current, grown)
            self.current, self._fitting = grown, 0
