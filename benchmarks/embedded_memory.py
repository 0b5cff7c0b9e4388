"""Memory and start-up of the embedded store at a given size: the numbers behind "data in memory".

    python benchmarks/embedded_memory.py --statements 100000 --data-dir /tmp/lrs-100k
    python benchmarks/embedded_memory.py --statements 1000000 --data-dir /tmp/lrs-1m     # long

Fills LRS_DATA_DIR with statements in this process (validated and stored as a POST would, in
batches of 100, without HTTP), printing the resident memory as it grows, then starts a fresh
process on the folder as a restart would and prints how long loading took and its memory. The
folder is kept, so `python benchmarks/statements.py --data-dir DIR --statements 0` can then
measure queries over it through `lrs serve`.

`--copies K` then multiplies the stored statements K times directly in the SQLite file (new ids
and sequence numbers, the same shapes) before the restart, to measure memory and start-up at
sizes the validated fill would take hours to reach (1,000,000 = 100,000 x 10).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from statements import statement

AUTHORITY = {"objectType": "Agent", "account": {"homePage": "http://127.0.0.1:8000", "name": "bench"}}


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024


def open_lrs(data_dir: str):
    from lrs.core import LRS

    lrs = LRS.from_settings({"data_dir": data_dir, "mongo_uri": "", "log_level": "WARNING"})
    lrs.start()
    return lrs


def fill(data_dir: str, total: int, report_every: int) -> None:
    lrs = open_lrs(data_dir)
    began, have = time.monotonic(), lrs.statement_store.collection.count_documents({})
    for start in range(have, total, 100):
        with lrs.unit_of_work():
            lrs.statements.store([statement(n) for n in range(start, min(start + 100, total))],
                                 authority=AUTHORITY, version="1.0.3")
        if (start + 100) % report_every == 0 or start + 100 >= total:
            print(f"{min(start + 100, total):>9,} statements  RSS {rss_mb():7,.0f} MB  "
                  f"({(start + 100 - have) / (time.monotonic() - began):,.0f} statements/s)", flush=True)
    lrs.db.close()


def copy_statements(data_dir: str, copies: int) -> None:
    """Each stored statement `copies - 1` more times, under new ids and sequence numbers."""
    import sqlite3

    import bson

    db = sqlite3.connect(Path(data_dir) / "store.sqlite3")
    rows = [bson.decode(body) for (body,) in db.execute("SELECT body FROM documents WHERE collection = 'statements'")]
    top = max(doc["seq"] for doc in rows)
    for copy in range(1, copies):
        batch = []
        for doc in rows:
            new_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{doc['_id']}/{copy}"))
            clone = {**doc, "_id": new_id, "seq": doc["seq"] + copy * top, "raw": doc["raw"].replace(doc["_id"], new_id)}
            batch.append(("statements", bson.encode({"_id": new_id}), bson.encode(clone)))
        with db:
            db.executemany("INSERT INTO documents (collection, id, body) VALUES (?, ?, ?)", batch)  # next slots
    counter = {"_id": "statements", "seq": copies * top}
    with db:
        db.execute("UPDATE documents SET body = ? WHERE collection = 'counters' AND id = ?",
                   (bson.encode(counter), bson.encode({"_id": "statements"})))
    db.close()
    print(f"copied: {len(rows) * copies:,} statements in the file")


def reopen(data_dir: str) -> None:
    began = time.monotonic()
    lrs = open_lrs(data_dir)
    count = lrs.statement_store.collection.count_documents({})
    print(f"restart: {count:,} statements loaded in {time.monotonic() - began:.1f} s, RSS {rss_mb():,.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--statements", type=int, default=100_000)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--report-every", type=int, default=100_000)
    parser.add_argument("--copies", type=int, default=1, help="multiply the statements this many times")
    parser.add_argument("--reopen", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reopen:
        reopen(args.data_dir)
        return
    fill(args.data_dir, args.statements, args.report_every)
    if args.copies > 1:
        copy_statements(args.data_dir, args.copies)
    size = sum(f.stat().st_size for f in Path(args.data_dir).iterdir()) / 2**20
    print(f"data folder: {size:,.0f} MB")
    subprocess.run([sys.executable, __file__, "--reopen", "--data-dir", args.data_dir, "--statements", "0"],
                   check=True, env={**os.environ, "PYTHONPATH": str(Path(__file__).parent)})


if __name__ == "__main__":
    main()
