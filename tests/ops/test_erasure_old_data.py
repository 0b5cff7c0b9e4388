"""Erasure of statements an earlier release stored, which list their attachment sha2s as their
clients wrote them (upper or mixed case hex) where this release lists them in lower case: the
first start of this release normalises them in place, so erasure takes the person's contents
and keeps those another person's statement (old or new) still uses."""
from __future__ import annotations

import json
import subprocess
import sys
import uuid
from typing import Any

from bson import ObjectId

from tests.http.test_attachments import attachment, contents, parts_of, sha2, statement
from tests.ops.test_erasure_durability import erase

ANN, BOB = {"mbox": "mailto:ann@example.com"}, {"mbox": "mailto:bob@example.com"}
ANNS_ESSAY, SHARED = b"ann's own essay", b"the class handout"


def mixed(digest: str, first: int = 0) -> str:
    """A hex digest with every other letter in upper case, as some clients write it."""
    return "".join(c.upper() if (i + first) % 2 else c for i, c in enumerate(digest))


def written(content: bytes, case: str) -> dict:
    spelled = {"upper": sha2(content).upper(), "mixed": mixed(sha2(content)), "other mixed": mixed(sha2(content), 1)}
    return attachment(content, sha2=spelled[case])


def store_as_an_earlier_release(lrs: Any, statements: list[dict], *sent: bytes) -> None:
    """What a release before sha2s were normalised left in the store: the contents under their
    lower-case sha2 (as ever), statements listing the sha2s as their clients wrote them, and no
    record of the upgrade."""
    holder = ObjectId()
    for content in sent:
        lrs.attachments.save(sha2(content), [content], "text/plain", holder)
    lrs.attachments.release([sha2(content) for content in sent], holder)
    lrs.statements.store(statements, authority=lrs.default_authority("old-client"), version="1.0.3",
                         contents=frozenset(sha2(content) for content in sent))
    for each in statements:
        as_written = sorted({a["sha2"] for a in each["attachments"]})
        lrs.statement_store.collection.update_one({"_id": each["id"]}, {"$set": {"attachments": as_written}})
    lrs.db["store_upgrades"].delete_many({})


def old_statements() -> tuple[dict, dict]:
    anns = statement(written(ANNS_ESSAY, "mixed"), written(SHARED, "upper"), actor=ANN, id=str(uuid.uuid4()))
    bobs = statement(written(SHARED, "other mixed"), actor=BOB, id=str(uuid.uuid4()))
    return anns, bobs


def assert_only_bobs_content_is_left(app: Any, h: dict, anns: dict, bobs: dict) -> None:
    client = app.test_client()
    assert client.get(f"/xapi/statements?statementId={anns['id']}", headers=h).status_code == 404
    assert contents(app)[0] == [sha2(SHARED)]
    served = parts_of(client.get(f"/xapi/statements?statementId={bobs['id']}&attachments=true", headers=h))
    # the part still carries the sha2 as Bob's statement wrote it (clients match parts by its text)
    assert [(headers["x-experience-api-hash"], body) for headers, body in served[1:]] \
        == [(bobs["attachments"][0]["sha2"], SHARED)]


def test_erase_agent_on_mongodb_takes_a_persons_old_contents_and_keeps_one_an_old_statement_shares(
        shared_store, make_app, xapi_headers):
    app = make_app(mongo_uri=shared_store)
    lrs = app.extensions["lrs"]
    anns, bobs = old_statements()
    store_as_an_earlier_release(lrs, [anns, bobs], ANNS_ESSAY, SHARED)
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "LRS_MONGO_URI": shared_store, "LRS_MONGO_DB": lrs.db.name,
           "LRS_DATA_DIR": "", "LRS_LOG_LEVEL": "WARNING"}
    done = subprocess.run([sys.executable, "-m", "lrs.cli", "erase-agent", json.dumps(ANN)],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["statements"], report["attachments"]) == (1, 1)
    assert_only_bobs_content_is_left(app, xapi_headers, anns, bobs)
    assert lrs.statement_store.collection.find_one({"_id": bobs["id"]})["attachments"] == [sha2(SHARED)]


def test_erasure_on_the_embedded_store_after_a_restart_takes_a_persons_old_contents_and_keeps_shared_ones(
        tmp_path, make_app, xapi_headers):
    before = make_app(data_dir=str(tmp_path))
    anns, bobs = old_statements()
    store_as_an_earlier_release(before.extensions["lrs"], [anns, bobs], ANNS_ESSAY, SHARED)
    before.extensions["lrs"].db.close()
    app = make_app(data_dir=str(tmp_path))  # this release's first start on that store
    report = erase(app.test_client(), ANN)
    assert (report["statements"], report["attachments"]) == (1, 1)
    assert_only_bobs_content_is_left(app, xapi_headers, anns, bobs)
