"""POST throughput of the LRS side by side with the framework floor, in one run.

    python benchmarks/ingest_ratio.py                       # batches of 10, 4 clients, 2 rounds of 20 s each
    python benchmarks/ingest_ratio.py --seconds 60 --rounds 3
    python benchmarks/ingest_ratio.py --bounds              # also the LRS without its store's writes

The floor (benchmarks/floor.py) is a bare Flask endpoint that only parses the JSON batch and
returns ids, under gunicorn with the options `lrs serve` uses (one process, LRS_THREADS threads).
The LRS is `lrs serve` on a fresh embedded store kept on disk (LRS_DATA_DIR in a temporary
folder), so every statement is validated, stored, indexed and committed to SQLite before its
batch is acknowledged. Rounds alternate floor and LRS so that a busy machine weighs on both;
the ratio is LRS statements/s over floor statements/s.

Each round also prints the CPU time the serving worker spent per batch and how busy it was: a
worker well under 100% is waiting for the clients (which share the machine), so its rate is the
load generator's, not the server's limit. The floor is usually in that case.

`--bounds` adds a third server to every round: `lrs serve` with the statement store's writes
switched off (benchmarks/lrs_without_store_writes.py). Its ratio to the floor is the most any
store could give; the CPU it spends per batch is the request path's, and what the LRS spends on
top of it is the store's writing (insert, indexes, commit, Activity and Agent records).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import requests
from attachments import worker_of
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


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured(endpoint: str, worker: int, args: argparse.Namespace) -> tuple[float, float, float]:
    """(statements/s, worker CPU ms per batch, worker CPU share) of one round."""
    cpu, began = cpu_seconds(worker), time.monotonic()
    rate = throughput(endpoint, args.seconds, args.batch, args.clients)
    cpu, elapsed = cpu_seconds(worker) - cpu, time.monotonic() - began
    return rate, cpu / (rate * elapsed / args.batch) * 1000, cpu / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--bounds", action="store_true", help="also measure the LRS without its store's writes")
    args = parser.parse_args()
    env = {"LRS_LOG_LEVEL": "WARNING", "LRS_MONGO_URI": "", "LRS_ADMIN_KEY": AUTH[0], "LRS_ADMIN_SECRET": AUTH[1]}
    here = Path(__file__).parent
    commands = {"floor": [sys.executable, str(here / "floor.py")], "lrs": None}
    if args.bounds:
        commands["no-store"] = [sys.executable, str(here / "lrs_without_store_writes.py")]
    print(f"batches of {args.batch}, {args.clients} concurrent clients, {args.rounds} rounds of {args.seconds:.0f} s")
    totals = dict.fromkeys(commands, 0.0)
    with tempfile.TemporaryDirectory() as data_dir, ExitStack() as servers_running:
        servers = []
        for name, command in commands.items():
            endpoint, process = servers_running.enter_context(
                spawned({**env, "LRS_DATA_DIR": data_dir if name == "lrs" else ""}, command=command))
            servers.append((name, endpoint, worker_of(process.pid)))
        for round_number in range(1, args.rounds + 1):
            for name, endpoint, worker in servers:
                rate, per_batch, busy = measured(endpoint, worker, args)
                totals[name] += rate
                print(f"round {round_number}  {name:<8} {rate:>9.0f} statements/s   worker CPU {per_batch:5.2f} ms "
                      f"per batch, {busy:4.0%} busy")
    print(f"LRS / floor: {totals['lrs'] / totals['floor']:.2f}")
    if args.bounds:
        print(f"LRS without its store's writes / floor: {totals['no-store'] / totals['floor']:.2f}")


if __name__ == "__main__":
    main()
