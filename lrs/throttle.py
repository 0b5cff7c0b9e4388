"""Repeated failed secret checks, counted per key and per client address, answered 429.

A wrong secret costs a deliberately slow hash, so a client that keeps guessing both tries
secrets and takes CPU from everyone else. Past `max_failures` failures within `window_seconds`
for one key, or for one client address, further checks are refused (429 with Retry-After)
without hashing, until the window that counted them ends. A key/secret pair verified recently
(the memory of `lrs.auth.VerifiedPairs`) is never refused, and neither is a key at an address it
was verified from within KNOWN_ADDRESS_SECONDS (that address's own limit still holds): otherwise a
guesser failing a few times a window on a key would lock its client out for good once the pair's
memory ended (LRS_AUTH_CACHE_SECONDS), and an admin signing in to the console daily, always.

The counts live in the process's memory: with several worker processes each counts on its own,
so the effective limit is the setting times the number of workers.
"""
from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from lrs.errors import TooManyRequests

MAX_SUBJECTS = 100_000  # keys and addresses remembered at once; the oldest windows go first
KNOWN_ADDRESS_SECONDS = 30 * 24 * 3600  # how long a key's success at an address vouches for it there


@dataclass(frozen=True)
class Limits:
    per_key: int
    per_address: int
    window_seconds: float


class FailedChecks:
    def __init__(self, limits: Limits):
        self.limits = limits
        self._windows: OrderedDict[str, tuple[float, int]] = OrderedDict()  # subject -> (start, failures)
        self._known: OrderedDict[tuple[str, str], float] = OrderedDict()  # (key, address) -> last success
        self._lock = threading.Lock()

    def check(self, key: str, address: str | None) -> None:
        """TooManyRequests if the key or the address has failed too often in its window; the key's
        count does not hold at an address the key succeeded from lately."""
        now = time.monotonic()
        with self._lock:
            subjects = self._subjects(key, address)
            if self._vouched(key, address, now):
                subjects = subjects[1:]  # the key's own
            for subject, limit in subjects:
                start, failures = self._window(subject, now)
                if limit and failures >= limit:
                    wait = math.ceil(start + self.limits.window_seconds - now)
                    raise TooManyRequests(f"too many failed authentications for this {subject.split(':')[0]}; "
                                          f"retry in {wait} s", retry_after_seconds=max(wait, 1))

    def failed(self, key: str, address: str | None) -> None:
        now = time.monotonic()
        with self._lock:
            for subject, _ in self._subjects(key, address):
                start, failures = self._window(subject, now)
                self._windows[subject] = (start, failures + 1)
                self._windows.move_to_end(subject)
            while len(self._windows) > MAX_SUBJECTS:
                self._windows.popitem(last=False)

    def succeeded(self, key: str, address: str | None) -> None:
        if not address:
            return
        with self._lock:
            self._known[(key, address)] = time.monotonic()
            self._known.move_to_end((key, address))
            while len(self._known) > MAX_SUBJECTS:
                self._known.popitem(last=False)

    def _vouched(self, key: str, address: str | None, now: float) -> bool:
        succeeded = self._known.get((key, address or ""))
        return succeeded is not None and now - succeeded < KNOWN_ADDRESS_SECONDS

    def _subjects(self, key: str, address: str | None) -> list[tuple[str, int]]:
        subjects = [(f"key:{key}", self.limits.per_key)]
        if address:
            subjects.append((f"address:{address}", self.limits.per_address))
        return subjects

    def _window(self, subject: str, now: float) -> tuple[float, int]:
        """The subject's current window, a fresh one when the last has ended."""
        start, failures = self._windows.get(subject, (now, 0))
        return (start, failures) if now - start < self.limits.window_seconds else (now, 0)
