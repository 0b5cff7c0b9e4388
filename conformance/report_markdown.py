"""The report for people: totals per version, then per spec section, then each failure with
its requirement id and error, and each test that never ran with the reason."""
from __future__ import annotations

from pathlib import Path

from lrs_conformance.baseline import Check
from lrs_conformance.report import Report, VersionReport
from lrs_conformance.report_json import section_counts
from lrs_conformance.results import FAILED, NEVER_RAN, RunResult, TestResult

ERROR_CHARS = 300
LISTED_KEYS = 50  # a run that ended early can leave every test outside the baseline


def write_markdown(report: Report, path: Path) -> None:
    path.write_text(render(report))


def render(report: Report) -> str:
    lines = ["# xAPI conformance report", "",
             f"LRS endpoint `{report.endpoint}` · ADL suite `{report.suite_commit[:12] or 'unknown commit'}`"
             f" · generated {report.generated}", "", *totals_table(report.versions)]
    for version in report.versions:
        lines += ["", *_version(version)]
    return "\n".join(lines) + "\n"


def totals_table(versions: list[VersionReport]) -> list[str]:
    """The headline figures, one row per version (the README shows this table)."""
    rows = ["| xAPI | total | passed | failed | never ran | run |", "|---|---:|---:|---:|---:|---|"]
    for version in versions:
        run, counts = version.run, version.run.counts()
        state = "**ended early**" if run.ended_early else "complete"
        rows.append(f"| {run.xapi} | {run.total} | {counts['passed']} | {counts[FAILED]} "
                    f"| {counts[NEVER_RAN]} | {state} |")
    return rows


def _version(version: VersionReport) -> list[str]:
    run = version.run
    lines = [f"## xAPI {run.xapi}", "", f"Command (in the suite's directory): `{version.command}`  ",
             f"Raw suite log: `{version.log_file or 'none written'}`", ""]
    if version.log_file is None:
        lines += ["The suite wrote no run log. The end of its console output:", "", "```",
                  version.console_tail.rstrip(), "```", ""]
    lines += _early_warning(version)
    if version.check is not None:
        lines += _check(version.check)
    lines += ["### By section", "", "| section | passed | failed | never ran |", "|---|---:|---:|---:|"]
    lines += [f"| {_cell(row['section'])} | {row['passed']} | {row['failed']} | {row['never-ran']} |"
              for row in section_counts(run)]
    known = set() if version.check is None else {t.key for t in run.tests if t.key not in version.check.new}
    return lines + _failures(run, known) + _never_ran(run) + _hooks(run)


def _early_warning(version: VersionReport) -> list[str]:
    run = version.run
    if not run.ended_early:
        return []
    if version.timed_out:
        why = "it hit the time limit"
    elif run.state != "finished":
        why = f"suite state: {run.state}"
    else:
        why = "the suite said finished, but tests were skipped or not reached"
    return [f"> **This run ended early** ({why}): {run.counts()[NEVER_RAN]} of {run.total} tests "
            "never ran. Count them as failures; their reasons are listed below.", ""]


def _check(check: Check) -> list[str]:
    verdict = "passed" if check.ok else "**FAILED**"
    lines = ["### Baseline check", "", f"Check {verdict}: {len(check.new)} problems outside the baseline, "
             f"{len(check.fixed)} known failures now pass, {len(check.stale)} baseline entries unknown "
             "to this suite.", ""]
    for title, keys in (("Outside the baseline", check.new), ("Now passing (remove from the baseline)",
                                                                 check.fixed), ("Stale entries", check.stale)):
        if keys:
            more = [f"- … and {len(keys) - LISTED_KEYS} more (report.json has them all)"] if len(keys) > LISTED_KEYS else []
            lines += [f"{title}:", "", *(f"- {key}" for key in keys[:LISTED_KEYS]), *more, ""]
    return lines


def _failures(run: RunResult, known: set[str]) -> list[str]:
    """Each failure under its section; with a baseline check, known ones say so."""
    lines = ["", "### Failures"]
    for section, tests in run.sections().items():
        failed = [test for test in tests if test.status == FAILED]
        if failed:
            lines += ["", f"#### {section} ({len(failed)})", ""]
            lines += [f"- {_test(test)}{' (known, in the baseline)' if test.key in known else ''}  \n"
                      f"  {_code(test.error)}" for test in failed]
    return lines if len(lines) > 2 else lines + ["", "None."]


def _never_ran(run: RunResult) -> list[str]:
    by_cause: dict[str, list[TestResult]] = {}
    for test in run.tests:
        if test.status == NEVER_RAN:
            by_cause.setdefault(test.error, []).append(test)
    lines = ["", "### Never ran"]
    for cause, tests in by_cause.items():
        lines += ["", f"{len(tests)} test(s), {_code(cause)}:", ""]
        lines += [f"- {test.section} › {_test(test)}" for test in tests]
    return lines if by_cause else lines + ["", "None."]


def _hooks(run: RunResult) -> list[str]:
    if not run.hook_failures:
        return []
    lines = ["", "### Failed hooks", ""]
    return lines + [f"- {' › '.join(hook.path) or '(the whole run)'}  \n  {_code(hook.error)}"
                    for hook in run.hook_failures]


def _test(test: TestResult) -> str:
    ids = f"**{', '.join(test.requirements)}** " if test.requirements else ""
    return ids + " › ".join(test.path[1:] + (test.title,)).replace("*", r"\*")


def _code(text: str) -> str:
    flat = " ".join(text.split()).replace("`", "'")
    return f"`{flat[:ERROR_CHARS]}{'…' if len(flat) > ERROR_CHARS else ''}`"


def _cell(text: str) -> str:
    return text.replace("|", r"\|")
