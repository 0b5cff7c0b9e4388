"""The progress indicator in a CI log: a line per tenth of the run, not per update."""
from __future__ import annotations

import io

from lrs_conformance.progress import ProgressLine


def test_a_log_gets_one_line_per_tenth_of_the_run():
    stream = io.StringIO()
    progress = ProgressLine("2.0.0", stream)

    for done in (0, 5, 50, 55, 100):
        progress({"total": 100, "passed": done, "failed": 0})
    progress.finish("done")

    assert stream.getvalue().splitlines() == [
        "[xAPI 2.0.0] 0/100 run, 0 failed", "[xAPI 2.0.0] 50/100 run, 0 failed",
        "[xAPI 2.0.0] 100/100 run, 0 failed", "[xAPI 2.0.0] done"]
