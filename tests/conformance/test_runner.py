"""Running the suite's console runner: arguments, live totals, its log, the time limit."""
from __future__ import annotations

import json

from lrs_conformance.runner import Endpoint, run_suite
from lrs_conformance.suite import find_suite

ENDPOINT = Endpoint("http://127.0.0.1:9/xapi/", "key", "secret")


def run(fake_suite_dir, monkeypatch, fake_run, timeout=30):
    monkeypatch.setenv("FAKE_SUITE_RUN", fake_run)
    totals = []
    outcome = run_suite(find_suite(fake_suite_dir, ["1.0.3"]), ENDPOINT, "1.0.3", timeout, totals.append)
    return outcome, totals


def test_the_runner_gets_basic_auth_and_the_version_and_its_log_is_found(fake_suite_dir, monkeypatch):
    outcome, totals = run(fake_suite_dir, monkeypatch, "complete")

    args = json.loads(outcome.console.splitlines()[0][len("ARGS "):])
    assert args == ["-e", "http://127.0.0.1:9/xapi", "-a", "-u", "key", "-p", "secret", "-x", "1.0.3"]
    assert totals == [{"total": 5, "passed": 1, "failed": 0, "version": "1.0.3"}]
    assert json.loads(outcome.log_path.read_text())["summary"]["failed"] == 1
    assert not outcome.timed_out


def test_a_run_over_its_time_limit_is_interrupted_and_still_leaves_its_log(fake_suite_dir, monkeypatch):
    outcome, _ = run(fake_suite_dir, monkeypatch, "hang", timeout=1)

    assert outcome.timed_out
    assert json.loads(outcome.log_path.read_text())["state"] == "cancelled"


def test_a_runner_that_writes_no_log_gives_none(fake_suite_dir, monkeypatch):
    outcome, _ = run(fake_suite_dir, monkeypatch, "nolog")

    assert outcome.log_path is None and not outcome.timed_out


def test_grep_is_passed_through(fake_suite_dir, monkeypatch):
    monkeypatch.setenv("FAKE_SUITE_RUN", "complete")
    outcome = run_suite(find_suite(fake_suite_dir, ["1.0.3"]), ENDPOINT, "1.0.3", 30, lambda _: None,
                        grep="XAPI-00001")

    assert outcome.console.splitlines()[0].endswith('"-g","XAPI-00001"]')
