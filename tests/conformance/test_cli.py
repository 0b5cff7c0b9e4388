"""`python -m lrs_conformance run` end to end on the fake suite: files, exit codes, messages."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from lrs_conformance.cli import conformance
from lrs_conformance.suite import Suite

KNOWN_FAILURE = "Alpha (Data 1.1) > Statements are fine (Data 1.1.s1, XAPI-00001) > rejects a null verb"


@pytest.fixture
def invoke(fake_suite_dir, expected_tests, monkeypatch, tmp_path):
    monkeypatch.setattr(Suite, "list_tests", lambda self, xapi, grep=None: expected_tests)

    def invoke(*args: str, fake_run: str = "complete"):
        monkeypatch.setenv("FAKE_SUITE_RUN", fake_run)
        return CliRunner().invoke(conformance, ["run", "--suite-dir", str(fake_suite_dir), "--out",
                                                str(tmp_path / "out"), *args])
    return invoke


ENDPOINT = ("--endpoint", "http://127.0.0.1:9/xapi", "--user", "k", "--password", "s", "--xapi", "1.0.3")


def test_a_run_writes_both_reports_and_a_copy_of_the_suite_log(invoke, tmp_path):
    result = invoke(*ENDPOINT)

    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    report = json.loads((out / "report.json").read_text())
    assert report["runs"][0]["counts"] == {"passed": 4, "failed": 1, "never-ran": 0}
    assert "-p '***'" in report["runs"][0]["command"]
    assert (out / "suite-log-1.0.3.json").is_file() and (out / "console-1.0.3.txt").is_file()
    assert "| 1.0.3 | 5 | 4 | 1 | 0 | complete |" in (out / "report.md").read_text()


def test_check_fails_on_a_failure_outside_the_baseline(invoke, tmp_path):
    result = invoke(*ENDPOINT, "--check", "--baseline", str(tmp_path / "baseline-{version}.json"))

    assert result.exit_code == 1


def test_check_passes_when_the_failure_is_known(invoke, tmp_path):
    (tmp_path / "baseline-1.0.3.json").write_text(json.dumps({"known": [{"key": KNOWN_FAILURE}]}))

    result = invoke(*ENDPOINT, "--check", "--baseline", str(tmp_path / "baseline-{version}.json"))

    assert result.exit_code == 0, result.output


def test_check_fails_on_an_early_ended_run(invoke, tmp_path):
    result = invoke(*ENDPOINT, "--check", "--baseline", str(tmp_path / "b-{version}.json"),
                    fake_run="early-ended")

    assert result.exit_code == 1
    assert "ENDED EARLY" in result.output and "check FAILED" in result.output


def test_write_baseline_records_the_non_passing_tests(invoke, tmp_path):
    invoke(*ENDPOINT, "--write-baseline", "--baseline", str(tmp_path / "b-{version}.json"))

    assert [entry["key"] for entry in json.loads((tmp_path / "b-1.0.3.json").read_text())["known"]] == [KNOWN_FAILURE]


@pytest.mark.parametrize("args", [("--self", *ENDPOINT), ("--xapi", "1.0.3"),
                                  ("--endpoint", "http://127.0.0.1:9/xapi"),
                                  ("--endpoint", "http://127.0.0.1:9/xapi", "--user", "k", "--password", "-s")])
def test_the_target_must_be_either_an_endpoint_with_credentials_or_self(invoke, args):
    result = invoke(*args)

    assert result.exit_code == 2


def test_a_missing_suite_is_a_setup_error_that_says_what_to_do(tmp_path):
    result = CliRunner().invoke(conformance, ["run", "--suite-dir", str(tmp_path / "none"), "--self",
                                              "--out", str(tmp_path / "out")])

    assert result.exit_code == 2
    assert "does not exist" in result.output and "npm install" in result.output


def test_a_grep_run_is_held_only_to_the_baseline_entries_it_ran(invoke, tmp_path):
    (tmp_path / "baseline-1.0.3.json").write_text(json.dumps({"known": [{"key": KNOWN_FAILURE},
                                                                        {"key": "Other > not run"}]}))

    result = invoke(*ENDPOINT, "--grep", "Alpha", "--check", "--baseline", str(tmp_path / "baseline-{version}.json"))

    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "out" / "report.json").read_text())["runs"][0]["check"]["stale"] == []


def test_without_a_run_log_the_report_shows_the_end_of_the_suite_console(invoke, tmp_path):
    result = invoke(*ENDPOINT, fake_run="nolog")

    assert "1 passed" not in result.output and "5 never ran" in result.output
    text = (tmp_path / "out" / "report.md").read_text()
    assert "The suite wrote no run log" in text and '{"total":5' in text
