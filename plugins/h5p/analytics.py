"""Learning analytics over stored statements, computed by MongoDB aggregation pipelines.

The database does the per-statement work in one pipeline per request; Python only shapes the
grouped rows (one per content, or one per learner and content) and adds them up for a class.
Definitions, shared by every level (content, learner, class):

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
from typing import Any

from lrs.errors import Forbidden
from lrs.store.statements import StatementStore
from lrs_plugins.h5p.config import H5PConfig

ADL = "http://adlnet.gov/expapi/verbs/"
ATTEMPTED, COMPLETED, PASSED, FAILED = (ADL + verb for verb in ("attempted", "completed", "passed", "failed"))


def _if(verb: str, value: Any) -> dict:
    """`value` for a statement of `verb`, else null."""
    return {"$cond": [{"$eq": ["$verb", verb]}, value, None]}


def _flag(verb: str) -> dict:
    return {"$cond": [{"$eq": ["$verb", verb]}, 1, 0]}


def _half(value: Any) -> dict:
    return {"$multiply": [value, 0.5]}


_MIN = {"$ifNull": ["$result.min", 0]}
# Each term halved before the differences: xAPI lets a score range span every double (min -1e308,
# max 1e308), whose difference overflows to infinity, and infinity / infinity is NaN, which then
# spoils every sum it joins and is no JSON value (the answer was `"averageScore": NaN`). Halving is
# exact, so the percentage is the same wherever the plain differences did not overflow.
_RAW_PERCENT = {"$cond": [
    {"$gt": ["$result.max", _MIN]},
    {"$multiply": [{"$divide": [{"$subtract": [_half("$result.raw"), _half(_MIN)]},
                                {"$subtract": [_half("$result.max"), _half(_MIN)]}]}, 100]},
    None,
]}
_PERCENT = {"$ifNull": [{"$multiply": ["$result.scaled", 100]}, _RAW_PERCENT]}


def _present(value: Any) -> dict:
    return {"$cond": [{"$eq": [value, None]}, 0, 1]}


# A completion's score and duration, null (never missing) when it has none.
_DURATION = {"$ifNull": ["$result.duration_seconds", None]}

# Additive totals, accumulated straight from the stored statements by the one $group of each
# pipeline: a figure tests the statement's verb (a lookup for the embedded store's engine too)
# and computes a score or duration only for completions. Any set of groups rolls up into a
# bigger one by summing (and max for time).
TOTALS = {
    "attempts": {"$sum": _flag(ATTEMPTED)},
    "completions": {"$sum": _flag(COMPLETED)},
    "passed": {"$sum": _flag(PASSED)},
    "failed": {"$sum": _flag(FAILED)},
    "scoreSum": {"$sum": _if(COMPLETED, _PERCENT)},
    "scoreCount": {"$sum": _if(COMPLETED, _present(_PERCENT))},
    "durationSum": {"$sum": _if(COMPLETED, _DURATION)},
    "durationCount": {"$sum": _if(COMPLETED, _present(_DURATION))},
    "lastUpdated": {"$max": "$stored"},
}
ADDITIVE = [name for name in TOTALS if name != "lastUpdated"]

# Who each kind of figure is made of: any statement (attempts, last update), completions (scores,
# durations), passed/failed (pass rate). A learner sees the figures only over enough of each.
CONTRIBUTORS = {
    "anyLearners": {"$addToSet": "$actor"},
    "completingLearners": {"$addToSet": _if(COMPLETED, "$actor")},
    "gradedLearners": {"$addToSet": {"$cond": [{"$eq": ["$verb", PASSED]}, "$actor", _if(FAILED, "$actor")]}},
}

# Totals per learner and content: what class and user analytics add up.
PER_LEARNER_AND_CONTENT = {"_id": {"actor": "$actor", "content": "$object_id"}, **TOTALS}
# The same with the figures of progress, most recently active first. Scored statements sort
# last by time, so `$last` is the latest score.
PROGRESS = [
    {"$addFields": {"score": _if(COMPLETED, _PERCENT)}},
    {"$addFields": {"scored": _present("$score")}},
    {"$sort": {"scored": 1, "timestamp": 1, "seq": 1}},
    {"$group": {**PER_LEARNER_AND_CONTENT, "bestScore": {"$max": "$score"}, "lastScore": {"$last": "$score"},
                "lastAttemptAt": {"$max": "$timestamp"}}},
    {"$sort": {"lastAttemptAt": -1, "_id.content": 1}},
]


class Analytics:
    def __init__(self, store: StatementStore, config: H5PConfig):
        self.store = store
        self.config = config

    # -- matches --------------------------------------------------------------------------------

    def content_match(self, content_id: str) -> dict:
        iri = self.config.content_iri(content_id)
        # Indexed, and exact: a statement's `activities` is its object's id when that is an
        # Activity, and empty otherwise (lrs.store.derived).
        return {"activities": iri}

    def learner_match(self, user_id: str, content_id: str | None = None) -> dict:
        key = self.config.actor_key(user_id)
        match = {"agents": key, "actor": key}
        return {**match, **(self.content_match(content_id) if content_id is not None else self._any_content())}

    def class_match(self, grouping_iri: str) -> dict:
        return {"related_activities": grouping_iri, "context.grouping": grouping_iri, **self._any_content()}

    def _any_content(self) -> dict:
        return {"object_id": {"$regex": "^" + re.escape(self.config.content_prefix)}}

    # -- figures --------------------------------------------------------------------------------

    def content(self, content_id: str, viewer: str | None = None) -> dict:
        """Content analytics: one group over every statement about the content.

        `viewer` is a learner asking (None: a reader). A learner knows their own part of every
        figure, so a figure that covers other learners must cover at least `min_group_size` of
        them, or an average would show one other learner's score; else Forbidden. A figure over
        the learner alone is their own data and is shown."""
        group = {"_id": None, **TOTALS, **(CONTRIBUTORS if viewer is not None else {})}
        rows = self.store.aggregate_visible(self.content_match(content_id), [{"$group": group}])
        totals = rows[0] if rows else {}
        if viewer is not None:
            self._check_group_size(totals, viewer, content_id)
        return {"contentId": content_id, **content_summary(totals)}

    def _check_group_size(self, totals: dict, viewer: str, content_id: str) -> None:
        own = self.config.actor_key(viewer)
        for name in CONTRIBUTORS:
            others = {actor for actor in totals.get(name, ()) if actor not in (None, own)}
            if others and len(others) < self.config.min_group_size:
                raise Forbidden(f"analytics of content {content_id} are shown to learners only when each figure "
                                f"covers at least {self.config.min_group_size} other learners "
                                "(LRS_H5P_MIN_GROUP_SIZE); your own figures are at /progress/<contentId>")

    def progress(self, match: dict) -> list[dict]:
        """One entry per learner and content, most recently active first."""
        return [self._progress_entry(row) for row in self.store.aggregate_visible(match, PROGRESS)]

    def learner(self, user_id: str) -> dict:
        return self._learner_summary(user_id, self._totals(self.learner_match(user_id)))

    def group(self, grouping_iri: str) -> dict:
        """Class analytics: totals, per content and per learner, all from one pipeline."""
        rows = self._totals(self.class_match(grouping_iri))
        by_content: dict[str, list[dict]] = defaultdict(list)
        by_actor: dict[str, list[dict]] = defaultdict(list)
        for row in rows:
            by_content[row["_id"]["content"]].append(row)
            by_actor[row["_id"]["actor"]].append(row)
        contents = [{"contentId": self.config.content_id(iri), **content_summary(_rolled_up(part))}
                    for iri, part in by_content.items()]
        learners = [self._learner_summary(self.config.user_id(actor), part) for actor, part in by_actor.items()]
        return {
            "totalLearners": len(learners),
            **content_summary(_rolled_up(rows)),
            "contents": sorted(contents, key=lambda entry: entry["contentId"]),
            "learners": sorted(learners, key=lambda entry: entry["userId"]),
        }

    # -- pipelines ------------------------------------------------------------------------------

    def _totals(self, match: dict) -> list[dict]:
        """Totals per learner and content, in no particular order."""
        return self.store.aggregate_visible(match, [{"$group": PER_LEARNER_AND_CONTENT}])

    # -- shaping --------------------------------------------------------------------------------

    def _progress_entry(self, row: dict) -> dict:
        return {
            "userId": self.config.user_id(row["_id"]["actor"]),
            "contentId": self.config.content_id(row["_id"]["content"]),
            "attempts": row["attempts"],
            "bestScore": _number(row["bestScore"]),
            "lastScore": _number(row["lastScore"]),
            "completed": row["completions"] > 0,
            "passed": row["passed"] > 0,
            "totalDuration": _number(row["durationSum"]),
            "lastAttemptAt": _time(row["lastAttemptAt"]),
        }

    def _learner_summary(self, user_id: str, rows: list[dict]) -> dict:
        averages = {self.config.content_id(row["_id"]["content"]): row["scoreSum"] / row["scoreCount"]
                    for row in rows if row["scoreCount"]}
        totals = _rolled_up(rows)
        return {
            "userId": user_id,
            "totalContentsAttempted": len(rows),
            "totalContentsCompleted": sum(1 for row in rows if row["completions"]),
            "averageScore": _ratio(totals["scoreSum"], totals["scoreCount"]),
            "strongAreas": sorted((c for c, a in averages.items() if a >= self.config.strong_score),
                                  key=lambda c: (-averages[c], c)),
            "weakAreas": sorted((c for c, a in averages.items() if a < self.config.weak_score),
                                key=lambda c: (averages[c], c)),
            "learningTime": _number(totals["durationSum"]),
        }


def _rolled_up(rows: list[dict]) -> dict:
    """Groups' totals added into one (the rows are per learner and content, never per statement)."""
    totals: dict[str, Any] = {name: sum(row[name] for row in rows) for name in ADDITIVE}
    totals["lastUpdated"] = max((row["lastUpdated"] for row in rows if row["lastUpdated"]), default=None)
    return totals


def content_summary(totals: dict) -> dict:
    """seeds/001's content figures from additive totals (an empty dict: no statements)."""
    return {
        "totalAttempts": totals.get("attempts", 0),
        "totalCompletions": totals.get("completions", 0),
        "averageScore": _ratio(totals.get("scoreSum", 0), totals.get("scoreCount", 0)),
        "averageDuration": _ratio(totals.get("durationSum", 0), totals.get("durationCount", 0)),
        "passRate": _ratio(100 * totals.get("passed", 0), totals.get("passed", 0) + totals.get("failed", 0)),
        "lastUpdated": _time(totals.get("lastUpdated")),
    }


def _ratio(part: float, whole: float) -> float:
    return _number(part / whole if whole else None)


def _number(value: float | None) -> float:
    """Figures are shown to two decimals; no data is 0, as in the seeds' responses."""
    return round(float(value), 2) if value is not None else 0


def _time(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
