import copy
import datetime as dt
import uuid

import pytest

from lrs.xapi.prepare import prepare_statement, stored_times

from .builders import ACTIVITY, AGENT, statement, substatement

STORED = dt.datetime(2026, 11, 23, 8, 20, 4, 123456, tzinfo=dt.timezone.utc)
AUTHORITY = {"objectType": "Agent", "account": {"homePage": "http://lrs.example.com", "name": "client"}}


def prepare(s, version="1.0.3"):
    prepared = prepare_statement(s, authority=AUTHORITY, version=version)
    return {**prepared, **stored_times(prepared, STORED)}


def test_lrs_set_properties_are_added():
    prepared = prepare(statement())
    assert uuid.UUID(prepared["id"]).version == 4
    assert prepared["stored"] == prepared["timestamp"] == "2026-11-23T08:20:04.123Z"
    assert prepared["authority"] == AUTHORITY
    assert prepared["version"] == "1.0.0"


def test_2_0_statements_default_to_version_2_0_0():
    assert prepare(statement(), "2.0.0")["version"] == "2.0.0"


def test_a_null_2_0_timestamp_becomes_stored():
    assert prepare(statement(timestamp=None), "2.0.0")["timestamp"] == "2026-11-23T08:20:04.123Z"


def test_given_values_are_kept_or_normalised():
    given = statement(id="FD41C918-B88B-4B20-A0A5-A4C32391AAA0", version="1.0.3",
                      timestamp="2013-05-18T07:32:34.80456+02:00", stored="2000-01-01T00:00:00Z",
                      authority={"mbox": "mailto:spoof@example.com"})
    prepared = prepare(given)
    assert prepared["id"] == "fd41c918-b88b-4b20-a0a5-a4c32391aaa0"
    assert prepared["version"] == "1.0.3"
    assert prepared["timestamp"] == "2013-05-18T05:32:34.804Z"
    assert prepared["stored"] == "2026-11-23T08:20:04.123Z"
    assert prepared["authority"] == AUTHORITY


def test_context_activities_become_arrays_in_statements_and_substatements():
    context = {"contextActivities": {"parent": ACTIVITY, "other": [ACTIVITY]},
               "registration": "FD41C918-B88B-4B20-A0A5-A4C32391AAA0"}
    prepared = prepare(substatement(context=context, timestamp="2099-01-01T01:00:00+01:00"))
    sub = prepared["object"]
    assert sub["context"]["contextActivities"] == {"parent": [ACTIVITY], "other": [ACTIVITY]}
    assert sub["context"]["registration"] == "fd41c918-b88b-4b20-a0a5-a4c32391aaa0"
    assert sub["timestamp"] == "2099-01-01T00:00:00.000Z"
    assert "id" not in sub and "stored" not in sub


def test_statement_refs_are_lowercased():
    ref = {"objectType": "StatementRef", "id": "FD41C918-B88B-4B20-A0A5-A4C32391AAA0"}
    prepared = prepare(statement(object=ref, context={"statement": ref}))
    assert prepared["object"]["id"] == prepared["context"]["statement"]["id"] == ref["id"].lower()


@pytest.mark.parametrize("version", ["1.0.3", "2.0.0"])
def test_input_is_not_mutated(version):
    given = substatement(context={"contextActivities": {"parent": ACTIVITY}}, timestamp="2099-01-01T00:00:00Z")
    given["context"] = {"contextActivities": {"grouping": ACTIVITY}, "instructor": AGENT}
    before = copy.deepcopy(given)
    prepare(given, version)
    assert given == before
