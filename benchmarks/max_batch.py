"""The most expensive requests a client may send, and what they do to everyone else.

    python benchmarks/max_batch.py                        # starts `lrs serve` on the embedded store
    python benchmarks/max_batch.py --batch 6000 --max-statements 6000 --parts 2000 --max-parts 2000
    python benchmarks/max_batch.py --endpoint URL --user K --password S

Seeds the store, then sends (1) one POST of a maximal batch of minimal statements
(LRS_MAX_STATEMENTS_PER_REQUEST of them) and (2) one statement with the maximal number of
attachment parts (LRS_MAX_ATTACHMENT_PARTS), while another client keeps GETting a page of 10
statements. Prints each big request's time and the concurrent GETs' latencies during it.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import threading
import time
import uuid

import requests

from lrs.server import spawned

HEADERS = {"X-Experience-API-Version": "1.0.3"}


def minimal(n: int) -> dict:
    return {"id": str(uuid.uuid4()), "actor": {"mbox": f"mailto:l{n % 300}@example.com"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
            "object": {"id": f"http://example.com/a/{n % 100}"}}


def with_parts(count: int) -> tuple[bytes, str]:
    contents = [f"attachment {uuid.uuid4()}".encode() for _ in range(count)]
    statement = {**minimal(0), "attachments": [
        {"usageType": "http://example.com/usage", "display": {"en-US": "a"}, "contentType": "text/plain",
         "length": len(c), "sha2": hashlib.sha256(c).hexdigest()} for c in contents]}
    body = b"--b\r\nContent-Type: application/json\r\n\r\n" + json.dumps(statement).encode()
    for content in contents:
        body += (b"\r\n--b\r\nContent-Type: text/plain\r\nX-Experience-API-Hash: "
                 + hashlib.sha256(content).hexdigest().encode() + b"\r\n\r\n" + content)
    return body + b"\r\n--b--\r\n", "multipart/mixed; boundary=b"


def during(send, endpoint: str, auth: tuple[str, str]) -> tuple[float, int, list[float]]:
    """Run `send` while a second client GETs a page of 10; (its seconds, its status, GET latencies)."""
    done = threading.Event()
    latencies: list[float] = []

    def poll() -> None:
        while not done.is_set():
            began = time.perf_counter()
            requests.get(f"{endpoint}/statements", params={"limit": 10}, auth=auth, headers=HEADERS,
                         timeout=600).raise_for_status()
            latencies.append(time.perf_counter() - began)

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(0.2)
    began = time.perf_counter()
    try:
        status = send()
    finally:
        elapsed = time.perf_counter() - began
        done.set()
        poller.join()
    return elapsed, status, latencies


def show(name: str, elapsed: float, status: int, latencies: list[float]) -> None:
    ordered = sorted(latencies) or [0.0]
    print(f"{name:<44} {elapsed:7.2f} s (HTTP {status});  concurrent GET: {len(latencies)} answered, "
          f"p50 {ordered[len(ordered) // 2] * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms")


def run(endpoint: str, auth: tuple[str, str], seed: int, batch: int, parts: int) -> None:
    with requests.Session() as session:
        session.auth, session.headers = auth, {**HEADERS, "Content-Type": "application/json"}
        for start in range(0, seed, 500):
            session.post(f"{endpoint}/statements", data=json.dumps([minimal(n) for n in range(start, start + 500)]),
                         timeout=600).raise_for_status()
    print(f"store seeded with {seed} statements")
    body = json.dumps([minimal(n) for n in range(batch)])
    show(f"POST a batch of {batch} statements ({len(body) / 1e6:.1f} MB)", *during(
        lambda: requests.post(f"{endpoint}/statements", data=body, auth=auth, timeout=600,
                              headers={**HEADERS, "Content-Type": "application/json"}).status_code, endpoint, auth))
    multipart, content_type = with_parts(parts)
    show(f"POST 1 statement with {parts} attachment parts", *during(
        lambda: requests.post(f"{endpoint}/statements", data=multipart, auth=auth, timeout=600,
                              headers={**HEADERS, "Content-Type": content_type}).status_code, endpoint, auth))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", help="xAPI endpoint of a running LRS (default: start lrs serve)")
    parser.add_argument("--user", default="bench")
    parser.add_argument("--password", default="bench-secret")
    parser.add_argument("--seed", type=int, default=20000, help="statements stored before measuring")
    parser.add_argument("--batch", type=int, default=1000, help="statements in the big batch")
    parser.add_argument("--parts", type=int, default=500, help="attachment parts in the big multipart request")
    parser.add_argument("--max-statements", type=int, default=None, help="LRS_MAX_STATEMENTS_PER_REQUEST to start with")
    parser.add_argument("--max-parts", type=int, default=None, help="LRS_MAX_ATTACHMENT_PARTS to start with")
    args = parser.parse_args()
    auth = (args.user, args.password)
    if args.endpoint:
        run(args.endpoint, auth, args.seed, args.batch, args.parts)
        return
    env = {"LRS_ADMIN_KEY": args.user, "LRS_ADMIN_SECRET": args.password, "LRS_LOG_LEVEL": "WARNING",
           "LRS_DATA_DIR": ""}  # the embedded store in memory: nothing written to ./lrs-data
    if args.max_statements:
        env["LRS_MAX_STATEMENTS_PER_REQUEST"] = str(args.max_statements)
    if args.max_parts:
        env["LRS_MAX_ATTACHMENT_PARTS"] = str(args.max_parts)
    with spawned(env, timeout=120) as (endpoint, _):
        run(endpoint, auth, args.seed, args.batch, args.parts)


if __name__ == "__main__":
    main()
