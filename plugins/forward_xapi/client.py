"""Delivering a batch to any xAPI LRS: one POST /statements with the statements as an array."""
from __future__ import annotations

import logging
from typing import Iterator
from urllib.parse import urljoin

import requests

from lrs.forwarding.body import statements_body
from lrs.forwarding.contract import Deadline, Outcome, Outgoing, classify_statements_post
from lrs.forwarding.provenance import with_provenance
from lrs.xapi.equality import same_statement
from lrs_plugins.forward_xapi import deadline as deadlines
from lrs_plugins.forward_xapi.config import XAPITargetConfig

log = logging.getLogger(__name__)


class XAPITarget:
    """A target for the engine (`lrs.forwarding.Target`). Deliveries may run in several threads
    at once (`in_flight`); a requests Session's connection pool is safe for that."""

    def __init__(self, config: XAPITargetConfig):
        self.config = config
        self.options = config.options
        self.session = deadlines.session()

    def __repr__(self) -> str:
        return f"XAPITarget({self.options.name!r}, {self.config.endpoint!r})"

    def deliver(self, batch: list[Outgoing], deadline: Deadline) -> Outcome:
        statements = self._transformed(batch)
        if not statements:
            return Outcome.delivered()  # the transformation left nothing to send
        body = statements_body(statements, batch)
        try:  # `timeout` bounds each socket operation; the deadline, cutting the connection, the whole
            with deadlines.held_to(deadline):
                response = self.session.post(self.config.statements_url, data=body, allow_redirects=False,
                                             headers=self._headers(body.content_type),
                                             timeout=self.options.timeout)
                text = response.text  # read within the deadline too
        except requests.RequestException as error:
            if deadline.passed() or isinstance(error, requests.Timeout):
                return Outcome.retry(f"no answer within {self.options.timeout:g} s", late=True)
            return Outcome.retry(f"connection failed: {type(error).__name__}: {error}")
        outcome = classify_statements_post(response.status_code, text, len(statements),
                                           response.headers.get("Retry-After"), response.headers.get("Location"))
        if outcome.status == 409 and len(statements) == 1 and self._holds(statements[0], deadline):
            return Outcome.delivered(409)
        return outcome

    def _holds(self, statement: dict, deadline: Deadline) -> bool:
        """Does the target hold this very statement (by the xAPI comparison rule)? Some LRSs answer
        409 for any id they hold, whatever the content: the resend after a lost answer would
        otherwise be a dead letter, forever (a replay meets the same 409), for a statement the
        target has. Asked under the delivery's deadline, as a statement and, should it be voided
        there, as a voided one; no answer, or no read access: no."""
        for parameter in ("statementId", "voidedStatementId"):
            try:
                with deadlines.held_to(deadline):
                    response = self.session.get(self.config.statements_url, params={parameter: statement["id"]},
                                                headers=self._headers("application/json"), allow_redirects=False,
                                                timeout=self.options.timeout)
                    copy = response.json() if response.status_code == 200 else None
            except (requests.RequestException, ValueError):
                return False
            if isinstance(copy, dict):
                return copy.get("id") == statement["id"] and _same(copy, statement)
        return False

    def probe(self, deadline: Deadline) -> bool:
        """Is the target back? GET /about answers without credentials and costs it nothing."""
        try:
            with deadlines.held_to(deadline):
                response = self.session.get(self.config.endpoint.rstrip("/") + "/about", allow_redirects=False,
                                            timeout=self.options.timeout)
                return response.status_code < 500
        except requests.RequestException:
            return False

    def read_back(self, since: str | None = None) -> Iterator[dict]:
        """Every statement the target returns from GET /statements (since `since`), for `verify`."""
        url: str | None = self.config.statements_url
        params = {"limit": "500", **({"since": since} if since else {})}
        while url:
            response = self.session.get(url, params=params, timeout=self.options.timeout, allow_redirects=False,
                                        headers=self._headers("application/json"))
            response.raise_for_status()
            page = response.json()
            yield from page["statements"]
            url, params = (urljoin(url, page["more"]), {}) if page.get("more") else (None, {})

    def expected(self, item: Outgoing) -> dict | None:
        """The statement as this target is sent it (provenance added, transformed), or None."""
        statement = with_provenance(item) if self.config.provenance else item.statement
        return statement if self.config.transform is None else self.config.transform(statement)

    def _transformed(self, batch: list[Outgoing]) -> list[dict]:
        return [s for s in (self.expected(item) for item in batch) if s is not None]

    def _headers(self, content_type: str) -> dict[str, str]:
        headers = {**self.config.headers, "Content-Type": content_type,
                   "X-Experience-API-Version": self.config.version}
        if self.config.authorization:
            headers["Authorization"] = self.config.authorization
        return headers


def _same(copy: dict, statement: dict) -> bool:
    """The comparison rule, for a copy from elsewhere that may not even be a valid statement."""
    try:
        return same_statement(copy, statement)
    except (KeyError, TypeError, ValueError, AttributeError):
        return False
