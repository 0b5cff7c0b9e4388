"""TinCanPython, a standard xAPI client library, against the live server over real HTTP."""
from __future__ import annotations

import uuid

from tincan import Activity, Agent, Context, ContextActivities, RemoteLRS, Statement, StatementRef, Verb

from tests.conftest import ADMIN_KEY, ADMIN_SECRET

COMPLETED = Verb(id="http://adlnet.gov/expapi/verbs/completed", display={"en-US": "completed"})
VOIDED = Verb(id="http://adlnet.gov/expapi/verbs/voided", display={"en-US": "voided"})
ADA = Agent(name="Ada", mbox="mailto:ada@example.com")


def remote(live_server) -> RemoteLRS:
    return RemoteLRS(endpoint=live_server.url + "/xapi/", version="1.0.3", username=ADMIN_KEY, password=ADMIN_SECRET)


def completed(n: int) -> Statement:
    return Statement(actor=ADA, verb=COMPLETED, object=Activity(id=f"http://example.com/activities/{n}"))


def test_save_batch_query_page_void_and_retrieve_voided(live_server):
    lrs = remote(live_server)
    assert lrs.about().success

    saved = lrs.save_statement(completed(0))
    assert saved.success, saved.data
    single = lrs.retrieve_statement(saved.content.id)
    assert single.success and single.content.object.id == "http://example.com/activities/0"

    batch = lrs.save_statements([completed(n) for n in range(1, 6)])
    assert batch.success, batch.data
    assert all(s.id for s in batch.content)

    page = lrs.query_statements({"agent": ADA, "verb": COMPLETED, "limit": 2})
    assert page.success, page.data
    seen = [s.id for s in page.content.statements]
    for _ in range(5):
        if not page.content.more:
            break
        page = lrs.more_statements(page.content)
        assert page.success, page.data
        seen += [s.id for s in page.content.statements]
    assert len(seen) == 6 and len(set(seen)) == 6

    voiding = lrs.save_statement(Statement(actor=ADA, verb=VOIDED, object=StatementRef(id=saved.content.id)))
    assert voiding.success, voiding.data
    assert not lrs.retrieve_statement(saved.content.id).success
    voided = lrs.retrieve_voided_statement(saved.content.id)
    assert voided.success and voided.content.id == saved.content.id


def test_put_with_client_id_is_idempotent(live_server):
    lrs = remote(live_server)
    statement = completed(9)
    statement.id = str(uuid.uuid4())
    assert lrs.save_statement(statement).success
    assert lrs.save_statement(statement).success
    assert lrs.retrieve_statement(statement.id).content.id == statement.id


def test_boolean_parameters_as_tincanpython_sends_them(live_server):
    """TinCanPython writes booleans with str(): `True`, which ADL's reference LRS takes too."""
    lrs = remote(live_server)
    course = Activity(id="http://example.com/course")
    lesson = Statement(actor=ADA, verb=COMPLETED, object=Activity(id="http://example.com/lesson"))
    lesson.context = Context(context_activities=ContextActivities(parent=[course]))
    assert lrs.save_statement(lesson).success
    related = lrs.query_statements({"activity": course, "related_activities": True, "ascending": False})
    assert related.success, related.data
    assert [s.object.id for s in related.content.statements] == ["http://example.com/lesson"]
    direct = lrs.query_statements({"activity": course, "related_activities": False})
    assert direct.success and direct.content.statements == []
