"""One invocation's reports: every version's run with what a reader needs to trust it."""
from __future__ import annotations

from dataclasses import dataclass, field

from lrs_conformance.baseline import Check
from lrs_conformance.results import RunResult


@dataclass(frozen=True)
class VersionReport:
    """One version's run plus how it was made: the command (password masked), the suite's raw
    log copied next to the report, whether it hit the time limit, the baseline check, and the
    end of the suite's console output (the only clue when it wrote no log)."""

    run: RunResult
    command: str
    log_file: str | None
    timed_out: bool = False
    check: Check | None = None
    console_tail: str = ""


@dataclass(frozen=True)
class Report:
    endpoint: str
    suite_dir: str
    suite_commit: str
    generated: str
    versions: list[VersionReport] = field(default_factory=list)
