"""The log parser on hand-written run logs: statuses, requirement ids, never-ran tests."""
from __future__ import annotations

from lrs_conformance.logparse import parse_run, requirement_ids
from lrs_conformance.results import FAILED, NEVER_RAN, PASSED


def statuses(run):
    return [test.status for test in run.tests]


def test_complete_run_reports_every_test_with_its_section_and_requirement(recorded_log, expected_tests):
    run = parse_run(recorded_log("complete"), expected_tests, "1.0.3")

    assert statuses(run) == [PASSED, FAILED, PASSED, PASSED, PASSED]
    assert run.counts() == {PASSED: 4, FAILED: 1, NEVER_RAN: 0}
    assert not run.ended_early
    failed = run.tests[1]
    assert failed.section == "Alpha (Data 1.1)"
    assert failed.requirements == ("XAPI-00001",)
    assert failed.error == 'RejectionError: expected 400 "Bad Request", got 200 "OK"'
    assert "HTTP/1.1 200 OK" in failed.transcript
    assert failed.key == ("Alpha (Data 1.1) > Statements are fine (Data 1.1.s1, XAPI-00001) > "
                          "rejects a null verb")


def test_passed_tests_carry_no_error_or_transcript(recorded_log, expected_tests):
    run = parse_run(recorded_log("complete"), expected_tests, "1.0.3")

    assert all(test.error == "" and test.transcript == "" for test in run.tests if test.status == PASSED)


def test_a_failed_hook_is_not_a_test_and_explains_the_tests_it_skipped(recorded_log, expected_tests):
    run = parse_run(recorded_log("hook-failed"), expected_tests, "1.0.3")

    assert statuses(run) == [PASSED, PASSED, PASSED, NEVER_RAN, NEVER_RAN]
    assert run.total == 5
    [hook] = run.hook_failures
    assert hook.path == ("Beta (Communication 2.2)", "Documents are kept (Communication 2.2, XAPI-00200)",
                         "With a stored document")
    assert "got 404" in run.tests[3].error and "With a stored document" in run.tests[3].error
    assert run.ended_early


def test_an_early_ended_run_that_says_finished_is_flagged(recorded_log, expected_tests):
    log = recorded_log("early-ended")
    run = parse_run(log, expected_tests, "1.0.3")

    assert log["state"] == "finished"
    assert log["summary"]["passed"] + log["summary"]["failed"] < log["summary"]["total"]
    assert run.ended_early
    assert run.counts() == {PASSED: 2, FAILED: 0, NEVER_RAN: 3}
    assert all(test.error.startswith("not reached") for test in run.tests[2:])


def test_a_cancelled_run_marks_the_interrupted_test_as_never_finished(recorded_log, expected_tests):
    log = recorded_log("early-ended")
    log["state"] = "cancelled"
    log["log"]["tests"][0]["tests"][0]["tests"][1]["status"] = "cancelled"
    run = parse_run(log, expected_tests, "1.0.3")

    assert run.tests[1].status == NEVER_RAN
    assert run.tests[1].error == "started but never finished (run state: cancelled)"
    assert run.tests[2].error == "not reached: the run stopped (run state: cancelled)"


def test_no_log_at_all_means_nothing_ran(expected_tests):
    run = parse_run(None, expected_tests, "2.0.0")

    assert run.state == "no log"
    assert run.counts()[NEVER_RAN] == 5 and run.ended_early
    assert run.tests[0].error.startswith("no outcome: the suite wrote no run log")


def test_a_failed_root_hook_skips_the_whole_run(expected_tests):
    log = {"state": "finished", "summary": {}, "log": {"title": "", "status": "failed",
                                                        "error": "Error: 401 Unauthorized", "tests": []}}
    run = parse_run(log, expected_tests, "1.0.3")

    assert run.counts()[NEVER_RAN] == 5
    assert run.tests[0].error == "skipped: a hook failed in 'the whole run': Error: 401 Unauthorized"


def test_repeated_titles_get_distinct_keys_and_match_in_run_order():
    expected = [(("S (Data 1)",), "same"), (("S (Data 1)",), "same")]
    log = {"state": "finished", "summary": {}, "log": {"title": "", "status": "failed", "tests": [
        {"title": "S (Data 1)", "status": "failed", "tests": [
            {"title": "same", "status": "passed", "tests": []},
            {"title": "same", "status": "failed", "error": "boom", "tests": []}]}]}}
    run = parse_run(log, expected, "1.0.3")

    assert [test.key for test in run.tests] == ["S (Data 1) > same", "S (Data 1) > same #2"]
    assert statuses(run) == [PASSED, FAILED]


def test_a_test_missing_from_the_expected_list_is_still_reported(recorded_log, expected_tests):
    run = parse_run(recorded_log("complete"), expected_tests[:4], "1.0.3")

    assert run.total == 5 and run.tests[-1].title == "returns its etag"


def test_requirement_ids_come_from_the_title_else_the_nearest_suite():
    path = ("Alpha (Data 1.1)", "Req (XAPI-00001, XAPI-00002)", "plain suite")

    assert requirement_ids(path, "test (XAPI-00009)") == ("XAPI-00009",)
    assert requirement_ids(path, "test") == ("XAPI-00001", "XAPI-00002")
    assert requirement_ids(("(4.1.4) Concurrency",), "test") == ()
