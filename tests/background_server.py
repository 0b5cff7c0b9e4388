"""A server a test runs on 127.0.0.1 from a daemon thread: LiveServer, the forwarding tests'
faulty proxy, the wire-protocol store and others build on it, so each stops the same way."""
from __future__ import annotations

import socketserver
import threading
from typing import Any, TypeVar

_Self = TypeVar("_Self", bound="BackgroundServer")


class BackgroundServer:
    """Answers from `start()` (or entering the `with` block) until `stop()` (or leaving it),
    which also closes the listening socket: every server a test starts is stopped, whatever
    happens. It polls for the stop every 0.05 s, so stopping takes no longer than that."""

    def __init__(self, server: socketserver.BaseServer):
        self.server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def start(self: _Self) -> _Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self: _Self) -> _Self:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
