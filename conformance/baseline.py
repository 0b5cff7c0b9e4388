"""Known failures, committed in the repo, so a CI can gate on "nothing new broke".

A baseline lists the tests of one xAPI version that are known not to pass (failed or never
ran), by their stable key, each with an optional "why" written by a person; rewriting the
baseline keeps those notes. A check fails when any other test does not pass, or when the run
ended early: then tests have no outcome and could hide anything.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from lrs_conformance.results import PASSED, RunResult

DEFAULT_PATTERN = str(Path(__file__).parent / "baseline-{version}.json")
DUAL_PATTERN = str(Path(__file__).parent / "baseline-{version}-dual.json")  # this LRS speaking 1.0.3 and 2.0


@dataclass(frozen=True)
class Check:
    """The run compared with its baseline."""

    new: tuple[str, ...]
    fixed: tuple[str, ...]
    stale: tuple[str, ...]
    ended_early: bool

    @property
    def ok(self) -> bool:
        return not self.new and not self.ended_early


def baseline_path(pattern: str, xapi: str) -> Path:
    """One path per version: the pattern's `{version}` is replaced by the xAPI version."""
    return Path(pattern.replace("{version}", xapi))


def load(path: Path) -> set[str]:
    """The known-failing keys; a missing file is an empty baseline (everything must pass)."""
    return set(_entries(path))


def _entries(path: Path) -> dict[str, dict]:
    if not path.is_file():
        return {}
    return {entry["key"]: entry for entry in json.loads(path.read_text())["known"]}


def check(run: RunResult, known: set[str]) -> Check:
    """New problems, known ones that now pass (to remove), and keys the suite no longer has."""
    outcomes = {test.key: test.status for test in run.tests}
    new = tuple(key for key, status in outcomes.items() if status != PASSED and key not in known)
    fixed = tuple(sorted(key for key in known if outcomes.get(key) == PASSED))
    stale = tuple(sorted(key for key in known if key not in outcomes))
    return Check(new, fixed, stale, run.ended_early)


def write(path: Path, run: RunResult, suite_commit: str) -> None:
    """Record every test of `run` that does not pass as the new baseline."""
    notes = {key: entry["why"] for key, entry in _entries(path).items() if entry.get("why")}
    known = [{"key": test.key, "status": test.status, "requirements": list(test.requirements),
              **({"why": notes[test.key]} if test.key in notes else {})}
             for test in sorted(run.tests, key=lambda t: t.key) if test.status != PASSED]
    document = {"xapi": run.xapi, "suite_commit": suite_commit,
                "note": "Known failures of this LRS; regenerate with `python -m lrs_conformance run "
                        "--self --write-baseline` after a fix.", "known": known}
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
