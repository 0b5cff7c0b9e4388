"""The baseline check that lets a CI gate on the suite."""
from __future__ import annotations

import json

from lrs_conformance import baseline
from lrs_conformance.logparse import parse_run

KNOWN_FAILURE = "Alpha (Data 1.1) > Statements are fine (Data 1.1.s1, XAPI-00001) > rejects a null verb"


def test_a_known_failure_passes_the_check(recorded_log, expected_tests):
    run = parse_run(recorded_log("complete"), expected_tests, "1.0.3")

    check = baseline.check(run, {KNOWN_FAILURE})

    assert check.ok and check.new == () and check.fixed == ()


def test_a_failure_outside_the_baseline_fails_the_check(recorded_log, expected_tests):
    run = parse_run(recorded_log("complete"), expected_tests, "1.0.3")

    check = baseline.check(run, set())

    assert not check.ok and check.new == (KNOWN_FAILURE,)


def test_an_early_ended_run_fails_the_check_even_with_every_test_in_the_baseline(recorded_log, expected_tests):
    run = parse_run(recorded_log("early-ended"), expected_tests, "1.0.3")

    check = baseline.check(run, {test.key for test in run.tests})

    assert check.new == () and check.ended_early and not check.ok


def test_fixed_and_stale_entries_are_reported(recorded_log, expected_tests):
    run = parse_run(recorded_log("complete"), expected_tests, "1.0.3")
    now_passing = run.tests[0].key

    check = baseline.check(run, {KNOWN_FAILURE, now_passing, "Gone > test"})

    assert check.ok and check.fixed == (now_passing,) and check.stale == ("Gone > test",)


def test_written_baseline_loads_back_as_the_non_passing_tests(tmp_path, recorded_log, expected_tests):
    run = parse_run(recorded_log("hook-failed"), expected_tests, "1.0.3")
    path = baseline.baseline_path(str(tmp_path / "baseline-{version}.json"), "1.0.3")

    baseline.write(path, run, "abc123")

    assert path.name == "baseline-1.0.3.json"
    assert baseline.load(path) == {run.tests[3].key, run.tests[4].key}
    entry = json.loads(path.read_text())["known"][0]
    assert entry["status"] == "never-ran" and entry["requirements"] == ["XAPI-00200"]


def test_a_missing_baseline_file_means_no_known_failures(tmp_path):
    assert baseline.load(tmp_path / "none.json") == set()


def test_rewriting_a_baseline_keeps_the_notes_on_why(tmp_path, recorded_log, expected_tests):
    run = parse_run(recorded_log("complete"), expected_tests, "1.0.3")
    path = tmp_path / "baseline-1.0.3.json"
    path.write_text(json.dumps({"known": [{"key": KNOWN_FAILURE, "why": "suite bug"}]}))

    baseline.write(path, run, "abc123")

    [entry] = json.loads(path.read_text())["known"]
    assert entry["key"] == KNOWN_FAILURE and entry["why"] == "suite bug"
