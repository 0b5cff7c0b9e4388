"""Turn the suite's JSON run log into one record per test the suite would have run.

The log is a tree of suites and tests, but only of what actually started: tests skipped after a
failed hook, or cut off when mocha stopped the run, are simply absent, and a suite whose hook
failed before any test appears as a childless node that looks like a test. So the tree is read
against the list of expected tests (see suite.list_tests), which says what is a test and what
never ran.
"""
from __future__ import annotations

import re
from collections import defaultdict
from typing import Any, Iterable, Iterator

from lrs_conformance.results import FAILED, NEVER_RAN, PASSED, HookFailure, RunResult, TestResult

REQUIREMENT_ID = re.compile(r"XAPI-\d{5}")
TRANSCRIPT_CHARS = 2000
NO_LOG = "no log"

Where = tuple[tuple[str, ...], str]


def parse_run(log: dict[str, Any] | None, expected: Iterable[Where], xapi: str) -> RunResult:
    """A RunResult from a suite log (None if the suite wrote none) and the expected tests, in
    run order, each as (suite path without mocha's root, title)."""
    log = log or {}
    expected = list(expected)
    ran, hooks, extras = _collect(log.get("log"), expected)
    state = log.get("state") or NO_LOG
    tests = _records(expected + extras, ran, hooks, state)
    return RunResult(xapi, state, tuple(tests), tuple(hooks), dict(log.get("summary") or {}))


def _collect(root: dict[str, Any] | None, expected: list[Where]
             ) -> tuple[dict[Where, list[dict[str, Any]]], list[HookFailure], list[Where]]:
    """The log's test nodes by (path, title), its failed hooks, and tests nobody expected."""
    suite_paths = {path[:depth] for path, _ in expected for depth in range(1, len(path) + 1)}
    test_keys = set(expected)
    ran: dict[Where, list[dict[str, Any]]] = defaultdict(list)
    hooks: list[HookFailure] = []
    extras: list[Where] = []
    for path, node in _walk(root):
        where = (path, node["title"])
        if _is_suite(path, node, root, where in test_keys, suite_paths):
            if node.get("error"):
                hooks.append(HookFailure(_own_path(path, node, root), node["error"], _tail(node)))
            continue
        if where not in test_keys:
            extras.append(where)
        ran[where].append(node)
    return ran, hooks, extras


def _walk(root: dict[str, Any] | None) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    """Every node with the titles of the suites above it, mocha's untitled root left out."""
    if root is None:
        return
    stack = [((), root)]
    while stack:
        path, node = stack.pop()
        yield path, node
        below = path if node is root else path + (node["title"],)
        stack.extend((below, child) for child in reversed(node.get("tests") or []))


def _is_suite(path: tuple[str, ...], node: dict[str, Any], root: dict[str, Any],
              expected_test: bool, suite_paths: set[tuple[str, ...]]) -> bool:
    """A suite whose hook failed before its first test has no children, like a test."""
    if node is root or node.get("tests"):
        return True
    return not expected_test and path + (node["title"],) in suite_paths


def _own_path(path: tuple[str, ...], node: dict[str, Any], root: dict[str, Any]) -> tuple[str, ...]:
    return () if node is root else path + (node["title"],)


def _records(order: list[Where], ran: dict[Where, list[dict[str, Any]]],
             hooks: list[HookFailure], state: str) -> list[TestResult]:
    seen: dict[Where, int] = defaultdict(int)
    records = []
    for where in order:
        occurrence = seen[where]
        seen[where] += 1
        nodes = ran.get(where, [])
        node = nodes[occurrence] if occurrence < len(nodes) else None
        records.append(_record(where, occurrence, node, hooks, state))
    return records


def _record(where: Where, occurrence: int, node: dict[str, Any] | None,
            hooks: list[HookFailure], state: str) -> TestResult:
    path, title = where
    key = " > ".join(path + (title,)) + (f" #{occurrence + 1}" if occurrence else "")
    requirements = requirement_ids(path, title)
    if node is not None and node.get("status") in (PASSED, FAILED):
        failed = node["status"] == FAILED
        return TestResult(key, path, title, requirements, node["status"],
                          node.get("error") or "" if failed else "", _tail(node) if failed else "")
    cause = never_ran_cause(path, hooks, state, started=node is not None)
    return TestResult(key, path, title, requirements, NEVER_RAN, cause)


def requirement_ids(path: tuple[str, ...], title: str) -> tuple[str, ...]:
    """The XAPI-nnnnn ids in the test's title, else in the nearest suite title that has any."""
    for text in (title, *reversed(path)):
        found = REQUIREMENT_ID.findall(text)
        if found:
            return tuple(dict.fromkeys(found))
    return ()


def never_ran_cause(path: tuple[str, ...], hooks: list[HookFailure], state: str, started: bool) -> str:
    """Why a test has no outcome, in words a reader can act on."""
    if started:
        return f"started but never finished (run state: {state})"
    enclosing = [hook for hook in hooks if path[:len(hook.path)] == hook.path]
    if enclosing:
        hook = max(enclosing, key=lambda h: len(h.path))
        return f"skipped: a hook failed in '{' > '.join(hook.path) or 'the whole run'}': {hook.error}"
    if state == NO_LOG:
        return "no outcome: the suite wrote no run log (see the end of its console output)"
    if state != "finished":
        return f"not reached: the run stopped (run state: {state})"
    if hooks:
        return f"not reached: mocha stopped the run after a hook failed in '{' > '.join(hooks[-1].path)}'"
    return "not reached: the run stopped without saying why"


def _tail(node: dict[str, Any]) -> str:
    """The end of the suite's request/response transcript: the last exchange, where a failure
    shows what the LRS answered."""
    return (node.get("log") or "")[-TRANSCRIPT_CHARS:]
