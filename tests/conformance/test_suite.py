"""Finding a local suite installation, and saying exactly what is missing."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from lrs_conformance.suite import SuiteError, find_suite


def problems(directory, versions=("1.0.3", "2.0.0"), node="node") -> str:
    with pytest.raises(SuiteError) as raised:
        find_suite(directory, list(versions), node)
    return str(raised.value)


def test_a_missing_directory_is_named_with_how_to_install(tmp_path):
    message = problems(tmp_path / "nowhere")

    assert "nowhere does not exist" in message and "npm install" in message


def test_a_directory_that_is_not_the_suite_is_refused(tmp_path):
    assert "not the ADL LRS conformance suite" in problems(tmp_path)


def test_missing_dependencies_and_test_folders_are_all_listed(fake_suite_dir):
    (fake_suite_dir / "node_modules" / "mocha").rmdir()
    (fake_suite_dir / "test" / "v2_0").rmdir()

    message = problems(fake_suite_dir)

    assert "run `npm install`" in message
    assert "no test/v2_0 folder for xAPI 2.0.0" in message


def test_a_missing_node_is_reported(fake_suite_dir):
    assert "`no-such-node` is not on PATH" in problems(fake_suite_dir, node="no-such-node")


def test_an_installed_suite_is_accepted(fake_suite_dir):
    suite = find_suite(fake_suite_dir, ["1.0.3", "2.0.0"])

    assert suite.directory == fake_suite_dir and suite.commit() == ""


@pytest.mark.skipif(not os.environ.get("CONFORMANCE_SUITE_DIR"),
                    reason="set CONFORMANCE_SUITE_DIR to an installed ADL suite to list its tests")
def test_the_real_suite_lists_as_many_tests_as_it_runs():
    suite = find_suite(Path(os.environ["CONFORMANCE_SUITE_DIR"]), ["1.0.3"])

    tests = suite.list_tests("1.0.3")

    assert len(tests) > 1000
    assert len(suite.list_tests("1.0.3", grep="XAPI-00113")) < 20
