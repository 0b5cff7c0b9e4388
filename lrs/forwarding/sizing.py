"""How many statements to send a target at once, once it said a batch was too large (413).

A target behind a proxy with a body limit (nginx's `client_max_body_size`, a gateway's) answers
413 to a full batch. The engine narrows that batch down like any refusal, but starting every
round from the configured `batch_size` again would cost the same refused requests each round.
So the largest batch the target took is remembered and used from then on; after `GROW_AFTER`
rounds delivered at that size without a 413, twice as many are tried again (up to `batch_size`),
so a limit that was raised is found again: a limit that stays costs one refused request per
`GROW_AFTER` rounds.

The limit is kept in the target's stored state (`batch_limit`), so a worker that restarts or
takes the target over starts from it rather than paying the refused requests again. It belongs
to the place it was learnt at: it is forgotten when the target's `address` (its endpoint)
changes, and `KEPT` after the 413 that taught it, so that a limit raised on a target that rarely
gets full rounds (which never grow it back) does not hold it small for ever.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging

from lrs.forwarding.state import aware

log = logging.getLogger(__name__)

GROW_AFTER = 10  # rounds delivered at the learnt size, without a 413, before twice as many are tried
KEPT = dt.timedelta(days=1)  # how long a learnt limit is kept after the 413 that taught it


def address_digest(address: str) -> str:
    """How the stored state names a target's address: a plugin's address may say more than the engine needs."""
    return hashlib.sha256(address.encode()).hexdigest()[:16]


def learnt_limit(stored: dict | None, address: str, now: dt.datetime) -> dict | None:
    """The limit stored in the target's state if it still holds: learnt at `address` (a digest)
    within KEPT."""
    return stored if stored and stored["address"] == address and now - aware(stored["at"]) < KEPT else None


class BatchSize:
    def __init__(self, target: str, configured: int, address: str = ""):
        self.target = target
        self.configured = configured
        self.current = configured
        self._fitting = 0  # rounds delivered at `current` since the last 413 (or since this worker took it up)
        self._learnt: dt.datetime | None = None  # when the 413 that set `current` came
        self._address = address_digest(address)

    def recall(self, stored: dict | None, now: dt.datetime) -> None:
        """Take up the limit in the target's state (learnt by this worker, another one, or before a
        restart), unless it is for another address or older than KEPT."""
        valid = learnt_limit(stored, self._address, now)
        size = min(self.configured, valid["size"]) if valid else self.configured
        if size == self.current:
            return
        if valid:
            log.info("forwarding %s: sending at most %d statements at a time, as the target answered a larger batch "
                     "with 413 (too large) at %s", self.target, size, aware(stored["at"]).isoformat(timespec="seconds"))
        elif stored:
            log.info("forwarding %s: the size limit learnt from a 413 is forgotten (the endpoint changed, or it was "
                     "learnt %s ago); sending up to %d statements at a time again", self.target, KEPT, size)
        self.current, self._fitting = size, 0
        self._learnt = aware(valid["at"]) if valid else None

    def learn(self, too_large: int | None, largest_delivered: int, now: dt.datetime) -> bool:
        """What a round showed: the fewest statements a 413 was answered for (None: no 413) and
        the most the target took in one request. True if the size changed (to be stored)."""
        if too_large is not None:
            fits = largest_delivered if 0 < largest_delivered < too_large else max(1, too_large // 2)
            if fits < self.current:
                log.warning("forwarding %s: the target refuses %d statements at once as too large (HTTP 413); "
                            "sending at most %d at a time (kept for %s, or until the endpoint changes)",
                            self.target, too_large, fits, KEPT)
            self.current, self._fitting, self._learnt = min(self.current, fits), 0, now
            return True  # stored even if the size stays: KEPT counts from the latest 413
        if self.current >= self.configured or largest_delivered < self.current:
            return False
        self._fitting += 1
        if self._fitting < GROW_AFTER:
            return False
        grown = min(self.configured, self.current * 2)
        log.info("forwarding %s: %d rounds of %d statements got through; trying %d at a time",
                 self.target, GROW_AFTER, self.current, grown)
        self.current, self._fitting = grown, 0
        return True

    def memory(self) -> dict | None:
        """The limit as the target's state keeps it; None when there is none (the configured size)."""
        if self.current >= self.configured or self._learnt is None:
            return None
        return {"size": self.current, "address": self._address, "at": self._learnt}
