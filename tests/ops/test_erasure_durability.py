"""Erasure and retention against what happens at the same time: an upload of the same attachment
content in flight, and a crash between removing statements and removing their contents. The
uploads go over real HTTP, the crash is a real SIGKILL of a real `lrs serve` worker."""
from __future__ import annotations

import http.client
import json
import sys
import time
import uuid
from contextlib import contextmanager
from typing import Any, Callable, Iterator
from urllib.parse import quote, urlsplit

from tests.conftest import ADMIN_KEY, ADMIN_SECRET, LiveServer, basic_auth
from tests.http.test_attachments import BOUNDARY, attachment, multipart, parts_of, post, sha2, statement

CONTENT = b"the class handout, page after page. " * 9_000  # 324 kB: two chunks in the store


def person(name: str) -> dict[str, str]:
    return {"mbox": f"mailto:{name}-{uuid.uuid4().hex[:8]}@example.com"}


def erase(client: Any, who: dict) -> dict[str, Any]:
    answer = client.delete("/admin/agents", query_string={"agent": json.dumps(who)},
                           headers={"Authorization": basic_auth()})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()


def until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@contextmanager
def upload_paused_mid_content(url: str, body: bytes) -> Iterator[Callable[[], tuple[int, bytes]]]:
    """POST `body` over a real connection up to the middle of CONTENT, and yield a function
    that sends the rest and returns the answer (status, body)."""
    address = urlsplit(url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
    try:
        connection.putrequest("POST", "/xapi/statements")
        for name, value in {"Authorization": basic_auth(), "X-Experience-API-Version": "1.0.3",
                            "Content-Type": f'multipart/mixed; boundary="{BOUNDARY}"',
                            "Content-Length": str(len(body))}.items():
            connection.putheader(name, value)
        connection.endheaders()
        middle = body.index(CONTENT) + len(CONTENT) // 2
        connection.send(body[:middle])

        def finish() -> tuple[int, bytes]:
            connection.send(body[middle:])
            answer = connection.getresponse()
            return answer.status, answer.read()

        yield finish
    finally:
        connection.close()


def held(app: Any) -> bool:
    """Whether an upload holds CONTENT (the point where the server reads its bytes)."""
    stored = app.extensions["lrs"].attachments.files.find_one({"filename": sha2(CONTENT)}) or {}
    return bool((stored.get("metadata") or {}).get("holders"))


def test_an_upload_in_flight_keeps_the_content_its_statement_is_about_to_use(make_app, xapi_headers):
    """Ann's statement brought the content; Bob's upload of the same content is mid-way (the LRS
    has it already, so it only hashes the bytes) when Ann is erased: Bob's statement, acknowledged
    after the erasure, must be served with its content."""
    app = make_app()
    client = app.test_client()
    ann, bob = person("ann"), person("bob")
    assert post(client, xapi_headers, multipart(statement(attachment(CONTENT), actor=ann), CONTENT)).status_code == 200
    bobs = statement(attachment(CONTENT), actor=bob, id=str(uuid.uuid4()))
    with LiveServer(app) as server, upload_paused_mid_content(server.url, multipart(bobs, CONTENT)) as finish:
        until(lambda: held(app), timeout=5)  # without a hold to see (old code), a plain pause
        report = erase(client, ann)
        status, answer = finish()
    assert status == 200, answer
    parts = parts_of(client.get(f"/xapi/statements?statementId={bobs['id']}&attachments=true", headers=xapi_headers))
    assert [content for _, content in parts[1:]] == [CONTENT]
    assert (report["statements"], report["attachments"]) == (1, 0)  # held by Bob's upload: kept
    assert erase(client, bob)["attachments"] == 1  # no one uses it now: it goes with Bob


def test_a_content_held_by_an_upload_that_then_fails_goes_when_that_upload_is_refused(make_app, xapi_headers):
    """Same race, but Bob's statement is refused (its id is taken by a different statement): the
    content no statement uses is not forgotten; the refused request removes it itself, and the
    next erasure, of anyone, finds nothing left of the record the first one kept."""
    app = make_app()
    client = app.test_client()
    ann = person("ann")
    assert post(client, xapi_headers, multipart(statement(attachment(CONTENT), actor=ann), CONTENT)).status_code == 200
    taken = statement(id=str(uuid.uuid4()))
    assert client.post("/xapi/statements", json=taken, headers=xapi_headers).status_code == 200
    refused = statement(attachment(CONTENT), actor=person("bob"), id=taken["id"])
    with LiveServer(app) as server, upload_paused_mid_content(server.url, multipart(refused, CONTENT)) as finish:
        until(lambda: held(app), timeout=5)
        assert erase(client, ann)["attachments"] == 0
        status, answer = finish()
    assert status == 409, answer
    lrs = app.extensions["lrs"]
    assert lrs.attachments.files.count_documents({}) == lrs.attachments.chunks.count_documents({}) == 0
    assert erase(client, person("nobody"))["attachments"] == 0
    assert lrs.db["attachment_erasures"].count_documents({}) == 0


CRASHING_SERVER = """
import os, signal
from lrs.app import create_app
from lrs.core import LRS
from lrs.hooks import hookimpl
from lrs.server import serve_app

class PowerCut:
    @hookimpl
    def lrs_statements_erased(self, statement_ids, lrs):
        os.killpg(os.getpgid(0), signal.SIGKILL)  # the statements are gone, their contents not yet

serve_app(lambda: create_app(plugins=[PowerCut()]), LRS.resolve()[0])
"""


def test_a_retention_pass_killed_between_statements_and_contents_leaves_no_content_behind(tmp_path):
    """The embedded store's retention pass commits each step on its own; a SIGKILL after the
    statements went must not leave their attachment contents on disk once the LRS is back."""
    from lrs.server import spawned

    env = {"LRS_DATA_DIR": str(tmp_path), "LRS_ADMIN_KEY": ADMIN_KEY, "LRS_ADMIN_SECRET": ADMIN_SECRET,
           "LRS_SECRET_HASH_COST": "14", "LRS_RETENTION_DAYS": "0.00003", "LRS_LOG_LEVEL": "WARNING"}
    old = statement(attachment(CONTENT), id=str(uuid.uuid4()))
    with spawned(env, command=[sys.executable, "-c", CRASHING_SERVER], own_session=True) as (endpoint, server):
        assert request(endpoint, "POST", "/statements", multipart(old, CONTENT)) == 200
        assert until(lambda: server.poll() is not None, timeout=90), "the retention pass never ran"
    with spawned(env, own_session=True) as (endpoint, _):  # `lrs serve` on the store the crash left
        assert request(endpoint, "GET", f"/statements?statementId={old['id']}") == 404
    assert stored_contents(tmp_path) == (0, 0)


def stored_contents(data_dir: Any) -> tuple[int, int]:
    """(files, chunks) of the attachment store in this data folder, read as the LRS reads it."""
    from lrs.core import LRS

    lrs = LRS.from_settings({"data_dir": str(data_dir), "mongo_uri": ""})
    try:
        return lrs.attachments.files.count_documents({}), lrs.attachments.chunks.count_documents({})
    finally:
        lrs.db.close()


def request(endpoint: str, method: str, path: str, body: bytes | None = None) -> int:
    address = urlsplit(endpoint)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
    try:
        connection.request(method, address.path + path, body=body, headers={
            "Authorization": basic_auth(), "X-Experience-API-Version": "1.0.3",
            "Content-Type": f'multipart/mixed; boundary="{BOUNDARY}"'})
        return connection.getresponse().status
    finally:
        connection.close()


STREAMING_SERVER = """
import os
from werkzeug.serving import make_server
from lrs.app import create_app

make_server("127.0.0.1", int(os.environ["LRS_PORT"]), create_app(), threaded=True).serve_forever()
"""


def test_holds_of_uploads_a_crash_cut_short_do_not_keep_a_content_from_erasure(tmp_path):
    """Bob's upload of Ann's content is cut short by a SIGKILL after another request's commit put
    its hold on disk: once the LRS is back, erasing Ann removes the content at once. (`lrs serve`
    reads a request whole before the LRS sees it, so the upload goes to a server that streams.)"""
    import os
    import signal

    from lrs.server import spawned

    env = {"LRS_DATA_DIR": str(tmp_path), "LRS_ADMIN_KEY": ADMIN_KEY, "LRS_ADMIN_SECRET": ADMIN_SECRET,
           "LRS_SECRET_HASH_COST": "14", "LRS_LOG_LEVEL": "WARNING"}
    ann = person("ann")
    with spawned(env, command=[sys.executable, "-c", STREAMING_SERVER], own_session=True) as (endpoint, server):
        assert request(endpoint, "POST", "/statements", multipart(statement(attachment(CONTENT), actor=ann),
                                                                  CONTENT)) == 200
        bobs = statement(attachment(CONTENT), actor=person("bob"))
        with upload_paused_mid_content(endpoint.removesuffix("/xapi"), multipart(bobs, CONTENT)):
            time.sleep(2)  # the LRS reads Bob's content part (holding it) ...
            assert request(endpoint, "POST", "/statements", multipart(statement())) == 200  # ... and commits
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=60)
    with spawned(env, own_session=True) as (endpoint, _):
        address = urlsplit(endpoint)
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
        connection.request("DELETE", "/admin/agents?agent=" + quote(json.dumps(ann)),
                           headers={"Authorization": basic_auth()})
        answer = connection.getresponse()
        report = json.loads(answer.read())
        connection.close()
    assert answer.status == 200 and (report["statements"], report["attachments"]) == (1, 1), report


def test_contents_of_an_upload_a_crash_cut_short_are_gone_once_the_lrs_is_back(tmp_path):
    """Bob's upload is killed after its first content was saved and mid-way through its second
    (another request's commit put both on disk); his statement was never stored. The embedded
    store's next start removes both: no statement uses them, and nothing can still be uploading."""
    import os
    import signal

    from lrs.server import spawned

    env = {"LRS_DATA_DIR": str(tmp_path), "LRS_ADMIN_KEY": ADMIN_KEY, "LRS_ADMIN_SECRET": ADMIN_SECRET,
           "LRS_SECRET_HASH_COST": "14", "LRS_LOG_LEVEL": "WARNING"}
    first = b"Bob's first page. " * 1_000
    bobs = statement(attachment(first), attachment(CONTENT), actor=person("bob"))
    with (spawned(env, command=[sys.executable, "-c", STREAMING_SERVER], own_session=True) as (endpoint, server),
          upload_paused_mid_content(endpoint.removesuffix("/xapi"), multipart(bobs, first, CONTENT))):
        time.sleep(2)  # the LRS saved the first content and writes the second ...
        assert request(endpoint, "POST", "/statements", multipart(statement())) == 200  # ... and commits
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=60)
    with spawned(env, own_session=True):
        pass
    assert stored_contents(tmp_path) == (0, 0)
