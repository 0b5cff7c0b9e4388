"""The published Timeback client, `timeback-caliper` (Python 3.12+, pinned), drives every operation
against a live LRS: each send helper, raw send, send_envelope, validate, list with filters and
pagination, stream, get, job status, wait_for_completion, and its LearnWith.AI platform (/caliper/v1p2
with the v1p2 scope). Every event it sent is then read back as an xAPI statement.

The client runs in a virtual environment of its own under ~/.cache (made once, outside the
repository) by tests/plugins/timeback_client_driver.py, which prints what the client saw.
"""
from __future__ import annotations

import glob
import json
import os
import pathlib
import shutil
import subprocess

import pytest

from lrs_plugins.caliper.values import statement_id
from tests.conftest import LiveServer
from tests.plugins.caliper_support import CLIENT_ID, CLIENT_SECRET, EVENT_EXTENSION, caliper_app_fixture, read_statement

CLIENT = "timeback-caliper==0.4.0"
VENV = pathlib.Path.home() / ".cache" / "lrs-tests" / "timeback-caliper-0.4.0"
DRIVER = pathlib.Path(__file__).with_name("timeback_client_driver.py")


def _python_312() -> str | None:
    """A Python 3.12+ interpreter on PATH or under pyenv, if any."""
    candidates = [shutil.which(f"python3.{minor}") for minor in range(12, 16)]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.1[2-9]*/bin/python3")))
    for candidate in filter(None, candidates):
        check = subprocess.run([candidate, "-c", "import sys; assert sys.version_info >= (3, 12)"],
                               capture_output=True, timeout=30)
        if check.returncode == 0:
            return candidate
    return None


@pytest.fixture(scope="module")
def client_python() -> str:
    """The venv's interpreter, with the pinned client installed (once; repaired if half made)."""
    python = VENV / "bin" / "python"
    if python.exists() and _has_client(python):
        return str(python)
    base = _python_312()
    if base is None:
        pytest.skip("timeback-caliper needs Python 3.12+, and none was found on PATH or under ~/.pyenv")
    subprocess.run([base, "-m", "venv", "--clear", str(VENV)], check=True, timeout=120)
    installed = subprocess.run([str(python), "-m", "pip", "install", "-q", CLIENT], capture_output=True,
                               text=True, timeout=600)
    if installed.returncode != 0:
        shutil.rmtree(VENV, ignore_errors=True)
        pytest.skip(f"could not install {CLIENT} (offline?): {installed.stderr[-300:]}")
    return str(python)


def _has_client(python: pathlib.Path) -> bool:
    return subprocess.run([str(python), "-c", "import timeback_caliper"], capture_output=True, timeout=60).returncode == 0


app = caliper_app_fixture()


def test_the_published_client_drives_every_operation(live_server: LiveServer, client_python: str) -> None:
    run = subprocess.run([client_python, str(DRIVER), live_server.url, CLIENT_ID, CLIENT_SECRET],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout)
    ids, jobs = report["ids"], report["jobs"]
    assert all(jobs.values()) and report["learnwith_job"], jobs
    beyond = {ids[name] for name in ("activity", "time_spent", "seen", "answered", "graded", "raw", "envelope")}

    good, bad, errors = report["validate"]
    assert (good, bad) == ("success", "error") and errors[0]["path"] == "$.data[0].action"
    first, pagination, second, second_page = report["list"]
    assert pagination == {"total": 7, "totalPages": 4, "currentPage": 1, "limit": 2}
    assert len(first) == len(second) == 2 and not set(first) & set(second) and second_page == 2
    assert set(report["list_by_actor_and_dates"]) == {ids["activity"], ids["time_spent"], ids["seen"],
                                                      ids["answered"]}
    assert report["list_by_naive_times"] == sorted(report["list_by_actor_and_dates"])
    assert set(report["list_by_email"]) == {ids["activity"], ids["time_spent"]}
    assert len(report["stream"]) == 7 and set(report["stream"]) == beyond
    got = report["get"]
    assert got["externalId"] == ids["graded"] and got["type"] == "GradeEvent" and isinstance(got["id"], int)
    assert got["generated"]["scoreType"] == "QUESTION_RESULT" and got["sensor"] == "https://app.example.com/sensors/main"
    status = report["job_status"]
    assert status["state"] == "completed" and status["returnValue"]["status"] == "success"
    assert [r["externalId"] for r in status["returnValue"]["results"]] == [ids["activity"]]
    assert report["wait_for_completion"] == "completed"
    assert report["refused"]["status"] == 400
    assert report["refused"]["message"].endswith("$.data[0].action: unknown Caliper action)")  # what the client shows
    assert report["missing"]["status"] == 404

    for name, event_id in ids.items():
        stored = read_statement(live_server, statement_id(event_id))
        assert stored["context"]["extensions"][EVENT_EXTENSION]["id"] == event_id, name
        assert stored["authority"]["account"]["name"] == CLIENT_ID
    learnwith = read_statement(live_server, statement_id(ids["learnwith"]))["context"]["extensions"][EVENT_EXTENSION]
    assert learnwith["profile"] == "AggregationProfile" and learnwith["generated"]["type"] == "ActivityMetricsCollection"
