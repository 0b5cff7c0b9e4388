"""Forwarding throughput to a live local target, and how the backlog drains after an outage.

    python benchmarks/forwarding.py                       # defaults: 5000 statements, 60 s outage
    python benchmarks/forwarding.py --statements 20000 --batch-size 500 --outage 60 --rate 50

The target is a second instance of this LRS (`lrs serve` on its embedded store, started as a
subprocess by `lrs.server.spawned`). The source LRS and its forwarding
worker run in this process with default engine settings unless told otherwise.

1. Throughput: store N statements in the source, start the worker, time until the backlog is 0.
2. Outage: write `--rate` statements/s steadily; after 10 s the target is frozen (SIGSTOP: every
   request times out) for `--outage` seconds, then thawed. Prints the backlog every 5 s, the
   peak, and how long the backlog took to drain after the target came back.
At the end it compares the statement ids the target returns with the source's.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from statements import statement  # noqa: E402 (the sibling benchmark's helper)

from lrs.app import create_app  # noqa: E402
from lrs.forwarding.status import forwarding_status  # noqa: E402
from lrs.forwarding.worker import Worker  # noqa: E402
from lrs.server import spawned  # noqa: E402

AUTH = ("bench", "bench-secret")


def source_lrs(endpoint: str, batch_size: int, timeout: float, retry_max: float):
    target = {"name": "bench", "endpoint": endpoint, "batch_size": batch_size, "timeout": timeout,
              "auth": {"type": "basic", "username": AUTH[0], "password": AUTH[1]}}
    app = create_app({"mongo_uri": "", "data_dir": "", "mongo_db": f"bench_{uuid.uuid4().hex[:8]}",
                      "log_level": "ERROR",
                      "plugins": "forward_xapi", "forward_xapi_targets": json.dumps([target]),
                      "forward_poll_seconds": "0.2", "forward_retry_max_seconds": str(retry_max)})
    return app.extensions["lrs"]


def store(lrs, first: int, count: int) -> None:
    statements = [{**statement(n), "id": str(uuid.uuid4())} for n in range(first, first + count)]
    lrs.statements.store(statements, authority=lrs.default_authority("bench"), version="1.0.3")


def backlog(lrs) -> dict:
    return forwarding_status(lrs)[0]


def throughput(lrs, total: int) -> None:
    for first in range(0, total, 500):
        store(lrs, first, min(500, total - first))
    worker = Worker(lrs).start()
    began = time.perf_counter()
    while backlog(lrs)["backlog"]:
        time.sleep(0.05)
    elapsed = time.perf_counter() - began
    worker.stop()
    print(f"throughput: {total} statements in {elapsed:.2f} s = {total / elapsed:.0f} statements/s "
          f"(batch size {lrs.settings['forward_xapi_targets'][0].options.batch_size})")


def target_pids(process: subprocess.Popen) -> list[int]:
    children = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True).stdout.split()
    return [process.pid, *map(int, children)]


def outage(lrs, process: subprocess.Popen, rate: int, seconds: float) -> None:
    stop = threading.Event()
    written = [0]

    def writer() -> None:
        while not stop.is_set():
            began = time.monotonic()
            store(lrs, written[0], rate // 5)
            written[0] += rate // 5
            stop.wait(max(0.0, 0.2 - (time.monotonic() - began)))

    worker = Worker(lrs).start()
    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    began = time.monotonic()
    samples: list[tuple[float, int, int]] = []

    def sample_until(deadline: float) -> None:
        while time.monotonic() < deadline:
            status = backlog(lrs)
            samples.append((time.monotonic() - began, status["backlog"], status["attempts"]))
            time.sleep(1.0)

    sample_until(began + 10)
    pids = target_pids(process)
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    sample_until(began + 10 + seconds)
    for pid in pids:
        os.kill(pid, signal.SIGCONT)
    back = time.monotonic()
    peak = max(count for _, count, _ in samples)
    while backlog(lrs)["backlog"] > rate:  # drained: no more than one second of writes waiting
        sample_until(time.monotonic() + 1)
    drained = time.monotonic() - back
    stop.set()
    thread.join()
    while backlog(lrs)["backlog"]:
        time.sleep(0.1)
    worker.stop()
    for at, count, attempts in samples[::5]:
        print(f"  t={at:5.0f} s  backlog {count:6d}  failed attempts in a row {attempts}")
    print(f"outage: {seconds:.0f} s at {rate} statements/s; peak backlog {peak}; "
          f"drained {drained:.1f} s after the target came back "
          f"(includes waiting for the next retry, backoff capped at {lrs.settings['forward_retry_max_seconds']:g} s)")


def target_ids(endpoint: str) -> set[str]:
    ids, url = set(), f"{endpoint}/statements?limit=100"
    with requests.Session() as session:
        session.auth = AUTH
        session.headers["X-Experience-API-Version"] = "1.0.3"
        while url:
            page = session.get(url, timeout=60).json()
            ids.update(s["id"] for s in page["statements"])
            url = endpoint.rsplit("/xapi", 1)[0] + page["more"] if page.get("more") else ""
    return ids


def compare(lrs, endpoint: str) -> None:
    source = {doc["_id"] for doc in lrs.statement_store.collection.find({"pending": {"$exists": False}}, {"_id": 1})}
    missing = sorted(source - target_ids(endpoint))
    status = backlog(lrs)
    print(f"source holds {len(source)} statements; missing on the target: {len(missing)}; "
          f"dead letters {status['dead_letters']}; delivered count {status['delivered']}")
    if missing:
        found = requests.get(f"{endpoint}/statements", params={"statementId": missing[0]}, auth=AUTH, timeout=30,
                             headers={"X-Experience-API-Version": "1.0.3"}).status_code
        print(f"  e.g. {missing[0]}: GET ?statementId= answers {found}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--statements", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--outage", type=float, default=60.0)
    parser.add_argument("--rate", type=int, default=50)
    parser.add_argument("--retry-max", type=float, default=300.0)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    # The target keeps its data in a folder: frozen for longer than gunicorn's worker timeout
    # (120 s), its worker is restarted after the thaw, and a memory-only store would start empty.
    with tempfile.TemporaryDirectory(prefix="forwarding-target-") as data, \
            spawned({"LRS_ADMIN_KEY": AUTH[0], "LRS_ADMIN_SECRET": AUTH[1], "LRS_LOG_LEVEL": "WARNING",
                     "LRS_MONGO_URI": "", "LRS_DATA_DIR": data}, args.port, own_session=True) as (endpoint, process):
        lrs = source_lrs(endpoint, args.batch_size, args.timeout, args.retry_max)
        throughput(lrs, args.statements)
        if args.outage:
            outage(lrs, process, args.rate, args.outage)
        compare(lrs, endpoint)


if __name__ == "__main__":
    main()
