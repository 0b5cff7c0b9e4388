"""The JSON and Markdown reports built from parsed runs."""
from __future__ import annotations

import json

from lrs_conformance import baseline
from lrs_conformance.logparse import parse_run
from lrs_conformance.report import Report, VersionReport
from lrs_conformance.report_json import write_json
from lrs_conformance.report_markdown import render


def make_report(recorded_log, expected_tests, name="complete", check=False):
    run = parse_run(recorded_log(name), expected_tests, "1.0.3")
    version = VersionReport(run, "node bin/console_runner.js -x 1.0.3", "suite-log-1.0.3.json",
                            check=baseline.check(run, set()) if check else None)
    return Report("http://127.0.0.1:8000/xapi", "/suite", "2ec25f2eb8cc0000", "2026-01-01T00:00:00+00:00",
                  [version])


def test_json_report_has_counts_sections_and_every_test(tmp_path, recorded_log, expected_tests):
    write_json(make_report(recorded_log, expected_tests, "hook-failed"), tmp_path / "report.json")
    [run] = json.loads((tmp_path / "report.json").read_text())["runs"]

    assert run["counts"] == {"passed": 3, "failed": 0, "never-ran": 2}
    assert run["ended_early"] is True
    assert run["sections"] == [
        {"section": "Alpha (Data 1.1)", "passed": 2, "failed": 0, "never-ran": 0},
        {"section": "Beta (Communication 2.2)", "passed": 1, "failed": 0, "never-ran": 2}]
    assert len(run["tests"]) == 5 and run["tests"][3]["requirements"] == ["XAPI-00200"]
    assert run["hook_failures"][0]["path"][-1] == "With a stored document"


def test_markdown_shows_totals_failures_with_ids_and_errors(recorded_log, expected_tests):
    text = render(make_report(recorded_log, expected_tests))

    assert "| 1.0.3 | 5 | 4 | 1 | 0 | complete |" in text
    assert "#### Alpha (Data 1.1) (1)" in text
    assert "**XAPI-00001** Statements are fine (Data 1.1.s1, XAPI-00001) › rejects a null verb" in text
    assert '`RejectionError: expected 400 "Bad Request", got 200 "OK"`' in text
    assert "This run ended early" not in text


def test_markdown_warns_about_an_early_ended_run_and_lists_the_never_ran(recorded_log, expected_tests):
    text = render(make_report(recorded_log, expected_tests, "early-ended", check=True))

    assert "| 1.0.3 | 5 | 2 | 0 | 3 | **ended early** |" in text
    assert "> **This run ended early**" in text
    assert "3 test(s), `not reached" in text
    assert "Check **FAILED**" in text


def test_markdown_marks_failures_that_the_baseline_knows(recorded_log, expected_tests):
    run = parse_run(recorded_log("complete"), expected_tests, "1.0.3")
    check = baseline.check(run, {run.tests[1].key})
    report = Report("http://lrs/xapi", "/suite", "", "2026-01-01", [VersionReport(run, "node", None, check=check)])

    text = render(report)

    assert "rejects a null verb (known, in the baseline)" in text and "Check passed" in text


def test_a_long_list_of_new_problems_is_cut_short_in_markdown(recorded_log, expected_tests, monkeypatch):
    monkeypatch.setattr("lrs_conformance.report_markdown.LISTED_KEYS", 2)

    text = render(make_report(recorded_log, expected_tests, "early-ended", check=True))

    assert "- … and 1 more (report.json has them all)" in text
