"""Agent identity: the canonical key of an Agent or identified Group, for storage and queries.

xAPI identifies an Agent by its one Inverse Functional Identifier. The key spells the IFI as one
string so that equal identities compare equal: the case-insensitive parts (the email domain, the
hex digits of mbox_sha1sum) are lowercased; everything else is kept as given.
"""
from __future__ import annotations

from typing import Any

IFIS = ("mbox", "mbox_sha1sum", "openid", "account")


def ifi_key(agent: dict) -> str | None:
    """E.g. "mbox:mailto:x@example.com", "account:https://lms.example|jo"; None for anonymous Groups."""
    if "mbox" in agent:
        return "mbox:" + normalise_mbox(agent["mbox"])
    if "mbox_sha1sum" in agent:
        return "mbox_sha1sum:" + agent["mbox_sha1sum"].lower()
    if "openid" in agent:
        return "openid:" + agent["openid"]
    if "account" in agent:
        account = agent["account"]
        # An IRI cannot contain "|", so the home page ends where the first "|" is.
        return f"account:{account['homePage']}|{account['name']}"
    return None


def agent_keys(agent: Any) -> list[str]:
    """The agent's own key plus, for a Group, its members' keys (for related_agents queries)."""
    keys = []
    own = ifi_key(agent)
    if own is not None:
        keys.append(own)
    for member in agent.get("member", ()) if agent.get("objectType") == "Group" else ():
        member_key = ifi_key(member)
        if member_key is not None:
            keys.append(member_key)
    return keys


def normalise_mbox(mbox: str) -> str:
    """mailto:Local@Domain with the domain lowercased (the domain is case-insensitive, Data 2.3.1)."""
    local, at, domain = mbox.rpartition("@")
    return f"{local}{at}{domain.lower()}" if at else mbox
