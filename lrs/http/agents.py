"""The Agents resource, GET /xapi/agents?agent= (Communication 2.4).

Answers a Person object: the Agent's identifier and every name statements gave it. An Agent the
LRS never saw still gets a Person, with the request's own identifier and name.
"""
from __future__ import annotations

from flask import Blueprint, Response, g, jsonify, request

from lrs.auth import READ_DEFINITIONS
from lrs.http import params
from lrs.http.auth import require
from lrs.http.context import current_lrs
from lrs.http.documents import AgentParam
from lrs.store.agents import person

blueprint = Blueprint("agents", __name__)


class AgentParams(params.StrictSchema):
    agent = AgentParam(required=True)


@blueprint.get("/agents")
def get_person() -> Response:
    require(READ_DEFINITIONS)
    agent = params.load(AgentParams(), request.args, g.xapi_version)["agent"]
    names = current_lrs().agents.names(agent)
    if isinstance(agent.get("name"), str) and agent["name"] not in names:
        names.append(agent["name"])
    response = jsonify(person(agent, names))
    response.add_etag()  # SHA-1 of the body: Communication 3.1 wants an ETag on every GET of the resource
    return response
