"""POST throughput of the LRS side by side with the framework floor, in one run.

    python benchmarks/ingest_ratio.py                       # batches of 10, 4 clients, 2 rounds of 20 s each
    python benchmarks/ingest_ratio.py --seconds 60 --rounds 3

The floor (benchmarks/floor.py) is a bare Flask endpoint that only parses the JSON batch and
returns ids, under gunicorn with the options `lrs serve` uses (one process, LRS_THREADS threads).
The LRS is `lrs serve` on a fresh embedded store kept on disk (LRS_DATA_DIR in a temporary
folder), so every statement is validated, stored, indexed and committed to SQLite before its
batch is acknowledged. Rounds alternate floor and LRS so that a busy machine weighs on both;
the ratio is LRS statements/s over floor statements/s.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from statements import statement

from lrs.server import spawned

AUTH = ("bench", "bench-secret")


def throughput(endpoint: str, seconds: float, batch: int, clients: int) -> float:
    """Statements per second acknowledged by `endpoint` from `clients` clients posting for `seconds`."""
    stored, lock, counter = [0], threading.Lock(), iter(range(10**9))
    deadline = time.monotonic() + seconds

    def client(_: int) -> None:
        session = requests.Session()
        session.auth, session.headers = AUTH, {"X-Experience-API-Version": "1.0.3",
                                               "Content-Type": "application/json"}
        while time.monotonic() < deadline:
            with lock:
                first = next(counter) * batch
            body = json.dumps([statement(n) for n in range(first, first + batch)])
            session.post(f"{endpoint}/statements", data=body, timeout=60).raise_for_status()
            with lock:
                stored[0] += batch

    began = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, range(clients)))
    return stored[0] / (time.monotonic() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    env = {"LRS_LOG_LEVEL": "WARNING", "LRS_MONGO_URI": "", "LRS_ADMIN_KEY": AUTH[0], "LRS_ADMIN_SECRET": AUTH[1]}
    floor_command = [sys.executable, str(Path(__file__).with_name("floor.py"))]
    print(f"batches of {args.batch}, {args.clients} concurrent clients, {args.rounds} rounds of {args.seconds:.0f} s")
    totals = {"floor": 0.0, "lrs": 0.0}
    with tempfile.TemporaryDirectory() as data_dir, \
            spawned(env, command=floor_command) as (floor, _), \
            spawned({**env, "LRS_DATA_DIR": data_dir}) as (lrs, _):
        for round_number in range(1, args.rounds + 1):
            for name, endpoint in (("floor", floor), ("lrs", lrs)):
                rate = throughput(endpoint, args.seconds, args.batch, args.clients)
                totals[name] += rate
                print(f"round {round_number}  {name:<5} {rate:>9.0f} statements/s")
    print(f"LRS / floor: {totals['lrs'] / totals['floor']:.2f}")


if __name__ == "__main__":
    main()
