"""Contents of documents too large for one MongoDB document (16 MB), in the GridFS layout.

Bucket `documents` (`documents.files`, `documents.chunks`, 255 KiB chunks, like the attachment
store), so `mongofiles --prefix documents` and any GridFS driver can read them. Unlike attachment
contents, which are shared by sha2, each file belongs to exactly one version of one document: a
write stores a new file before it swaps the document record, and the file of the version it
replaced (or of a swap that lost a race) is removed after. So no two records ever share a file,
and removing one is always safe. A crash between the two steps leaves a file no record points to;
`recover()` removes those at the next start once they are old enough not to be a write in flight.

Whole contents are read into memory: a document is bounded by the request size limit anyway.
"""
from __future__ import annotations

import datetime as dt

from bson import Binary, ObjectId
from pymongo import ASCENDING
from pymongo.collection import Collection
from pymongo.database import Database

from lrs.store.attachments import CHUNK_SIZE, STALE_UPLOAD
from lrs.store.indexing import declare_index

RECOVERY_BATCH = 1000  # files looked up per query at start-up


class DocumentFiles:
    def __init__(self, db: Database, bucket: str = "documents"):
        self.files = db[f"{bucket}.files"]
        self.chunks = db[f"{bucket}.chunks"]

    def ensure_indexes(self) -> None:
        declare_index(self.chunks, [("files_id", ASCENDING), ("n", ASCENDING)], unique=True)

    def save(self, content: bytes, content_type: str) -> ObjectId:
        """Store `content` as a new file; the files document is written last, as GridFS does."""
        file_id = ObjectId()
        for n, start in enumerate(range(0, len(content), CHUNK_SIZE)):
            self.chunks.insert_one({"files_id": file_id, "n": n, "data": Binary(content[start:start + CHUNK_SIZE])})
        self.files.insert_one({"_id": file_id, "length": len(content), "chunkSize": CHUNK_SIZE,
                               "uploadDate": dt.datetime.now(dt.timezone.utc),
                               "metadata": {"contentType": content_type}})
        return file_id

    def read(self, file_id: ObjectId) -> bytes:
        chunks = self.chunks.find({"files_id": file_id}).sort("n", ASCENDING)
        return b"".join(bytes(chunk["data"]) for chunk in chunks)

    def delete(self, file_id: ObjectId) -> None:
        self.files.delete_one({"_id": file_id})
        self.chunks.delete_many({"files_id": file_id})

    def recover(self, records: Collection, now: dt.datetime) -> None:
        """Remove files older than a write can take that no record of `records` uses. Two queries
        rather than a `$lookup`: MongoDB before 5.1 refuses a `$lookup` from a sharded collection,
        and docs/deploying.md shards `documents`."""
        stale = ObjectId.from_datetime(now - STALE_UPLOAD)
        first_chunks = self.chunks.find({"n": 0, "files_id": {"$lt": stale}}, {"files_id": 1})
        candidates = [chunk["files_id"] for chunk in first_chunks]
        for start in range(0, len(candidates), RECOVERY_BATCH):
            part = candidates[start:start + RECOVERY_BATCH]
            used = {record["file_id"] for record in records.find({"file_id": {"$in": part}}, {"file_id": 1})}
            for file_id in part:
                if file_id not in used:
                    self.delete(file_id)
