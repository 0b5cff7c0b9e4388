"""Every benchmark runs, at a tiny size, and prints its figures: a benchmark that no longer
starts (an import that moved, a helper that was removed) fails here, not on the day someone
needs its numbers. The figures themselves are not judged: benchmarks print, tests assert."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
TINY = {
    "statements.py": ["--statements", "40", "--batch", "10", "--clients", "2", "--queries", "2", "--port", "0"],
    "documents.py": ["--documents", "20", "--increments", "10", "--clients", "2", "--large-mb", "1", "--port", "0"],
    "attachments.py": ["--mb", "1", "--port", "0"],
    "caliper_events.py": ["--events", "20", "--size", "10", "--clients", "1", "--list-rounds", "2"],
    "h5p_analytics.py": ["--statements", "300", "--learners", "10", "--contents", "5", "--classes", "2",
                         "--batch", "100", "--rounds", "1"],
    "forwarding.py": ["--statements", "50", "--batch-size", "20", "--outage", "0", "--port", "0"],
    "slow_clients.py": ["--stalled", "5", "--rounds", "5", "--clients", "2", "--read-timeout", "2"],
    "auth.py": ["--rounds", "2", "--guessers", "2"],
    "forwarding_in_flight.py": ["--statements", "40", "--batch-size", "10", "--latency", "0.01", "--in-flight", "1", "2"],
    "max_batch.py": ["--seed", "50", "--batch", "20", "--parts", "5"],
    "ingest_ratio.py": ["--seconds", "1", "--rounds", "1", "--batch", "5", "--clients", "1", "--bounds"],
    "statement_reads.py": ["--statements", "300", "--rounds", "3", "--clients", "1", "2", "--data-dir", "{tmp}"],
    "embedded_memory.py": ["--statements", "200", "--report-every", "100", "--data-dir", "{tmp}"],
    "floor.py": None,  # a server, not a measurement: ingest_ratio.py starts it and measures against it
    "lrs_without_store_writes.py": None,  # likewise, for ingest_ratio.py --bounds
}


def test_every_benchmark_has_a_smoke_run():
    assert sorted(p.name for p in BENCHMARKS.glob("*.py")) == sorted(TINY), "add the new benchmark's tiny arguments"


@pytest.mark.parametrize("name", sorted(name for name, args in TINY.items() if args is not None))
def test_the_benchmark_runs_at_a_tiny_size(name, tmp_path):
    clean = {**{k: v for k, v in os.environ.items() if not k.startswith("LRS_")}, "LRS_DATA_DIR": ""}  # in memory
    args = [arg.replace("{tmp}", str(tmp_path)) for arg in TINY[name]]
    done = subprocess.run([sys.executable, str(BENCHMARKS / name), *args], env=clean, capture_output=True,
                          text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, f"{name} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    assert any(char.isdigit() for char in done.stdout), done.stdout
