"""Scores of content without scoring: H5P reports its result as `{raw: 0, min: 0, max: 0}`.

xAPI wants a score's min less than its max (Data 2.4.5.1), so the LRS refuses an equal pair;
such a range says nothing, so the adapter drops it from events and posted statements alike (a
posted statement's SubStatement object has a result of its own, refused just the same) and keeps
raw (no scaled is made up). Analytics count a score only with scaled or a real range.
"""
from __future__ import annotations

from typing import Any


def without_empty_ranges(statement: dict) -> dict:
    """The statement with `without_empty_range` applied to its result and to its SubStatement
    object's result (a SubStatement holds no SubStatement, so there is no deeper one to clean)."""
    cleaned = _with_result_cleaned(statement)
    target = statement.get("object")
    if isinstance(target, dict) and target.get("objectType") == "SubStatement":
        cleaned["object"] = _with_result_cleaned(target)
    return cleaned


def _with_result_cleaned(part: dict) -> dict:
    return {**part, "result": without_empty_range(part["result"])} if "result" in part else dict(part)


def without_empty_range(result: Any) -> Any:
    """`result` without its score's min and max when they are the same number and raw (when
    present) is that number too (without the score if nothing else is left); anything else as
    sent, for validation to judge."""
    score = result.get("score") if isinstance(result, dict) else None
    if not isinstance(score, dict) or not _empty_range(score):
        return result
    kept = {name: value for name, value in score.items() if name not in ("min", "max")}
    rest = {name: value for name, value in result.items() if name != "score"}
    return {**rest, "score": kept} if kept else rest


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _empty_range(score: dict) -> bool:
    low, high = score.get("min"), score.get("max")
    return is_number(low) and is_number(high) and low == high and score.get("raw", low) == low
