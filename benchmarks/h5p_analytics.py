"""Latency of the H5P analytics endpoints over a large statement store.

    python benchmarks/h5p_analytics.py                                   # embedded store (mongomock)
    LRS_MONGO_URI=mongodb://localhost python benchmarks/h5p_analytics.py # a real MongoDB
    python benchmarks/h5p_analytics.py --statements 20000 --rounds 5

Seeds the statements through the core's real store path (validation, derived fields, indexes),
then calls every analytics endpoint in-process (Flask test client: no network in the figures),
and GET /statements with each filter alone, combined, none and matching nothing, and prints p50
and p99 latency per endpoint, the p50 of the CPU time a request took, and the load average before
and after. On MongoDB, a throw-away database is dropped after.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid
from typing import Any, Iterator

from lrs.app import create_app

BASE = "https://creatiq.app"
ADL = "http://adlnet.gov/expapi/verbs/"
TOKEN = "bench-reader:bench-secret"
CYCLE = ("attempted", "interacted", "completed", "passed")  # one attempt: four statements
CONTENT = f"{BASE}/h5p/content/content-7"
# GET /statements: each filter seeds/001 has, alone and combined, none (a reader's newest), and
# filters that match nothing. Timestamps run over 2026-03-01..28.
STATEMENT_QUERIES = {
    "actorId&limit=100": "actorId=learner-7&limit=100",
    "(no filter)&limit=100": "limit=100",
    "limit=1000": "limit=1000",
    "verbId": f"verbId={ADL}completed",
    "objectId": f"objectId={CONTENT}",
    "since (the last 3 days)": "since=2026-03-26",
    "until (the first 3 days)": "until=2026-03-03",
    "since+until (a week)": "since=2026-03-10&until=2026-03-17",
    "actorId+verbId": f"actorId=learner-7&verbId={ADL}completed",
    "actorId+objectId": f"actorId=learner-7&objectId={CONTENT}",
    "verbId+objectId": f"verbId={ADL}completed&objectId={CONTENT}",
    "objectId+since": f"objectId={CONTENT}&since=2026-03-20",
    "verbId+since+until": f"verbId={ADL}passed&since=2026-03-10&until=2026-03-17",
    "none: unknown actorId": "actorId=nobody",
    "none: unknown objectId": f"objectId={BASE}/h5p/content/none",
    "none: since after the last": "since=2026-04-01",
}


def statements(total: int, learners: int, contents: int, classes: int) -> Iterator[dict]:
    """Attempts spread over learners and contents; learner n is in class n % classes."""
    for n in range(total):
        attempt, step = divmod(n, len(CYCLE))
        learner, content = attempt % learners, (attempt // learners) % contents
        verb = CYCLE[step]
        scaled = ((attempt * 37) % 101) / 100
        if verb == "passed" and scaled < 0.5:
            verb = "failed"
        statement: dict[str, Any] = {
            "id": str(uuid.UUID(int=n + 1)),
            "actor": {"account": {"homePage": BASE, "name": f"learner-{learner}"}},
            "verb": {"id": ADL + verb},
            "object": {"id": f"{BASE}/h5p/content/content-{content}"},
            "context": {"contextActivities": {"grouping": [{"id": f"{BASE}/h5p/classes/class-{learner % classes}"}]}},
            "timestamp": f"2026-03-{1 + attempt % 28:02d}T{attempt % 24:02d}:{step:02d}:00Z",
        }
        if verb == "completed":
            statement["result"] = {"score": {"scaled": scaled}, "duration": f"PT{60 + attempt % 600}S"}
        yield statement


def seed(app: Any, total: int, args: argparse.Namespace) -> float:
    lrs = app.extensions["lrs"]
    authority = lrs.default_authority("bench")
    began = time.perf_counter()
    batch: list[dict] = []
    for statement in statements(total, args.learners, args.contents, args.classes):
        batch.append(statement)
        if len(batch) == args.batch:
            lrs.statements.store(batch, authority=authority, version="1.0.3", source="h5p")
            batch = []
    if batch:
        lrs.statements.store(batch, authority=authority, version="1.0.3", source="h5p")
    return time.perf_counter() - began


def measure(client: Any, path: str, rounds: int) -> tuple[float, float, float, int]:
    """p50 and p99 in ms (the slowest but one in 100 rounds; the slowest in fewer), the p50 of the
    CPU time the request took (its thread's: on a machine busy with other work, the latency is
    mostly waiting for a core), and the size of an answer."""
    latencies = []
    cpu = []
    size = 0
    for _ in range(rounds):
        began, began_cpu = time.perf_counter(), time.thread_time()
        response = client.get("/api/xapi" + path, headers={"Authorization": f"Bearer {TOKEN}"})
        latencies.append(time.perf_counter() - began)
        cpu.append(time.thread_time() - began_cpu)
        if response.status_code != 200:
            raise SystemExit(f"{path}: {response.status_code} {response.get_data(as_text=True)}")
        size = len(response.get_data())
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return statistics.median(ordered) * 1000, p99 * 1000, statistics.median(cpu) * 1000, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--statements", type=int, default=100_000)
    parser.add_argument("--learners", type=int, default=1000)
    parser.add_argument("--contents", type=int, default=100)
    parser.add_argument("--classes", type=int, default=40)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()

    database = f"lrs_bench_{uuid.uuid4().hex[:8]}"
    app = create_app({"plugins": "h5p", "h5p_base_url": BASE, "data_dir": "", "mongo_uri": os.environ.get("LRS_MONGO_URI", ""),
                      "mongo_db": database, "log_level": "ERROR"})
    lrs = app.extensions["lrs"]
    lrs.create_credential("bench-reader", "bench-secret", ["h5p/read"])
    store = "MongoDB" if lrs.settings["mongo_uri"] else "embedded store (mongomock)"
    try:
        elapsed = seed(app, args.statements, args)
        print(f"{args.statements} statements ({args.learners} learners, {args.contents} contents, "
              f"{args.classes} classes) on the {store}; seeded in {elapsed:.1f} s "
              f"({args.statements / elapsed:.0f} statements/s through the core)")
        client = app.test_client()
        endpoints = {
            "GET /analytics/content/:contentId": "/analytics/content/content-7",
            "GET /analytics/user": "/analytics/user?userId=learner-7",
            "GET /progress/:contentId": "/progress/content-7?userId=learner-7",
            "GET /progress": "/progress?userId=learner-7",
            "GET /analytics/class/:classId": "/analytics/class/class-7",
            "GET /analytics/class?groupingId": f"/analytics/class?groupingId={BASE}/h5p/classes/class-7",
            **{f"GET /statements?{name}": "/statements?" + query for name, query in STATEMENT_QUERIES.items()},
        }
        print(f"load average {os.getloadavg()[0]:.2f} before measuring")
        print(f"{'endpoint':<52} {'p50 ms':>9} {'p99 ms':>9} {'cpu p50':>9} {'bytes':>8}   ({args.rounds} rounds)")
        for name, path in endpoints.items():
            p50, p99, cpu, size = measure(client, path, args.rounds)
            print(f"{name:<52} {p50:>9.1f} {p99:>9.1f} {cpu:>9.1f} {size:>8}", flush=True)
        print(f"load average {os.getloadavg()[0]:.2f} after")
    finally:
        if lrs.settings["mongo_uri"]:
            lrs.db.client.drop_database(database)


if __name__ == "__main__":
    main()
