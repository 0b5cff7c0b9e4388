"""Imported by a child process before `lrs serve`: the first statement batch written while the
file named by LRS_TEST_CRASH_FLAG exists kills the process with SIGKILL right after its pending
documents are inserted, before the batch is committed and revealed (the flag is removed first,
so the worker gunicorn starts in its place writes normally)."""
from __future__ import annotations

import os
import signal

from pymongo.collection import Collection

_insert_many = Collection.insert_many


def _insert_then_die(self: Collection, documents, *args, **kwargs):  # noqa: ANN001 - pymongo's signature
    result = _insert_many(self, documents, *args, **kwargs)
    flag = os.environ.get("LRS_TEST_CRASH_FLAG", "")
    if self.name == "statements" and flag and os.path.exists(flag):
        os.remove(flag)
        os.kill(os.getpid(), signal.SIGKILL)
    return result


Collection.insert_many = _insert_then_die
