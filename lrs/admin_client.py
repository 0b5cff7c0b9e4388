"""Credential administration for `lrs credentials`, two ways with one interface: over HTTP
through a running LRS's admin API (`--url`), or straight on MongoDB (`LRS_MONGO_URI`).

With the embedded store the server's memory is the only store there is, so credentials made for
it must go through the server. Both ways answer the admin API's JSON shapes.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import requests
from pymongo.errors import PyMongoError

from lrs import credentials
from lrs.errors import LRSError
from lrs.logs import escaped
from lrs.settings import shown_uri, without_password

if TYPE_CHECKING:  # pragma: no cover
    from lrs.core import LRS

TIMEOUT_SECONDS = 30
ACTING = "`lrs credentials` on MongoDB"  # who acts, for the audit log lines


def _cause(error: BaseException) -> str:
    """The operating system's words for a failed connection ("Connection refused", "Name or service
    not known"), found under the layers requests and urllib3 wrap it in; before, the message was
    urllib3's "HTTPConnectionPool(host=..., port=...): Max retries exceeded with url: ..."."""
    seen: set[int] = set()
    pending: list[object] = [error]
    while pending:
        current = pending.pop(0)
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.strerror:
            return current.strerror
        pending += [getattr(current, "reason", None), current.__cause__, current.__context__, *current.args]
    return str(error)


class AdminAPIError(Exception):
    """The LRS could not be reached, or refused the call: the message says which and why."""


class AdminClient:
    def __init__(self, url: str, key: str, secret: str):
        # Accept the xAPI endpoint as well as the base URL: people copy the one they know.
        self.base = url.rstrip("/").removesuffix("/xapi")
        self.shown = shown_uri(self.base)  # what messages name: a password in the URL stays out
        self.session = requests.Session()
        self.session.auth = (key, secret)

    def create(self, **fields: Any) -> dict[str, Any]:
        return self._call("POST", "/admin/credentials", "key", json=fields)

    def listed(self) -> list[dict[str, Any]]:
        """Every credential, page after page."""
        found: list[dict[str, Any]] = []
        after = None
        while True:
            answer = self._call("GET", "/admin/credentials", "credentials", params={"after": after} if after else None)
            found += answer["credentials"]
            after = answer.get("more_after")
            if not after:
                return found

    def update(self, key: str, **changes: Any) -> dict[str, Any]:
        return self._call("PATCH", f"/admin/credentials/{credentials.key_in_path(key)}", "key", json=changes)

    def rotate(self, key: str, **fields: Any) -> dict[str, Any]:
        return self._call("POST", f"/admin/credentials/{credentials.key_in_path(key)}/secret", "key", json=fields)

    def revoke(self, key: str) -> dict[str, Any]:
        return self._call("POST", f"/admin/credentials/{credentials.key_in_path(key)}/revoke", "key")

    def _call(self, method: str, path: str, expected: str, **kwargs: Any) -> dict[str, Any]:
        """The admin API's JSON object answer, which holds `expected`. Redirects are not followed:
        requests would resend a POST as a GET, and a page at the other end (a proxy's sign-in)
        answering 200 read as success, so `revoke` said "revoked" with nothing revoked."""
        try:
            response = self.session.request(method, self.base + path, timeout=TIMEOUT_SECONDS,
                                            allow_redirects=False, **kwargs)
        except requests.ConnectionError as error:
            raise AdminAPIError(f"cannot reach the LRS at {self.shown}: {without_password(self.base, _cause(error))}; "
                                "is it running, and is that its address (--url, LRS_URL)?") from None
        except requests.RequestException as error:
            reason = without_password(self.base, str(error))
            raise AdminAPIError(f"cannot reach the LRS at {self.shown}: {reason}") from None
        answer = _json_object(response)
        if response.ok and expected in answer:
            return answer
        error = answer.get("error")
        if not response.ok and isinstance(error, dict) and isinstance(error.get("message"), str):
            message = error["message"]
        else:
            message = _not_the_admin_api(response)
        raise AdminAPIError(f"{method} {self.shown}{path}: {response.status_code} {escaped(message)}")


def _json_object(response: requests.Response) -> dict[str, Any]:
    try:
        answer = response.json()
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def _not_the_admin_api(response: requests.Response) -> str:
    """Why an answer is not the LRS's, with what to check: it came from something else at that URL."""
    where = f" to {response.headers['Location']}" if response.is_redirect else ""
    kind = response.headers.get("Content-Type", "no Content-Type")
    return (f"{response.reason}{where}: this answer ({kind}) is not the LRS admin API's JSON, so something else at "
            "that address gave it (a proxy whose LRS is down, another site): check that --url (LRS_URL) is the "
            "LRS's base URL and that a proxy in front of it passes /admin through")


class DirectAdmin:
    """The same operations on the LRS's own store, through `lrs.credentials` like the admin API."""

    def __init__(self, lrs: "LRS"):
        self.lrs = lrs

    def create(self, **fields: Any) -> dict[str, Any]:
        return self._shown(self._do(credentials.create, **fields, by=ACTING))

    def rotate(self, key: str, **fields: Any) -> dict[str, Any]:
        return self._shown(self._do(credentials.rotate, key, **fields, by=ACTING))

    @staticmethod
    def _shown(made: credentials.NewCredential) -> dict[str, Any]:
        return {**credentials.described(made.credential), "secret": made.secret}

    def listed(self) -> list[dict[str, Any]]:
        return [credentials.described(c) for c in self._do(credentials.listed)]

    def update(self, key: str, **changes: Any) -> dict[str, Any]:
        return credentials.described(self._do(credentials.update, key, **changes, by=ACTING))

    def revoke(self, key: str) -> dict[str, Any]:
        return credentials.described(self._do(credentials.revoke, key, by=ACTING))

    def _do(self, operation: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return operation(self.lrs, *args, **kwargs)
        except LRSError as error:
            raise AdminAPIError(error.message) from None
        except PyMongoError as error:
            raise AdminAPIError(f"cannot reach MongoDB: {error}") from None
