"""Which index entries can answer a filter: MongoDB's query planner, cut down to what the LRS asks.

A filter is read as conditions per field (equality, `$in`, ranges; `$and` and `$elemMatch`
folded in) plus `$or` lists. An index whose leading fields have equality conditions, and possibly
a range on the next field, gives scans; an `$or` whose every branch has such an index gives the
union of their scans. Among the candidates the cheapest plan wins, costs counted in documents
checked against the filter: a plan that already yields the requested order and has a limit is
expected to check `limit` divided by the share of its first SAMPLE documents that match (the
filter's conditions may be rare along its order: a `stored` range along `seq`); any other plan
with a sort and a limit has its entries sorted in memory first (an entry costs SORTED_ENTRY_COST
of a check) and then checks about `limit` of them. The conditions of one conjunction on different
indexes are intersected (sets of ids), in the narrowest one's order. Every other operator is left
to the final check of each candidate against the whole filter.
"""
from __future__ import annotations

import datetime as dt
import heapq
import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Sequence

from bson import ObjectId

from lrs.store.embedded.indexes import TOP, Index, Key, Scan, sort_key

SCALARS = (str, int, float, dt.datetime, ObjectId, bytes)
RANGE_OPERATORS = {"$gt", "$gte", "$lt", "$lte"}
SAMPLE = 16  # documents an ordered plan reads ahead to see how often its order meets the filter
GIVE_WAY_AFTER = 4  # an ordered plan reading this many times what it was expected to read gives way
INTERSECT_FACTOR = 20  # plans up to this many times wider than the narrowest filter its ids
SET_ENTRY_COST = 0.005  # an id put in a set, in checks against the filter
SORTED_ENTRY_COST = 0.05  # a candidate read and sorted in memory, in checks against the filter (measured ~1/40)


@dataclass
class Condition:
    points: list[Key] | None = None
    values: list | None = None  # the points as given (for `_id`)
    low: tuple[Key, bool] | None = None  # (key, inclusive)
    high: tuple[Key, bool] | None = None

    def __bool__(self) -> bool:
        return bool(self.points) or self.low is not None or self.high is not None


@dataclass
class Plan:
    """Scans whose (order key, id) streams together hold every match; `order` is the fields they
    are sorted on (merged across scans), if any."""

    scans: list[Any]
    order: tuple[str, ...] = ()
    count: int = field(init=False)
    along: float = 1.0  # the share of documents along `order` that match the filter (sampled)
    setup: float = 0.0  # the cost of the id sets its scans are filtered by
    fields: frozenset = frozenset()  # the fields whose conditions bound its scans
    exact: bool = False  # its ranges hold exactly the documents its conditions match, each once

    def __post_init__(self) -> None:
        self.count = sum(scan.count() for scan in self.scans)

    def ids(self, reverse: bool = False) -> Iterator[Any]:
        streams = [scan(reverse) for scan in self.scans]
        pairs = (heapq.merge(*streams, key=lambda pair: pair[0], reverse=reverse)
                 if self.order and len(streams) > 1 else itertools.chain.from_iterable(streams))
        seen = set()
        for _, identifier in pairs:
            if identifier not in seen:
                seen.add(identifier)
                yield identifier

    def every_id(self) -> list:
        """Every id once, in no particular order: several times faster than `ids` when all are wanted."""
        return list(dict.fromkeys(itertools.chain.from_iterable(scan.identifiers() for scan in self.scans)))

    def cost(self, sort: Sequence[tuple[str, int]] | None, limit: int | None) -> tuple[float, bool, int]:
        """Documents expected to be checked; on a tie, a plan in the requested order, then the narrower."""
        follows = self.follows(sort)
        check = SORTED_ENTRY_COST if self.exact else 1  # an exact plan's documents need no check
        if limit and follows:
            return self.setup + self.expected_reads(limit) * check, False, self.count
        if limit and sort:
            return self.setup + self.count * SORTED_ENTRY_COST + min(self.count, limit) * check, True, self.count
        return self.setup + self.count * check, not follows, self.count

    def expected_reads(self, limit: int) -> int:
        """What an ordered plan is expected to read for `limit` documents, from the share of its
        first documents that matched; all of it when none did (a `stored` range along `seq`
        may begin anywhere)."""
        return min(self.count, math.ceil(limit / self.along)) if self.along else self.count

    def read_budget(self, limit: int) -> int:
        """What an ordered plan may read for `limit` documents before it gives way."""
        return min(self.count, self.expected_reads(limit) * GIVE_WAY_AFTER)

    def follows(self, sort: Sequence[tuple[str, int]] | None) -> bool:
        """The stream is in `sort`'s order: its fields lead `order`, all one direction (read
        backwards for descending)."""
        return bool(sort) and len({direction for _, direction in sort}) == 1 \
            and tuple(name for name, _ in sort) == self.order[:len(sort)]


class IdScan:
    """Documents named by `_id`: the store's own map is the index."""

    def __init__(self, documents: Mapping, ids: list):
        self.ids = ids
        self.documents = documents

    def count(self) -> int:
        return len(self.ids)

    def identifiers(self) -> list:
        return [identifier for _, identifier in self(False)]

    def __call__(self, reverse: bool) -> Iterator[tuple[None, Any]]:
        for identifier in self.ids:
            try:
                if identifier in self.documents:
                    yield None, identifier
            except TypeError:  # an unhashable _id value: it cannot be stored either
                continue


def best_plan(filter: Mapping, documents: Mapping, indexes: Mapping[str, Index],
              sort: Sequence[tuple[str, int]] | None = None, limit: int | None = None,
              applies: Callable[[dict], bool] | None = None) -> Plan | None:
    """The cheapest plan for the filter, or None when only a scan of every document will do.
    `applies` (the filter's check) samples the ordered plans' first documents."""
    ids = _pinned_ids(filter)
    if ids is not None and not sort:
        return Plan([IdScan(documents, ids)])  # at most one document per id: no index reads fewer
    plans = _plans(filter, {}, documents, indexes)
    plans.extend(_sort_only(sort, documents, indexes))
    if sort and limit and applies:  # narrowest first: once one matches all its sample, wider ones cannot beat it
        for plan in sorted((plan for plan in plans if plan.follows(sort)), key=lambda plan: plan.count):
            plan.along = _sampled(plan, applies, documents, reverse=sort[0][1] < 0)
            if plan.along == 1:
                break
    whole = all(map(_whole, filter.values()))
    for plan in plans:
        plan.exact = plan.exact and whole and set(filter) == plan.fields
    return min(plans, key=lambda plan: plan.cost(sort, limit), default=None)


def _whole(value: Any) -> bool:
    """The condition on a field is all in what the planner reads of it (no other operator)."""
    if _usable(value):
        return True
    if not isinstance(value, dict) or not value or not set(value) <= RANGE_OPERATORS | {"$eq", "$in"} \
            or len(set(value) & {"$eq", "$in"}) > 1 or len(set(value) & {"$gt", "$gte"}) > 1 \
            or len(set(value) & {"$lt", "$lte"}) > 1:
        return False
    if "$in" in value and not (isinstance(value["$in"], list) and value["$in"] and all(map(_usable, value["$in"]))):
        return False
    ranks = {sort_key(value[operator])[0] for operator in set(value) & RANGE_OPERATORS if _usable(value[operator])}
    return all(_usable(operand) for name, operand in value.items() if name != "$in") and len(ranks) <= 1


def _sampled(plan: Plan, applies: Callable[[dict], bool], documents: Mapping, reverse: bool) -> float:
    """The share of the plan's first SAMPLE documents that match."""
    sample = [documents.get(identifier) for identifier in itertools.islice(plan.ids(reverse), SAMPLE)]
    sample = [document for document in sample if document is not None]
    return sum(map(applies, sample)) / len(sample) if sample else 1.0


def _plans(filter: Mapping, outer: dict[str, Condition], documents: Mapping,
           indexes: Mapping[str, Index]) -> list[Plan]:
    conditions: dict[str, Condition] = {}
    alternatives: list[list] = []
    _collect(filter, conditions, alternatives, "")
    conditions = {**outer, **conditions}
    plans = _intersected([plan for plan in (_index_plan(index, conditions) for index in indexes.values()) if plan],
                         len(documents))
    if "_id" in conditions and conditions["_id"].values:
        plans.append(Plan([IdScan(documents, conditions["_id"].values)]))
    for branches in alternatives:
        union = _union(branches, conditions, documents, indexes)
        if union is not None:
            plans.append(union)
    return plans


def _intersected(plans: list[Plan], total: int) -> list[Plan]:
    """The plans of one conjunction, and the narrowest of them with its ids kept only where the
    other plans on other fields, not much wider, have them too (each holds every match, so their intersection
    does): MongoDB's index intersection, in the narrowest plan's order. Its count is estimated
    as if the conditions were independent."""
    if len(plans) < 2:
        return plans
    narrowest = min(plans, key=lambda plan: (plan.count, -len(plan.fields)))  # on a tie, the one bounding more
    others = [plan for plan in plans if not plan.fields <= narrowest.fields
              and plan.count <= INTERSECT_FACTOR * max(narrowest.count, 1)]
    if not others:
        return plans
    share = math.prod(plan.count / max(total, 1) for plan in others)
    filtered = Plan([Filtered(scan, others, share) for scan in narrowest.scans], narrowest.order)
    filtered.setup = sum(plan.count for plan in others) * SET_ENTRY_COST
    return [*plans, filtered]


class Filtered:
    """A scan whose ids are kept only where every one of other plans has them."""

    def __init__(self, scan: Any, others: list[Plan], share: float):
        self.scan, self.others, self.share = scan, others, share
        self._allowed: set | None = None

    def count(self) -> int:
        return math.ceil(self.scan.count() * self.share)

    def allowed(self) -> set:
        """The ids every other plan has (built once, at first use)."""
        if self._allowed is None:
            sets = [set(itertools.chain.from_iterable(scan.identifiers() for scan in plan.scans))
                    for plan in self.others]
            self._allowed = set.intersection(*sets)
        return self._allowed

    def identifiers(self) -> list:
        allowed = self.allowed()
        return [identifier for identifier in self.scan.identifiers() if identifier in allowed]

    def __call__(self, reverse: bool) -> Iterator[tuple[Any, Any]]:
        allowed = self.allowed()
        for key, identifier in self.scan(reverse):
            if identifier in allowed:
                yield key, identifier


def _union(branches: list, outer: dict[str, Condition], documents: Mapping,
           indexes: Mapping[str, Index]) -> Plan | None:
    chosen = []
    for branch in branches:
        options = _plans(branch, outer, documents, indexes) if isinstance(branch, dict) else []
        if not options:
            return None
        chosen.append(min(options, key=lambda plan: plan.count))
    orders = {plan.order for plan in chosen}
    return Plan([scan for plan in chosen for scan in plan.scans], orders.pop() if len(orders) == 1 else ())


def _sort_only(sort: Sequence[tuple[str, int]] | None, documents: Mapping,
               indexes: Mapping[str, Index]) -> list[Plan]:
    """A whole index read in order, when it holds every document exactly once."""
    if not sort:
        return []
    plans = [Plan([Scan(index, (), (TOP,), 0)], _order(index, 0)) for index in indexes.values()
             if index.covered == len(documents)]
    return [plan for plan in plans if plan.follows(sort)]


def _index_plan(index: Index, conditions: dict[str, Condition]) -> Plan | None:
    first = conditions.get(index.fields[0])
    if not first:
        return None
    starts: list[Key] = list(first.points) if first.points else [()]
    position = 1 if first.points else 0
    while first.points and position < len(index.fields):
        condition = conditions.get(index.fields[position])
        if not condition or not condition.points or len(condition.points) != 1:
            break
        starts = [start + condition.points[0] for start in starts]
        position += 1
    ranged = conditions.get(index.fields[position]) if position < len(index.fields) else None
    if ranged is not None and ranged.low and ranged.high and index.multikey[position]:
        ranged = Condition(low=ranged.low)  # an array may meet each bound with another element: one bound, as MongoDB
    low, high = _bounds(ranged)
    order = _order(index, position)
    scans = [Scan(index, start + low, start + high, position if order else None) for start in starts]
    bounded = position + (ranged is not None and (ranged.low is not None or ranged.high is not None))
    used = [conditions[name] for name in index.fields[:bounded]]
    exact = not any(index.multikey[:bounded]) and all(
        not (condition.points and (condition.low or condition.high)) for condition in used) and all(
        condition.points is None or len(condition.points) == 1 for condition in used[1:])
    return Plan(scans, order, fields=frozenset(index.fields[:bounded]), exact=exact)


def _order(index: Index, position: int) -> tuple[str, ...]:
    """The fields a scan from `position` on yields its entries sorted by (up to a multikey one)."""
    order = []
    for field_position in range(position, len(index.fields)):
        if index.multikey[field_position]:
            break
        order.append(index.fields[field_position])
    return tuple(order)


def _bounds(condition: Condition | None) -> tuple[Key, Key]:
    """The low and high ends of a range on one field, as suffixes of the equality prefix."""
    if condition is None or (condition.low is None and condition.high is None):
        return (), (TOP,)
    low, high = condition.low, condition.high
    rank = (low or high)[0][0]
    low_end = (low[0] if low[1] else (*low[0], TOP)) if low else (rank,)
    high_end = ((*high[0], TOP) if high[1] else high[0]) if high else (rank + 0.5,)
    return low_end, high_end


def _collect(filter: Mapping, conditions: dict[str, Condition], alternatives: list, prefix: str) -> None:
    for name, value in filter.items():
        if name == "$and" and isinstance(value, list):
            for part in value:
                if isinstance(part, dict):
                    _collect(part, conditions, alternatives, prefix)
        elif name == "$or" and isinstance(value, list) and not prefix:
            alternatives.append(value)
        elif not name.startswith("$"):
            path = prefix + name
            if isinstance(value, dict) and isinstance(value.get("$elemMatch"), dict):
                _collect(value["$elemMatch"], conditions, [], path + ".")
            condition = _condition(value)
            if condition and path not in conditions:
                conditions[path] = condition


def _condition(value: Any) -> Condition | None:
    if _usable(value):
        return Condition(points=[sort_key(value)], values=[value])
    if not isinstance(value, dict) or not value or not all(str(k).startswith("$") for k in value):
        return None
    condition = Condition()
    if "$eq" in value and _usable(value["$eq"]):
        condition.values = [value["$eq"]]
    elif isinstance(value.get("$in"), list) and value["$in"] and all(_usable(v) for v in value["$in"]):
        condition.values = value["$in"]
    if condition.values:
        condition.points = list(dict.fromkeys(sort_key(v) for v in condition.values))
    for operator, inclusive in (("$gt", False), ("$gte", True)):
        if operator in value and _usable(value[operator]):
            condition.low = (sort_key(value[operator]), inclusive)
    for operator, inclusive in (("$lt", False), ("$lte", True)):
        if operator in value and _usable(value[operator]):
            condition.high = (sort_key(value[operator]), inclusive)
    if condition.low and condition.high and condition.low[0][0] != condition.high[0][0]:
        condition.high = None  # bounds of two types match nothing; the check says so
    return condition if condition else None


def _pinned_ids(filter: Mapping) -> list | None:
    """The ids a filter names by equality or `$in` on `_id` (the store's lookups by id), if it does."""
    if "_id" not in filter:
        return None
    condition = _condition(filter["_id"])
    return condition.values if condition is not None and condition.values else None


def _usable(value: Any) -> bool:
    return isinstance(value, SCALARS) and not (isinstance(value, float) and value != value)
