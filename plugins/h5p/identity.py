"""Who "the authenticated user" is: the learner a Bearer API key stands for.

An H5P API key is an LRS credential, and the user it authenticates is the credential's key: a
learner's key is issued with `lrs credentials create --scope h5p --key <user-uuid>`, and that
user-uuid becomes the actor's account name, exactly as Creatiq's session user id did.

Scope `h5p` lets a learner write statements as themself and read their own data. Scope
`h5p/read` is for reporting (teachers, dashboards): any learner's statements stored through the
H5P API and progress (with `userId=`), and content- and class-level analytics.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import request

from lrs.auth import Credential
from lrs.core import LRS
from lrs.errors import Forbidden
from lrs.http.bearer import authenticate

LEARNER = "h5p"
READER = "h5p/read"
SCOPES = (LEARNER, READER)


@dataclass(frozen=True)
class Caller:
    credential: Credential

    @property
    def user_id(self) -> str:
        return self.credential.key

    @property
    def reads_all(self) -> bool:
        return self.credential.allows({READER})

    def subject(self, requested: str | None) -> str:
        """The user whose data is asked for: oneself unless a reader names someone else."""
        if requested is None or requested == self.user_id:
            return self.user_id
        if not self.reads_all:
            raise Forbidden(f"reading another user's data needs scope {READER}")
        return requested


def caller(lrs: LRS, *scopes: str) -> Caller:
    """The authenticated caller of this request, if its key holds one of `scopes`."""
    return Caller(authenticate(lrs, request.authorization, frozenset(scopes)))
