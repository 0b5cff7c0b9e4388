"""Stream a large attachment through a live `lrs serve` and print the server worker's memory.

    python benchmarks/attachments.py                  # 200 MB through `lrs serve`, embedded store
    python benchmarks/attachments.py --mb 50
    LRS_MONGO_URI=mongodb://... python benchmarks/attachments.py     # the same on a real MongoDB

Three phases, each after resetting the worker's peak RSS (VmHWM, via /proc/<pid>/clear_refs):

1. POST a statement with the attachment (multipart/mixed, sent chunked from a generator);
2. POST a second statement naming the same content: it is hashed on the way in, not stored again;
3. GET the first statement with attachments=true, read as a stream and hash-checked.

For each phase it prints the time, the worker's RSS before and its peak during the phase. The
request handling holds a bounded buffer, so phases 2 and 3 stay a few MB above their start
whatever the size. Phase 1 also grows by what the store keeps: on the embedded store (mongomock,
in the server's memory) that is the content itself; on a real MongoDB it is nothing.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import requests

from lrs.http.multipart import MultipartReader
from lrs.server import spawned

MB = 1024 * 1024
KEY, SECRET = "bench", "bench-secret"
HEADERS = {"X-Experience-API-Version": "1.0.3"}
BOUNDARY = "benchmark-boundary-7d3f"


@dataclass
class Phase:
    name: str
    seconds: float
    rss_before: int  # bytes
    peak: int  # bytes

    @property
    def growth(self) -> int:
        return self.peak - self.rss_before


def content(size: int) -> Iterator[bytes]:
    """`size` bytes of distinct 1 MiB blocks, made on the fly so the client holds one at a time."""
    seed = hashlib.sha512(b"attachment benchmark").digest() * (MB // 64)
    for index in range(0, size, MB):
        block = index.to_bytes(8, "big") + seed[8:]
        yield block[:min(MB, size - index)]


def sha256_of(size: int) -> str:
    digest = hashlib.sha256()
    for block in content(size):
        digest.update(block)
    return digest.hexdigest()


def statement(size: int, sha2: str) -> dict:
    return {"id": str(uuid.uuid4()), "actor": {"mbox": "mailto:bench@example.com"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/attached"}, "object": {"id": "http://example.com/video"},
            "attachments": [{"usageType": "http://example.com/usage/recording", "display": {"en-US": "video"},
                             "contentType": "video/mp4", "length": size, "sha2": sha2}]}


def multipart(size: int, sha2: str, body: dict) -> Iterator[bytes]:
    yield (f"--{BOUNDARY}\r\nContent-Type: application/json\r\n\r\n{json.dumps(body)}\r\n"
           f"--{BOUNDARY}\r\nContent-Type: video/mp4\r\nContent-Transfer-Encoding: binary\r\n"
           f"X-Experience-API-Hash: {sha2}\r\n\r\n").encode()
    yield from content(size)
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in bytes."""
    values = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                values[name] = int(value.split()[0]) * 1024
    return values


def reset_peak(pid: int) -> None:
    with open(f"/proc/{pid}/clear_refs", "w") as clear_refs:
        clear_refs.write("5")  # VmHWM := VmRSS (Linux 4.0+)


def worker_of(master: int, timeout: float = 30) -> int:
    """The gunicorn worker process (the one that serves requests) of a master process."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as stat:
                        if int(stat.read().rsplit(")", 1)[1].split()[1]) == master:
                            return int(entry)
                except (OSError, IndexError, ValueError):
                    continue
        time.sleep(0.1)
    raise RuntimeError("no gunicorn worker appeared")


@contextmanager
def lrs_serve(max_request: int, port: int = 0, env: dict[str, str] | None = None) -> Iterator[tuple[str, int]]:
    """`lrs serve` in a subprocess with one worker; yields (endpoint, worker pid)."""
    env = {**(env or {}), "LRS_ADMIN_KEY": KEY, "LRS_ADMIN_SECRET": SECRET, "LRS_WORKERS": "1", "LRS_DATA_DIR": "",
           "LRS_LOG_LEVEL": "WARNING", "LRS_MAX_ATTACHMENT_REQUEST_BYTES": str(max_request)}
    with spawned(env, port) as (endpoint, process):
        yield endpoint, worker_of(process.pid)


def measure(endpoint: str, worker: int, name: str, action) -> Phase:
    rss = memory(worker)["VmRSS"]
    reset_peak(worker)
    started = time.perf_counter()
    action()
    elapsed = time.perf_counter() - started
    return Phase(name, elapsed, rss, memory(worker)["VmHWM"])


def run(size: int, port: int = 0, env: dict[str, str] | None = None) -> list[Phase]:
    """The three phases against a fresh `lrs serve`; raises if the LRS answers wrongly."""
    sha2 = sha256_of(size)
    first, second = statement(size, sha2), statement(size, sha2)
    auth = (KEY, SECRET)
    headers = {**HEADERS, "Content-Type": f"multipart/mixed; boundary={BOUNDARY}"}

    def post(body: dict) -> None:
        response = requests.post(f"{endpoint}/statements", data=multipart(size, sha2, body), headers=headers,
                                 auth=auth, timeout=600)
        response.raise_for_status()

    def download() -> None:
        with requests.get(f"{endpoint}/statements", params={"statementId": first["id"], "attachments": "true"},
                          headers=HEADERS, auth=auth, stream=True, timeout=600) as response:
            response.raise_for_status()
            boundary = response.headers["Content-Type"].split("boundary=")[1]
            parts = MultipartReader(response.raw, boundary).parts()
            next(parts)  # the statement
            digest = hashlib.sha256()
            for chunk in next(parts).chunks():
                digest.update(chunk)
        if digest.hexdigest() != sha2:
            raise RuntimeError("the attachment came back different")

    with lrs_serve(max_request=size + MB, port=port, env=env) as (endpoint, worker):
        return [measure(endpoint, worker, "POST new attachment", lambda: post(first)),
                measure(endpoint, worker, "POST same content again", lambda: post(second)),
                measure(endpoint, worker, "GET attachments=true", download)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200, help="attachment size in MiB (default 200)")
    parser.add_argument("--port", type=int, default=0, help="port for `lrs serve` (default: a free one)")
    args = parser.parse_args()
    size = args.mb * MB
    store = "MongoDB" if os.environ.get("LRS_MONGO_URI") else "embedded store (content kept in server memory)"
    print(f"attachment {args.mb} MiB through `lrs serve` on the {store}")
    for phase in run(size, args.port):
        print(f"{phase.name:<26} {phase.seconds:6.1f} s  {size / MB / phase.seconds:7.1f} MiB/s   "
              f"worker RSS before {phase.rss_before / MB:7.1f} MiB   peak {phase.peak / MB:7.1f} MiB   "
              f"growth {phase.growth / MB:7.1f} MiB")


if __name__ == "__main__":
    main()
