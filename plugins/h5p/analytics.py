"""Learning analytics over stored statements, computed by MongoDB aggregation pipelines.

The database does the per-statement work; Python only shapes the grouped rows (one per content,
or one per learner and content). Definitions, shared by every level (content, learner, class):

- attempts: `attempted` statements (H5P sends one whenever a learner starts a content).
- completions: `completed` statements; a content is completed by a learner with at least one.
- score: the percentage of a `completed` statement's result: scaled x 100, else
  (raw - min) / (max - min) x 100 with min 0 when absent. Averages, best and last scores use these.
- duration: the seconds of a `completed` statement's result.duration (the attempt's length);
  learning time and total duration are their sums, average duration their mean.
- pass rate: passed / (passed + failed) statements, as a percentage.
Voided statements and batches still being written never count. Figures without data are 0.
"""
from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from typing import Any, Iterable

from plugins.h5p.config import H5PConfig

ADL = "http://adlnet.gov/expapi/verbs/"
ATTEMPTED, COMPLETED, PASSED, FAILED = (ADL + verb for verb in ("attempted", "completed", "passed", "failed"))
VISIBLE = {"pending": {"$exists": False}, "voided": False}


def _flag(verb: str) -> dict:
    return {"$cond": [{"$eq": ["$verb", verb]}, 1, 0]}


def _if_completed(value: Any) -> dict:
    return {"$cond": [{"$eq": ["$verb", COMPLETED]}, value, None]}


_MIN = {"$ifNull": ["$result.min", 0]}
_RAW_PERCENT = {"$cond": [
    {"$gt": ["$result.max", _MIN]},
    {"$multiply": [{"$divide": [{"$subtract": ["$result.raw", _MIN]}, {"$subtract": ["$result.max", _MIN]}]}, 100]},
    None,
]}
_PERCENT = {"$ifNull": [{"$multiply": ["$result.scaled", 100]}, _RAW_PERCENT]}

# One small document per statement with everything the groups below add up.
FIGURES = {"$project": {
    "actor": 1, "object_id": 1, "timestamp": 1, "stored": 1, "seq": 1,
    "attempted": _flag(ATTEMPTED), "completed": _flag(COMPLETED), "passed": _flag(PASSED), "failed": _flag(FAILED),
    "score": _if_completed(_PERCENT),
    "duration": _if_completed("$result.duration_seconds"),
}}


class Analytics:
    def __init__(self, collection: Any, config: H5PConfig):
        self.collection = collection
        self.config = config

    # -- matches --------------------------------------------------------------------------------

    def content_match(self, content_id: str) -> dict:
        iri = self.config.content_iri(content_id)
        return {"activities": iri, "object_id": iri}  # `activities` is indexed, `object_id` is exact

    def learner_match(self, user_id: str, content_id: str | None = None) -> dict:
        key = self.config.actor_key(user_id)
        match = {"agents": key, "actor": key}
        return {**match, **(self.content_match(content_id) if content_id is not None else self._any_content())}

    def class_match(self, grouping_iri: str) -> dict:
        return {"related_activities": grouping_iri, "context.grouping": grouping_iri, **self._any_content()}

    def _any_content(self) -> dict:
        return {"object_id": {"$regex": "^" + re.escape(self.config.content_prefix)}}

    # -- figures --------------------------------------------------------------------------------

    def content(self, match: dict) -> dict:
        """Totals over every statement matched: one content, or a whole class."""
        rows = self._content_rows(match, by=None)
        return content_summary(rows[0] if rows else {})

    def contents(self, match: dict) -> list[dict]:
        """The same totals per content, ordered by contentId."""
        rows = self._content_rows(match, by="$object_id")
        entries = [{"contentId": self.config.content_id(row["_id"]), **content_summary(row)} for row in rows]
        return sorted(entries, key=lambda entry: entry["contentId"])

    def progress(self, match: dict) -> list[dict]:
        """One entry per learner and content, most recently active first."""
        return [self._progress_entry(row) for row in self._progress_rows(match)]

    def learners(self, match: dict) -> list[dict]:
        """One learner summary (as GET /analytics/user) per learner matched, ordered by userId."""
        by_actor: dict[str, list[dict]] = defaultdict(list)
        for row in self._progress_rows(match):
            by_actor[row["_id"]["actor"]].append(row)
        summaries = [self._learner_summary(self.config.user_id(actor), rows) for actor, rows in by_actor.items()]
        return sorted(summaries, key=lambda summary: summary["userId"])

    def learner(self, user_id: str) -> dict:
        return self._learner_summary(user_id, self._progress_rows(self.learner_match(user_id)))

    # -- pipelines ------------------------------------------------------------------------------

    def _content_rows(self, match: dict, by: str | None) -> list[dict]:
        return self._aggregate([{"$match": {**VISIBLE, **match}}, FIGURES, {"$group": {
            "_id": by,
            "attempts": {"$sum": "$attempted"},
            "completions": {"$sum": "$completed"},
            "passed": {"$sum": "$passed"},
            "failed": {"$sum": "$failed"},
            "averageScore": {"$avg": "$score"},
            "averageDuration": {"$avg": "$duration"},
            "lastUpdated": {"$max": "$stored"},
        }}])

    def _progress_rows(self, match: dict) -> list[dict]:
        """Per (actor, content). Scored statements sort last by time, so `$last` is the last score."""
        return self._aggregate([
            {"$match": {**VISIBLE, **match}},
            FIGURES,
            {"$addFields": {"scored": {"$cond": [{"$eq": ["$score", None]}, 0, 1]}}},
            {"$sort": {"scored": 1, "timestamp": 1, "seq": 1}},
            {"$group": {
                "_id": {"actor": "$actor", "content": "$object_id"},
                "attempts": {"$sum": "$attempted"},
                "completed": {"$max": "$completed"},
                "passed": {"$max": "$passed"},
                "bestScore": {"$max": "$score"},
                "lastScore": {"$last": "$score"},
                "scoreSum": {"$sum": "$score"},
                "scoreCount": {"$sum": "$scored"},
                "totalDuration": {"$sum": "$duration"},
                "lastAttemptAt": {"$max": "$timestamp"},
            }},
            {"$sort": {"lastAttemptAt": -1, "_id.content": 1}},
        ])

    def _aggregate(self, pipeline: list[dict]) -> list[dict]:
        return list(self.collection.aggregate(pipeline, allowDiskUse=True))

    # -- shaping --------------------------------------------------------------------------------

    def _progress_entry(self, row: dict) -> dict:
        return {
            "userId": self.config.user_id(row["_id"]["actor"]),
            "contentId": self.config.content_id(row["_id"]["content"]),
            "attempts": row["attempts"],
            "bestScore": _number(row["bestScore"]),
            "lastScore": _number(row["lastScore"]),
            "completed": bool(row["completed"]),
            "passed": bool(row["passed"]),
            "totalDuration": _number(row["totalDuration"]),
            "lastAttemptAt": _time(row["lastAttemptAt"]),
        }

    def _learner_summary(self, user_id: str, rows: Iterable[dict]) -> dict:
        rows = list(rows)
        averages = {self.config.content_id(row["_id"]["content"]): row["scoreSum"] / row["scoreCount"]
                    for row in rows if row["scoreCount"]}
        scored = sum(row["scoreCount"] for row in rows)
        return {
            "userId": user_id,
            "totalContentsAttempted": len(rows),
            "totalContentsCompleted": sum(1 for row in rows if row["completed"]),
            "averageScore": _number(sum(row["scoreSum"] for row in rows) / scored if scored else None),
            "strongAreas": sorted((c for c, a in averages.items() if a >= self.config.strong_score),
                                  key=lambda c: (-averages[c], c)),
            "weakAreas": sorted((c for c, a in averages.items() if a < self.config.weak_score),
                                key=lambda c: (averages[c], c)),
            "learningTime": _number(sum(row["totalDuration"] for row in rows)),
        }


def content_summary(row: dict) -> dict:
    decided = row.get("passed", 0) + row.get("failed", 0)
    return {
        "totalAttempts": row.get("attempts", 0),
        "totalCompletions": row.get("completions", 0),
        "averageScore": _number(row.get("averageScore")),
        "averageDuration": _number(row.get("averageDuration")),
        "passRate": _number(100 * row["passed"] / decided if decided else None),
        "lastUpdated": _time(row.get("lastUpdated")),
    }


def _number(value: float | None) -> float:
    """Figures are shown to two decimals; no data is 0, as in the seeds' responses."""
    return round(float(value), 2) if value is not None else 0


def _time(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
