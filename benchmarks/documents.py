"""Load the document resources of a live LRS: plain writes and reads, merges, If-Match contention.

    python benchmarks/documents.py                       # starts `lrs serve` on the embedded store
    python benchmarks/documents.py --endpoint URL --user K --password S   # any running LRS

Phases:
1. PUT then GET of `--documents` small State documents from `--clients` concurrent clients;
2. POST merges of one key each into one document from all clients (no key may be lost);
3. If-Match read-modify-write of one counter document by all clients, retrying on 412, until
   `--increments` updates succeeded: the final count must equal them (no lost update), and the
   412s show how often a client lost a race;
4. PUT and GET of one `--large-mb` document (above 16 MB it goes to GridFS).
"""
from __future__ import annotations

import argparse
import json
import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import requests

from lrs.server import spawned

MB = 1024 * 1024
STATE = "/activities/state"


def context(n: int) -> dict:
    return {"activityId": "http://example.com/activities/bench",
            "agent": json.dumps({"mbox": f"mailto:learner{n % 100}@example.com"}), "stateId": f"s{n}"}


def timed(name: str, count: int, clients: int, call: Callable[[int], None]) -> None:
    latencies: list[float] = []
    lock = threading.Lock()

    def one(n: int) -> None:
        began = time.perf_counter()
        call(n)
        with lock:
            latencies.append(time.perf_counter() - began)

    began = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(count)))
    elapsed = time.perf_counter() - began
    latencies.sort()
    print(f"{name:<40} {count / elapsed:>9.1f} req/s   p50 {latencies[len(latencies) // 2] * 1000:7.1f} ms"
          f"   p99 {latencies[min(len(latencies) - 1, int(len(latencies) * .99))] * 1000:7.1f} ms")


def run(endpoint: str, session_factory: Callable[[], requests.Session], args: argparse.Namespace) -> None:
    local = threading.local()

    def session() -> requests.Session:
        if not hasattr(local, "session"):
            local.session = session_factory()
        return local.session

    def check(response: requests.Response, *codes: int) -> requests.Response:
        if response.status_code not in codes:
            raise RuntimeError(f"{response.status_code}: {response.text[:200]}")
        return response

    url = endpoint + STATE
    body = json.dumps({"page": 1, "notes": "x" * 900}).encode()
    timed("PUT 1 KB state", args.documents, args.clients, lambda n: check(session().put(
        url, params=context(n), data=body, headers={"Content-Type": "application/json"}, timeout=60), 204))
    timed("GET 1 KB state", args.documents, args.clients,
          lambda n: check(session().get(url, params=context(n), timeout=60), 200))

    merged = {**context(0), "stateId": f"merge-{uuid.uuid4()}"}
    timed("POST merge into one document", args.documents, args.clients, lambda n: check(session().post(
        url, params=merged, data=json.dumps({f"k{n}": n}), headers={"Content-Type": "application/json"},
        timeout=60), 204))
    keys = len(check(session().get(url, params=merged, timeout=60), 200).json())
    print(f"    keys after {args.documents} merges: {keys}")

    counter = {**context(0), "stateId": f"counter-{uuid.uuid4()}"}
    check(session().put(url, params=counter, json={"count": 0}, timeout=60), 204)
    lost = [0]

    def increment(_: int) -> None:
        while True:
            got = check(session().get(url, params=counter, timeout=60), 200)
            update = session().put(url, params=counter, json={"count": got.json()["count"] + 1}, timeout=60,
                                   headers={"If-Match": got.headers["ETag"]})
            if check(update, 204, 412).status_code == 204:
                return
            lost[0] += 1

    timed("If-Match increment (GET + PUT, retried)", args.increments, args.clients, increment)
    final = check(session().get(url, params=counter, timeout=60), 200).json()["count"]
    print(f"    count {final} after {args.increments} successful updates; {lost[0]} lost races answered 412")

    large = os.urandom(args.large_mb * MB)
    big = {**context(0), "stateId": f"large-{uuid.uuid4()}"}
    began = time.perf_counter()
    check(session().put(url, params=big, data=large, timeout=300,
                        headers={"Content-Type": "application/octet-stream"}), 204)
    put_seconds = time.perf_counter() - began
    began = time.perf_counter()
    same = check(session().get(url, params=big, timeout=300), 200).content == large
    print(f"{args.large_mb} MB document: PUT {put_seconds:.2f} s, GET {time.perf_counter() - began:.2f} s, "
          f"identical: {same}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoint", help="xAPI endpoint of a running LRS (default: start one)")
    parser.add_argument("--user", default="bench")
    parser.add_argument("--password", default="bench-secret")
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument("--increments", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--large-mb", type=int, default=18)
    parser.add_argument("--port", type=int, default=8197)
    args = parser.parse_args()

    def session_factory() -> requests.Session:
        session = requests.Session()
        session.auth = (args.user, args.password)
        session.headers["X-Experience-API-Version"] = "1.0.3"
        return session

    if args.endpoint:
        run(args.endpoint, session_factory, args)
    else:
        env = {"LRS_ADMIN_KEY": "bench", "LRS_ADMIN_SECRET": "bench-secret", "LRS_LOG_LEVEL": "WARNING",
               "LRS_MAX_BODY_BYTES": str((args.large_mb + 2) * MB), "LRS_MONGO_URI": "",
               "LRS_DATA_DIR": ""}
        with spawned(env, args.port) as (endpoint, _):
            run(endpoint, session_factory, args)


if __name__ == "__main__":
    main()
