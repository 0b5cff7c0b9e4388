"""When to try a target again after a failed delivery."""
from __future__ import annotations

import random


def retry_delay(attempts: int, base: float, cap: float, retry_after: float | None = None,
                rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter: about base * 2^(attempts-1), capped, spread over its upper
    half so that many sources retrying one target do not arrive together. A Retry-After from the
    target is honoured (up to the cap) when it asks for longer."""
    ceiling = min(cap, base * 2 ** max(0, attempts - 1))
    delay = ceiling * (rng or random).uniform(0.5, 1.0)
    if retry_after is not None:
        delay = max(delay, min(cap, retry_after))
    return delay
