"""POST /oauth/token: the client-credentials grant, answered in RFC 6749's shapes.

Client authentication by `client_id`/`client_secret` form fields (what the seeds' curl examples
send) or by HTTP Basic (RFC 6749 section 2.3.1: the id and secret form-encoded; sent unencoded is
accepted too), never both in one request (section 2.3: a Basic request's body may name the client
by `client_id`, but not carry `client_secret`). A parameter given twice is refused (section 3.2).
Errors are RFC 6749 section 5.2 bodies:
`{"error": "invalid_client" | "invalid_request" | "unsupported_grant_type" | "unauthorized_client"
(a valid credential without a Caliper scope) | "invalid_scope" (asking for more than it holds),
"error_description": ...}`, also for the 429 after repeated failed secrets ("invalid_client", with
Retry-After).
"""
from __future__ import annotations

import datetime as dt
from urllib.parse import unquote_plus

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from lrs.core import LRS
from lrs.errors import TooManyRequests
from lrs.http.errors import http_message
from lrs_plugins.caliper.tokens import LRS_SCOPE, OAUTH_SCOPES, TokenStore, grantable

TOKEN_PATH = "/oauth/token"
# The path of the token URL seeds/002 gives (its Cognito IdP's `/oauth2/token`): a client moved to
# this LRS by changing only the host finds its token endpoint.
SEED_TOKEN_PATH = "/oauth2/token"
FORM = "application/x-www-form-urlencoded"


class OAuthError(Exception):
    def __init__(self, status: int, error: str, description: str):
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


def blueprint(lrs: LRS, tokens: TokenStore) -> Blueprint:
    oauth = Blueprint("caliper_oauth", __name__)

    @oauth.errorhandler(OAuthError)
    def oauth_error(error: OAuthError) -> Response:
        response = _no_store(jsonify({"error": error.error, "error_description": error.description}))
        response.status_code = error.status
        if error.status == 401:
            response.headers["WWW-Authenticate"] = 'Basic realm="caliper"'
        return response

    @oauth.errorhandler(TooManyRequests)
    def throttled(error: TooManyRequests) -> Response:  # too many failed secrets lately (lrs.throttle)
        response = oauth_error(OAuthError(429, "invalid_client", error.message))
        response.headers["Retry-After"] = str(error.retry_after_seconds)
        return response

    @oauth.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:  # e.g. a form over LRS_MAX_BODY_BYTES (413)
        return oauth_error(OAuthError(error.code or 500, "invalid_request", http_message(error)))

    @oauth.post(TOKEN_PATH, strict_slashes=False)
    @oauth.post(SEED_TOKEN_PATH, strict_slashes=False)
    def token() -> Response:
        if request.mimetype != FORM:
            raise OAuthError(400, "invalid_request", f"the request body must be {FORM}")
        form = request.form
        repeated = [name for name, values in form.lists() if len(values) > 1]
        if repeated:
            raise OAuthError(400, "invalid_request", f"parameter {repeated[0]!r} is given more than once: "
                             "each may be given once (RFC 6749 section 3.2)")
        if not form.get("grant_type"):  # section 5.2: a missing parameter is invalid_request, not a grant type
            raise OAuthError(400, "invalid_request", "grant_type is required (grant_type=client_credentials)")
        if form.get("grant_type") != "client_credentials":
            raise OAuthError(400, "unsupported_grant_type", "only grant_type=client_credentials is supported")
        credential = lrs.credentials.verify_any(_client(form), request.remote_addr)
        if credential is None:
            raise OAuthError(401, "invalid_client", "unknown client_id or wrong client_secret")
        allowed = grantable(credential)
        if not allowed:
            raise OAuthError(400, "unauthorized_client", "this credential holds no Caliper scope: give it the "
                             f"LRS scope {LRS_SCOPE} (`lrs credentials update <key> --scope {LRS_SCOPE}`, with a "
                             "--scope for each scope it keeps), which grants the OAuth scopes "
                             f"{' '.join(sorted(OAUTH_SCOPES[LRS_SCOPE]))}")
        requested = set(form.get("scope", "").split()) or set(allowed)
        if not requested <= allowed:
            raise OAuthError(400, "invalid_scope", f"this client may request: {' '.join(sorted(allowed))}")
        access_token = tokens.issue(credential, requested, dt.datetime.now(dt.timezone.utc))
        return _no_store(jsonify({"access_token": access_token, "token_type": "Bearer",
                                  "expires_in": int(tokens.lifetime.total_seconds()),
                                  "scope": " ".join(sorted(requested))}))

    return oauth


def _client(form: dict) -> list[tuple[str, str]]:
    """The forms the client's id and secret may take: HTTP Basic ones are form-encoded by RFC 6749
    section 2.3.1 (decoded first), or sent as they are (timeback-caliper does)."""
    basic = request.authorization
    if basic is not None and basic.type == "basic":
        sent = (basic.username or "", basic.password or "")
        decoded = (unquote_plus(sent[0]), unquote_plus(sent[1]))
        _basic_only(form, {sent[0], decoded[0]})
        return [decoded, sent]
    client_id, secret = form.get("client_id"), form.get("client_secret")
    if not client_id or not secret:
        raise OAuthError(401, "invalid_client", "client_id and client_secret are required")
    return [(client_id, secret)]


def _basic_only(form: dict, basic_ids: set[str]) -> None:
    """RFC 6749 section 2.3: one client authentication method per request. Beside HTTP Basic the
    body may still name the client (`client_id`, section 3.2.1; requests-oauthlib sends it so with
    include_client_id=True), but not carry a secret, nor name another client."""
    if form.get("client_secret"):
        raise OAuthError(400, "invalid_request", "the client authenticated both by HTTP Basic and by client_secret "
                         "in the body: a client must use one authentication method per request (RFC 6749 "
                         "section 2.3); send the secret in one of them only")
    client_id = form.get("client_id")
    if client_id and client_id not in basic_ids:
        raise OAuthError(400, "invalid_request", "client_id in the body is not the client of the HTTP Basic "
                         "credentials: a request authenticates one client (RFC 6749 section 2.3)")


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response
