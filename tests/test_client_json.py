"""check_storable's quick pass never lets through what the exact walk refuses (and names)."""
from __future__ import annotations

from collections import OrderedDict
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lrs.client_json import MAX_DEPTH, UnstorableJSON, _find_unstorable, check_storable

strings = st.text(st.characters(blacklist_categories=()) | st.sampled_from(["\ud800", "\udfff", "\u00e9"]), max_size=6)
numbers = st.integers() | st.floats() | st.sampled_from([2 ** 63 - 1, 2 ** 63, -2 ** 63, -2 ** 63 - 1, float("nan")])
values = st.recursive(st.none() | st.booleans() | numbers | strings,
                      lambda inner: st.lists(inner, max_size=3) | st.dictionaries(strings, inner, max_size=3),
                      max_leaves=10)


def nested(depth: int, container: Any) -> Any:
    """A leaf `depth` levels down."""
    value: Any = 1
    for _ in range(depth):
        value = container(value)
    return value


def refusal(check: Any, value: Any) -> str | None:
    try:
        check(value, "$")
    except UnstorableJSON as error:
        return str(error)
    return None


@settings(max_examples=500, deadline=None, database=None)
@given(values)
def test_the_quick_pass_refuses_exactly_what_the_exact_walk_refuses(value: Any) -> None:
    assert refusal(check_storable, value) == refusal(_find_unstorable, value)


@pytest.mark.parametrize("container", [lambda value: [value], lambda value: {"k": value}])
@pytest.mark.parametrize("depth", [MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, 2 * MAX_DEPTH])
def test_nesting_is_refused_past_the_limit_with_its_path(depth: int, container: Any) -> None:
    value = nested(depth, container)
    assert refusal(check_storable, value) == refusal(_find_unstorable, value)
    assert (refusal(check_storable, value) is None) == (depth <= MAX_DEPTH)


@pytest.mark.parametrize("leaf", [1, "text", "\ud800"])
@pytest.mark.parametrize("depth", [MAX_DEPTH, MAX_DEPTH + 1])
def test_strings_in_arrays_count_towards_the_nesting_limit(depth: int, leaf: Any) -> None:
    value = leaf
    for _ in range(depth):
        value = [value]
    assert refusal(check_storable, value) == refusal(_find_unstorable, value)
    assert (refusal(check_storable, value) is None) == (depth <= MAX_DEPTH and leaf != "\ud800")


def test_types_json_never_makes_are_left_to_the_exact_walk() -> None:
    assert refusal(check_storable, OrderedDict(a=("x", "\ud800"))) is None  # a tuple is not looked into, as before
    assert refusal(check_storable, OrderedDict(a=["\ud800"])) == "$.a[0]: " + (
        "contains a lone surrogate (\\ud800-\\udfff), which is not a Unicode character")
