"""Ready-made transformations for targets' `transform` option."""
from __future__ import annotations


def xapi_1_0(statement: dict) -> dict:
    """For targets that speak only xAPI 1.0.x (Learning Locker, most LRSs today): statements this
    LRS received in xAPI 2.0 carry "version": "2.0.0", which such targets refuse; the version is
    not part of a statement's identity (the comparison rule ignores it), so say 1.0.0. Properties
    that only 2.0 has (contextAgents, contextGroups) are left alone: the target refuses those
    statements and they are dead-lettered, rather than silently losing data."""
    if str(statement.get("version", "1.0.0")).startswith("1.0"):
        return statement
    return {**statement, "version": "1.0.0"}
