"""Latency of normal requests while many connections stall, and how long the stalled ones live.

    python benchmarks/slow_clients.py                     # starts `lrs serve` on the embedded store
    python benchmarks/slow_clients.py --stalled 500 --read-timeout 10
    python benchmarks/slow_clients.py --endpoint URL --user K --password S   # any running LRS

Half of the stalled connections send half a request line, the other half a request whose
Content-Length body never comes (one byte of it does). Meanwhile clients send GET /about, a POST
of one statement and a GET of a page of 10, each with a 10 s timeout; a request that times out
counts as 10 s. Prints p50/p99 per kind, then how long until the server closed every stalled
connection.
"""
from __future__ import annotations

import argparse
import socket
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import requests

from lrs.server import spawned

TIMEOUT = 10.0
PARTIAL = [b"GET /xapi/ab",
           b"POST /xapi/statements HTTP/1.1\r\nHost: lrs\r\nContent-Length: 1000\r\n\r\n["]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def timed(call) -> float:
    began = time.perf_counter()
    try:
        call().raise_for_status()
    except requests.RequestException:
        return TIMEOUT
    return time.perf_counter() - began


def measure(endpoint: str, auth: tuple[str, str], rounds: int, clients: int) -> None:
    headers = {"X-Experience-API-Version": "1.0.3"}
    kinds = {
        "GET /about": lambda: requests.get(f"{endpoint}/about", timeout=TIMEOUT),
        "POST 1 statement": lambda: requests.post(
            f"{endpoint}/statements", auth=auth, headers=headers, timeout=TIMEOUT,
            json={"id": str(uuid.uuid4()), "actor": {"mbox": "mailto:bench@example.com"},
                  "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
                  "object": {"id": "http://example.com/bench"}}),
        "GET 10 statements": lambda: requests.get(f"{endpoint}/statements", params={"limit": 10}, auth=auth,
                                                  headers=headers, timeout=TIMEOUT),
    }
    everything = []
    for call in kinds.values():
        timed(call)  # warm up: the first authenticated request runs the slow password hash
    with ThreadPoolExecutor(clients) as pool:
        for name, call in kinds.items():
            latencies = list(pool.map(lambda _, call=call: timed(call), range(rounds)))
            everything += latencies
            failed = sum(latency >= TIMEOUT for latency in latencies)
            print(f"{name:<20} p50 {percentile(latencies, .5):8.1f} ms   p99 {percentile(latencies, .99):8.1f} ms"
                  f"   ({rounds} requests, {failed} unanswered within {TIMEOUT:.0f} s)")
    print(f"{'all':<20} p50 {percentile(everything, .5):8.1f} ms   p99 {percentile(everything, .99):8.1f} ms")


def seconds_until_closed(stalled: list[socket.socket], since: float, limit: float) -> float | None:
    """When the server had closed them all, in seconds after `since` (None: not within `limit`)."""
    for sock in stalled:
        sock.settimeout(max(0.1, since + limit - time.monotonic()))
        try:
            if sock.recv(4096):
                continue
        except ConnectionResetError:
            pass
        except TimeoutError:
            return None
    return time.monotonic() - since


def run(endpoint: str, auth: tuple[str, str], stalled_count: int, rounds: int, clients: int, wait: float) -> None:
    url = urlsplit(endpoint)
    stalled = []
    try:
        for n in range(stalled_count):
            sock = socket.create_connection((url.hostname, url.port), timeout=TIMEOUT)
            stalled.append(sock)
            sock.sendall(PARTIAL[n % 2])
        since = time.monotonic()
        print(f"{stalled_count} stalled connections open")
        measure(endpoint, auth, rounds, clients)
        closed = seconds_until_closed(stalled, since, wait)
        print("stalled connections closed by the server: "
              + (f"all, within {closed:.1f} s of stalling" if closed is not None else f"not within {wait:.0f} s"))
    finally:
        for sock in stalled:
            sock.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", help="xAPI endpoint of a running LRS (default: start lrs serve)")
    parser.add_argument("--user", default="bench")
    parser.add_argument("--password", default="bench-secret")
    parser.add_argument("--stalled", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=200, help="requests of each kind")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--read-timeout", type=int, default=5, help="LRS_READ_TIMEOUT of the started server")
    args = parser.parse_args()
    auth = (args.user, args.password)
    if args.endpoint:
        run(args.endpoint, auth, args.stalled, args.rounds, args.clients, wait=120)
        return
    env = {"LRS_ADMIN_KEY": args.user, "LRS_ADMIN_SECRET": args.password, "LRS_LOG_LEVEL": "WARNING",
           "LRS_READ_TIMEOUT": str(args.read_timeout), "LRS_DATA_DIR": ""}
    with spawned(env) as (endpoint, _):
        run(endpoint, auth, args.stalled, args.rounds, args.clients, wait=args.read_timeout + 60)


if __name__ == "__main__":
    main()
