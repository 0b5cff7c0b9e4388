"""H5P analytics never show one learner's figures to another: a learner sees a content's
aggregates only when each figure covers enough other learners (LRS_H5P_MIN_GROUP_SIZE) or none, and
class membership is self-declared: a learner can put only themself in a class.
"""
from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.conftest import LiveServer
from tests.plugins.test_h5p_analytics import BASE, TEACHER_TOKEN, statement, store

ANN_TOKEN = "ann:ann-secret"


@pytest.fixture
def app(make_app: Any) -> Any:
    app = make_app(plugins="h5p", h5p_base_url=BASE, h5p_min_group_size=2)
    lrs = app.extensions["lrs"]
    lrs.create_credential("teacher-1", "teacher-secret", ["h5p/read"])
    lrs.create_credential("ann", "ann-secret", ["h5p"])
    return app


def content_analytics(server: LiveServer, token: str) -> requests.Response:
    return requests.get(server.url + "/api/xapi/analytics/content/quiz", timeout=10,
                        headers={"Authorization": f"Bearer {token}"})


def test_a_learner_never_sees_another_learners_score_through_an_average(app: Any, live_server: LiveServer) -> None:
    store(app, [statement("ann", "completed", "quiz", 1, scaled=0.5)])
    alone = content_analytics(live_server, ANN_TOKEN)  # only her own data: shown, as docs/h5p.md says
    assert alone.status_code == 200 and alone.json()["data"]["averageScore"] == 50.0
    store(app, [statement("ben", "completed", "quiz", 2, scaled=0.9), statement("ben", "passed", "quiz", 3)])
    refused = content_analytics(live_server, ANN_TOKEN)  # the only other learner is ben: his 90 % would show
    assert refused.status_code == 403
    assert "LRS_H5P_MIN_GROUP_SIZE" in refused.json()["error"]
    assert content_analytics(live_server, TEACHER_TOKEN).json()["data"]["averageScore"] == 70.0
    store(app, [statement("cat", "completed", "quiz", 4, scaled=0.7)])
    refused = content_analytics(live_server, ANN_TOKEN)  # two completers, but ben alone passed or failed
    assert refused.status_code == 403
    store(app, [statement("cat", "failed", "quiz", 5)])
    shown = content_analytics(live_server, ANN_TOKEN)
    assert shown.status_code == 200
    assert shown.json()["data"]["averageScore"] == 70.0 and shown.json()["data"]["passRate"] == 50.0


def test_a_learner_declares_only_their_own_class(app: Any, live_server: LiveServer) -> None:
    headers = {"Authorization": f"Bearer {ANN_TOKEN}"}
    event = {"contentId": "quiz", "verb": "completed", "classId": "7C", "score": {"scaled": 0.8}}
    assert requests.post(live_server.url + "/api/xapi/h5p-event", json=event, headers=headers, timeout=10).ok
    as_ben = statement("ben", "completed", "quiz", 1, scaled=0.1, class_id="7C")
    assert requests.post(live_server.url + "/api/xapi/statements", json=as_ben, headers=headers, timeout=10).ok
    data = requests.get(live_server.url + "/api/xapi/analytics/class/7C", timeout=10,
                        headers={"Authorization": f"Bearer {TEACHER_TOKEN}"}).json()["data"]
    assert [learner["userId"] for learner in data["learners"]] == ["ann"]
