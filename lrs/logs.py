"""Log lines for operators: plain text or one JSON object per line, each with its request id.

The request id lives in a context variable set by the HTTP layer (lrs.http.observe), so every
line logged while a request is handled carries it, whichever module logs; lines outside a
request carry "-". gunicorn's own loggers get the same format through `gunicorn_logconfig`.
"""
from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
from typing import Any

LOG_FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("lrs_request_id", default="-")


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
        return json.dumps(line, default=str, ensure_ascii=False)


def formatter(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)


def configure(level: str, log_format: str) -> None:
    """Route the root logger to stderr in the chosen format (idempotent: one handler only)."""
    root = logging.getLogger()
    root.setLevel(level)
    handler = next((h for h in root.handlers if getattr(h, "lrs_handler", False)), None)
    if handler is None:
        handler = logging.StreamHandler()
        handler.lrs_handler = True  # type: ignore[attr-defined]
        handler.addFilter(RequestIdFilter())
        root.addHandler(handler)
    handler.setFormatter(formatter(log_format))


def gunicorn_logconfig(level: str, log_format: str) -> dict[str, Any]:
    """gunicorn's `logconfig_dict`: its error log in our format; access lines come from the app."""
    factory = "lrs.logs.JsonFormatter" if log_format == "json" else "logging.Formatter"
    formatter_config: dict[str, Any] = {"()": factory}
    if log_format != "json":
        formatter_config["fmt"] = TEXT_FORMAT
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "lrs.logs.RequestIdFilter"}},
        "formatters": {"lrs": formatter_config},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "lrs",
                                "filters": ["request_id"], "stream": "ext://sys.stderr"}},
        "root": {"level": level, "handlers": []},  # the app adds its own handler (`configure`)
        "loggers": {"gunicorn.error": {"level": level, "handlers": ["stderr"], "propagate": False},
                    "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False}},
    }
