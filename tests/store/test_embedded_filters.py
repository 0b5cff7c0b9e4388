"""Compiled filters answer exactly what mongomock's filter_applies answers: random filters of
every compiled operator over random documents (arrays, nested documents, nulls, missing
fields, values of mixed kinds)."""
from __future__ import annotations

import datetime as dt
import random
import re

import pytest
from mongomock.filtering import filter_applies

from lrs.store.embedded.filters import Unsupported, compile_filter

WHEN = dt.datetime(2026, 1, 1)
SCALARS = [None, 0, 1, 2, 1.5, True, False, "a", "b", "ab", "", WHEN, WHEN + dt.timedelta(days=1)]
PATHS = ["a", "b", "l", "a.x", "l.x", "l.y", "l.0", "a.x.y", "missing", "l.x.z"]


def value(rng: random.Random, depth: int = 0) -> object:
    kind = rng.random()
    if depth < 2 and kind < 0.2:
        return [value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if depth < 2 and kind < 0.35:
        return {name: value(rng, depth + 1) for name in rng.sample(["x", "y", "z"], rng.randint(0, 3))}
    return rng.choice(SCALARS)


def document(rng: random.Random) -> dict:
    return {name: value(rng) for name in rng.sample(["a", "b", "l"], rng.randint(0, 3))}


def condition(rng: random.Random, depth: int) -> object:
    operand = rng.choice(SCALARS)
    choices = [
        lambda: operand,
        lambda: value(rng, 1),
        lambda: {"$eq": operand},
        lambda: {"$ne": rng.choice([operand, [operand]])},
        lambda: {"$in": rng.sample(SCALARS, rng.randint(0, 3))},
        lambda: {"$in": rng.sample(["a", "b", "ab", "c"], rng.randint(1, 3))},
        lambda: {"$nin": rng.sample(SCALARS, rng.randint(1, 3))},
        lambda: {rng.choice(["$gt", "$gte", "$lt", "$lte"]): operand},
        lambda: {"$gte": rng.choice(SCALARS), "$lt": rng.choice(SCALARS)},
        lambda: {"$exists": rng.choice([True, False, 0, 1])},
        lambda: {"$regex": rng.choice(["^a", "b$", re.compile("A", re.I)])},
        lambda: {"$in": ["a", "b"], "$ne": "a"},
    ]
    if depth < 2:
        choices.append(lambda: {"$elemMatch": query(rng, depth + 1)})
    return rng.choice(choices)()


def query(rng: random.Random, depth: int = 0) -> dict:
    built: dict = {}
    for _ in range(rng.randint(1, 3)):
        if depth < 2 and rng.random() < 0.2:
            built[rng.choice(["$and", "$or", "$nor"])] = [query(rng, depth + 1) for _ in range(rng.randint(1, 3))]
        else:
            built[rng.choice(PATHS if depth == 0 else ["x", "y", "z", "x.y"])] = condition(rng, depth)
    return built


def outcome(test, *args):
    try:
        return test(*args)
    except Exception as error:  # noqa: BLE001 - the same failure is the same answer
        return type(error)


@pytest.mark.parametrize("seed", range(4))
def test_compiled_filters_answer_what_filter_applies_answers(seed):
    rng = random.Random(seed)
    documents = [document(rng) for _ in range(60)]
    compiled = 0
    for _ in range(400):
        filter = query(rng)
        try:
            check = compile_filter(filter)
        except Unsupported:
            continue
        compiled += 1
        for doc in documents:
            assert outcome(check, doc) == outcome(filter_applies, filter, doc), (filter, doc)
    assert compiled > 300  # the operators above are compiled, not left to mongomock


@pytest.mark.parametrize("filter", [
    {"a": {"$size": 1}}, {"a": {"$not": {"$gt": 1}}}, {"a": {"$regex": "a", "$options": "i"}}, {"$where": "x"},
    {"a": {"$all": [1]}}, {"a": re.compile("a")}, {"$or": []}, {"a": {"$in": "a"}}, {"a": {"$type": "string"}},
])
def test_what_is_not_compiled_is_left_to_mongomock(filter):
    with pytest.raises(Unsupported):
        compile_filter(filter)
