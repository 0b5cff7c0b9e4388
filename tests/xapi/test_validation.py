"""validate_statement(s): each rule of xAPI Data 2 (1.0.3) and 9274.1.1 4.2 (2.0), valid and invalid."""
import pytest

from lrs.xapi.errors import XAPIValidationError
from lrs.xapi.validation import validate_agent, validate_statement, validate_statements

from .builders import ACTIVITY, AGENT, DELETE, SHA256, VERB, at, statement, substatement

BOTH = ["1.0.3", "2.0.0"]
GROUP = {"objectType": "Group", "name": "Team", "member": [AGENT, {"mbox_sha1sum": "a" * 40}]}
IDENTIFIED = {"objectType": "Group", "account": {"homePage": "http://lms.example.com", "name": "team-1"}}
ATTACHMENT = {"usageType": "http://adlnet.gov/expapi/attachments/signature", "display": {"en-US": "Signature"},
              "contentType": "application/octet-stream", "length": 10, "sha2": SHA256}
INTERACTION = {"interactionType": "choice", "correctResponsesPattern": ["golf[,]tetris"],
               "choices": [{"id": "golf", "description": {"en-US": "Golf"}}, {"id": "tetris"}]}
UUID = "fd41c918-b88b-4b20-a0a5-a4c32391aaa0"


def defined(**changes):
    """A statement whose Activity definition has these properties changed."""
    return at(statement(), "object.definition", {**ACTIVITY["definition"], **changes})


def attached(**changes):
    """A statement with one attachment, its properties changed (DELETE removes one)."""
    attachment = {key: value for key, value in {**ATTACHMENT, **changes}.items() if value is not DELETE}
    return statement(attachments=[attachment])

VALID = {
    "minimal": statement(),
    "all statement properties": statement(
        id=UUID, timestamp="2013-05-18T05:32:34.804+00:00", stored="2013-05-18T05:32:34.804Z",
        authority={"objectType": "Agent", "account": {"homePage": "http://lrs.example.com", "name": "app"}},
        version="1.0.0", attachments=[ATTACHMENT],
        result={"score": {"scaled": 0.5, "raw": 5, "min": 0, "max": 10}, "success": True, "completion": False,
                "response": "ok", "duration": "PT4H35M59.14S", "extensions": {"http://ex.com/x": None}},
        context={"registration": UUID, "instructor": AGENT, "team": GROUP, "revision": "2", "platform": "web",
                 "language": "en-US", "statement": {"objectType": "StatementRef", "id": UUID},
                 "extensions": {"http://ex.com/y": {"any": ["json", 1, None]}},
                 "contextActivities": {"parent": {"id": "http://ex.com/p"}, "grouping": [{"id": "http://ex.com/g"}],
                                       "category": [], "other": [{"objectType": "Activity", "id": "http://ex.com/o"}]}}),
    "uppercase uuid": statement(id=UUID.upper()),
    "no objectType on actor": statement(actor={"mbox": "mailto:a@example.com"}),
    "mbox_sha1sum actor": statement(actor={"mbox_sha1sum": "ABCDEF0123" * 4}),
    "openid actor": statement(actor={"openid": "http://openid.example.org/12345"}),
    "account actor": statement(actor={"account": {"homePage": "http://www.example.com", "name": "1625378"}}),
    "anonymous group actor": statement(actor=GROUP),
    "anonymous group with no members listed": statement(actor={"objectType": "Group", "member": []}),
    "identified group actor": statement(actor=IDENTIFIED),
    "identified group with members": statement(actor={**IDENTIFIED, "member": [AGENT]}),
    "verb without display": statement(verb={"id": "http://example.com/verbs/x"}),
    "unicode IRI": statement(verb={"id": "http://example.com/فعل/خواندن"}),
    "activity without objectType": statement(object={"id": "http://example.com/a"}),
    "agent object": statement(object={**AGENT, "objectType": "Agent"}),
    "group object": statement(object=IDENTIFIED),
    "statement ref object": statement(object={"objectType": "StatementRef", "id": UUID}),
    "voiding statement": statement(verb={"id": "http://adlnet.gov/expapi/verbs/voided"},
                                   object={"objectType": "StatementRef", "id": UUID}),
    "substatement": substatement(timestamp="2099-01-01T00:00:00Z", result={"success": True},
                                 context={"platform": "web"}, attachments=[ATTACHMENT]),
    "interaction": at(statement(), "object.definition", {**ACTIVITY["definition"], **INTERACTION}),
    "every interaction type": statement(context={"contextActivities": {"other": [
        {"id": f"http://ex.com/{kind}", "definition": {"interactionType": kind}}
        for kind in ("true-false", "choice", "fill-in", "long-fill-in", "matching", "performance",
                     "sequencing", "likert", "numeric", "other")]}}),
    "matching lists": at(statement(), "object.definition", {
        "interactionType": "matching", "source": [{"id": "a"}], "target": [{"id": "a"}],
        "correctResponsesPattern": []}),
    "definition extensions and moreInfo": at(statement(), "object.definition", {
        "moreInfo": "https://example.com/info", "extensions": {"urn:x:y": 1}}),
    "score scaled bounds": statement(result={"score": {"scaled": -1.0}}),
    "week duration": statement(result={"duration": "P4W"}),
    "duration with years": statement(result={"duration": "P3Y1M29DT4H35M59.14S"}),
    "duration fraction on last part": statement(result={"duration": "PT16559.14S"}),
    "empty language map": statement(verb={"id": "http://example.com/v", "display": {}}),
    "language tag case and script": statement(verb={"id": "http://x.com/v", "display": {"zh-Hans-CN": "x", "EN-us": "y"}}),
    "statement version 1.0": statement(version="1.0"),
    "statement version 1.0.9": statement(version="1.0.9"),
    "oauth authority": statement(authority={"objectType": "Group", "member": [
        {"account": {"homePage": "http://example.com/xAPI/OAuth/Token", "name": "oauth_consumer_x75db"}},
        {"mbox": "mailto:bob@example.com"}]}),
    "attachment with fileUrl and description": statement(attachments=[{
        **ATTACHMENT, "fileUrl": "http://example.com/file", "description": {"en-US": "d"},
        "contentType": "text/plain; charset=utf-8"}]),
}

INVALID = {
    # statement level
    "not an object": ("statement", []),
    "string statement": ("statement", "statement"),
    "missing actor": ("statement.actor", at(statement(), "actor", DELETE)),
    "missing verb": ("statement.verb", at(statement(), "verb", DELETE)),
    "missing object": ("statement.object", at(statement(), "object", DELETE)),
    "unknown property": ("statement.foo", statement(foo=1)),
    "wrong case property": ("statement.Actor", statement(Actor=AGENT)),
    "null property": ("statement.result", statement(result=None)),
    "id not a uuid": ("statement.id", statement(id="not-a-uuid")),
    "id with too many digits": ("statement.id", statement(id=UUID + "0")),
    "id not a string": ("statement.id", statement(id=123)),
    "stored not a timestamp": ("statement.stored", statement(stored="yesterday")),
    "version 1.1.0": ("statement.version", statement(version="1.1.0")),
    "version 0.9.9": ("statement.version", statement(version="0.9.9")),
    "version text": ("statement.version", statement(version="should fail")),
    "timestamp -00:00": ("statement.timestamp", statement(timestamp="2008-09-15T15:53:00.601-00:00")),
    "voiding a non-StatementRef": ("statement.object", statement(verb={"id": "http://adlnet.gov/expapi/verbs/voided"})),
    # actor
    "agent without IFI": ("statement.actor", statement(actor={"objectType": "Agent", "name": "x"})),
    "agent with two IFIs": ("statement.actor", statement(actor={**AGENT, "openid": "http://openid.example.org/1"})),
    "agent objectType lowercase": ("statement.actor.objectType", statement(actor={**AGENT, "objectType": "agent"})),
    "agent null name": ("statement.actor.name", statement(actor={**AGENT, "name": None})),
    "agent unknown property": ("statement.actor.member", statement(actor={**AGENT, "member": []})),
    "mbox without mailto": ("statement.actor.mbox", statement(actor={"mbox": "ann@example.com"})),
    "mbox not an address": ("statement.actor.mbox", statement(actor={"mbox": "mailto:ann"})),
    "mbox_sha1sum too short": ("statement.actor.mbox_sha1sum", statement(actor={"mbox_sha1sum": "abc"})),
    "mbox_sha1sum not hex": ("statement.actor.mbox_sha1sum", statement(actor={"mbox_sha1sum": "g" * 40})),
    "openid not a URI": ("statement.actor.openid", statement(actor={"openid": "not a uri"})),
    "account without homePage": ("statement.actor.account.homePage", statement(actor={"account": {"name": "x"}})),
    "account without name": ("statement.actor.account.name", statement(actor={"account": {"homePage": "http://x.com"}})),
    "account homePage not IRL": ("statement.actor.account.homePage",
                                 statement(actor={"account": {"homePage": "www.x.com", "name": "x"}})),
    "account name not string": ("statement.actor.account.name",
                                statement(actor={"account": {"homePage": "http://x.com", "name": 1}})),
    "account extra property": ("statement.actor.account.id",
                               statement(actor={"account": {"homePage": "http://x.com", "name": "x", "id": 1}})),
    "anonymous group without member": ("statement.actor.member", statement(actor={"objectType": "Group"})),
    "group with two IFIs": ("statement.actor", statement(actor={**IDENTIFIED, "mbox": "mailto:t@example.com"})),
    "group member is a group": ("statement.actor.member[0].objectType", statement(actor={
        "objectType": "Group", "member": [IDENTIFIED]})),
    "group member without IFI": ("statement.actor.member[0]", statement(actor={"objectType": "Group", "member": [{}]})),
    "group member not an array": ("statement.actor.member", statement(actor={"objectType": "Group", "member": AGENT})),
    # verb
    "verb without id": ("statement.verb.id", statement(verb={"display": {"en-US": "x"}})),
    "verb id not IRI": ("statement.verb.id", statement(verb={"id": "ab=c://should.fail.com"})),
    "verb id relative": ("statement.verb.id", statement(verb={"id": "verbs/attended"})),
    "verb id empty": ("statement.verb.id", statement(verb={"id": ""})),
    "verb string": ("statement.verb", statement(verb="http://adlnet.gov/expapi/verbs/attended")),
    "display not a map": ("statement.verb.display", statement(verb={**VERB, "display": "attended"})),
    "display bad tag": ("statement.verb.display.a12345", statement(verb={**VERB, "display": {"a12345": "x"}})),
    "display underscore tag": ("statement.verb.display.en_US", statement(verb={**VERB, "display": {"en_US": "x"}})),
    "display numeric value": ("statement.verb.display.en-US", statement(verb={**VERB, "display": {"en-US": 1}})),
    # object
    "object unknown objectType": ("statement.object.objectType", statement(object={**ACTIVITY, "objectType": "activity"})),
    "activity without id": ("statement.object.id", statement(object={"objectType": "Activity"})),
    "activity id not IRI": ("statement.object.id", statement(object={"id": "not an iri"})),
    "activity unknown property": ("statement.object.name", statement(object={**ACTIVITY, "name": "x"})),
    "agent object without objectType": ("statement.object.objectType", statement(object={"mbox": "mailto:a@b.com"})),
    "statement ref without id": ("statement.object.id", statement(object={"objectType": "StatementRef"})),
    "statement ref bad id": ("statement.object.id", statement(object={"objectType": "StatementRef", "id": "x"})),
    "statement ref extra": ("statement.object.foo", statement(object={"objectType": "StatementRef", "id": UUID, "foo": 1})),
    "substatement with id": ("statement.object.id", substatement(id=UUID)),
    "substatement with stored": ("statement.object.stored", substatement(stored="2013-05-18T05:32:34.804Z")),
    "substatement with version": ("statement.object.version", substatement(version="1.0.0")),
    "substatement with authority": ("statement.object.authority", substatement(authority=AGENT)),
    "nested substatement": ("statement.object.object.objectType", substatement(object={
        "objectType": "SubStatement", "actor": AGENT, "verb": VERB, "object": ACTIVITY})),
    "substatement missing verb": ("statement.object.verb", at(substatement(), "object.verb", DELETE)),
    # activity definition
    "definition name not a map": ("statement.object.definition.name", defined(name="x")),
    "definition type not IRI": ("statement.object.definition.type", defined(type="x")),
    "definition moreInfo not IRL": ("statement.object.definition.moreInfo", defined(moreInfo="x")),
    "definition unknown property": ("statement.object.definition.foo", defined(foo=1)),
    "extension key not IRI": ("statement.object.definition.extensions.key", defined(extensions={"key": 1})),
    "bad interactionType": ("statement.object.definition.interactionType", defined(interactionType="Choice")),
    "components without interactionType": ("statement.object.definition.choices", defined(choices=[])),
    "component list of another type": ("statement.object.definition.scale", at(statement(), "object.definition", {
        "interactionType": "choice", "scale": [{"id": "a"}]})),
    "component without id": ("statement.object.definition.choices[0].id", at(statement(), "object.definition", {
        "interactionType": "choice", "choices": [{"description": {"en-US": "x"}}]})),
    "duplicate component ids": ("statement.object.definition.choices[1].id", at(statement(), "object.definition", {
        "interactionType": "choice", "choices": [{"id": "a"}, {"id": "a"}]})),
    "correctResponsesPattern not strings": ("statement.object.definition.correctResponsesPattern[0]", at(
        statement(), "object.definition", {"interactionType": "numeric", "correctResponsesPattern": [4]})),
    # result
    "result not an object": ("statement.result", statement(result="passed")),
    "score scaled above 1": ("statement.result.score.scaled", statement(result={"score": {"scaled": 1.01}})),
    "score scaled below -1": ("statement.result.score.scaled", statement(result={"score": {"scaled": -1.00001}})),
    "score raw above max": ("statement.result.score.raw", statement(result={"score": {"raw": 11, "max": 10}})),
    "score raw below min": ("statement.result.score.raw", statement(result={"score": {"raw": -1, "min": 0}})),
    "score min above max": ("statement.result.score.min", statement(result={"score": {"min": 5, "max": 4}})),
    "score min equals max": ("statement.result.score.min", statement(result={"score": {"min": 1, "max": 1, "raw": 1}})),
    "score string number": ("statement.result.score.raw", statement(result={"score": {"raw": "5"}})),
    "score boolean number": ("statement.result.score.raw", statement(result={"score": {"raw": True}})),
    "score unknown property": ("statement.result.score.percent", statement(result={"score": {"percent": 5}})),
    "success string": ("statement.result.success", statement(result={"success": "true"})),
    "completion number": ("statement.result.completion", statement(result={"completion": 1})),
    "response number": ("statement.result.response", statement(result={"response": 1})),
    "duration not ISO": ("statement.result.duration", statement(result={"duration": "4 hours"})),
    "duration weeks mixed": ("statement.result.duration", statement(result={"duration": "P4W1D"})),
    "duration alternative format": ("statement.result.duration", statement(result={"duration": "P0003-06-04T12:30:05"})),
    "duration empty time": ("statement.result.duration", statement(result={"duration": "PT"})),
    "duration negative": ("statement.result.duration", statement(result={"duration": "-PT1S"})),
    "duration fraction not last": ("statement.result.duration", statement(result={"duration": "PT1.5M3S"})),
    "duration not ASCII digits": ("statement.result.duration", statement(result={"duration": "P\u0661Y"})),
    "duration past a timedelta": ("statement.result.duration", statement(result={"duration": "P1000000000D"})),
    "result extensions not an object": ("statement.result.extensions", statement(result={"extensions": []})),
    # context
    "registration not uuid": ("statement.context.registration", statement(context={"registration": "x"})),
    "instructor invalid": ("statement.context.instructor", statement(context={"instructor": {"name": "x"}})),
    "team is an agent": ("statement.context.team.objectType", statement(context={"team": AGENT})),
    "contextActivities unknown kind": ("statement.context.contextActivities.parents",
                                       statement(context={"contextActivities": {"parents": []}})),
    "contextActivities string": ("statement.context.contextActivities.parent",
                                 statement(context={"contextActivities": {"parent": "http://ex.com/p"}})),
    "contextActivities activity without id": ("statement.context.contextActivities.other[0].id",
                                              statement(context={"contextActivities": {"other": [{}]}})),
    "revision with agent object": ("statement.context.revision", statement(object={**AGENT, "objectType": "Agent"},
                                                                          context={"revision": "1"})),
    "platform with statement ref": ("statement.context.platform", statement(
        object={"objectType": "StatementRef", "id": UUID}, context={"platform": "web"})),
    "platform in substatement with agent object": ("statement.object.context.platform", substatement(
        object=AGENT, context={"platform": "web"})),
    "revision number": ("statement.context.revision", statement(context={"revision": 1})),
    "language invalid": ("statement.context.language", statement(context={"language": "english?"})),
    "context statement not a ref": ("statement.context.statement.objectType", statement(context={
        "statement": {"id": UUID}})),
    "context unknown property": ("statement.context.foo", statement(context={"foo": 1})),
    # authority
    "authority identified group": ("statement.authority", statement(authority=IDENTIFIED)),
    "authority group of three": ("statement.authority.member", statement(authority={
        "objectType": "Group", "member": [AGENT, {"mbox": "mailto:b@x.com"}, {"mbox": "mailto:c@x.com"}]})),
    "authority group of one": ("statement.authority.member", statement(authority={"objectType": "Group", "member": [AGENT]})),
    # attachments
    "attachments not an array": ("statement.attachments", statement(attachments=ATTACHMENT)),
    "attachment missing sha2": ("statement.attachments[0].sha2", attached(sha2=DELETE)),
    "attachment length string": ("statement.attachments[0].length", attached(length="10")),
    "attachment length float": ("statement.attachments[0].length", attached(length=1.5)),
    "attachment usageType not IRI": ("statement.attachments[0].usageType", attached(usageType="sig")),
    "attachment contentType number": ("statement.attachments[0].contentType", attached(contentType=1)),
    "attachment contentType not a media type": ("statement.attachments[0].contentType", attached(contentType="text")),
    "attachment contentType parameters splitting a header": (
        "statement.attachments[0].contentType", attached(contentType="text/plain;\r\nX-Evil: 1")),
    "attachment contentType parameters with a NUL": (
        "statement.attachments[0].contentType", attached(contentType="text/plain; charset=\x00")),
    "attachment sha2 not hex": ("statement.attachments[0].sha2", attached(sha2="z" * 64)),
    "attachment fileUrl not IRL": ("statement.attachments[0].fileUrl", attached(fileUrl="file")),
    "attachment display missing": ("statement.attachments[0].display", attached(display=DELETE)),
}


@pytest.mark.parametrize("version", BOTH)
@pytest.mark.parametrize("name", VALID)
def test_valid_statements_pass(name, version):
    validate_statement(VALID[name], version)


@pytest.mark.parametrize("version", BOTH)
@pytest.mark.parametrize("name", INVALID)
def test_invalid_statements_name_the_broken_rule(name, version):
    path, invalid = INVALID[name]
    with pytest.raises(XAPIValidationError) as error:
        validate_statement(invalid, version)
    assert error.value.path == path
    assert str(error.value) == f"{path}: {error.value.rule}"


CONTEXT_AGENTS = {"contextAgents": [{"objectType": "contextAgent", "agent": AGENT,
                                     "relevantTypes": ["http://example.com/types/coach"]}],
                  "contextGroups": [{"objectType": "contextGroup", "group": IDENTIFIED},
                                    {"objectType": "contextGroup", "group": {"objectType": "Group", "member": [AGENT]},
                                     "relevantTypes": ["http://example.com/types/class"]}]}


def test_context_agents_and_groups_are_2_0_only():
    validate_statement(statement(context=CONTEXT_AGENTS), "2.0.0")
    with pytest.raises(XAPIValidationError) as error:
        validate_statement(statement(context=CONTEXT_AGENTS), "1.0.3")
    assert error.value.path == "statement.context.contextAgents"


def agents(**entry):
    return {"contextAgents": [{"objectType": "contextAgent", "agent": AGENT, **entry}]}


def groups(**entry):
    return {"contextGroups": [{"objectType": "contextGroup", "group": IDENTIFIED, **entry}]}


@pytest.mark.parametrize("path, context", [
    ("statement.context.contextAgents", {"contextAgents": {"objectType": "contextAgent", "agent": AGENT}}),
    ("statement.context.contextAgents[0].objectType", {"contextAgents": [{"agent": AGENT}]}),
    ("statement.context.contextAgents[0].objectType", agents(objectType="ContextAgent")),
    ("statement.context.contextAgents[0].agent", {"contextAgents": [{"objectType": "contextAgent"}]}),
    ("statement.context.contextAgents[0].agent.objectType", agents(agent=IDENTIFIED)),
    ("statement.context.contextAgents[0].relevantTypes", agents(relevantTypes=[])),
    ("statement.context.contextAgents[0].relevantTypes[0]", agents(relevantTypes=["x"])),
    ("statement.context.contextAgents[0].extra", agents(extra=1)),
    ("statement.context.contextGroups[0].group.objectType", groups(group=AGENT)),
    ("statement.context.contextGroups[0].objectType", groups(objectType="contextAgent")),
])
def test_invalid_context_agents_and_groups(path, context):
    with pytest.raises(XAPIValidationError) as error:
        validate_statement(statement(context=context), "2.0.0")
    assert error.value.path == path


@pytest.mark.parametrize("context, rule", [
    ({"team": AGENT}, 'must be "Group": a team is a Group'),
    (groups(group=AGENT), 'must be "Group": a contextGroup\'s group is a Group'),
])
def test_a_group_where_an_agent_was_sent_is_explained_by_its_own_role(context, rule):
    """A contextGroup's group was once explained as "a team", a property the statement may not have."""
    with pytest.raises(XAPIValidationError) as error:
        validate_statement(statement(context=context), "2.0.0")
    assert error.value.rule == rule


@pytest.mark.parametrize("value, version, ok", [
    ("2.0.0", "2.0.0", True), ("2.0", "2.0.0", True), ("1.0.3", "2.0.0", True),
    ("2.0.0", "1.0.3", False), ("2.1.0", "2.0.0", False), ("1.0.", "2.0.0", False), ("1.0.3", "1.0.3", True),
])
def test_statement_version_property_by_request_version(value, version, ok):
    if ok:
        validate_statement(statement(version=value), version)
    else:
        with pytest.raises(XAPIValidationError, match="statement.version"):
            validate_statement(statement(version=value), version)


def test_null_timestamp_means_absent_in_2_0_statements_only():
    validate_statement(statement(timestamp=None), "2.0.0")  # what the 2.0 conformance suite sends
    for invalid, version in ((statement(timestamp=None), "1.0.3"), (substatement(timestamp=None), "2.0.0")):
        with pytest.raises(XAPIValidationError, match="timestamp: must be a string"):
            validate_statement(invalid, version)


def test_rfc_3339_is_required_in_2_0_only():
    basic = statement(timestamp="20130518T053234Z")
    validate_statement(basic, "1.0.3")
    with pytest.raises(XAPIValidationError, match="statement.timestamp"):
        validate_statement(basic, "2.0.0")


def test_validate_statements_accepts_one_or_many_and_indexes_paths():
    one = statement()
    assert validate_statements(one, "1.0.3") == [one]
    assert validate_statements([one, one], "1.0.3") == [one, one]
    assert validate_statements([], "1.0.3") == []
    with pytest.raises(XAPIValidationError) as error:
        validate_statements([one, statement(actor={"mbox": "x"})], "1.0.3")
    assert error.value.path == "statement[1].actor.mbox"
    with pytest.raises(XAPIValidationError) as error:
        validate_statements("nope", "1.0.3")
    assert error.value.path == "statement"


@pytest.mark.parametrize("agent", [AGENT, GROUP, IDENTIFIED, {"openid": "http://openid.example.org/1"}])
def test_validate_agent_accepts_agents_and_groups(agent):
    validate_agent(agent, "agent")


@pytest.mark.parametrize("agent", [{}, {"mbox": "x"}, "mailto:a@b.com", [AGENT], {"objectType": "Group"}])
def test_validate_agent_rejects(agent):
    with pytest.raises(XAPIValidationError) as error:
        validate_agent(agent, "agent")
    assert error.value.path.startswith("agent")
