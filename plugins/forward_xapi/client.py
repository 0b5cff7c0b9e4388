"""Delivering a batch to any xAPI LRS: one POST /statements with the statements as an array."""
from __future__ import annotations

import logging

import requests

from lrs.forwarding.body import statements_body
from lrs.forwarding.contract import Outcome, Outgoing, classify_http
from plugins.forward_xapi.config import XAPITargetConfig

log = logging.getLogger(__name__)


class XAPITarget:
    """A target for the engine (`lrs.forwarding.Target`). Its session is used by one worker
    thread at a time: the engine's lease gives a target to one worker only."""

    def __init__(self, config: XAPITargetConfig):
        self.config = config
        self.options = config.options
        self.session = requests.Session()

    def __repr__(self) -> str:
        return f"XAPITarget({self.options.name!r}, {self.config.endpoint!r})"

    def deliver(self, batch: list[Outgoing]) -> Outcome:
        statements = self._transformed(batch)
        if not statements:
            return Outcome.delivered()  # the transformation left nothing to send
        body = statements_body(statements, batch)
        try:
            response = self.session.post(self.config.statements_url, data=body, allow_redirects=False,
                                         headers=self._headers(body.content_type), timeout=self.options.timeout)
        except requests.Timeout:
            return Outcome.retry(f"no answer within {self.options.timeout:g} s")
        except requests.RequestException as error:
            return Outcome.retry(f"connection failed: {type(error).__name__}: {error}")
        return classify_http(response.status_code, response.text, response.headers.get("Retry-After"))

    def _transformed(self, batch: list[Outgoing]) -> list[dict]:
        transform = self.config.transform
        if transform is None:
            return [item.statement for item in batch]
        return [s for s in (transform(item.statement) for item in batch) if s is not None]

    def _headers(self, content_type: str) -> dict[str, str]:
        headers = {**self.config.headers, "Content-Type": content_type,
                   "X-Experience-API-Version": self.config.version}
        if self.config.authorization:
            headers["Authorization"] = self.config.authorization
        return headers
