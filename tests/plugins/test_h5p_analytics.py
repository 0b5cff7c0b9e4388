"""H5P learning analytics: figures checked against values computed by hand.

A small data set whose every figure is worked out in the comments, served over a live server
with seeds/001's response shapes; then a generated set of more than 1,000 statements stored
through the core's real path, checked against a plain-Python computation of the same definitions.
"""
from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from collections import defaultdict
from typing import Any, Iterator

import pytest
import requests

from tests.conftest import LiveServer

BASE = "https://creatiq.app"
ADL = "http://adlnet.gov/expapi/verbs/"
TEACHER_TOKEN = "teacher-1:teacher-secret"
ANN_TOKEN = "ann:ann-secret"
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def app(make_app: Any) -> Any:
    app = make_app(plugins="h5p", h5p_base_url=BASE)
    lrs = app.extensions["lrs"]
    lrs.create_credential("teacher-1", "teacher-secret", ["h5p/read"])
    lrs.create_credential("ann", "ann-secret", ["h5p"])
    return app


def statement(user: str, verb: str, content: str, minute: int, scaled: float | None = None,
              seconds: int | None = None, class_id: str | None = None, **score: float) -> dict:
    result: dict[str, Any] = {}
    if scaled is not None:
        score["scaled"] = scaled
    if score:
        result["score"] = score
    if seconds is not None:
        result["duration"] = f"PT{seconds}S"
    built: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "actor": {"account": {"homePage": BASE, "name": user}},
        "verb": {"id": ADL + verb},
        "object": {"id": f"{BASE}/h5p/content/{content}"},
        "timestamp": (START + dt.timedelta(minutes=minute)).isoformat(),
    }
    if result:
        built["result"] = result
    if class_id:
        built["context"] = {"contextActivities": {"grouping": [{"id": f"{BASE}/h5p/classes/{class_id}"}]}}
    return built


def store(app: Any, statements: list[dict], batch: int = 250) -> None:
    lrs = app.extensions["lrs"]
    authority = lrs.default_authority("seeder")
    for first in range(0, len(statements), batch):
        lrs.statements.store(statements[first:first + batch], authority=authority, version="1.0.3", source="h5p")


def get(server: LiveServer, path: str, token: str = TEACHER_TOKEN, **params: str) -> dict:
    response = requests.get(server.url + "/api/xapi" + path, params=params, timeout=10,
                            headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"success", "data"} and body["success"] is True
    return body["data"]


def at(minute: int) -> str:
    return (START + dt.timedelta(minutes=minute)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- a small data set, computed by hand --------------------------------------------------------------

@pytest.fixture
def small(app: Any) -> dict[str, str]:
    return store_small(app)


def store_small(app: Any) -> dict[str, str]:
    voided = statement("ann", "completed", "quiz", 7, scaled=0.0, seconds=999, class_id="5B")
    store(app, [
        # ann, quiz, class 5B: two attempts, scores 90 then 60, durations 100 + 50, passed then failed
        statement("ann", "attempted", "quiz", 1, class_id="5B"),
        statement("ann", "completed", "quiz", 2, scaled=0.9, seconds=100, class_id="5B"),
        statement("ann", "passed", "quiz", 3, class_id="5B"),
        statement("ann", "attempted", "quiz", 4, class_id="5B"),
        statement("ann", "completed", "quiz", 5, scaled=0.6, seconds=50, class_id="5B"),
        statement("ann", "failed", "quiz", 6, class_id="5B"),
        voided,
        # ben, quiz, class 5B: raw 15 of 20 = 75 %, 30 s, passed; an answered score does not count
        statement("ben", "attempted", "quiz", 10, class_id="5B"),
        statement("ben", "answered", "quiz", 11, scaled=0.2, seconds=5, class_id="5B"),
        statement("ben", "completed", "quiz", 12, seconds=30, class_id="5B", raw=15, max=20),
        statement("ben", "passed", "quiz", 13, class_id="5B"),
        # ann, no class: video completed without a score (600 s), poem 30 %, maths 95 % (25 s)
        statement("ann", "attempted", "video", 20),
        statement("ann", "progressed", "video", 21),
        statement("ann", "completed", "video", 22, seconds=600),
        statement("ann", "completed", "poem", 30, scaled=0.3),
        statement("ann", "completed", "maths", 40, scaled=0.95, seconds=25),
        # ben, video: only attempted
        statement("ben", "attempted", "video", 50),
    ])
    voiding = {"actor": {"mbox": "mailto:teacher@example.com"}, "verb": {"id": ADL + "voided"},
               "object": {"objectType": "StatementRef", "id": voided["id"]}}
    store(app, [voiding])
    return {"voided": voided["id"]}


def test_content_analytics(live_server: LiveServer, small: dict) -> None:
    data = get(live_server, "/analytics/content/quiz")
    last_updated = data.pop("lastUpdated")
    assert data == {
        "contentId": "quiz",
        "totalAttempts": 3,                   # ann 2 + ben 1
        "totalCompletions": 3,                # the voided completion does not count
        "averageScore": 75.0,                 # (90 + 60 + 75) / 3
        "averageDuration": 60.0,              # (100 + 50 + 30) / 3
        "passRate": 66.67,                    # 2 passed / (2 passed + 1 failed)
    }
    assert dt.datetime.fromisoformat(last_updated.replace("Z", "+00:00")) <= dt.datetime.now(dt.timezone.utc)


def test_content_analytics_without_data_are_zero(live_server: LiveServer, small: dict) -> None:
    assert get(live_server, "/analytics/content/unknown") == {
        "contentId": "unknown", "totalAttempts": 0, "totalCompletions": 0, "averageScore": 0,
        "averageDuration": 0, "passRate": 0, "lastUpdated": None}


def test_user_analytics_of_the_authenticated_user(live_server: LiveServer, small: dict) -> None:
    expected = {
        "userId": "ann",
        "totalContentsAttempted": 4,          # quiz, video, poem, maths
        "totalContentsCompleted": 4,
        "averageScore": 68.75,                # (90 + 60 + 30 + 95) / 4
        "strongAreas": ["maths"],             # 95 >= 80
        "weakAreas": ["poem"],                # 30 < 50
        "learningTime": 775.0,                # 100 + 50 + 600 + 25
    }
    assert get(live_server, "/analytics/user", token=ANN_TOKEN) == expected
    assert get(live_server, "/analytics/user", userId="ann") == expected  # a reader names the learner


@pytest.mark.parametrize("path", ["/analytics/user", "/progress", "/progress/quiz"])
def test_an_empty_user_id_is_the_caller_themself(live_server: LiveServer, small: dict, path: str) -> None:
    """As an empty actorId filters nothing: `?userId=` is not another user, so no 403 for a learner."""
    assert get(live_server, path, token=ANN_TOKEN, userId="") == get(live_server, path, token=ANN_TOKEN)


def test_progress_on_one_content(live_server: LiveServer, small: dict) -> None:
    assert get(live_server, "/progress/quiz", token=ANN_TOKEN) == {
        "userId": "ann", "contentId": "quiz", "attempts": 2, "bestScore": 90.0, "lastScore": 60.0,
        "completed": True, "passed": True, "totalDuration": 150.0, "lastAttemptAt": at(6)}
    assert get(live_server, "/progress/quiz", userId="ben") == {
        "userId": "ben", "contentId": "quiz", "attempts": 1, "bestScore": 75.0, "lastScore": 75.0,
        "completed": True, "passed": True, "totalDuration": 30.0, "lastAttemptAt": at(13)}
    never_seen = get(live_server, "/progress/never-seen", token=ANN_TOKEN)
    assert list(never_seen) == ["userId", "contentId", "attempts", "bestScore", "lastScore", "completed", "passed",
                                "totalDuration", "lastAttemptAt"]  # seeds/001's order
    assert never_seen == {
        "userId": "ann", "contentId": "never-seen", "attempts": 0, "bestScore": 0, "lastScore": 0,
        "completed": False, "passed": False, "totalDuration": 0, "lastAttemptAt": None}


def test_progress_on_all_content(live_server: LiveServer, small: dict) -> None:
    progress = get(live_server, "/progress", userId="ben")["progress"]
    assert progress == [  # most recently active first
        {"userId": "ben", "contentId": "video", "attempts": 1, "bestScore": 0, "lastScore": 0,
         "completed": False, "passed": False, "totalDuration": 0, "lastAttemptAt": at(50)},
        {"userId": "ben", "contentId": "quiz", "attempts": 1, "bestScore": 75.0, "lastScore": 75.0,
         "completed": True, "passed": True, "totalDuration": 30.0, "lastAttemptAt": at(13)},
    ]
    assert [entry["contentId"] for entry in get(live_server, "/progress", token=ANN_TOKEN)["progress"]] == [
        "maths", "poem", "video", "quiz"]


def test_class_analytics_aggregate_the_grouping(live_server: LiveServer, small: dict) -> None:
    data = get(live_server, "/analytics/class/5B")
    assert data.pop("lastUpdated") and data["contents"][0].pop("lastUpdated")
    assert data == {
        "classId": "5B", "groupingId": BASE + "/h5p/classes/5B", "totalLearners": 2,
        "totalAttempts": 3, "totalCompletions": 3, "averageScore": 75.0, "averageDuration": 60.0, "passRate": 66.67,
        "contents": [{"contentId": "quiz", "totalAttempts": 3, "totalCompletions": 3, "averageScore": 75.0,
                      "averageDuration": 60.0, "passRate": 66.67}],
        "learners": [
            {"userId": "ann", "totalContentsAttempted": 1, "totalContentsCompleted": 1, "averageScore": 75.0,
             "strongAreas": [], "weakAreas": [], "learningTime": 150.0},
            {"userId": "ben", "totalContentsAttempted": 1, "totalContentsCompleted": 1, "averageScore": 75.0,
             "strongAreas": [], "weakAreas": [], "learningTime": 30.0},
        ],
    }
    by_iri = get(live_server, "/analytics/class", groupingId=BASE + "/h5p/classes/5B")
    assert by_iri["classId"] is None and by_iri["totalLearners"] == 2 and by_iri["totalAttempts"] == 3


def test_analytics_follow_statements_posted_through_the_adapter(live_server: LiveServer, app: Any) -> None:
    for body in ({"contentId": "abc123", "verb": "attempted"},
                 {"contentId": "abc123", "verb": "completed", "score": {"scaled": 0.85, "raw": 17, "max": 20},
                  "success": True, "completion": True, "duration": 120, "response": "answer-data"},
                 {"contentId": "abc123", "verb": "passed"}):
        requests.post(live_server.url + "/api/xapi/h5p-event", json=body, timeout=10,
                      headers={"Authorization": f"Bearer {ANN_TOKEN}"}).raise_for_status()
    progress = get(live_server, "/progress/abc123", token=ANN_TOKEN)
    assert progress.pop("lastAttemptAt")
    assert progress == {"userId": "ann", "contentId": "abc123", "attempts": 1, "bestScore": 85.0,
                        "lastScore": 85.0, "completed": True, "passed": True, "totalDuration": 120.0}


def strict_json(text: str) -> Any:
    """JSON as a browser's JSON.parse reads it: NaN and Infinity are no JSON values."""
    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is not JSON")
    return json.loads(text, parse_constant=refuse)


def test_a_score_range_spanning_every_double_is_a_percentage_not_nan(app: Any) -> None:
    """(raw - min) / (max - min) overflowed to infinity / infinity for min -1.7e308 and max 1.7e308,
    both valid xAPI: NaN, which spoilt every average it joined and made the answers invalid JSON
    ("averageScore": NaN) for every reader of that content, class or learner."""
    store(app, [statement("ann", "completed", "wide", 1, class_id="5B", raw=1.7e308, min=-1.7e308, max=1.7e308),
                statement("ben", "completed", "wide", 2, class_id="5B", raw=0, min=-1.7e308, max=1.7e308)])
    client = app.test_client()

    def data(path: str, token: str = TEACHER_TOKEN) -> dict:
        response = client.get("/api/xapi" + path, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.get_data(as_text=True)
        return strict_json(response.get_data(as_text=True))["data"]

    assert data("/analytics/content/wide")["averageScore"] == 75.0  # (100 + 50) / 2
    assert data("/analytics/class/5B")["averageScore"] == 75.0
    assert data("/analytics/user?userId=ben")["averageScore"] == 50.0
    progress = data("/progress/wide", token=ANN_TOKEN)
    assert progress["bestScore"] == progress["lastScore"] == 100.0


# -- more than 1,000 generated statements --------------------------------------------------------------

CONTENTS = [f"content-{n}" for n in range(8)]
CLASSES = ["3A", "3B", "4A"]


def generated(rng: random.Random, learners: int = 50) -> Iterator[dict]:
    """Each learner makes 0-2 attempts at each content; some are completed with a score."""
    minute = 0
    for n in range(learners):
        user, class_id = f"learner-{n:02d}", CLASSES[n % len(CLASSES)]
        for content in CONTENTS:
            for _ in range(rng.randint(0, 2)):
                minute += 1
                yield statement(user, "attempted", content, minute, class_id=class_id)
                if rng.random() < 0.3:
                    minute += 1
                    yield statement(user, "interacted", content, minute, class_id=class_id)
                if rng.random() < 0.7:
                    scaled, seconds = rng.randint(0, 100) / 100, rng.randint(10, 900)
                    minute += 1
                    yield statement(user, "completed", content, minute, scaled=scaled, seconds=seconds,
                                    class_id=class_id)
                    minute += 1
                    yield statement(user, "passed" if scaled >= 0.5 else "failed", content, minute, class_id=class_id)


class Expected:
    """The analytics definitions in plain Python, one statement at a time."""

    def __init__(self, statements: list[dict]):
        self.rows: dict[tuple[str, str], dict[str, Any]] = defaultdict(lambda: {
            "attempts": 0, "scores": [], "durations": [], "completed": False, "passed": 0, "failed": 0, "last": None})
        self.classes: dict[str, set[str]] = defaultdict(set)
        for s in statements:
            user, content = s["actor"]["account"]["name"], s["object"]["id"].rsplit("/", 1)[1]
            verb, row = s["verb"]["id"].rsplit("/", 1)[1], self.rows[(user, content)]
            self.classes[s["context"]["contextActivities"]["grouping"][0]["id"].rsplit("/", 1)[1]].add(user)
            row["last"] = s["timestamp"]
            row["attempts"] += verb == "attempted"
            row["passed"] += verb == "passed"
            row["failed"] += verb == "failed"
            if verb == "completed":
                row["completed"] = True
                row["scores"].append(s["result"]["score"]["scaled"] * 100)
                row["durations"].append(int(s["result"]["duration"][2:-1]))

    def content(self, content: str, users: set[str] | None = None) -> dict:
        rows = [row for (user, c), row in self.rows.items() if c == content and (users is None or user in users)]
        return self._totals(rows)

    def _totals(self, rows: list[dict]) -> dict:
        scores = [score for row in rows for score in row["scores"]]
        durations = [seconds for row in rows for seconds in row["durations"]]
        passed, failed = sum(row["passed"] for row in rows), sum(row["failed"] for row in rows)
        return {"totalAttempts": sum(row["attempts"] for row in rows), "totalCompletions": len(scores),
                "averageScore": _mean(scores), "averageDuration": _mean(durations),
                "passRate": 100 * passed / (passed + failed) if passed + failed else 0}

    def learner(self, user: str) -> dict:
        rows = {content: row for (u, content), row in self.rows.items() if u == user}
        averages = {content: _mean(row["scores"]) for content, row in rows.items() if row["scores"]}
        return {
            "userId": user,
            "totalContentsAttempted": len(rows),
            "totalContentsCompleted": sum(row["completed"] for row in rows.values()),
            "averageScore": _mean([score for row in rows.values() for score in row["scores"]]),
            "strongAreas": sorted((c for c in averages if averages[c] >= 80), key=lambda c: (-averages[c], c)),
            "weakAreas": sorted((c for c in averages if averages[c] < 50), key=lambda c: (averages[c], c)),
            "learningTime": sum(sum(row["durations"]) for row in rows.values()),
        }

    def progress(self, user: str, content: str) -> dict:
        row = self.rows[(user, content)]
        return {"userId": user, "contentId": content, "attempts": row["attempts"],
                "bestScore": max(row["scores"], default=0), "lastScore": (row["scores"] or [0])[-1],
                "completed": row["completed"], "passed": row["passed"] > 0, "totalDuration": sum(row["durations"]),
                "lastAttemptAt": row["last"]}


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0


def approx(expected: dict) -> dict:
    return {key: pytest.approx(value, abs=0.006) if isinstance(value, float) else value
            for key, value in expected.items()}


@pytest.fixture
def thousand(app: Any) -> tuple[Any, Expected]:
    statements = list(generated(random.Random(20260325)))
    assert len(statements) >= 1000
    store(app, statements)
    return app.test_client(), Expected(statements)


def data(client: Any, path: str, **params: str) -> Any:
    response = client.get("/api/xapi" + path, query_string=params,
                          headers={"Authorization": f"Bearer {TEACHER_TOKEN}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["data"]


def test_analytics_over_a_thousand_statements_match_a_plain_computation(thousand: tuple[Any, Expected]) -> None:
    client, expected = thousand
    for content in CONTENTS:
        got = data(client, f"/analytics/content/{content}")
        assert got.pop("lastUpdated") is not None
        assert got == {"contentId": content, **approx(expected.content(content))}
    for user in ("learner-00", "learner-07", "learner-49"):
        assert data(client, "/analytics/user", userId=user) == approx(expected.learner(user))
        for entry in data(client, "/progress", userId=user)["progress"]:
            want = expected.progress(user, entry["contentId"])
            assert entry["lastAttemptAt"][:19] == want.pop("lastAttemptAt")[:19]
            entry.pop("lastAttemptAt")
            assert entry == approx(want)
    for class_id in CLASSES:
        got = data(client, f"/analytics/class/{class_id}")
        users = expected.classes[class_id]
        assert got["totalLearners"] == len(users)
        assert {k: got[k] for k in ("totalAttempts", "totalCompletions", "averageScore", "averageDuration",
                                    "passRate")} == approx(expected._totals(
                                        [row for (u, _), row in expected.rows.items() if u in users]))
        assert [row["userId"] for row in got["learners"]] == sorted(users)
        assert got["learners"][0] == approx(expected.learner(got["learners"][0]["userId"]))
        for entry in got["contents"]:
            entry.pop("lastUpdated")
            assert entry == {"contentId": entry["contentId"], **approx(expected.content(entry["contentId"], users))}


def test_content_and_class_analytics_read_each_statement_once_into_one_group(sent_commands: Any, shared_store: str,
                                                                             make_app: Any) -> None:
    """On MongoDB (here the embedded store over the wire protocol) each matched statement goes
    straight into the pipeline's one `$group`: no `$project`, `$addFields` or `$sort` of every
    statement before it, which on the embedded store cost more than the grouping itself (content
    and class analytics over 4,000 and 2,500 statements took 51-113 ms). The figures are those of
    the small data set, computed by hand above."""
    app = make_app(plugins="h5p", h5p_base_url=BASE, mongo_uri=shared_store)
    app.extensions["lrs"].create_credential("teacher-1", "teacher-secret", ["h5p/read"])
    store_small(app)
    client = app.test_client()
    sent_commands.commands.clear()
    content = data(client, "/analytics/content/quiz")
    assert (content["totalAttempts"], content["totalCompletions"], content["averageScore"], content["passRate"]) == (
        3, 3, 75.0, 66.67)
    group = data(client, "/analytics/class/5B")
    assert (group["totalLearners"], group["averageDuration"], [entry["userId"] for entry in group["learners"]]) == (
        2, 60.0, ["ann", "ben"])
    pipelines = [command["pipeline"] for command in sent_commands.named("aggregate")]
    assert [[next(iter(stage)) for stage in pipeline] for pipeline in pipelines] == [["$match", "$group"]] * 2
