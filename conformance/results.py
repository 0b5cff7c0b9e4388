"""The outcome of one suite run as plain records: one per test, plus failed hooks.

Everything downstream (reports, baseline check) works on these records, never on the suite's
raw log, so the log format is known in exactly one place (logparse).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

PASSED = "passed"
FAILED = "failed"
NEVER_RAN = "never-ran"
STATUSES = (PASSED, FAILED, NEVER_RAN)


@dataclass(frozen=True)
class TestResult:
    """One test of the suite. `key` is unique within a run and stable across runs, so the
    baseline can name tests; `error` is the assertion message, or why the test never ran."""

    key: str
    path: tuple[str, ...]
    title: str
    requirements: tuple[str, ...]
    status: str
    error: str = ""
    transcript: str = ""

    @property
    def section(self) -> str:
        """The top-level suite title names the spec section, e.g. 'State Resource
        Requirements (Communication 2.3)'."""
        return self.path[0] if self.path else ""


@dataclass(frozen=True)
class HookFailure:
    """A before/after hook that failed: mocha then skips the tests below it, so these explain
    most never-ran tests."""

    path: tuple[str, ...]
    error: str
    transcript: str = ""


@dataclass(frozen=True)
class RunResult:
    """Everything one run of one xAPI version produced."""

    xapi: str
    state: str
    tests: tuple[TestResult, ...]
    hook_failures: tuple[HookFailure, ...] = ()
    suite_summary: dict = field(default_factory=dict)

    @property
    def total(self) -> int:
        return len(self.tests)

    def counts(self) -> dict[str, int]:
        """passed / failed / never-ran, always all three keys."""
        counted = Counter(test.status for test in self.tests)
        return {status: counted.get(status, 0) for status in STATUSES}

    @property
    def ended_early(self) -> bool:
        """passed + failed < total, or the suite itself did not say it finished: either way
        some tests' outcomes are unknown and must count as failures."""
        return self.state != "finished" or self.counts()[NEVER_RAN] > 0

    def sections(self) -> dict[str, list[TestResult]]:
        """Tests grouped by spec section, in the suite's order."""
        grouped: dict[str, list[TestResult]] = {}
        for test in self.tests:
            grouped.setdefault(test.section, []).append(test)
        return grouped
