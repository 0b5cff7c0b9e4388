"""A gunicorn worker that reads each request whole before a thread runs the application.

gunicorn's threaded worker (gthread) gives a connection to a thread as soon as it is readable,
and the thread then blocks reading the rest: a client that sends half a request line, or a
Content-Length and then one byte, holds that thread, and LRS_THREADS such clients stall every
other request, /xapi/about included. This worker serves with waitress instead, whose single
event loop buffers every request (headers and body, a large body spooled to a temporary file)
and hands only complete requests to the application's threads; responses are written from the
same loop. A stalled client costs one socket, not a thread, and a connection idle for
LRS_READ_TIMEOUT seconds is closed. The application still runs in threads (never blocked by a
long request in another, unlike a single-threaded async worker) and gunicorn still manages the
processes: their number, restarts, signals and heartbeats.

Use it with gunicorn directly: `gunicorn -k lrs.worker.BufferingWorker --threads 8 wsgi:app`.
"""
from __future__ import annotations

import os
import time
from typing import Any

from gunicorn.workers.base import Worker
from waitress import create_server, wasyncore
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer
from waitress.task import WSGITask

from lrs.settings import CORE_SETTINGS, Settings

HEARTBEAT_SECONDS = 1.0
DRAIN_POLL_SECONDS = 0.05
# How much of a response the loop holds for a client before the thread producing it waits: small
# answers free their thread at once, a large download stays paced by its reader (bounded memory).
OUTPUT_BUFFER_BYTES = 4 * 1024 * 1024


class BufferingWorker(Worker):
    def run(self) -> None:
        settings = Settings.resolve(CORE_SETTINGS)
        largest_body = max(settings["max_body_bytes"], settings["max_attachment_request_bytes"])
        channels: dict = {}  # waitress's socket map: the listeners and every open connection
        server = create_server(
            self.wsgi, map=channels, sockets=[listener.sock for listener in self.sockets],
            threads=self.cfg.threads, connection_limit=self.cfg.worker_connections,
            channel_timeout=settings["read_timeout"], cleanup_interval=max(1, settings["read_timeout"] // 4),
            max_request_body_size=largest_body + 1,  # up to the largest limit the application answers itself
            outbuf_high_watermark=OUTPUT_BUFFER_BYTES, ident="lrs", expose_tracebacks=False,
            clear_untrusted_proxy_headers=False)  # X-Forwarded-* are the application's to trust (LRS_PROXY_HOPS)
        for listener in channels.values():  # before the loop accepts a connection
            if isinstance(listener, BaseWSGIServer):
                listener.channel_class = _KeepAliveChannel
        try:
            while self.alive and self.ppid == os.getppid():
                self.notify()
                wasyncore.loop(timeout=HEARTBEAT_SECONDS, use_poll=True, map=channels, count=1)
            self._drain(server, channels)
        finally:
            server.task_dispatcher.shutdown()  # before close(), which closes the trigger a finishing thread pulls
            server.close()

    def _drain(self, server: Any, channels: dict) -> None:
        """A graceful stop: accept nothing new, and keep the loop running until the requests in
        the threads are answered and sent (for at most gunicorn's graceful timeout)."""
        for dispatcher in list(channels.values()):
            dispatcher.accepting = False  # the listeners read nothing more; connections are unaffected
        deadline = time.monotonic() + self.cfg.graceful_timeout
        wasyncore.loop(timeout=0, use_poll=True, map=channels, count=1)  # what already arrived is read
        while time.monotonic() < deadline and _busy(server, channels):
            self.notify()
            wasyncore.loop(timeout=DRAIN_POLL_SECONDS, use_poll=True, map=channels, count=1)


class _KeepAliveTask(WSGITask):
    """waitress (3.0.2) closes the connection after any HTTP/1.1 response without a Content-Length,
    and a 204 or 304 must not have one (RFC 9110 8.6): every stored statement, document write and
    CORS preflight cost its client a new connection. Such a response ends with its header (RFC
    9112 6.3), so the connection is kept unless the client or waitress had another reason to close."""

    def build_response_header(self) -> bytes:
        if self.has_body or self.version != "1.1":
            return super().build_response_header()
        closing = self.close_on_finish or self.request.headers.get("CONNECTION", "").lower() == "close"
        self.close_on_finish = True  # waitress closes for want of a length only if not closing already
        try:
            return super().build_response_header()
        finally:
            self.close_on_finish = closing


class _KeepAliveChannel(HTTPChannel):
    task_class = _KeepAliveTask


def _busy(server: Any, channels: dict) -> bool:
    """A request is queued or running, or an answer is still being written."""
    dispatcher = server.task_dispatcher
    return bool(dispatcher.queue) or dispatcher.active_count > 0 or any(
        isinstance(channel, HTTPChannel) and channel.total_outbufs_len > 0 for channel in list(channels.values()))
