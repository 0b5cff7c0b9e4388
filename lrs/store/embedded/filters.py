"""Query filters compiled once into Python closures, answering exactly what mongomock's
`filter_applies` answers, for the operators the stores' queries use.

mongomock reads the filter anew for every document it tests: per field it rebuilds key sets,
checks every operator name against its tables and compares through its BSON comparison helper,
about 20-70 µs per statement filter. Every candidate an index proposes (and every document of a
scan) is tested, so that was most of an analytics query. Compiled, the reading is done once and a
test costs a few µs. The rules are mongomock's own, kept structure for structure: a field's
candidates are its values along the path (arrays expanded, `NOTHING` where a field is missing), a
positive condition needs one candidate that matches, `$ne`/`$nin` need all of them, and each
operator treats arrays, nulls and missing fields as mongomock's operator table does (its own
functions are used where nothing is gained by rewriting them).

Compiled: equality, `$eq`, `$ne`, `$in`, `$nin`, `$gt`, `$gte`, `$lt`, `$lte`, `$exists`,
`$regex` (a pattern without `$options`), `$elemMatch`, `$and`, `$or`, `$nor`, `$comment`, on
top-level and dotted fields. Anything else raises Unsupported, and the caller uses
`filter_applies`.
"""
from __future__ import annotations

import re
from typing import Any, Callable

from bson import ObjectId, Regex
from mongomock.filtering import NOTHING, SORTING_OPERATOR_MAP, bson_compare, iter_key_candidates, operator_eq

from lrs.store.embedded.expressions import SAME_KIND, Unsupported

# NOTHING (imported above) is the marker mongomock's iter_key_candidates gives for a missing field,
# taken from mongomock itself: sentinels, where it is defined, is only mongomock's dependency.
Check = Callable[[Any], bool]
Matcher = Callable[[Any], bool]  # one candidate value of a field against one condition
NEGATIVE = {"$ne", "$nin"}
SCALAR_SEARCHES = frozenset({str, int, float, bool})  # plain equality, `_equals` without its null and ObjectId rules


def compile_filter(filter: Any) -> Check:
    """`filter` as a test of one document; Unsupported when it uses anything not compiled here
    (or anything mongomock refuses: its error is then raised by `filter_applies` itself)."""
    if not isinstance(filter, dict):
        raise Unsupported(filter)
    parts = [_clause(name, search) for name, search in filter.items() if name != "$comment"]
    if not parts:
        return lambda document: True
    return _every(parts)


def _every(parts: list[Check]) -> Check:
    """All of the parts, in order, as closures testing up to three each (a generator per document
    costs more, and so does a call per part: a statement query's filter has four or five)."""
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        first, second = parts
        return lambda document: first(document) and second(document)
    first, second, third = parts[:3]
    if len(parts) == 3:
        return lambda document: first(document) and second(document) and third(document)
    rest = _every(parts[3:])
    return lambda document: first(document) and second(document) and third(document) and rest(document)


def _some(parts: list[Check]) -> Check:
    first = parts[0]
    if len(parts) == 1:
        return first
    rest = _some(parts[1:])
    return lambda document: first(document) or rest(document)


def _clause(name: str, search: Any) -> Check:
    if name in ("$and", "$or", "$nor"):
        if not (isinstance(search, list) and search and all(isinstance(part, dict) for part in search)):
            raise Unsupported(name)
        parts = [compile_filter(part) for part in search]
        if name == "$nor":
            some = _some(parts)
            return lambda document: not some(document)
        return _every(parts) if name == "$and" else _some(parts)
    if name.startswith("$"):
        raise Unsupported(name)
    return _field(name, search)


def _field(name: str, search: Any) -> Check:
    """mongomock's loop over a field's candidates (`_Filterer.apply`), for one field."""
    operators = isinstance(search, dict) and search and all(str(key).startswith("$") for key in search)
    match = _operators(search) if operators else _equals(search)
    negative = isinstance(search, dict) and bool(NEGATIVE & set(search))
    positive = not isinstance(search, dict) or bool(set(search) - NEGATIVE)
    absent_ok = search == {"$exists": False}
    lenient = not (negative or positive)  # `{}`: a field that is missing passes
    candidates = _candidates(name)

    def check(document: Any) -> bool:
        values = candidates(document)
        if absent_ok and not values:
            return True
        matched = found = False
        for value in values:
            found |= value is not NOTHING
            matched = match(value)
            if negative and not matched:
                return False
            if matched and not negative:
                break
        return matched or not (found or positive)

    if "." in name:
        return _nested_scalar(name, search, check) if type(search) in SCALAR_SEARCHES else check
    # A top-level field has one candidate, its value, when the document is a document.
    if type(search) in SCALAR_SEARCHES:  # `_equals` inlined: most of what statement queries test
        def scalar(document: Any) -> bool:
            if type(document) is not dict:
                return check(document)
            value = document.get(name, NOTHING)
            return value == search or (isinstance(value, (list, tuple)) and search in value)
        return scalar
    if absent_ok:
        return lambda document: name not in document if type(document) is dict else check(document)

    def top_level(document: Any) -> bool:
        if type(document) is not dict:
            return check(document)
        value = document.get(name, NOTHING)
        return match(value) or (lenient and value is NOTHING)
    return top_level


def _nested_scalar(name: str, search: Any, check: Check) -> Check:
    """`check` of plain equality on a field of a document within the document (`context.grouping`
    of H5P's class analytics), `_equals` inlined where that field is its one candidate."""
    if name.count(".") != 1:
        return check
    head, tail = name.split(".")

    def nested(document: Any) -> bool:
        inner = document.get(head) if type(document) is dict else None
        if type(inner) is not dict:
            return check(document)
        value = inner.get(tail, NOTHING)
        return value == search or (isinstance(value, (list, tuple)) and search in value)
    return nested


def _candidates(name: str) -> Callable[[Any], Any]:
    """mongomock's `iter_key_candidates` for the path, a field of a document within a document
    read directly."""
    if name.count(".") != 1:
        return lambda document: iter_key_candidates(name, document)
    head, tail = name.split(".")

    def candidates(document: Any) -> Any:
        if type(document) is dict:
            inner = document.get(head, {})
            if type(inner) is dict:
                return [inner.get(tail, NOTHING)]
        return iter_key_candidates(name, document)
    return candidates


def _equals(search: Any) -> Matcher:
    """A condition that is a plain value (or a document that is not all operators)."""
    if _is_regex(search):
        raise Unsupported("a regular expression as a value")
    null = search is None
    also = str(search) if isinstance(search, ObjectId) else NOTHING  # mongomock also finds its string in arrays

    def equals(value: Any) -> bool:
        if value == search:
            return True
        if isinstance(value, (list, tuple)):
            return search in value or (also is not NOTHING and also in value)
        return null and value is NOTHING
    return equals


def _operators(search: dict) -> Matcher:
    if "$options" in search:
        raise Unsupported("$options")
    return _every([_operator(name, operand) for name, operand in search.items()])


def _operator(name: str, operand: Any) -> Matcher:
    if name in ("$eq", "$ne"):
        equal = _list_expanded(lambda value: operator_eq(value, operand), operand)
        return (lambda value: not equal(value)) if name == "$ne" else equal
    if name in ("$in", "$nin"):
        within = _in(operand)
        return (lambda value: not within(value)) if name == "$nin" else within
    if name == "$exists":
        return (lambda value: value is not NOTHING) if operand else (lambda value: value is NOTHING)
    if name in SORTING_OPERATOR_MAP:
        compare = _list_expanded(_comparison(SORTING_OPERATOR_MAP[name], operand), operand)
        return lambda value: value is not NOTHING and compare(value)
    if name == "$regex" and isinstance(operand, (str, re.Pattern)):
        return _regex(re.compile(operand))
    if name == "$elemMatch" and isinstance(operand, dict):
        inner = compile_filter(operand)
        return lambda value: isinstance(value, list) and bool(value) and any(map(inner, value))
    raise Unsupported(name)


def _list_expanded(test: Matcher, operand: Any) -> Matcher:
    """mongomock's `_list_expand`: an array value (for a non-array operand) matches when any
    element does, or for `$ne` when every element differs (then `test` is equality, negated
    by the caller: not any equal)."""
    if isinstance(operand, (list, tuple)):
        return test
    return lambda value: any(map(test, value)) if isinstance(value, (list, tuple)) else test(value)


def _comparison(compare: Callable[[Any, Any], bool], operand: Any) -> Matcher:
    """`bson_compare` without type bracketing, done directly when the value is of the operand's
    kind (what bson_compare then does too)."""
    kinds = SAME_KIND.get(type(operand))
    if kinds is None:
        return lambda value: bson_compare(compare, value, operand, can_compare_types=False)
    return lambda value: compare(value, operand) if type(value) in kinds \
        else bson_compare(compare, value, operand, can_compare_types=False)


def _in(operand: Any) -> Matcher:
    """mongomock's `_in_op`, its list of strings looked up as a set."""
    if not isinstance(operand, (list, tuple)) or any(map(_is_regex, operand)):
        raise Unsupported("$in")  # not a list (mongomock refuses it), or regular expressions in it
    with_null = None in operand
    strings = frozenset(operand) if all(type(item) is str for item in operand) else None

    def member(item: Any) -> bool:
        return item in strings if strings is not None and type(item) is str else item in operand

    def within(value: Any) -> bool:
        if value is NOTHING and with_null:
            return True
        if isinstance(value, (list, tuple)):
            return any(map(member, value))
        return member(value)
    return within


def _regex(pattern: re.Pattern) -> Matcher:
    """mongomock's `$regex`: a missing field or a value neither string nor array never matches;
    an array matches by any string in it."""
    def match(value: Any) -> bool:
        if isinstance(value, str):
            return pattern.search(value) is not None
        if isinstance(value, list):
            return any(pattern.search(item) for item in value if isinstance(item, str))
        return False
    return match



def _is_regex(value: Any) -> bool:
    return isinstance(value, (re.Pattern, Regex))
