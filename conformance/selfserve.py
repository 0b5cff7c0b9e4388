"""This LRS, started with `lrs serve` on a fresh embedded store for one suite run, then stopped.

The suite leaves its data in the LRS and some tests assume a clean store, so every run gets
a new process (and so a new in-memory store) with a throwaway admin credential.
"""
from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from conformance.runner import Endpoint

SERVE = [sys.executable, "-c", "from lrs.cli import main; main()", "serve"]
STOP_SECONDS = 15


class ServeError(Exception):
    """The LRS did not come up; the message carries the end of its output."""


@contextmanager
def served_lrs(server_log: Path, start_timeout: float = 60) -> Iterator[Endpoint]:
    """An endpoint of this LRS on a free port of 127.0.0.1, for the duration of the block."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/xapi"
    # hex: the suite's option parser takes a secret starting with "-" for an option
    endpoint = Endpoint(url, "conformance-" + secrets.token_hex(4), secrets.token_hex(16))
    env = dict(os.environ, LRS_ADMIN_KEY=endpoint.user, LRS_ADMIN_SECRET=endpoint.password,
               LRS_MONGO_URI="", LRS_PUBLIC_URL=f"http://127.0.0.1:{port}")
    with open(server_log, "w") as log:
        process = subprocess.Popen(SERVE + ["--host", "127.0.0.1", "--port", str(port)], env=env,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_until_up(endpoint, process, server_log, start_timeout)
        yield endpoint
    finally:
        _stop(process)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_up(endpoint: Endpoint, process: subprocess.Popen, server_log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(endpoint.url + "/about", headers={"X-Experience-API-Version": "1.0.3"})
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServeError(f"`lrs serve` exited with {process.returncode}:\n{_tail(server_log)}")
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise ServeError(f"`lrs serve` did not answer {endpoint.url}/about within {timeout:.0f} s:\n"
                     f"{_tail(server_log)}")


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM lets gunicorn stop its workers; SIGKILL the group only if it does not."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-3000:]
