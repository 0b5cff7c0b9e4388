import datetime as dt

import pytest

from lrs.xapi.equality import same_statement
from lrs.xapi.prepare import prepare_statement, stored_times

from .builders import ACTIVITY, AGENT, DELETE, at, statement, substatement

UUID = "fd41c918-b88b-4b20-a0a5-a4c32391aaa0"
GROUP = {"objectType": "Group", "member": [{"mbox": "mailto:a@example.com"}, {"mbox": "mailto:b@example.com"}]}
BASE = statement(id=UUID, actor=GROUP, result={"duration": "PT1.2371S"},
                 context={"registration": UUID, "language": "en-US",
                          "contextActivities": {"parent": ACTIVITY, "grouping": [{"id": "http://ex.com/1"},
                                                                                 {"id": "http://ex.com/2"}]}})


def test_a_statement_is_the_same_as_its_stored_form():
    prepared = prepare_statement(BASE, authority=AGENT, version="1.0.3")
    stored = {**prepared, **stored_times(prepared, dt.datetime.now(dt.timezone.utc))}
    assert same_statement(BASE, stored) and same_statement(stored, BASE)


@pytest.mark.parametrize("path, value", [
    ("id", "00000000-0000-4000-8000-000000000000"),
    ("timestamp", "2001-01-01T00:00:00Z"),
    ("stored", "2001-01-01T00:00:00Z"),
    ("authority", {"mbox": "mailto:other@example.com"}),
    ("version", "1.0.3"),
    ("attachments", []),
    ("verb.display", {"fr": "assisté"}),
    ("object.definition", {"name": {"en-US": "Other name"}}),
    ("context.contextActivities.parent", [{**ACTIVITY, "definition": {}}]),
    ("actor.member", list(reversed(GROUP["member"]))),
    ("actor.member.0.mbox", "mailto:a@EXAMPLE.com"),
    ("context.registration", UUID.upper()),
    ("context.language", "en-us"),
    ("result.duration", "PT1.23S"),
])
def test_allowed_differences_are_ignored(path, value):
    assert same_statement(BASE, at(BASE, path, value))


@pytest.mark.parametrize("path, value", [
    ("actor.member.0.mbox", "mailto:A@example.com"),
    ("verb.id", "http://example.com/verbs/other"),
    ("object.id", "http://example.com/other"),
    ("object.objectType", DELETE),  # a serialization difference the exceptions do not list
    ("result.duration", "PT1.24S"),
    ("result.success", True),
    ("context.contextActivities.grouping", [{"id": "http://ex.com/2"}, {"id": "http://ex.com/1"}]),
    ("context.platform", "web"),
    ("actor.member", [{"mbox": "mailto:a@example.com"}]),
])
def test_other_differences_count(path, value):
    assert not same_statement(BASE, at(BASE, path, value))


def test_substatement_timestamps_compare_as_instants():
    a = substatement(timestamp="2099-01-01T01:00:00+01:00")
    assert same_statement(a, substatement(timestamp="2099-01-01T00:00:00.000Z"))
    assert not same_statement(a, substatement(timestamp="2099-01-01T01:00:00Z"))
    assert not same_statement(a, substatement())


def test_statement_refs_compare_case_insensitively():
    ref = {"objectType": "StatementRef", "id": UUID}
    assert same_statement(statement(object=ref), statement(object={**ref, "id": UUID.upper()}))
