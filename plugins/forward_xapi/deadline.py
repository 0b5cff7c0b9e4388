"""Holding an HTTP exchange to a wall-clock deadline.

`requests` (urllib3) timeouts bound each socket operation, not the exchange: a target trickling
its answer a byte at a time keeps a request alive indefinitely. A session from `session()`
remembers which connection each thread is using, so that `abort()` (called by
`Deadline.enforced` from its watchdog thread) can shut that connection's socket down; the
blocked send or receive then fails at once, in plain HTTP and TLS alike.
"""
from __future__ import annotations

import socket
import threading
from contextlib import contextmanager, suppress
from typing import Any, Iterator

import requests
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from lrs.forwarding.contract import Deadline

_current = threading.local()


class _Tracked:
    def _get_conn(self, timeout: float | None = None) -> Any:
        connection = super()._get_conn(timeout)  # type: ignore[misc]
        _current.connection = connection
        return connection


class _HTTPPool(_Tracked, HTTPConnectionPool):
    pass


class _HTTPSPool(_Tracked, HTTPSConnectionPool):
    pass


class _Adapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


def session() -> requests.Session:
    tracked = requests.Session()
    for prefix in ("http://", "https://"):
        tracked.mount(prefix, _Adapter())
    return tracked


class Exchange:
    """The connection the calling thread uses from now on, to be aborted from another thread."""

    def __init__(self) -> None:
        _current.connection = None
        self._thread_state = _current.__dict__  # this thread's slot, readable from the watchdog

    def abort(self) -> None:
        sock = getattr(self._thread_state.get("connection"), "sock", None)
        if sock is not None:
            with suppress(OSError):  # already closed
                sock.shutdown(socket.SHUT_RDWR)


@contextmanager
def held_to(deadline: Deadline) -> Iterator[None]:
    """The calling thread's exchange inside, its connection cut should the deadline pass first."""
    exchange = Exchange()
    with deadline.enforced(exchange.abort):
        yield
