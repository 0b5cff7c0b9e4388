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

from lrs.server import serve_app
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


def main() -> None:
    """Host, port, threads and log level come from the same LRS_* variables `lrs serve` reads."""
    serve_app(create_floor, Settings.resolve(CORE_SETTINGS, {"mongo_uri": ""}))


if __name__ == "__main__":
    main()
