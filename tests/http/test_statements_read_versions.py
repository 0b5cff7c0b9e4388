"""What a 1.0.x reader gets of statements stored under xAPI 2.0: the 1.0 form (lrs.xapi.formats.in_version).

A dual-version LRS answers each reader in its own version: 1.0.3 has no contextAgents or
contextGroups (Data 2.4.6) and no 2.0.x statement versions (Data 2.4.10), and 1.0.x clients such
as TinCanPython refuse statements that have them. 2.0 readers get the statements as stored.
"""
from __future__ import annotations

import base64
import json
import uuid

import requests
from tincan import Agent, RemoteLRS

from lrs.server import spawned
from tests.conftest import ADMIN_KEY, ADMIN_SECRET, basic_auth
from tests.http.test_attachments import parts_of, signed_request, signing_key  # noqa: F401
from tests.http.test_attachments import post as post_multipart

V1 = {"Authorization": basic_auth(), "X-Experience-API-Version": "1.0.3"}
V2 = {"Authorization": basic_auth(), "X-Experience-API-Version": "2.0.0"}
ADA = {"mbox": "mailto:ada@example.com"}
CONTEXT_AGENTS = [{"objectType": "contextAgent", "agent": {"mbox": "mailto:ca@example.com"}}]
CONTEXT_GROUPS = [{"objectType": "contextGroup", "group": {"objectType": "Group", "mbox": "mailto:team@example.com"},
                   "relevantTypes": ["http://example.com/types/team"]}]


def statement(**extra) -> dict:
    return {"actor": ADA, "verb": {"id": "http://adlnet.gov/expapi/verbs/completed",
                                   "display": {"en-US": "completed"}},
            "object": {"id": "http://example.com/a/1", "definition": {"name": {"en-US": "One"}}}, **extra}


def with_v2_context(**extra) -> dict:
    """A 2.0 statement with context agents and groups, in its context and its SubStatement's."""
    substatement = {**statement(), "objectType": "SubStatement", "context": {"contextAgents": CONTEXT_AGENTS}}
    return statement(id=str(uuid.uuid4()), object=substatement,
                     context={"registration": str(uuid.uuid4()), "contextAgents": CONTEXT_AGENTS,
                              "contextGroups": CONTEXT_GROUPS}, **extra)


def put(client, body: dict, headers: dict) -> None:
    response = client.put(f"/xapi/statements?statementId={body['id']}", json=body, headers=headers)
    assert response.status_code == 204, response.get_data(as_text=True)


def single(client, statement_id: str, headers: dict, **params) -> dict:
    response = client.get("/xapi/statements", query_string={"statementId": statement_id, **params}, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def assert_1_0_form(got: dict, sent: dict) -> None:
    assert got["version"] == "1.0.0"
    assert got["context"] == {"registration": sent["context"]["registration"]}
    assert "context" not in got["object"]
    assert got["id"] == sent["id"] and got["actor"] == ADA and got["object"]["objectType"] == "SubStatement"


def test_tincanpython_reads_2_0_statements_from_a_real_server(tmp_path):
    """The defect as found: TinCanPython raised on the statement and on any page holding it."""
    env = {"LRS_ADMIN_KEY": ADMIN_KEY, "LRS_ADMIN_SECRET": ADMIN_SECRET, "LRS_XAPI_VERSIONS": "1.0.3,2.0.0"}
    with spawned(env, cwd=tmp_path) as (endpoint, _):
        sent = with_v2_context()
        stored = requests.put(f"{endpoint}/statements", params={"statementId": sent["id"]}, json=sent,
                              auth=(ADMIN_KEY, ADMIN_SECRET), headers={"X-Experience-API-Version": "2.0.0"}, timeout=30)
        assert stored.status_code == 204, stored.text
        lrs = RemoteLRS(endpoint=endpoint + "/", version="1.0.3", username=ADMIN_KEY, password=ADMIN_SECRET)
        assert lrs.save_statement(statement()).success

        one = lrs.retrieve_statement(sent["id"])
        assert one.success, one.data
        assert one.content.version == "1.0.0" and str(one.content.context.registration) == sent["context"]["registration"]
        page = lrs.query_statements({"agent": Agent(mbox=ADA["mbox"])})
        assert page.success, page.data
        assert len(page.content.statements) == 2 and sent["id"] in {str(s.id) for s in page.content.statements}

        as_2_0 = requests.get(f"{endpoint}/statements", params={"statementId": sent["id"]}, timeout=30,
                              auth=(ADMIN_KEY, ADMIN_SECRET), headers={"X-Experience-API-Version": "2.0.0"}).json()
        assert as_2_0["version"] == "2.0.0" and as_2_0["context"]["contextAgents"] == CONTEXT_AGENTS


def test_every_format_single_and_page_gives_a_1_0_reader_the_1_0_form(client):
    sent = with_v2_context()
    put(client, sent, V2)
    for fmt in ("exact", "ids", "canonical"):
        got = single(client, sent["id"], V1, format=fmt)
        assert_1_0_form(got, sent)
        page = client.get("/xapi/statements", query_string={"format": fmt}, headers=V1).get_json()
        assert page["statements"] == [got]
    assert single(client, sent["id"], V1, format="ids")["verb"] == {"id": sent["verb"]["id"]}


def test_a_2_0_reader_gets_the_statement_as_stored(client):
    sent = with_v2_context()
    put(client, sent, V2)
    got = single(client, sent["id"], V2)
    assert got["version"] == "2.0.0" and got["context"]["contextGroups"] == CONTEXT_GROUPS
    assert got["object"]["context"] == {"contextAgents": CONTEXT_AGENTS}


def test_only_what_1_0_lacks_changes(client):
    """A 2.0 statement without 2.0 properties differs only in its version; a 1.0 statement and one
    stored under 2.0 with a 1.0.0 version are returned byte for byte as stored."""
    plain = statement(id=str(uuid.uuid4()), context={"contextActivities": {"parent": [{"id": "http://example.com/c"}]}})
    put(client, plain, V2)
    as_1_0, as_2_0 = single(client, plain["id"], V1), single(client, plain["id"], V2)
    assert as_1_0 == {**as_2_0, "version": "1.0.0"}
    native = statement(id=str(uuid.uuid4()))
    put(client, native, V1)
    said_1_0 = statement(id=str(uuid.uuid4()), version="1.0.0")
    put(client, said_1_0, V2)
    for statement_id in (native["id"], said_1_0["id"]):
        as_1_0 = client.get(f"/xapi/statements?statementId={statement_id}", headers=V1).get_data()
        assert as_1_0 == client.get(f"/xapi/statements?statementId={statement_id}", headers=V2).get_data()


def test_attachments_and_signatures_stay_coherent(client, signing_key):  # noqa: F811 (fixture)
    """The statement part is in 1.0 form; the signature part is the JWS as sent, whose payload is
    the signed (2.0) statement, so a 1.0.x reader verifies it against that payload."""
    original = with_v2_context()
    response = post_multipart(client, V2, signed_request(original, signing_key))
    assert response.status_code == 200, response.data
    parts = parts_of(client.get(f"/xapi/statements?statementId={original['id']}&attachments=true", headers=V1))
    [(_, statement_part), (headers, token)] = parts
    got = json.loads(statement_part)
    assert_1_0_form(got, original)
    assert [a["sha2"] for a in got["attachments"]] == [headers["x-experience-api-hash"]]
    assert json.loads(base64.urlsafe_b64decode(token.split(b".")[1] + b"==")) == original
    page = parts_of(client.get("/xapi/statements?attachments=true", headers=V1))
    assert json.loads(page[0][1])["statements"] == [got] and page[1][1] == token


def test_a_1_0_writer_sending_again_what_it_read_is_told_the_statement_is_stored(client):
    """A 1.0.x client that resends a statement as it read it (a retry, an LRS-to-LRS copy) sends the
    1.0 form, which is the statement this LRS holds for it: a no-op, as for any statement sent
    again (Data 2.3.1), not a 409. Another statement under that id is still a conflict."""
    sent = with_v2_context()
    put(client, sent, V2)
    as_read = single(client, sent["id"], V1)
    resent = {key: value for key, value in as_read.items() if key not in ("stored", "authority")}
    put(client, resent, V1)
    posted = client.post("/xapi/statements", json=resent, headers=V1)
    assert posted.status_code == 200 and posted.get_json() == [sent["id"]], posted.get_data(as_text=True)
    other = {**resent, "result": {"completion": True}}
    conflict = client.put(f"/xapi/statements?statementId={sent['id']}", json=other, headers=V1)
    assert conflict.status_code == 409, conflict.get_data(as_text=True)
    assert single(client, sent["id"], V2)["context"]["contextGroups"] == CONTEXT_GROUPS


def test_related_agents_of_a_1_0_reader_leaves_out_2_0_context_agents(client):
    """1.0.3's related_agents is the actor, object, authority, instructor and team (and a
    SubStatement's): a 1.0.x reader, which gets statements without contextAgents/contextGroups,
    is not given a statement in which the agent it asked for appears nowhere, nor one referring
    to such a statement (Communication 2.1.3, StatementRefs). A 2.0 reader gets them all."""
    coach, member = {"mbox": "mailto:coach@example.com"}, {"mbox": "mailto:member@example.com"}
    in_context = {"contextAgents": [{"objectType": "contextAgent", "agent": coach}],
                  "contextGroups": [{"objectType": "contextGroup",
                                     "group": {"objectType": "Group", "member": [member]}}]}
    only_2_0 = statement(id=str(uuid.uuid4()), context=in_context)
    both = statement(id=str(uuid.uuid4()), context={**in_context, "instructor": coach})
    substatement = {**statement(), "objectType": "SubStatement", "context": in_context}
    in_substatement = statement(id=str(uuid.uuid4()), object=substatement)
    referring = statement(id=str(uuid.uuid4()), object={"objectType": "StatementRef", "id": only_2_0["id"]})
    for sent in (only_2_0, both, in_substatement, referring):
        put(client, sent, V2)

    def related(agent: dict, headers: dict) -> set[str]:
        response = client.get("/xapi/statements", headers=headers,
                              query_string={"agent": json.dumps(agent), "related_agents": "true"})
        assert response.status_code == 200, response.get_data(as_text=True)
        return {s["id"] for s in response.get_json()["statements"]}

    assert related(coach, V2) == {only_2_0["id"], both["id"], in_substatement["id"], referring["id"]}
    assert related(coach, V1) == {both["id"]}
    assert related(member, V2) == {only_2_0["id"], both["id"], in_substatement["id"], referring["id"]}
    assert related(member, V1) == set()
