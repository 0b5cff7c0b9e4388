import pytest
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from lrs.xapi.formats import format_statement

from .builders import AGENT, VERB, statement

INTERACTION = {"objectType": "Activity", "id": "http://example.com/q1",
               "definition": {"name": {"en-US": "Question", "en-GB": "Question (GB)", "fr": "Question (fr)"},
                              "description": {"en-US": "Pick one"}, "type": "http://example.com/types/q",
                              "interactionType": "choice", "correctResponsesPattern": ["a"],
                              "choices": [{"id": "a", "description": {"fr": "A", "en-GB": "A (GB)"}}, {"id": "b"}]}}
IDENTIFIED = {"objectType": "Group", "name": "Team", "mbox": "mailto:team@example.com", "member": [AGENT]}
ANONYMOUS = {"objectType": "Group", "name": "Ad hoc", "member": [AGENT, {"name": "Bo", "openid": "http://o.example.org/bo"}]}
FULL = statement(actor=ANONYMOUS, object={"objectType": "SubStatement", "actor": IDENTIFIED, "verb": VERB,
                                          "object": INTERACTION},
                 authority=AGENT, context={"instructor": AGENT, "team": IDENTIFIED,
                                           "contextActivities": {"parent": [INTERACTION]}})


def test_exact_is_the_stored_statement():
    assert format_statement(FULL, "exact", [("en-GB", 1)], "2.0.0") is FULL


def test_ids_keeps_only_identifiers():
    ids = format_statement(FULL, "ids", [], "2.0.0")
    assert ids["actor"] == {"objectType": "Group", "member": [
        {"objectType": "Agent", "mbox": "mailto:ann@example.com"}, {"openid": "http://o.example.org/bo"}]}
    assert ids["verb"] == {"id": VERB["id"]}
    assert ids["object"]["actor"] == {"objectType": "Group", "mbox": "mailto:team@example.com"}
    assert ids["object"]["object"] == {"id": INTERACTION["id"]}
    assert ids["object"]["objectType"] == "SubStatement"
    assert ids["context"]["team"] == {"objectType": "Group", "mbox": "mailto:team@example.com"}
    assert ids["context"]["contextActivities"] == {"parent": [{"id": INTERACTION["id"]}]}
    assert ids["authority"] == {"objectType": "Agent", "mbox": "mailto:ann@example.com"}


def test_canonical_keeps_agents_and_one_language_per_map():
    canonical = format_statement(FULL, "canonical", [("en-GB", 1), ("en", 1)], "2.0.0")
    assert canonical["actor"] == ANONYMOUS and canonical["object"]["actor"] == IDENTIFIED
    assert canonical["verb"] == {"id": VERB["id"], "display": {"en-GB": "attended"}}
    definition = canonical["object"]["object"]["definition"]
    assert definition["name"] == {"en-GB": "Question (GB)"}
    assert definition["description"] == {"en-US": "Pick one"}  # no en-GB: "en" matches en-US
    assert definition["choices"] == [{"id": "a", "description": {"en-GB": "A (GB)"}}, {"id": "b"}]
    assert definition["type"] == INTERACTION["definition"]["type"]
    assert canonical["context"]["contextActivities"]["parent"][0]["definition"]["name"] == {"en-GB": "Question (GB)"}
    assert FULL["verb"]["display"] == VERB["display"]  # not mutated


@pytest.mark.parametrize("header, expected", [
    ("", "en-US"), ("de", "en-US"), ("FR", "fr"), ("*", "en-US"), ("de, fr", "fr"), ("de, fr;q=0.5, en-GB;q=0.7", "en-GB"),
    # quality 0 excludes (RFC 2616 14.4): never chosen while another entry is not excluded
    ("en-US;q=0", "en-GB"), ("en;q=0", "fr"), ("en-US;q=0, *", "en-GB"), ("*, en;q=0", "fr"),
    ("en, en-US;q=0", "en-GB"), ("fr;q=0, en-GB;q=0, en-US;q=0", "en-US"),  # all excluded: one is still shown
])
def test_canonical_language_choice(header, expected):
    languages = list(parse_accept_header(header, LanguageAccept))  # as request.accept_languages gives them
    canonical = format_statement(statement(object=INTERACTION), "canonical", languages, "2.0.0")
    assert list(canonical["object"]["definition"]["name"]) == [expected]


def test_unknown_format_is_a_programming_error():
    with pytest.raises(ValueError):
        format_statement(statement(), "full", [], "2.0.0")
