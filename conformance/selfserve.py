"""This LRS, started with `lrs serve` on a fresh embedded store for one suite run, then stopped.

The suite leaves its data in the LRS and some tests assume a clean store, so every run gets
a new process (and so a new in-memory store) with a throwaway admin credential. Starting and
stopping is lrs.server.spawned, the helper benchmarks and tests use too.

By default the LRS speaks only the version under test (LRS_XAPI_VERSIONS): the 1.0.3 and 2.0
suites want different answers to the same header-less request (XAPI-00331), which only a server
speaking one version can give both of. `both` tests the dual configuration operators run by default.
The 1.0.3 suite also wants a header-less profile PUT refused even when it would create the document
(XAPI-00273), a reading stricter than the text that real clients trip over, so the served LRS runs
with LRS_PROFILE_PUT_REQUIRES_PRECONDITION on (it changes nothing for 2.0 requests).
"""
from __future__ import annotations

import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from lrs.server import free_port, spawned
from lrs_conformance.runner import Endpoint


class ServeError(Exception):
    """The LRS did not come up; the message carries the end of its output."""


@contextmanager
def served_lrs(server_log: Path, xapi_versions: str, start_timeout: float = 60) -> Iterator[Endpoint]:
    """An endpoint of this LRS speaking `xapi_versions` (LRS_XAPI_VERSIONS) on a free port of
    127.0.0.1, for the duration of the block; its output goes to `server_log`."""
    # hex: the suite's option parser takes a secret starting with "-" for an option
    user, password = "conformance-" + secrets.token_hex(4), secrets.token_hex(16)
    port = free_port()
    env = {"LRS_ADMIN_KEY": user, "LRS_ADMIN_SECRET": password, "LRS_MONGO_URI": "",
           "LRS_DATA_DIR": "",
           "LRS_PUBLIC_URL": f"http://127.0.0.1:{port}", "LRS_XAPI_VERSIONS": xapi_versions,
           "LRS_PROFILE_PUT_REQUIRES_PRECONDITION": "true"}
    started = False
    with open(server_log, "w") as log:
        try:
            with spawned(env, port, stdout=log, timeout=start_timeout) as (url, _):
                started = True
                yield Endpoint(url, user, password)
        except RuntimeError as error:
            if started:
                raise
            raise ServeError(f"{error}:\n{server_log.read_text(errors='replace')[-3000:]}") from None
