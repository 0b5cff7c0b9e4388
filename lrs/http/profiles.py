"""The Activity Profile and Agent Profile resources (Communication 2.6 and 2.7).

A profile document belongs to one Activity or one Agent. Without profileId, GET lists the ids;
DELETE always names one document.
"""
from __future__ import annotations

from flask import Blueprint

from lrs.auth import READ_PROFILE, WRITE_PROFILE
from lrs.http import params
from lrs.http.documents import AgentParam, DocumentId, DocumentResource, agent_key, register
from lrs.store.documents import DocumentKey, Scope

blueprint = Blueprint("profiles", __name__)


class ActivityParams(params.StrictSchema):
    activityId = params.IRI(required=True)


class AgentParams(params.StrictSchema):
    agent = AgentParam(required=True)


class OneActivityProfileParams(ActivityParams):
    profileId = DocumentId(required=True)


class GetActivityProfileParams(ActivityParams):
    profileId = DocumentId()
    since = params.Timestamp()


class OneAgentProfileParams(AgentParams):
    profileId = DocumentId(required=True)


class GetAgentProfileParams(AgentParams):
    profileId = DocumentId()
    since = params.Timestamp()


def _schema(get: type[params.StrictSchema], one: type[params.StrictSchema]):
    return lambda method: (get if method in ("GET", "HEAD") else one)()


ACTIVITY_PROFILE = DocumentResource(
    kind="activity_profile", id_param="profileId", read_scopes=READ_PROFILE, write_scopes=WRITE_PROFILE,
    schema=_schema(GetActivityProfileParams, OneActivityProfileParams),
    key=lambda kind, args: DocumentKey(kind, args["profileId"], activity=args["activityId"]),
    scope=lambda kind, args: Scope(kind, activity=args["activityId"]),
    blind_put_in_v1=False)

AGENT_PROFILE = DocumentResource(
    kind="agent_profile", id_param="profileId", read_scopes=READ_PROFILE, write_scopes=WRITE_PROFILE,
    schema=_schema(GetAgentProfileParams, OneAgentProfileParams),
    key=lambda kind, args: DocumentKey(kind, args["profileId"], agent=agent_key(args)),
    scope=lambda kind, args: Scope(kind, agent=agent_key(args)),
    blind_put_in_v1=False)

register(blueprint, "/activities/profile", ACTIVITY_PROFILE)
register(blueprint, "/agents/profile", AGENT_PROFILE)
