"""`lrs serve` with the statement store's writes switched off, as a bound for the ingest benchmark.

    LRS_PORT=8791 python benchmarks/lrs_without_store_writes.py

Every batch is still authenticated, parsed, checked, validated and prepared, and its ids are
looked up in the store; then nothing is written: no insert, no index entry, no SQLite commit, no
Activity or Agent record. `benchmarks/ingest_ratio.py --bounds` runs it beside the floor and the
LRS, so the figures say where a batch's cost lies: the gap between this server and the floor is
the request path, the gap between the LRS and this server is the store's writing.
"""
from __future__ import annotations

from lrs import core
from lrs.cli import main as lrs_main
from lrs.store.statements import StatementStore


def main() -> None:
    """Patched before gunicorn forks its worker, which inherits the patched classes."""
    StatementStore.insert_batch = lambda self, *args, **kwargs: None
    core.LRS._learn = lambda self, *args, **kwargs: None
    core.LRS._notify_stored = lambda self, *args, **kwargs: None
    lrs_main(["serve"])


if __name__ == "__main__":
    main()
