"""Log lines for operators: plain text or one JSON object per line, each with its request id.

The request id lives in a context variable set by the HTTP layer (lrs.http.observe), so every
line logged while a request is handled carries it, whichever module logs; lines outside a
request carry "-". gunicorn's own loggers get the same format through `gunicorn_logconfig`
(`lrs serve`) or `GunicornLogger` (gunicorn run directly).

Messages carry what clients send (a request's decoded path, its method): in either format, a
character that could end a line or hide text is written escaped, so no request can make a line
that reads as another event, and what may be long (a path, a method) is cut (`clipped`). A query
string reaches the log with its parameters' names only (`redacted_target`): its values name
learners and may hold secrets.
"""
from __future__ import annotations

import contextvars
import copy
import datetime as dt
import json
import logging
import logging.config
import re
from typing import Any

from gunicorn.glogging import Logger as _GunicornBaseLogger

from lrs.settings import CORE_SETTINGS, SettingError, Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("lrs_request_id", default="-")
# What json.dumps leaves as it is but a line-based reader may still split on (or a terminal act
# on): DEL, the C1 controls (NEL among them), Unicode's line and paragraph separators, and lone
# surrogates (from undecodable bytes), which stderr could not encode.
_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u2028\u2029\ud800-\udfff]")
REDACTED = "***"
# A parameter name as the LRS's and its plugins' APIs spell them. Any other name (percent-encoded,
# long, a bare `?mailto:...` with no `=`) may be what a value would be, so it is masked as well.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
# A request line may be as long as the server's bound on headers (256 KiB). Logged whole (twice in
# JSON: message and field), its line outgrows what log shippers take as one line (Docker's
# json-file driver splits at 16 KiB, journald at 48 KiB), and the rest arrives as a line of its own
# that starts with what the client wrote: a forged event. Each value a client chose is cut to this
# many characters, so an access line stays under 16 KiB even when every character is escaped.
MAX_LOGGED_CHARS = 512
# Libraries whose DEBUG lines carry what the LRS sends: pymongo's commands (statements, documents,
# the filters naming learners), urllib3's request URLs (queries naming agents). Kept at INFO unless
# LRS_LOG_LIBRARY_DEBUG says otherwise: DEBUG is turned on to diagnose the LRS, and a log is kept
# longer and read more widely than the store.
PAYLOAD_LOGGERS = ("pymongo", "urllib3")


def escaped(text: str) -> str:
    """`text` with every non-printable character (line breaks, other C0 and C1 controls, Unicode
    separators and format characters such as bidi overrides) as its Python escape: `\\n`, `\\x85`."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def clipped(text: str, limit: int = MAX_LOGGED_CHARS) -> str:
    """`text` cut to `limit` characters, saying how many were left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}...({len(text) - limit} more characters)"


def redacted_target(path: str, query: str) -> str:
    """`path?query` for a log line, the query's values masked: `/xapi/statements?agent=***&since=***`.
    Values name learners (agent=, registration=, the person an erasure removes) and a client may
    send secrets there (client_secret=), while the log lives longer and is read more widely than
    the store; the names still tell which request it was."""
    parts = [_redacted(part) for part in query.split("&") if part]
    return f"{path}?{'&'.join(parts)}" if parts else path


def _redacted(part: str) -> str:
    name, has_value, _ = part.partition("=")
    name = name if _PLAIN_NAME.fullmatch(name) else REDACTED
    return f"{name}={REDACTED}" if has_value else name


class RequestIdFilter(logging.Filter):
    """Stamps each record with the request id of the request being handled (or "-")."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, and `extra` fields."""

    _standard = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", request_id.get()),
        }
        line.update({k: v for k, v in vars(record).items() if k not in self._standard})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        text = json.dumps(line, default=str, ensure_ascii=False)
        return _JSON_UNSAFE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


class TextFormatter(logging.Formatter):
    """TEXT_FORMAT with the message escaped (`escaped`). A traceback (whose exception message may
    quote a client too) follows on lines of its own, each escaped and indented, so that only an
    event's first line starts at the margin."""

    def __init__(self, fmt: str = TEXT_FORMAT, **kwargs: Any):
        super().__init__(fmt, **kwargs)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        first, newline, rest = text.partition("\n")  # the message holds no line break: the rest is a traceback
        if not newline:
            return text
        return first + "".join(f"\n    {escaped(line)}" for line in rest.split("\n"))

    def formatMessage(self, record: logging.LogRecord) -> str:
        if record.message.isprintable():
            return super().formatMessage(record)
        record = copy.copy(record)  # other handlers format the record as it came
        record.message = escaped(record.message)
        return super().formatMessage(record)


def formatter(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else TextFormatter()


def configure(level: str, log_format: str, library_debug: bool = False) -> None:
    """Route the root logger to stderr in the chosen format (idempotent: one handler only), the
    PAYLOAD_LOGGERS at INFO or above unless `library_debug` (LRS_LOG_LIBRARY_DEBUG)."""
    root = logging.getLogger()
    root.setLevel(level)
    floor = logging.NOTSET if library_debug else logging.INFO
    for name in PAYLOAD_LOGGERS:
        logging.getLogger(name).setLevel(floor)
    handler = next((h for h in root.handlers if getattr(h, "lrs_handler", False)), None)
    if handler is None:
        handler = logging.StreamHandler()
        handler.lrs_handler = True  # type: ignore[attr-defined]
        handler.addFilter(RequestIdFilter())
        root.addHandler(handler)
    handler.setFormatter(formatter(log_format))


def gunicorn_logconfig(level: str, log_format: str) -> dict[str, Any]:
    """gunicorn's `logconfig_dict`: its error log in our format; access lines come from the app."""
    factory = "lrs.logs.JsonFormatter" if log_format == "json" else "lrs.logs.TextFormatter"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "lrs.logs.RequestIdFilter"}},
        "formatters": {"lrs": {"()": factory}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "lrs",
                                "filters": ["request_id"], "stream": "ext://sys.stderr"}},
        "root": {"level": level, "handlers": []},  # the app adds its own handler (`configure`)
        "loggers": {"gunicorn.error": {"level": level, "handlers": ["stderr"], "propagate": False},
                    "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False}},
    }


class GunicornLogger(_GunicornBaseLogger):
    """For gunicorn run directly (`gunicorn --logger-class lrs.logs.GunicornLogger lrs.wsgi:app`):
    gunicorn's own lines, its master's included, in LRS_LOG_FORMAT at LRS_LOG_LEVEL, as under
    `lrs serve`. The master logs before any worker imports the app, so only a logger class, which
    gunicorn makes first, can reach those lines."""

    def setup(self, cfg: Any) -> None:
        wanted = [setting for setting in CORE_SETTINGS if setting.name in ("log_level", "log_format")]
        try:
            settings = Settings.resolve(wanted)
        except SettingError as error:  # gunicorn prints a RuntimeError as one line and stops
            raise RuntimeError(str(error)) from None
        super().setup(cfg)
        logging.config.dictConfig(gunicorn_logconfig(settings["log_level"].upper(), settings["log_format"]))
