"""The machine-readable report: every test with its status, requirement ids and error."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from lrs_conformance.report import Report, VersionReport
from lrs_conformance.results import RunResult


def write_json(report: Report, path: Path) -> None:
    path.write_text(json.dumps(to_dict(report), indent=2, ensure_ascii=False) + "\n")


def to_dict(report: Report) -> dict[str, Any]:
    return {"generated": report.generated, "endpoint": report.endpoint,
            "suite": {"directory": report.suite_dir, "commit": report.suite_commit},
            "runs": [_version(version) for version in report.versions]}


def _version(version: VersionReport) -> dict[str, Any]:
    run = version.run
    return {"xapi": run.xapi, "state": run.state, "ended_early": run.ended_early,
            "timed_out": version.timed_out, "total": run.total, "counts": run.counts(),
            "suite_summary": run.suite_summary, "command": version.command, "log": version.log_file,
            "console_tail": version.console_tail,
            "check": None if version.check is None else {**asdict(version.check), "ok": version.check.ok},
            "sections": section_counts(run),
            "hook_failures": [asdict(hook) for hook in run.hook_failures],
            "tests": [{**asdict(test), "section": test.section} for test in run.tests]}


def section_counts(run: RunResult) -> list[dict[str, Any]]:
    """Per spec section: passed / failed / never-ran, in the suite's order."""
    rows = []
    for title, tests in run.sections().items():
        row: dict[str, Any] = {"section": title, "passed": 0, "failed": 0, "never-ran": 0}
        for test in tests:
            row[test.status] += 1
        rows.append(row)
    return rows
