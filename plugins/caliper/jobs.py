"""Jobs of the Timeback API: `POST /caliper/event` answers with a `jobId` whose status the client
polls (`GET /jobs/{jobId}/status`). Events are stored before the answer, so every job is born
`completed`; it records which events it stored and expires after a day.
"""
from __future__ import annotations

import datetime as dt
import uuid

from pymongo import ASCENDING
from pymongo.collection import Collection

from lrs.store.indexing import declare_index
from lrs_plugins.caliper.stored_events import numeric_id
from lrs_plugins.caliper.values import format_datetime, statement_id

LIFETIME = dt.timedelta(days=1)


class Jobs:
    def __init__(self, collection: Collection):
        self.collection = collection

    def ensure_indexes(self) -> None:
        declare_index(self.collection, [("expires_at", ASCENDING)], expireAfterSeconds=0)

    def completed(self, events: list[dict], client: str, now: dt.datetime) -> str:
        """A new completed job for the events of one request; its id."""
        job_id = str(uuid.uuid4())
        results = [{"allocatedId": str(numeric_id(statement_id(event["id"]))), "externalId": event["id"]}
                   for event in events]
        self.collection.insert_one({"_id": job_id, "client": client, "results": results, "processed_on": now,
                                    "expires_at": now + LIFETIME})
        return job_id

    def status(self, job_id: str, client: str) -> dict | None:
        """`{id, state, returnValue, processedOn}` of the caller's job, or None."""
        job = self.collection.find_one({"_id": job_id, "client": client})
        if job is None:
            return None
        return {"id": job_id, "state": "completed", "processedOn": format_datetime(job["processed_on"]),
                "returnValue": {"status": "success", "results": job["results"]}}
