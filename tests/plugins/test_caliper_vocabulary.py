"""The Caliper 1.2 data tables are consistent, and the value formats behave as documented."""
from __future__ import annotations

import datetime as dt
import uuid

import pytest

from lrs_plugins.caliper import model
from lrs_plugins.caliper import vocabulary as v
from lrs_plugins.caliper.mapping import EVENT_VERBS, VERBS, verb_id
from lrs_plugins.caliper.values import parse_datetime, session_uuid, statement_id


def test_every_rule_names_known_terms() -> None:
    for rule in v.RULES:
        assert rule.profile in v.PROFILES, rule
        assert rule.actions <= v.ACTIONS, rule
        for kind in (*rule.actor, *rule.object, *rule.generated):
            assert kind in model.ENTITY_TYPES, (rule, kind)
        assert rule.event in model.EVENT_TYPES, rule
        assert set(rule.requires) <= set(model.properties(rule.event)), rule


def test_every_profile_has_rules_and_every_parent_is_a_type() -> None:
    assert {rule.profile for rule in v.RULES} == set(v.PROFILES)
    assert {d.parent for d in model.ENTITIES.values()} - {None} <= model.ENTITY_TYPES
    assert {d.parent for d in model.EVENTS.values()} - {None} <= model.EVENT_TYPES


def test_every_property_spec_names_known_types() -> None:
    """Each spec of the model is one the validator reads: a scalar, a term list or entity types."""
    from lrs_plugins.caliper.validation import SCALARS
    for definition in (*model.ENTITIES.values(), *model.EVENTS.values()):
        for name, spec in definition.properties.items():
            inner = spec.rstrip("!").strip("[]")
            if inner.startswith("Term:"):
                assert inner[5:] in model.TERMS, (name, spec)
            elif inner not in SCALARS:
                assert set(inner.split("|")) <= model.ENTITY_TYPES, (name, spec)


def test_verb_tables_only_name_caliper_actions() -> None:
    assert set(VERBS) <= v.ACTIONS
    assert {action for _, action in EVENT_VERBS} <= v.ACTIONS
    assert {kind for kind, _ in EVENT_VERBS} <= model.EVENT_TYPES


@pytest.mark.parametrize("kind,allowed,expected", [
    ("CourseSection", ("Organization",), True),
    ("TimebackUser", ("Person",), True),
    ("VideoObject", ("DigitalResource",), True),
    ("AssessmentItem", ("AssignableDigitalResource",), True),
    ("Person", ("SoftwareApplication",), False),
    ("Session", ("Entity",), True),
])
def test_type_hierarchy(kind: str, allowed: tuple[str, ...], expected: bool) -> None:
    assert model.is_a(kind, allowed) is expected


def test_action_spellings_of_the_spec_and_its_context_are_one_action() -> None:
    assert verb_id("ThreadEvent", "MarkedAsUnRead") == verb_id("ThreadEvent", "MarkedAsUnread") == \
        "http://purl.imsglobal.org/caliper/actions/MarkedAsUnread"


def test_statement_ids() -> None:
    assert statement_id("urn:uuid:C51570E4-F8ED-4C18-BB3A-DFE51B2CC594") == "c51570e4-f8ed-4c18-bb3a-dfe51b2cc594"
    derived = statement_id("urn:uuid:my-event-42")
    assert uuid.UUID(derived).version == 5 and derived == statement_id("urn:uuid:my-event-42")
    assert session_uuid("https://example.edu/sessions/1") != session_uuid("https://example.edu/sessions/2")


@pytest.mark.parametrize("text,expected", [
    ("2026-02-26T15:00:00Z", dt.datetime(2026, 2, 26, 15, tzinfo=dt.timezone.utc)),
    ("2026-02-26T15:00:00.250Z", dt.datetime(2026, 2, 26, 15, 0, 0, 250000, tzinfo=dt.timezone.utc)),
    ("2026-02-26T16:00:00+01:00", dt.datetime(2026, 2, 26, 15, tzinfo=dt.timezone.utc)),
    ("2026-02-26T15:00:00", None),
    ("2026-02-26T15:00:00-00:00", None),  # RFC 3339's "unknown local offset"
    (["2026-02-26T15:00:00Z"], None),
    ("2026-02-30T15:00:00Z", None),
    ("2026-02-26", None),
    (1772118000, None),
])
def test_date_times(text: object, expected: dt.datetime | None) -> None:
    assert parse_datetime(text) == expected
