"""The alternate request syntax (xAPI 1.0.x, Communication 1.3) as WSGI middleware.

A browser that can only POST sends `?method=PUT` with the headers, parameters and content as
form fields. Rewriting the WSGI environ before Flask routes the request lets every resource
handle it as the ordinary request it stands for. Only the xAPI resources (`/xapi/...`) know the
syntax: a plain cross-site form POST must not reach the admin API or plugins' routes as another
method, and their own `method` parameters are theirs. xAPI 2.0 dropped the syntax; the version
check refuses it there (see `versioning`).

A page on any site can make a browser POST such a form, and the browser adds the Basic
credentials it remembers for the LRS (a user who once answered its login prompt): so a request
that comes from a web page (it names an Origin or Sec-Fetch-Site) takes its credentials only from the form's
`Authorization` field, as TinCanJS and ADL's xAPIWrapper send them (IE's XDomainRequest, the
syntax's reason to exist, sets no header). Other clients may still send the header.

A malformed alternate request is not answered here: the problem is handed to Flask, which
answers it like any other error, with the CORS and X-Experience-API-Version headers a browser
needs to read it.
"""
from __future__ import annotations

import io
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs, urlencode

from flask import Flask, request

from lrs.errors import BadRequest, Forbidden, LRSError, PayloadTooLarge
from lrs.http.fields import field_value
from lrs.http.params import NOT_UTF8, not_utf8
from lrs.http.request import body_limit_message
from lrs.http.versioning import ALTERNATE_SYNTAX

HEADER_FIELDS = {
    "authorization": "HTTP_AUTHORIZATION",
    "x-experience-api-version": "HTTP_X_EXPERIENCE_API_VERSION",
    "content-type": "CONTENT_TYPE",
    "content-length": None,  # recomputed from the content
    "if-match": "HTTP_IF_MATCH",
    "if-none-match": "HTTP_IF_NONE_MATCH",
}
# The methods of the xAPI resources (Communication 2). Not HEAD: the answer goes to a POST, which
# has a body, so a HEAD answer (its Content-Length without the content) would break the response.
METHODS = {"GET", "PUT", "POST", "DELETE"}
FORM_TYPE = "application/x-www-form-urlencoded"
# The form's parameters and headers stand for a request line and headers, which `lrs serve` bounds
# to 256 KiB (waitress's max_request_header_size): unbounded, they reached MongoDB as a query over its
# 16 MiB (a 17 MiB activity id: pymongo's DocumentTooLarge, a 500). The content has the body's limit.
FIELDS_LIMIT = 256 * 1024
PROBLEM = "lrs.alternate_syntax_problem"
PAGE_CREDENTIALS = ("with ?method= from a web page (the request names an Origin or Sec-Fetch-Site), the "
                    "credentials must be in the form field 'Authorization': an Authorization header may be "
                    "one the browser remembers and adds for any page, so it is not used")


def register(app: Flask, prefix: str, max_body_bytes: int) -> None:
    """Rewrite alternate requests under `prefix` before routing; answer bad ones in Flask."""
    app.wsgi_app = AlternateSyntax(app.wsgi_app, prefix, max_body_bytes)

    @app.before_request
    def refuse_malformed() -> None:
        problem = request.environ.get(PROBLEM)
        if problem is not None:
            raise problem


class AlternateSyntax:
    def __init__(self, app: Callable, prefix: str, max_body_bytes: int):
        self.app = app
        self.prefix = prefix.rstrip("/") + "/"
        self.max_body_bytes = max_body_bytes

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if (environ.get("REQUEST_METHOD") == "POST" and environ.get("PATH_INFO", "").startswith(self.prefix)
                and "method" in parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)):
            try:
                self._rewrite(environ)
            except LRSError as problem:
                environ[PROBLEM] = problem
        return self.app(environ, start_response)

    def _rewrite(self, environ: dict[str, Any]) -> None:
        if _from_a_web_page(environ):  # first: whatever is refused below, a remembered header never counts
            environ.pop("HTTP_AUTHORIZATION", None)
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        if not environ.get("CONTENT_TYPE", "").startswith(FORM_TYPE):
            raise BadRequest(f"with ?method=, the Content-Type must be {FORM_TYPE}")
        body = self._form_body(environ)
        name = not_utf8(body)
        if name is not None:  # as a query parameter would be (lrs.http.params.utf8_parameters)
            raise BadRequest(f"form field {name!r}: {NOT_UTF8}")
        form = parse_qs(body.decode(), keep_blank_values=True)
        fields = sum(len(name.encode()) + len(value.encode()) for name, values in form.items() if name != "content"
                     for value in values)
        _apply_header_fields(form, environ)  # before any refusal below, so that it answers in the form's version
        if fields > FIELDS_LIMIT:
            raise BadRequest(f"with ?method=, the form fields but 'content' take {fields} bytes, and at most "
                             f"{FIELDS_LIMIT}: as much as a request line and its headers may (they stand for them)")
        method = _once(query.pop("method", [""]), "parameter 'method'").upper()
        if method not in METHODS:
            raise BadRequest(f"parameter 'method': must be one of {', '.join(sorted(METHODS))} "
                             "(the xAPI methods an alternate request may stand for, Communication 1.3)")
        if query:
            raise BadRequest("with ?method=, every other parameter must be sent as a form field")
        if _from_a_web_page(environ) and "HTTP_AUTHORIZATION" not in environ:
            raise Forbidden(PAGE_CREDENTIALS)
        content = _once(form.pop("content", [""]), "form field 'content'").encode("utf-8")
        parameters = {name: _once(values, f"form field {name!r}") for name, values in form.items()}
        if "CONTENT_TYPE" in environ and environ["CONTENT_TYPE"].startswith(FORM_TYPE):
            environ["CONTENT_TYPE"] = "application/json" if content else ""
        environ.update({
            "REQUEST_METHOD": method,
            "QUERY_STRING": urlencode(parameters),
            "CONTENT_LENGTH": str(len(content)),
            "wsgi.input": io.BytesIO(content),
            ALTERNATE_SYNTAX: True,
        })

    def _form_body(self, environ: dict[str, Any]) -> bytes:
        """The form body, at most the body limit (413 beyond)."""
        try:
            length = int(environ.get("CONTENT_LENGTH") or -1)
        except ValueError:
            raise BadRequest("Content-Length: not a number") from None
        if length > self.max_body_bytes:
            raise PayloadTooLarge(body_limit_message(self.max_body_bytes, "LRS_MAX_BODY_BYTES"))
        if length >= 0:
            body = environ["wsgi.input"].read(length)
        elif environ.get("wsgi.input_terminated"):  # chunked: the server ends the stream
            body = environ["wsgi.input"].read(self.max_body_bytes + 1)
        else:
            body = b""
        if len(body) > self.max_body_bytes:
            raise PayloadTooLarge(body_limit_message(self.max_body_bytes, "LRS_MAX_BODY_BYTES"))
        return body


def _from_a_web_page(environ: dict[str, Any]) -> bool:
    """Browsers name the page's origin on every POST (Fetch: Origin; Sec-Fetch-Site where they
    send it); other clients send neither. A cross-site page can make the browser POST a form here,
    and the browser adds the Basic credentials it remembers for the LRS."""
    return "HTTP_ORIGIN" in environ or "HTTP_SEC_FETCH_SITE" in environ


def _once(values: list[str], where: str) -> str:
    """The one value of a parameter or form field; a 400 if it was given more than once."""
    if len(values) > 1:
        raise BadRequest(f"{where}: must be given once")
    return values[0]


def _apply_header_fields(form: dict[str, list[str]], environ: dict[str, Any]) -> None:
    """Move the form fields that stand for headers (names in any case) into `environ`. Each one
    given once is applied before one given twice is refused, so the refusal still answers in the
    version the form names."""
    given: dict[str, list[tuple[str, str]]] = {}
    for name in [name for name in form if name.lower() in HEADER_FIELDS]:
        given.setdefault(name.lower(), []).extend((name, value) for value in form.pop(name))
    for field, values in given.items():
        if len(values) == 1:
            name, value = values[0]
            value = field_value(value, f"form field {name!r}")
            if HEADER_FIELDS[field]:
                environ[HEADER_FIELDS[field]] = value
    repeated = [values[0][0] for values in given.values() if len(values) > 1]
    if repeated:
        raise BadRequest(f"form field {repeated[0]!r}: must be given once")
