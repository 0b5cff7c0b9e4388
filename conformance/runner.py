"""Run the suite's console runner for one xAPI version, with a time bound and live totals.

The console prints a JSON line of running totals every two seconds and, at the very end, the
path of its run log; both are picked out of its output here. On timeout the runner gets SIGINT
first, which makes it cancel the tests and still write its log, so even a cut-off run can be
read.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from lrs_conformance.suite import Suite

LOG_LINE = re.compile(r"Full run log written to (?P<path>.+?)\s*$")
GRACE_SECONDS = 20

Progress = Callable[[dict], None]


@dataclass(frozen=True)
class Endpoint:
    """An xAPI endpoint (no trailing slash) and the basic-auth credential the suite uses."""

    url: str
    user: str
    password: str


@dataclass(frozen=True)
class RunOutcome:
    """What the console runner left behind: its log (None if it wrote none) and its output.
    Its exit code is not kept: it is the failure count mod 256 and says nothing reliable."""

    log_path: Path | None
    timed_out: bool
    console: str


def suite_command(suite: Suite, endpoint: Endpoint, xapi: str, grep: str | None = None) -> list[str]:
    """The exact command line, run from the suite's directory."""
    command = [suite.node, "bin/console_runner.js", "-e", endpoint.url.rstrip("/"), "-a",
               "-u", endpoint.user, "-p", endpoint.password, "-x", xapi]
    return command + (["-g", grep] if grep else [])


def run_suite(suite: Suite, endpoint: Endpoint, xapi: str, timeout: float,
              progress: Progress, grep: str | None = None) -> RunOutcome:
    """Run the suite once; `progress` gets each totals line ({"total","passed","failed"})."""
    process = subprocess.Popen(suite_command(suite, endpoint, xapi, grep), cwd=suite.directory,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               errors="replace", start_new_session=True)
    lines: deque[str] = deque(maxlen=400)
    log_path: list[Path] = []
    reader = threading.Thread(target=_read, args=(process, lines, log_path, progress), daemon=True)
    reader.start()
    timed_out = not _wait(process, timeout)
    reader.join(timeout=GRACE_SECONDS)
    found = log_path[0] if log_path and log_path[0].is_file() else None
    return RunOutcome(found, timed_out, "".join(lines))


def _read(process: subprocess.Popen, lines: deque[str], log_path: list[Path], progress: Progress) -> None:
    for line in process.stdout:
        lines.append(line)
        totals = _totals(line)
        if totals is not None:
            progress(totals)
        match = LOG_LINE.search(line)
        if match:
            log_path.append(Path(match["path"]))


def _totals(line: str) -> dict | None:
    if not line.startswith('{"total"'):
        return None
    try:
        return json.loads(line)
    except ValueError:
        return None


def _wait(process: subprocess.Popen, timeout: float) -> bool:
    """True if the run ended by itself; else stop it (SIGINT, then the whole process group)."""
    try:
        process.wait(timeout=timeout)
        return True
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    return False
