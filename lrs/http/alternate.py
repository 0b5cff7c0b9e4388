"""The alternate request syntax (xAPI 1.0.x, Communication 1.3) as WSGI middleware.

A browser that can only POST sends `?method=PUT` with the headers, parameters and content as
form fields. Rewriting the WSGI environ before Flask routes the request lets every resource
handle it as the ordinary request it stands for. xAPI 2.0 dropped the syntax; the version
check refuses it there (see `versioning`).
"""
from __future__ import annotations

import io
import json
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs, urlencode

from lrs.http.versioning import ALTERNATE_SYNTAX

HEADER_FIELDS = {
    "authorization": "HTTP_AUTHORIZATION",
    "x-experience-api-version": "HTTP_X_EXPERIENCE_API_VERSION",
    "content-type": "CONTENT_TYPE",
    "content-length": None,  # recomputed from the content
    "if-match": "HTTP_IF_MATCH",
    "if-none-match": "HTTP_IF_NONE_MATCH",
}
METHODS = {"GET", "HEAD", "PUT", "POST", "DELETE"}
FORM_TYPE = "application/x-www-form-urlencoded"


class AlternateSyntax:
    def __init__(self, app: Callable, max_body_bytes: int):
        self.app = app
        self.max_body_bytes = max_body_bytes

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "POST" and "method=" in environ.get("QUERY_STRING", ""):
            problem = self._rewrite(environ)
            if problem:
                return _bad_request(problem, start_response)
        return self.app(environ, start_response)

    def _rewrite(self, environ: dict[str, Any]) -> str | None:
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        method = query.pop("method", [""])[0].upper()
        if method not in METHODS:
            return f"parameter 'method': must be one of {', '.join(sorted(METHODS))}"
        if query:
            return "with ?method=, every other parameter must be sent as a form field"
        if not environ.get("CONTENT_TYPE", "").startswith(FORM_TYPE):
            return f"with ?method=, the Content-Type must be {FORM_TYPE}"
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > self.max_body_bytes:
            return "request body too large"
        form = parse_qs(environ["wsgi.input"].read(length).decode("utf-8"), keep_blank_values=True)
        content = form.pop("content", [""])[0].encode("utf-8")
        for name in list(form):
            if name.lower() in HEADER_FIELDS:
                target = HEADER_FIELDS[name.lower()]
                value = form.pop(name)[0]
                if target:
                    environ[target] = value
        if "CONTENT_TYPE" in environ and environ["CONTENT_TYPE"].startswith(FORM_TYPE):
            environ["CONTENT_TYPE"] = "application/json" if content else ""
        environ.update({
            "REQUEST_METHOD": method,
            "QUERY_STRING": urlencode({name: values[0] for name, values in form.items()}),
            "CONTENT_LENGTH": str(len(content)),
            "wsgi.input": io.BytesIO(content),
            ALTERNATE_SYNTAX: True,
        })
        return None


def _bad_request(message: str, start_response: Callable) -> Iterable[bytes]:

    body = json.dumps({"error": {"status": 400, "message": message}}).encode()
    start_response("400 Bad Request", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
