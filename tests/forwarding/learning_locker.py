"""A small fake that answers POST /data/xAPI/statements the way Learning Locker (v2+, its
xapi-service) does: Basic auth with a store client's key and secret, a required 1.0.x
X-Experience-API-Version header, statement versions 1.0.x only, 200 with the ids, 409 for an id
it holds with different content, 400 with `warnings` for invalid statements, and an occasional
429 with Retry-After like its rate limiter."""
from __future__ import annotations

import base64
import threading
import uuid
from typing import Any

from flask import Flask, jsonify, request

from lrs.xapi.equality import same_statement


class FakeLearningLocker:
    def __init__(self, key: str, secret: str, limit_every: int = 5):
        self.expected = "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()
        self.limit_every = limit_every
        self.statements: dict[str, dict] = {}
        self.requests = 0
        self.lock = threading.Lock()
        self.app = Flask(__name__)
        self.app.add_url_rule("/data/xAPI/statements", view_func=self.post_statements, methods=["POST"])

    def post_statements(self) -> Any:
        with self.lock:
            self.requests += 1
            if self.limit_every and self.requests % self.limit_every == 0:
                return jsonify({"message": "Too many requests"}), 429, {"Retry-After": "1"}
        if request.headers.get("Authorization") != self.expected:
            return jsonify({"errorId": str(uuid.uuid4()), "message": "Unauthorised"}), 401
        if not request.headers.get("X-Experience-API-Version", "").startswith("1.0"):
            return jsonify({"errorId": str(uuid.uuid4()),
                            "message": "X-Experience-API-Version header missing or not 1.0.x"}), 400
        body = request.get_json()
        statements = body if isinstance(body, list) else [body]
        warnings = [f"Problem in 'statements.{n}.{problem}'" for n, s in enumerate(statements)
                    for problem in _problems(s)]
        if warnings:
            return jsonify({"errorId": str(uuid.uuid4()), "warnings": warnings,
                            "message": "Invalid statements"}), 400
        with self.lock:
            for statement in statements:
                known = self.statements.get(statement["id"])
                if known is not None and not same_statement(known, statement):
                    return jsonify({"errorId": str(uuid.uuid4()), "statementId": statement["id"],
                                    "message": f"Conflict with existing statement {statement['id']}"}), 409
            for statement in statements:
                self.statements.setdefault(statement["id"], statement)
        return jsonify([statement["id"] for statement in statements])


def _problems(statement: Any) -> list[str]:
    if not isinstance(statement, dict):
        return ["statement"]
    problems = [key for key in ("id", "actor", "verb", "object") if key not in statement]
    if not str(statement.get("version", "1.0.0")).startswith("1.0."):
        problems.append("version")
    return problems
