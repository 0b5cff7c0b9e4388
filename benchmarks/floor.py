"""The framework floor: a bare Flask endpoint that only parses a JSON batch of statements and
returns their ids, served by gunicorn with exactly the options `lrs serve` uses.

    LRS_PORT=8790 python benchmarks/floor.py        # then POST to http://127.0.0.1:8790/xapi/statements

What the LRS adds on top of this (validation, storage, indexes, durability) is what
`benchmarks/ingest_ratio.py` measures against it.
"""
from __future__ import annotations

import uuid
from typing import Any

from flask import Flask, jsonify, request
from gunicorn.app.base import BaseApplication

from lrs.server import gunicorn_options
from lrs.settings import CORE_SETTINGS, Settings


def create_floor() -> Flask:
    app = Flask(__name__)

    @app.post("/xapi/statements")
    def statements() -> Any:
        batch = request.get_json()
        batch = batch if isinstance(batch, list) else [batch]
        return jsonify([statement.get("id") or str(uuid.uuid4()) for statement in batch])

    @app.get("/xapi/about")
    def about() -> Any:
        return jsonify({"version": ["2.0.0"]})

    return app


class _Floor(BaseApplication):
    def __init__(self, options: dict[str, Any]):
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for name, value in self.options.items():
            self.cfg.set(name, value)

    def load(self) -> Flask:
        return create_floor()


def main() -> None:
    """Host, port, threads and log level come from the same LRS_* variables `lrs serve` reads."""
    settings = Settings.resolve(CORE_SETTINGS, {"mongo_uri": ""})
    _Floor(gunicorn_options(settings, settings["host"], settings["port"])).run()


if __name__ == "__main__":
    main()
