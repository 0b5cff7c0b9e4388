"""Load a live LRS: POST statements in batches from concurrent clients, then run filtered GETs.

    python benchmarks/statements.py                      # starts `lrs serve` on a fresh embedded store
    python benchmarks/statements.py --endpoint URL --user K --password S   # any running LRS
    python benchmarks/statements.py --data-dir DIR --statements 0     # queries over a filled store
                                                         # (benchmarks/embedded_memory.py fills one)

Prints statements/s and p50/p99 latency for writes and for each kind of query, and (for the
server it started) the server's peak RSS.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests

from lrs.server import spawned

VERBS = ["http://adlnet.gov/expapi/verbs/completed", "http://adlnet.gov/expapi/verbs/attempted",
         "http://adlnet.gov/expapi/verbs/passed", "http://adlnet.gov/expapi/verbs/failed"]


def statement(n: int) -> dict:
    return {
        "actor": {"objectType": "Agent", "name": f"Learner {n % 500}", "mbox": f"mailto:learner{n % 500}@example.com"},
        "verb": {"id": VERBS[n % len(VERBS)], "display": {"en-US": VERBS[n % len(VERBS)].rsplit("/", 1)[1]}},
        "object": {"id": f"http://example.com/activities/{n % 200}", "objectType": "Activity",
                   "definition": {"name": {"en-US": f"Activity {n % 200}"},
                                  "type": "http://adlnet.gov/expapi/activities/lesson"}},
        "result": {"score": {"scaled": (n % 100) / 100}, "completion": True, "duration": "PT5M"},
        "context": {"registration": str(uuid.UUID(int=n % 1000)),
                    "contextActivities": {"parent": [{"id": f"http://example.com/courses/{n % 10}"}]}},
        "timestamp": "2026-11-23T08:00:00.000Z",
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def report(name: str, latencies: list[float], items: int, elapsed: float) -> None:
    print(f"{name:<34} {items / elapsed:>10.1f} statements/s   p50 {percentile(latencies, .5):7.1f} ms"
          f"   p99 {percentile(latencies, .99):7.1f} ms   ({len(latencies)} requests)")


def write(session_factory, endpoint: str, total: int, batch: int, clients: int) -> None:
    batches = [[statement(n) for n in range(start, min(start + batch, total))] for start in range(0, total, batch)]
    latencies: list[float] = []
    lock = threading.Lock()

    def send(body: list[dict]) -> None:
        session = session_factory()
        began = time.perf_counter()
        response = session.post(f"{endpoint}/statements", data=json.dumps(body), timeout=120,
                                headers={"Content-Type": "application/json"})
        response.raise_for_status()
        with lock:
            latencies.append(time.perf_counter() - began)

    began = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(send, batches))
    report(f"POST batches of {batch}, {clients} clients", latencies, total, time.perf_counter() - began)


def read(session_factory, endpoint: str, name: str, params: dict, rounds: int, clients: int) -> None:
    latencies: list[float] = []
    counts: list[int] = []
    lock = threading.Lock()

    def get(_: int) -> None:
        session = session_factory()
        began = time.perf_counter()
        response = session.get(f"{endpoint}/statements", params=params, timeout=120)
        response.raise_for_status()
        with lock:
            latencies.append(time.perf_counter() - began)
            counts.append(len(response.json()["statements"]))

    began = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(get, range(rounds)))
    report(f"GET {name}", latencies, sum(counts), time.perf_counter() - began)


def peak_rss_mb(process: subprocess.Popen) -> float:
    """VmHWM of the gunicorn worker (the server's peak resident memory), in MB."""
    pids = [process.pid] + [int(p) for p in subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True,
                                                           text=True).stdout.split()]
    peaks = []
    for pid in pids:
        with open(f"/proc/{pid}/status") as status:
            peaks += [int(line.split()[1]) / 1024 for line in status if line.startswith("VmHWM")]
    return max(peaks)


def run(endpoint: str, user: str, password: str, args: argparse.Namespace) -> None:
    def session_factory() -> requests.Session:
        session = requests.Session()
        session.auth = (user, password)
        session.headers["X-Experience-API-Version"] = "1.0.3"
        return session

    if args.statements:
        write(session_factory, endpoint, args.statements, args.batch, args.clients)
    queries = {
        "all, newest first": {"limit": 100},
        "by verb": {"verb": VERBS[1], "limit": 100},
        "by agent": {"agent": json.dumps({"mbox": "mailto:learner7@example.com"}), "limit": 100},
        "by agent, related": {"agent": json.dumps({"mbox": "mailto:learner7@example.com"}),
                              "related_agents": "true", "limit": 100},
        "by activity, related": {"activity": "http://example.com/courses/3", "related_activities": "true", "limit": 100},
        "by registration": {"registration": str(uuid.UUID(int=42))},
        "since + ascending": {"since": "2020-01-01T00:00:00Z", "ascending": "true", "limit": 100},
    }
    for name, params in queries.items():
        read(session_factory, endpoint, name, params, args.queries, args.clients)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoint", help="xAPI endpoint of a running LRS (default: start one)")
    parser.add_argument("--user", default="bench")
    parser.add_argument("--password", default="bench-secret")
    parser.add_argument("--statements", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--queries", type=int, default=100, help="GETs per query kind")
    parser.add_argument("--port", type=int, default=8799)
    parser.add_argument("--data-dir", help="LRS_DATA_DIR of the server started (default: a fresh temporary one)")
    args = parser.parse_args()
    print(f"{args.statements} statements, batches of {args.batch}, {args.clients} concurrent clients")
    if args.endpoint:
        run(args.endpoint, args.user, args.password, args)
        return
    with tempfile.TemporaryDirectory() as fresh:
        env = {"LRS_ADMIN_KEY": "bench", "LRS_ADMIN_SECRET": "bench-secret", "LRS_LOG_LEVEL": "WARNING",
               "LRS_MONGO_URI": "", "LRS_DATA_DIR": args.data_dir or fresh}
        with spawned(env, args.port, timeout=600) as (url, process):
            run(url, "bench", "bench-secret", args)
            print(f"server peak RSS: {peak_rss_mb(process):.0f} MB")


if __name__ == "__main__":
    main()
