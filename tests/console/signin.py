"""Signing a Flask test client in to the console, as a browser would (form, cookies, CSRF)."""
from __future__ import annotations

import re
from typing import Any

from tests.conftest import ADMIN_KEY, ADMIN_SECRET

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(response: Any) -> str:
    return CSRF.search(response.get_data(as_text=True)).group(1)


def sign_in(client: Any, key: str = ADMIN_KEY, secret: str = ADMIN_SECRET) -> Any:
    """The sign-in answer; on success the client holds the session cookie."""
    token = csrf_of(client.get("/console/sign-in"))
    return client.post("/console/sign-in", data={"csrf": token, "key": key, "secret": secret, "next": ""})


def session_csrf(client: Any) -> str:
    """The CSRF token of the client's session, from a page's forms."""
    return csrf_of(client.get("/console/credentials"))
