"""`python -m lrs_conformance run ...`: run a conformance suite against this LRS or any other.

Exit codes: 0 done (and, with --check, nothing outside the baseline); 1 the check failed;
2 the suite or the LRS could not be used (the message says what is missing).
"""
from __future__ import annotations

import contextlib
import json
import shlex
import shutil
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import ContextManager

import click

from lrs_conformance import baseline
from lrs_conformance.logparse import parse_run
from lrs_conformance.progress import ProgressLine
from lrs_conformance.report import Report, VersionReport
from lrs_conformance.report_json import write_json
from lrs_conformance.report_markdown import write_markdown
from lrs_conformance.runner import Endpoint, RunOutcome, run_suite, suite_command
from lrs_conformance.selfserve import ServeError, served_lrs
from lrs_conformance.suite import TEST_FOLDERS, Suite, SuiteError, find_suite

CONSOLE_LINES = 30


class SetupError(click.ClickException):
    exit_code = 2


@click.group()
def conformance() -> None:
    """Run conformance test suites against an xAPI LRS (this one or any other)."""


@conformance.command()
@click.option("--suite-dir", required=True, help="A local clone of adlnet/lrs-conformance-test-suite "
              "with `npm install` done. Never downloaded by this tool.")
@click.option("--xapi", "versions", multiple=True, type=click.Choice(list(TEST_FOLDERS)),
              help="xAPI version to test; repeat for both. Default: both.")
@click.option("--endpoint", help="xAPI endpoint of the LRS under test, e.g. http://host/xapi.")
@click.option("--user", help="Basic-auth key for --endpoint.")
@click.option("--password", help="Basic-auth secret for --endpoint.")
@click.option("--self", "self_serve", is_flag=True, help="Test this LRS: start `lrs serve` on a "
              "fresh embedded store for each version, stop it afterwards.")
@click.option("--self-versions", type=click.Choice(["tested", "both"]), default="tested", show_default=True,
              help="With --self: the LRS speaks only the version under test, or both (LRS_XAPI_VERSIONS).")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Directory for the reports.")
@click.option("--grep", help="Only tests whose full title matches this pattern (e.g. XAPI-00113).")
@click.option("--timeout", default=3600.0, show_default=True, help="Seconds allowed per version.")
@click.option("--check", is_flag=True, help="Exit 1 if a test outside the baseline does not pass "
              "or the run ended early.")
@click.option("--baseline", "baseline_pattern", help="Baseline file; `{version}` is replaced by the xAPI "
              f"version. Default: {baseline.DEFAULT_PATTERN} ({baseline.DUAL_PATTERN} with --self-versions both).")
@click.option("--write-baseline", is_flag=True, help="Record this run's non-passing tests as the baseline.")
@click.option("--node", default="node", show_default=True, help="The Node.js executable.")
def run(suite_dir: str, versions: tuple[str, ...], endpoint: str | None, user: str | None,
        password: str | None, self_serve: bool, self_versions: str, out: Path, grep: str | None, timeout: float,
        check: bool, baseline_pattern: str | None, write_baseline: bool, node: str) -> None:
    """Run the ADL LRS conformance suite and report every test: passed, failed, never ran."""
    target = _target(endpoint, user, password, self_serve)
    dual = self_serve and self_versions == "both"
    baseline_pattern = baseline_pattern or (baseline.DUAL_PATTERN if dual else baseline.DEFAULT_PATTERN)
    if write_baseline and grep:
        raise click.UsageError("--write-baseline needs a full run: drop --grep")
    versions = versions or tuple(TEST_FOLDERS)
    try:
        suite = find_suite(suite_dir, list(versions), node)
    except SuiteError as error:
        raise SetupError(str(error)) from None
    out.mkdir(parents=True, exist_ok=True)
    report = Report(endpoint or "this LRS (lrs serve, fresh embedded store)", str(suite.directory),
                    suite.commit(), datetime.now(timezone.utc).isoformat(timespec="seconds"))
    for xapi in versions:
        served_versions = ",".join(TEST_FOLDERS) if dual else xapi
        version = _run_version(suite, xapi, target, served_versions, out, grep, timeout)
        path = baseline.baseline_path(baseline_pattern, xapi)
        if check:
            version = replace(version, check=_check(version, path, partial=bool(grep)))
        report.versions.append(version)
        if write_baseline:
            baseline.write(path, version.run, report.suite_commit)
    write_json(report, out / "report.json")
    write_markdown(report, out / "report.md")
    for version in report.versions:
        click.echo(_summary_line(version))
    click.echo(f"Reports: {out / 'report.md'} and {out / 'report.json'}")
    if check and not all(version.check.ok for version in report.versions):
        raise SystemExit(1)


def _check(version: VersionReport, path: Path, partial: bool) -> baseline.Check:
    """The baseline check; a --grep run is only held to the baseline entries it ran."""
    known = baseline.load(path)
    if partial:
        known &= {test.key for test in version.run.tests}
    return baseline.check(version.run, known)


def _summary_line(version: VersionReport) -> str:
    """One line per version for the console and CI logs: the figures and the verdict."""
    run, counts = version.run, version.run.counts()
    line = (f"xAPI {run.xapi}: {counts['passed']} passed, {counts['failed']} failed, "
            f"{counts['never-ran']} never ran of {run.total}")
    if run.ended_early:
        line += " - ENDED EARLY"
    if version.check is not None:
        line += f" - check {'ok' if version.check.ok else 'FAILED'} ({len(version.check.new)} outside the baseline)"
    return line


def _target(endpoint: str | None, user: str | None, password: str | None, self_serve: bool) -> Endpoint | None:
    """The endpoint to test, or None for --self."""
    if self_serve == bool(endpoint):
        raise click.UsageError("give either --endpoint URL --user KEY --password SECRET, or --self")
    if endpoint and not (user and password):
        raise click.UsageError("--endpoint needs --user and --password (the suite uses basic auth)")
    if endpoint and (user.startswith("-") or password.startswith("-")):
        raise click.UsageError("the suite's option parser cannot take a user or password that "
                               "starts with '-': use another credential")
    return Endpoint(endpoint, user, password) if endpoint else None


def _run_version(suite: Suite, xapi: str, target: Endpoint | None, served_versions: str, out: Path,
                 grep: str | None, timeout: float) -> VersionReport:
    """One version: list its tests, run it (on a fresh LRS for --self), keep its log, parse it."""
    try:
        expected = suite.list_tests(xapi, grep)
    except SuiteError as error:
        raise SetupError(str(error)) from None
    progress = ProgressLine(xapi)
    try:
        with _endpoint(target, out / f"lrs-serve-{xapi}.log", served_versions) as endpoint:
            outcome = run_suite(suite, endpoint, xapi, timeout, progress, grep)
    except ServeError as error:
        raise SetupError(str(error)) from None
    (out / f"console-{xapi}.txt").write_text(outcome.console)
    log_file = _keep_log(outcome, out / f"suite-log-{xapi}.json")
    result = parse_run(_read_log(outcome), expected, xapi)
    progress.finish("done" + (", timed out" if outcome.timed_out else ""))
    return VersionReport(result, _masked(suite_command(suite, endpoint, xapi, grep)), log_file,
                         outcome.timed_out, console_tail="".join(outcome.console.splitlines(True)[-CONSOLE_LINES:]))


def _endpoint(target: Endpoint | None, server_log: Path, served_versions: str) -> ContextManager[Endpoint]:
    return contextlib.nullcontext(target) if target else served_lrs(server_log, served_versions)


def _keep_log(outcome: RunOutcome, copy: Path) -> str | None:
    """The suite writes logs into its own folder; a copy next to the report keeps them together."""
    if outcome.log_path is None:
        return None
    shutil.copyfile(outcome.log_path, copy)
    return copy.name


def _read_log(outcome: RunOutcome) -> dict | None:
    if outcome.log_path is None:
        return None
    try:
        return json.loads(outcome.log_path.read_text())
    except ValueError:
        return None


def _masked(command: list[str]) -> str:
    shown = [("***" if previous == "-p" else part) for previous, part in zip([""] + command, command, strict=False)]
    return shlex.join(shown)
