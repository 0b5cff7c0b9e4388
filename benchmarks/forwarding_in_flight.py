"""Forwarding throughput with 1, 4 and 8 batches in flight to a target answering in 50 ms.

    python benchmarks/forwarding_in_flight.py                 # 5000 statements, batch size 100
    python benchmarks/forwarding_in_flight.py --statements 20000 --latency 0.05 --in-flight 1 4 8 16

The target is a stand-in started as a subprocess (this file with --serve): it reads each POST,
waits `--latency` seconds and answers the statement ids, as an LRS with that latency and
unlimited ingest would, so the figures show what the engine gets out of parallel requests. The
source LRS (embedded store) and its worker run in this process, one fresh source per run.
"""
from __future__ import annotations

import argparse
import http.server
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from lrs.app import create_app  # noqa: E402
from lrs.forwarding.status import forwarding_status  # noqa: E402
from lrs.forwarding.worker import Worker  # noqa: E402


def serve(port: int, latency: float) -> None:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 - the http.server naming
            statements = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            time.sleep(latency)
            self._answer(json.dumps([s["id"] for s in statements]).encode())

        def do_GET(self) -> None:  # noqa: N802
            self._answer(b'{"version": ["1.0.3"]}')

        def _answer(self, body: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(endpoint: str, statements: int, batch_size: int, in_flight: int) -> float:
    target = {"name": "bench", "endpoint": endpoint, "batch_size": batch_size, "in_flight": in_flight}
    app = create_app({"mongo_uri": "", "data_dir": "", "mongo_db": f"bench_{uuid.uuid4().hex[:8]}",
                      "log_level": "ERROR",
                      "plugins": "forward_xapi", "forward_xapi_targets": json.dumps([target]),
                      "forward_poll_seconds": "0.2"})
    lrs = app.extensions["lrs"]
    for first in range(0, statements, 500):
        batch = [{"id": str(uuid.uuid4()), "actor": {"mbox": f"mailto:l{n % 50}@example.com"},
                  "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
                  "object": {"id": f"http://example.com/a/{n}"}} for n in range(first, min(first + 500, statements))]
        lrs.statements.store(batch, authority=lrs.default_authority("bench"), version="1.0.3")
    worker = Worker(lrs).start()
    began = time.perf_counter()
    while forwarding_status(lrs)[0]["backlog"]:
        time.sleep(0.5)
    elapsed = time.perf_counter() - began
    worker.stop()
    return statements / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--statements", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--in-flight", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(args.serve, args.latency)
    port = free_port()
    target = subprocess.Popen([sys.executable, __file__, "--serve", str(port), "--latency", str(args.latency)])
    try:
        endpoint = f"http://127.0.0.1:{port}/xapi"
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{endpoint}/about", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        for in_flight in args.in_flight:
            rate = run(endpoint, args.statements, args.batch_size, in_flight)
            print(f"in flight {in_flight}: {rate:.0f} statements/s ({args.statements} statements, batch size "
                  f"{args.batch_size}, target latency {args.latency * 1000:.0f} ms)")
    finally:
        target.terminate()
        target.wait(10)


if __name__ == "__main__":
    main()
