"""Every setting of the LRS in one place: its name, environment variable, default and meaning.

The core's own settings are here; the forwarding engine's (lrs.forwarding.settings) and the
plugins' come in through the `lrs_declare_settings` hook with the same `Setting` type and the
shared parsers below, so `lrs settings` and the README table cover them too. This module is a
leaf: it imports nothing of the LRS, so anything may import it.
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping
from urllib.parse import urlsplit


class SettingError(ValueError):
    """A setting's value is not allowed: an operator's mistake, told in one line naming the
    variable, the value (unless secret) and what is allowed; never a traceback."""


def parse_bool(value: str) -> bool:
    """Environment variables are strings; accept the usual spellings and refuse the rest."""
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("must be true or false")


def choice(*allowed: str) -> Callable[[str], str]:
    """A parser accepting one of `allowed`, in any case, answered as spelled in `allowed`."""
    def parse(value: str) -> str:
        for option in allowed:
            if value.strip().lower() == option.lower():
                return option
        raise ValueError(f"must be one of {', '.join(allowed)}")
    return parse


def parse_list(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def parse_plugins(value: str) -> tuple[str, ...]:
    """Plugin names, each once: a plugin registers its hooks under its name, which can be taken
    only once."""
    names = parse_list(value)
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"names {', '.join(map(repr, repeated))} more than once: name each plugin once")
    return names


def parse_host(value: str) -> str:
    """An address to bind. An empty one (a template left unfilled) is refused, not taken as every
    interface, which is what a socket makes of it."""
    if not value.strip():
        raise ValueError("must not be empty: unset it for 127.0.0.1 (this machine only), or give 0.0.0.0 "
                         "for every interface")
    return value.strip()


# MongoDB's rule for database names (any platform's characters); mongomock, the embedded store,
# takes any name, so a name working there could stop the LRS once moved to MongoDB.
MONGO_DB_FORBIDDEN = '/\\. "$*<>:|?\0'
MONGO_DB_RULE = "must be 1 to 63 bytes without spaces or any of / \\ . \" $ * < > : | ? (MongoDB's rule)"


def parse_mongo_db(value: str) -> str:
    if not 0 < len(value.encode()) < 64 or any(character in MONGO_DB_FORBIDDEN for character in value):
        raise ValueError(MONGO_DB_RULE)
    return value


# The length the admin API requires of every credential's secret (lrs.http.admin_credentials).
SECRET_LENGTH = (8, 200)
# A key travels in HTTP Basic (`key:secret`) and Bearer tokens (printable, no colon, no space) and
# as one segment of the admin API's and the console's paths: no slash, and not `.` or `..`, which
# browsers and HTTP clients drop from a path before sending it.
KEY_PATTERN = r"^(?!\.\.?\Z)[!-.0-9;-~]{1,128}\Z"
KEY_RULE = "must be 1 to 128 printable ASCII characters without spaces, colons or slashes, and not . or .."


def parse_admin_key(value: str) -> str:
    """Empty (no admin credential), or a key every credential could have: one the admin API and
    the console can name in a path, to change or revoke it."""
    if value and not re.match(KEY_PATTERN, value):
        raise ValueError(KEY_RULE)
    return value


def parse_admin_secret(value: str) -> str:
    """Empty (no admin credential), or a secret of the length the admin API requires: the most
    powerful credential gets no weaker secret than any other."""
    low, high = SECRET_LENGTH
    if value and not low <= len(value) <= high:
        raise ValueError(f"must be {low} to {high} characters long, as every credential's secret")
    return value


def _plain(number: float) -> str:
    """1024 as 1024, 2 ** 40 as 1099511627776, 0.01 as 0.01: never 1e+06 in a message."""
    return str(int(number)) if float(number).is_integer() else f"{number:g}"


def between(parse: Callable[[str], float], low: float, high: float) -> Callable[[str], float]:
    """A parser (int or float) of numbers from low to high: every numeric setting has a range."""
    kind = "a whole number" if parse is int else "a number"

    def check(value: str) -> float:
        try:
            number = parse(value.strip())
        except ValueError:
            number = math.nan
        if not low <= number <= high:  # NaN compares false: refused too
            raise ValueError(f"must be {kind} from {_plain(low)} to {_plain(high)}")
        return number
    return check


def one_or_more_of(*allowed: str) -> Callable[[str], tuple[str, ...]]:
    """A parser of a comma-separated choice among `allowed`, answered in `allowed`'s order."""
    def check(value: str) -> tuple[str, ...]:
        chosen = set(parse_list(value))
        if not chosen or not chosen <= set(allowed):
            raise ValueError(f"must be one or more of {', '.join(allowed)}, separated by commas")
        return tuple(choice for choice in allowed if choice in chosen)
    return check


XAPI_VERSIONS = ("1.0.3", "2.0.0")  # the versions the LRS can speak, as lrs.xapi.versions answers

# The lowest scrypt cost (N = 2 ** 14) LRS_SECRET_HASH_COST accepts. Tests pass lower costs to
# create_app as numbers (values not read from text are not parsed), so their apps start fast.
SAFE_HASH_COST = 14


def parse_origins(value: str) -> tuple[str, ...]:
    """`*`, or exact origins (scheme://host[:port]). `null` is refused: sandboxed frames and
    local files of any site send it, so trusting it would trust every page."""
    origins = parse_list(value)
    for origin in origins:
        if origin != "*" and not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?", origin):
            raise ValueError(f"expected * or origins like https://app.example.com[:port], got {origin!r}")
    return origins


def parse_public_url(value: str) -> str:
    """Empty, or an absolute http(s) URL without query or fragment; a trailing slash is dropped,
    as authorities and minted IRIs append their own paths to it."""
    return parse_http_url(value.strip().rstrip("/"))


def parse_http_url(value: str) -> str:
    """Empty, or an absolute http(s) URL without query or fragment, kept as given: an adapter's
    homePage or IRI base, refused at start rather than in every client's 400 (a bad homePage made
    each event's userId "must be an IRL")."""
    url = value.strip()
    if not url:
        return ""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number from 0 to 65535
    except ValueError:
        parts = None
    if (not parts or parts.scheme not in ("http", "https") or not parts.hostname or parts.query
            or parts.fragment or re.search(r"\s", url)):
        raise ValueError("must be an absolute http:// or https:// URL without query or fragment, e.g. "
                         "https://lrs.example.org")
    return url


def shown_uri(uri: str) -> str:
    """The URI with its password replaced by ***, fit for a log line or an error message: a
    MongoDB URI, the URL of an LRS with credentials in it (with or without its scheme)."""
    before, password, after = _split_password(uri)
    return uri if password is None else f"{before}***{after}"


def without_password(uri: str, text: str) -> str:
    """`text` (a client library's error about `uri`) with the URI's password hidden, and its
    pieces: a library reads an unescaped password's pieces as hosts or paths and names them."""
    password = _split_password(uri)[1] or ""
    pieces = {password, *re.split(r"[@/?#:,;&=]", password)} - {""}
    for piece in sorted(pieces, key=len, reverse=True):
        text = re.sub(rf"(?<![\w.%-]){re.escape(piece)}(?![\w.%-])", "***", text)
    return text


def _split_password(uri: str) -> tuple[str, str | None, str]:
    """(what comes before the password, the password or None, what follows it). The password runs
    from the user name's colon to the last @: an unescaped @, / or ? in it (the usual way to get
    this URI wrong) stays hidden, at worst with some of what follows it."""
    scheme, slashes, rest = uri.partition("//")
    if not slashes:  # no scheme: `user:pw@host:8000`
        scheme, rest = "", uri
    userinfo, at, hosts = rest.rpartition("@")
    user, colon, password = userinfo.partition(":")
    return (f"{scheme}{slashes}{user}:", password, f"@{hosts}") if at and colon else (uri, None, "")


def public_url_unset(where: str, default: str) -> str:
    """The warning for a server reached from beyond this machine without LRS_PUBLIC_URL: the
    authority a credential gets is fixed when it is made, so a wrong default outlives the fix."""
    return (f"LRS_PUBLIC_URL is unset while {where}: credentials made now get an authority on {default} "
            "for good, and adapters mint IRIs on it. Set LRS_PUBLIC_URL to the URL clients use.")


# The paths the core serves (lrs.app's blueprints): a plugin's path must stay out of them, or the
# core's routes would answer in its place.
CORE_PATHS = ("/xapi", "/admin", "/console", "/health", "/metrics", "/static")


def plugin_path(value: str) -> str:
    """A path a plugin serves on: '/', or one that starts with '/' but does not end with one,
    outside CORE_PATHS."""
    if not value.startswith("/") or (value.endswith("/") and value != "/"):
        raise ValueError("must be / or start with '/' and not end with one, e.g. /events")
    for core in CORE_PATHS:
        if value == core or value.startswith(core + "/"):
            raise ValueError(f"must stay out of the core's paths ({', '.join(CORE_PATHS)})")
    return value


@dataclass(frozen=True)
class Setting:
    """One configurable value. Its environment variable is LRS_ + the upper-cased name."""

    name: str
    default: Any
    doc: str
    parse: Callable[[str], Any] = str
    secret: bool = False
    # A rule between this setting's value and others' (a ValueError if broken), checked once all
    # are resolved, e.g. a weak score below the strong one.
    relation: Callable[[Mapping[str, Any]], None] | None = None

    @property
    def env(self) -> str:
        return "LRS_" + self.name.upper()


CORE_SETTINGS: tuple[Setting, ...] = (
    Setting("mongo_uri", "", "MongoDB connection URI. Empty: the embedded store (in this "
            "process, kept on disk in LRS_DATA_DIR).", secret=True),
    Setting("data_dir", "lrs-data", "Folder of the embedded store (used when LRS_MONGO_URI is "
            "empty): every acknowledged write is in its SQLite file. Empty: memory only, lost when "
            "the process stops (tests, conformance runs). One process at a time may open it."),
    Setting("mongo_db", "lrs", "Name of the MongoDB database the LRS uses (on the embedded store too, "
            "so that moving to MongoDB keeps it): 1 to 63 bytes, without spaces or the characters MongoDB "
            "refuses in database names (/ \\ . \" $ * < > : ? and the vertical bar).",
            parse_mongo_db),
    Setting("public_url", "", "The LRS's public base URL, http:// or https:// (a trailing slash is "
            "dropped). Used by adapters to build IRIs, and as the account.homePage of the authority of "
            "each credential made while it is in force: a credential's authority, LRS_ADMIN_KEY's "
            "included, is fixed when the credential is first made (so its statements stay its own for "
            "statements/read/mine and voiding); credentials made before a change keep the old URL. "
            "Empty: http://LRS_HOST:LRS_PORT, the address `lrs serve` serves (with 127.0.0.1 for a "
            "wildcard LRS_HOST such as 0.0.0.0); `lrs serve` warns at start when it is empty and "
            "LRS_HOST is not a loopback address, and `lrs.wsgi:app` (a WSGI server of your own, whose "
            "address the LRS cannot know) whenever it is empty.", parse_public_url),
    Setting("host", "127.0.0.1", "Address `lrs serve` binds to (0.0.0.0: every interface).", parse_host),
    Setting("port", 8000, "Port `lrs serve` listens on.", between(int, 1, 65535)),
    Setting("workers", 0, "gunicorn worker processes for `lrs serve` with a real MongoDB "
            "(0: 2 x CPU cores + 1). The embedded store runs one process: more is refused.",
            between(int, 0, 256)),
    Setting("threads", 8, "Threads per gunicorn worker.", between(int, 1, 1000)),
    Setting("admin_key", "", "If set together with LRS_ADMIN_SECRET, a credential with scopes "
            "`all` and `admin` and this key exists after start (created with the label `admin`, or given "
            "this secret and those scopes; its authority, and a label given it since, stay). One without "
            "the other stops the start, and so does the key of a revoked credential (it stays revoked). "
            "A new secret ends the console sessions and OAuth tokens of the old one; naming an existing "
            "credential without `admin` makes it the admin one, which the log says. "
            "The key follows every credential's rule: 1 to 128 printable ASCII characters without "
            "spaces, colons or slashes, not . or ..", parse_admin_key),
    Setting("admin_secret", "", "Secret of the admin credential (see LRS_ADMIN_KEY), 8 to 200 "
            "characters.", parse_admin_secret, secret=True),
    Setting("console_idle_minutes", 30, "Minutes a console session lasts without a request: the next "
            "page after that is the sign-in page, saying the session ended for inactivity. Each request "
            "starts the minutes again, but a session ends 8 hours after sign-in whatever it does.",
            between(int, 1, 480)),
    Setting("plugins", (), "Comma-separated names of the plugins to enable "
            "(built-in: simple_events, h5p, caliper, forward_xapi).", parse_plugins),
    Setting("max_body_bytes", 20 * 1024 * 1024, "Largest request body, in bytes, on every path "
            "but multipart statement requests; larger requests get 413. `lrs serve` answers it as soon "
            "as the Content-Length (or that much of a chunked body) arrives, without reading the rest.",
            between(int, 1024, 2 ** 31)),
    Setting("max_attachment_request_bytes", 256 * 1024 * 1024, "Largest multipart/mixed "
            "statement request (POST or PUT /xapi/statements: statements plus attachment contents), in "
            "bytes; larger requests get 413. Beyond LRS_MAX_BODY_BYTES only with an Authorization header "
            "(401 before the body is read otherwise). Contents stream to the store, so this bounds "
            "storage per request, not memory.", between(int, 1024, 2 ** 40)),
    Setting("max_statements_per_request", 1000, "Most statements one request may store (a POST "
            "batch, an adapter's envelope or array); larger requests get 413.", between(int, 1, 100_000)),
    Setting("max_attachment_parts", 500, "Most attachment contents (multipart/mixed parts after "
            "the statements) one request may carry; more get 413.", between(int, 1, 100_000)),
    Setting("read_timeout", 30, "Seconds `lrs serve` waits for more of a request (or the next one "
            "on a kept-alive connection) before closing the connection; a request must also arrive whole "
            "within this many seconds of its first byte, plus one second per 8 KiB of body received, and a "
            "client that takes nothing of its answer for this long is disconnected. "
            "Requests are read whole before a thread runs them, so slow clients cost a socket, not a "
            "thread.", between(int, 1, 3600)),
    Setting("statements_page_size", 100, "Statements per page of GET /statements when the "
            "client asks for limit=0 or more than this.", between(int, 1, 10000)),
    Setting("cors_origins", ("*",), "Comma-separated origins (https://app.example.com) allowed to "
            "call the LRS from a browser with credentials the browser holds; `*`: any page, but only "
            "with the Authorization it sends itself (no Access-Control-Allow-Credentials). Never for /admin, "
            "/console and /metrics.", parse_origins),
    Setting("auth_cache_seconds", 300, "How long a verified key/secret pair skips the slow "
            "password hash (revocation still takes effect at once).", between(float, 0, 86400)),
    Setting("secret_hash_cost", 15, "scrypt cost of the hash of credential secrets: N = 2 ** cost "
            "(14 to 17; each step doubles the time and memory of a first verification).",
            between(int, SAFE_HASH_COST, 17)),
    Setting("auth_max_failures_per_key", 10, "Failed secret checks for one key within "
            "LRS_AUTH_FAILURE_WINDOW_SECONDS after which that key is answered 429 (with Retry-After) "
            "until the window ends; pairs verified recently still pass, and so does the key at an address "
            "it succeeded from within 30 days (0: no limit).", between(int, 0, 10 ** 6)),
    Setting("auth_max_failures_per_address", 50, "The same for one client address, whatever the keys "
            "(0: no limit). Behind a reverse proxy set LRS_PROXY_HOPS, or every client shares the "
            "proxy's address.", between(int, 0, 10 ** 6)),
    Setting("auth_failure_window_seconds", 300.0, "The window over which failed secret checks are "
            "counted, in seconds.", between(float, 1, 86400)),
    Setting("proxy_hops", 0, "Reverse proxies in front of the LRS whose X-Forwarded-For header is "
            "trusted for the client address (0: the address of the connection).", between(int, 0, 10)),
    Setting("profile_put_requires_precondition", False, "xAPI 1.0.3: answer 400 to an Activity or Agent "
            "Profile PUT that has neither If-Match nor If-None-Match even when it would create the document, "
            "as the ADL 1.0.3 conformance suite checks (XAPI-00273). Off: such a PUT creates a missing "
            "document, as TinCanPython and xAPI.js expect; an existing one is always a 409.", parse_bool),
    Setting("xapi_versions", XAPI_VERSIONS, "Comma-separated xAPI versions the LRS speaks "
            "(1.0.3, 2.0.0 or both). Requests naming another version get 400; a response to a request "
            "without a supported version header names the newest enabled one.", one_or_more_of(*XAPI_VERSIONS)),
    Setting("log_level", "INFO", "Python logging level: DEBUG, INFO, WARNING, ERROR or CRITICAL.",
            choice("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")),
    Setting("mongo_timeout_seconds", 5.0, "How long `lrs serve` and every `lrs` command wait at start "
            "for LRS_MONGO_URI's server to answer before they stop with an error.", between(float, 0.1, 300)),
    Setting("log_format", "text", "`text` (one readable line per event) or `json` (one JSON object per "
            "line); either way every line carries the request id also answered in X-Request-ID.",
            choice("text", "json")),
    Setting("log_library_debug", False, "At LRS_LOG_LEVEL=DEBUG, let pymongo and urllib3 log at DEBUG "
            "too. Their debug lines carry what the LRS sends: MongoDB commands with whole statements and "
            "documents (learner data), request URLs with their queries. Off: those libraries log INFO and "
            "above, whatever LRS_LOG_LEVEL is. For diagnosing a driver, on a store without real learners.",
            parse_bool),
    Setting("metrics", "admin", "Who may read GET /metrics (Prometheus text format): `admin` (HTTP Basic "
            "with a credential of scope `metrics` or `admin`), `open` (anyone who reaches the port) or `off`.",
            choice("admin", "open", "off")),
    Setting("retention_days", 0.0, "Statements stored longer ago than this many days are erased (with "
            "what refers to them) by `lrs retention run`, and hourly by the LRS itself on the embedded "
            "store. 0: keep everything.", between(float, 0, 36500)),
)


class Settings(Mapping[str, Any]):
    """Read-only view of all settings, resolved once at start from overrides, env and defaults."""

    def __init__(self, declared: Iterable[Setting], values: Mapping[str, Any]):
        self.declared = {setting.name: setting for setting in declared}
        self._values = dict(values)

    @classmethod
    def resolve(cls, declared: Iterable[Setting], overrides: Mapping[str, Any] | None = None,
                environ: Mapping[str, str] | None = None) -> "Settings":
        declared = tuple(declared)
        environ = os.environ if environ is None else environ
        overrides = overrides or {}
        values = {}
        for setting in declared:
            if setting.name in overrides:
                value = overrides[setting.name]
                values[setting.name] = _parse(setting, value) if isinstance(value, str) else value
            elif setting.env in environ:
                values[setting.name] = _parse(setting, environ[setting.env])
            else:
                values[setting.name] = setting.default
        unknown = set(overrides) - {setting.name for setting in declared}
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
        for setting in declared:
            _check_relation(setting, values)
        return cls(declared, values)

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


def _parse(setting: Setting, raw: str) -> Any:
    try:
        return setting.parse(raw)
    except ValueError as error:
        raise SettingError(f"{_named(setting, raw)}: {error}") from None


def _named(setting: Setting, value: Any) -> str:
    """The variable and its value for an error message; a secret's value is never shown."""
    return setting.env if setting.secret else f"{setting.env}={value!r}"


def _check_relation(setting: Setting, values: Mapping[str, Any]) -> None:
    if setting.relation is None:
        return
    try:
        setting.relation(values)
    except ValueError as error:
        raise SettingError(f"{_named(setting, values[setting.name])}: {error}") from None


def settings_table(declared: Iterable[Setting]) -> str:
    """The Markdown table of settings that the README carries (`lrs settings`)."""
    rows = ["| Environment variable | Default | Meaning |", "| --- | --- | --- |"]
    for setting in declared:
        default = setting.default
        if isinstance(default, tuple):
            default = ",".join(default)
        elif isinstance(default, bool):  # what an operator types: parse_bool takes true/false, not Python's False
            default = str(default).lower()
        shown = f"`{default}`" if default != "" else "(empty)"
        rows.append(f"| `{setting.env}` | {shown} | {setting.doc} |")
    return "\n".join(rows)
