"""A one-line progress indicator for a suite run, fed by the suite's running totals.

On a terminal the line is redrawn in place; in a CI log it prints a line per tenth of the run,
so the log shows the run is alive without thousands of lines.
"""
from __future__ import annotations

import sys
from typing import TextIO


class ProgressLine:
    def __init__(self, xapi: str, stream: TextIO | None = None):
        self.xapi = xapi
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.shown_tenth = -1

    def __call__(self, totals: dict) -> None:
        """Show one totals update: {"total": n, "passed": p, "failed": f}."""
        total = totals.get("total") or 0
        done = (totals.get("passed") or 0) + (totals.get("failed") or 0)
        text = f"[xAPI {self.xapi}] {done}/{total} run, {totals.get('failed') or 0} failed"
        if self.live:
            self.stream.write("\r\033[K" + text)
        elif total and done * 10 // total > self.shown_tenth:
            self.shown_tenth = done * 10 // total
            self.stream.write(text + "\n")
        self.stream.flush()

    def finish(self, message: str) -> None:
        """End the progress line with a closing message."""
        self.stream.write(("\r\033[K" if self.live else "") + f"[xAPI {self.xapi}] {message}\n")
        self.stream.flush()
