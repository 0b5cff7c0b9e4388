"""Running the LRS under gunicorn, sized for the store in use."""
from __future__ import annotations

import multiprocessing
from typing import Any

from gunicorn.app.base import BaseApplication

from lrs.settings import CORE_SETTINGS, Settings


class _Gunicorn(BaseApplication):
    def __init__(self, options: dict[str, Any]):
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for name, value in self.options.items():
            self.cfg.set(name, value)

    def load(self) -> Any:
        from lrs.app import create_app

        return create_app()


def gunicorn_options(settings: Settings, host: str, port: int) -> dict[str, Any]:
    """The embedded store lives in one process, so it gets one worker; MongoDB gets many."""
    workers = settings["workers"] or multiprocessing.cpu_count() * 2 + 1
    return {
        "bind": f"{host}:{port}",
        "workers": workers if settings["mongo_uri"] else 1,
        "threads": settings["threads"],
        "worker_class": "gthread",
        "timeout": 120,
        "accesslog": "-",
        "loglevel": settings["log_level"].lower(),
    }


def run(host: str | None = None, port: int | None = None) -> None:
    settings = Settings.resolve(CORE_SETTINGS)
    _Gunicorn(gunicorn_options(settings, host or settings["host"], port or settings["port"])).run()
