"""The State resource, /xapi/activities/state (Communication 2.3).

A document belongs to an Activity, an Agent and optionally a registration. Without stateId, GET
lists the ids and DELETE removes every document of the Activity and Agent (of the registration
when one is given).
"""
from __future__ import annotations

from flask import Blueprint

from lrs.auth import READ_STATE, WRITE_STATE
from lrs.http import params
from lrs.http.documents import AgentParam, DocumentId, DocumentResource, agent_key, register
from lrs.store.documents import DocumentKey, Scope

blueprint = Blueprint("state", __name__)


class StateParams(params.StrictSchema):
    activityId = params.IRI(required=True)
    agent = AgentParam(required=True)
    registration = params.UUID()


class OneStateParams(StateParams):
    stateId = DocumentId(required=True)


class GetStateParams(StateParams):
    stateId = DocumentId()
    since = params.Timestamp()


class DeleteStateParams(StateParams):
    stateId = DocumentId()


SCHEMAS = {"GET": GetStateParams, "HEAD": GetStateParams, "DELETE": DeleteStateParams}


def _key(kind: str, args: dict) -> DocumentKey:
    return DocumentKey(kind, args["stateId"], activity=args["activityId"], agent=agent_key(args),
                       registration=args.get("registration"))


def _scope(kind: str, args: dict) -> Scope:
    return Scope(kind, activity=args["activityId"], agent=agent_key(args), registration=args.get("registration"))


STATE = DocumentResource(
    kind="state", id_param="stateId", read_scopes=READ_STATE, write_scopes=WRITE_STATE,
    schema=lambda method: SCHEMAS.get(method, OneStateParams)(),
    key=_key, scope=_scope, blind_put_in_v1=True)

register(blueprint, "/activities/state", STATE)
