"""Ready-made transformations for targets' `transform` option.

Two for targets that speak only xAPI 1.0.x, which differ in what happens to the statements this
LRS took in xAPI 2.0 with 2.0's context properties (contextAgents, contextGroups), which 1.0.x
has no place for: `xapi_1_0` sends them as they are, so the target refuses them and they become
dead letters (nothing is lost without the operator seeing it); `xapi_1_0_reader_form` sends them
without those properties, exactly as a 1.0.x reader of this LRS gets them, so they are delivered
and the target holds less than this LRS does.
"""
from __future__ import annotations

from lrs.xapi.formats import in_version

READER_VERSION = "1.0.3"  # the 1.0.x version this LRS answers 1.0.x readers in


def xapi_1_0(statement: dict) -> dict:
    """For targets that speak only xAPI 1.0.x (Learning Locker, most LRSs today): statements this
    LRS received in xAPI 2.0 carry "version": "2.0.0", which such targets refuse; the version is
    not part of a statement's identity (the comparison rule ignores it), so say 1.0.0. Properties
    that only 2.0 has (contextAgents, contextGroups) are left alone: the target refuses those
    statements and they are dead-lettered, rather than silently losing data."""
    if str(statement.get("version", "1.0.0")).startswith("1.0"):
        return statement
    return {**statement, "version": "1.0.0"}


def xapi_1_0_reader_form(statement: dict) -> dict:
    """For targets that speak only xAPI 1.0.x, when every statement should get there: the
    statement a 1.0.x client reading this LRS gets (GET /statements with X-Experience-API-Version
    1.0.3), so the target holds what 1.0.x readers of this LRS see. A 2.0 version is said as 1.0.0,
    and contextAgents and contextGroups are dropped (from a SubStatement too): the target never
    learns who they named, which only 2.0 readers of this LRS see."""
    return in_version(statement, READER_VERSION)
