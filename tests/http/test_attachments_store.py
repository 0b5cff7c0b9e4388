"""The attachment store through its real pymongo calls: chunking, one copy per sha2, recovery."""
from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from bson import Binary, ObjectId

from lrs.store.attachments import CHUNK_SIZE, ContentMismatch

CONTENT = bytes(range(256)) * (2 * CHUNK_SIZE // 256) + b"tail"  # two full chunks and a bit


@pytest.fixture
def store(app):
    return app.extensions["lrs"].attachments


def pieces(data: bytes, size: int = 100_000):
    return (data[i:i + size] for i in range(0, len(data), size))


@pytest.mark.parametrize("algorithm", ["sha256", "sha384", "sha512", "sha224"])
def test_content_is_stored_in_gridfs_chunks_and_read_back(store, algorithm):
    sha2 = hashlib.new(algorithm, CONTENT).hexdigest()
    assert store.save(sha2.upper(), pieces(CONTENT), "image/png", ObjectId()) == len(CONTENT)
    stored = store.open(sha2)
    assert (stored.sha2, stored.length, stored.content_type) == (sha2, len(CONTENT), "image/png")
    assert b"".join(stored.chunks()) == CONTENT
    file = store.files.find_one({"filename": sha2})
    assert file["chunkSize"] == CHUNK_SIZE and file["metadata"]["contentType"] == "image/png"
    assert store.chunks.count_documents({"files_id": file["_id"]}) == 3


def test_known_content_is_hashed_but_not_written_again(store):
    sha2 = hashlib.sha256(CONTENT).hexdigest()
    store.save(sha2, pieces(CONTENT), "image/png", ObjectId())
    assert store.save(sha2, pieces(CONTENT), "image/png", ObjectId()) == len(CONTENT)
    assert store.files.count_documents({}) == 1 and store.chunks.count_documents({}) == 3
    with pytest.raises(ContentMismatch):
        store.save(sha2, [b"something else"], "image/png", ObjectId())


def test_content_that_does_not_match_its_sha2_leaves_nothing(store):
    with pytest.raises(ContentMismatch, match="has sha2"):
        store.save(hashlib.sha256(b"expected").hexdigest(), pieces(CONTENT), "text/plain", ObjectId())
    with pytest.raises(ContentMismatch, match="not a SHA-2"):
        store.save("abc", [b"x"], "text/plain", ObjectId())
    assert store.files.count_documents({}) == 0 and store.chunks.count_documents({}) == 0


def test_two_uploads_of_the_same_content_at_once_keep_one_copy(store):
    sha2 = hashlib.sha256(CONTENT).hexdigest()

    def slow_upload():
        yield CONTENT[:1000]
        store.save(sha2, [CONTENT], "image/png", ObjectId())  # another client finishes first
        yield CONTENT[1000:]

    assert store.save(sha2, slow_upload(), "image/png", ObjectId()) == len(CONTENT)
    assert store.files.count_documents({}) == 1 and store.chunks.count_documents({}) == 3
    assert b"".join(store.open(sha2).chunks()) == CONTENT


def test_recover_removes_chunks_a_crashed_upload_left_and_nothing_else(store):
    now = dt.datetime.now(dt.timezone.utc)
    kept = hashlib.sha256(CONTENT).hexdigest()
    store.save(kept, [CONTENT], "image/png", ObjectId())
    crashed, in_progress = ObjectId.from_datetime(now - dt.timedelta(hours=2)), ObjectId()
    for files_id in (crashed, in_progress):
        store.chunks.insert_many([{"files_id": files_id, "n": n, "data": Binary(b"x")} for n in range(2)])
    store.recover(now)
    assert store.chunks.count_documents({"files_id": crashed}) == 0
    assert store.chunks.count_documents({"files_id": in_progress}) == 2
    assert b"".join(store.open(kept).chunks()) == CONTENT


def test_lookups_by_sha2_take_strings_only(store):
    assert store.open({"$gt": ""}) is None
    assert store.stored([{"$gt": ""}, "0" * 64]) == {}
