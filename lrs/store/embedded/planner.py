"""Which index entries can answer a filter: MongoDB's query planner, cut down to what the LRS asks.

A filter is read as conditions per field (equality, `$in`, ranges; `$and` and `$elemMatch`
folded in) plus `$or` lists. An index whose leading fields have equality conditions, and possibly
a range on the next field, gives scans; an `$or` whose every branch has such an index gives the
union of their scans. Among the candidates the cheapest plan wins, costs counted in documents
checked against the filter: a plan that already yields the requested order and has a limit is
expected to check `limit` divided by the share of its first documents that match (the filter's
conditions may be rare along its order: a `stored` range along `seq`; its first SAMPLE, or more
while fewer match, up to a tenth of the best other plan's cost); any other plan
with a sort and a limit has its entries sorted in memory first (an entry costs SORTED_ENTRY_COST
of a check) and then checks about `limit` of them, unless the index holds the sort fields right
after the range (`(stored, seq)` for a time window in `seq` order): then its entries alone are
sorted (ENTRY_SORT_COST each, no document read). The conditions of one conjunction on different
indexes (and its `$or`) are intersected (sets of ids), in the narrowest one's order. Every other
operator is left to the final check of each candidate against the whole filter.
"""
from __future__ import annotations

import datetime as dt
import heapq
import itertools
import math
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, Callable, Iterator, Mapping, Sequence

from bson import ObjectId

from lrs.store.embedded.indexes import TOP, Index, Key, Scan, sort_key

SCALARS = (str, int, float, dt.datetime, ObjectId, bytes)
RANGE_OPERATORS = {"$gt", "$gte", "$lt", "$lte"}
SAMPLE = 16  # documents an ordered plan reads ahead to see how often its order meets the filter...
SAMPLE_SHARE = 0.1  # ...and on, until SAMPLE of them match, up to this share of the best other plan's cost
MAX_SAMPLE = 1024  # (and no more than this many documents: about 4 ms)
GIVE_WAY_AFTER = 4  # an ordered plan reading this many times what it was expected to read gives way
INTERSECT_FACTOR = 20  # plans up to this many times wider than the narrowest filter its ids
# Costs in checks of a document against the (compiled) filter, ~4 µs with the document's lookup;
# measured at 100,000 statements, where reading anything scattered in memory is most of the cost.
SET_ENTRY_COST = 0.2  # an id of another plan put in a set, or one of the narrowest looked up in it
SORTED_ENTRY_COST = 0.7  # a candidate's document read and sorted in memory
ENTRY_SORT_COST = 0.12  # an index entry sorted on the fields it holds after a range (no document read)
READ_COST = 0.12  # a document of an exact plan, read with no check


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
    matches: int | None = None  # the documents expected to match the filter (the narrowest plan's estimate)
    setup: float = 0.0  # the cost of the id sets its scans are filtered by
    fields: frozenset = frozenset()  # the fields whose conditions bound its scans
    exact: bool = False  # its ranges hold exactly the documents its conditions match, each once
    then: tuple[str, ...] = ()  # fields its index entries hold after the bounded ones, in order...
    then_at: int = 0  # ...from this field position of the index on

    def __post_init__(self) -> None:
        self.count = sum(scan.count() for scan in self.scans)

    def ids(self, reverse: bool = False, skip: int = 0) -> Iterator[Any]:
        """Every id once, in the plan's order, after the first `skip`: passed over in the index
        when one scan of an index holding one entry per document has them all."""
        only = self.scans[0] if len(self.scans) == 1 else None
        if skip and isinstance(only, Scan) and not any(only.index.multikey):
            streams, skip = [only(reverse, skip)], 0
        else:
            streams = [scan(reverse) for scan in self.scans]
        pairs = (heapq.merge(*streams, key=lambda pair: pair[0], reverse=reverse)
                 if self.order and len(streams) > 1 else itertools.chain.from_iterable(streams))
        seen = set()
        for _, identifier in pairs:
            if identifier not in seen:
                seen.add(identifier)
                if len(seen) > skip:
                    yield identifier

    def every_id(self) -> list:
        """Every id once, in no particular order: several times faster than `ids` when all are wanted."""
        return list(dict.fromkeys(itertools.chain.from_iterable(scan.identifiers() for scan in self.scans)))

    def sorted_ids(self, sort: Sequence[tuple[str, int]]) -> Iterator[Any]:
        """Every id once, in `sort` order (ties in index order), from the entries alone: a plan
        that `sorts_from_entries`. One stable sort per field, last first, on the value alone when
        the field holds one kind of value throughout (a tuple key costs several times more)."""
        entries = list(itertools.chain.from_iterable(scan.entries() for scan in self.scans))
        for position, (_, direction) in reversed(list(enumerate(sort))):
            rank = 2 * (self.then_at + position)
            single = len(set(map(itemgetter(rank), entries))) <= 1
            entries.sort(key=itemgetter(rank + 1) if single else itemgetter(rank, rank + 1), reverse=direction < 0)
        seen = set()
        for identifier in map(itemgetter(-1), entries):  # a multikey index has several entries per document
            if identifier not in seen:
                seen.add(identifier)
                yield identifier

    def sorts_from_entries(self, sort: Sequence[tuple[str, int]] | None) -> bool:
        """The sort fields are held, in order, by the entries after the bounded fields: the page
        comes from sorting entries, not documents (`sorted_ids`)."""
        return bool(sort) and not self.follows(sort) and tuple(name for name, _ in sort) == self.then[:len(sort)]

    def cost(self, sort: Sequence[tuple[str, int]] | None, limit: int | None) -> tuple[float, bool, int]:
        """Documents expected to be checked; on a tie, a plan in the requested order, then the narrower."""
        follows = self.follows(sort)
        check = READ_COST if self.exact else 1  # an exact plan's documents need no check
        if limit and follows:
            return self.setup + self.expected_reads(limit) * check, False, self.count
        if limit and self.sorts_from_entries(sort):
            return self.setup + self.count * ENTRY_SORT_COST + self.checked(limit) * check, True, self.count
        if limit and sort:
            return self.setup + self.count * SORTED_ENTRY_COST + self.checked(limit) * check, True, self.count
        return self.setup + self.count * check, not follows, self.count

    def checked(self, limit: int) -> int:
        """Candidates sorted in memory that are expected to be checked to find `limit` matches,
        when what matches is spread evenly among them."""
        matches = self.count if self.matches is None else min(self.matches, self.count)
        return min(self.count, math.ceil(limit * self.count / max(matches, 1)))

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
    plans = candidate_plans(filter, documents, indexes, sort)
    if sort and limit and applies:  # narrowest first (intersections, which build sets to be read, last):
        # once one matches all its sample, wider ones cannot beat it; nor can one whose sets
        # alone cost more than a plan already priced, and sampling it would build them
        best = min((plan.cost(sort, limit)[0] for plan in plans if not plan.follows(sort)), default=math.inf)
        budget = min(MAX_SAMPLE, math.ceil(best * SAMPLE_SHARE)) if best < math.inf else SAMPLE
        for plan in sorted((plan for plan in plans if plan.follows(sort)), key=lambda plan: (plan.setup > 0, plan.count)):
            if plan.setup >= best:
                continue
            plan.along = _sampled(plan, applies, documents, sort[0][1] < 0, budget)
            best = min(best, plan.cost(sort, limit)[0])
            if plan.along == 1:
                break
    return min(plans, key=lambda plan: plan.cost(sort, limit), default=None)


def candidate_plans(filter: Mapping, documents: Mapping, indexes: Mapping[str, Index],
                    sort: Sequence[tuple[str, int]] | None = None) -> list[Plan]:
    """Every plan that holds all the filter's matches (each one's answer, checked, is the
    filter's), exact where it is, with the expected number of matches."""
    plans = _plans(filter, {}, documents, indexes)
    plans.extend(_sort_only(sort, documents, indexes))
    whole = all(map(_whole, filter.values()))
    matches = min((plan.count for plan in plans), default=0)  # every plan holds every match
    for plan in plans:
        plan.exact = plan.exact and whole and set(filter) == plan.fields
        plan.matches = matches
    return plans


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


def _sampled(plan: Plan, applies: Callable[[dict], bool], documents: Mapping, reverse: bool, budget: int) -> float:
    """The share of the plan's first documents that match: its first SAMPLE, read on while fewer
    than SAMPLE of them match, up to `budget` documents. Matches may come in runs along the
    order (statements in timestamp order: the newest moment's all of one verb, when a client
    sent them at once), and a first run of others would price a cheap plan as reading everything."""
    read = matched = 0
    for identifier in plan.ids(reverse):
        document = documents.get(identifier)
        if document is None:
            continue
        read += 1
        matched += applies(document)
        if matched == SAMPLE or read >= max(SAMPLE, budget):
            break
    return matched / read if read else 1.0


def _plans(filter: Mapping, outer: dict[str, Condition], documents: Mapping,
           indexes: Mapping[str, Index], intersect: bool = True) -> list[Plan]:
    conditions: dict[str, Condition] = {}
    alternatives: list[list] = []
    _collect(filter, conditions, alternatives, "")
    conditions = {**outer, **conditions}
    plans = [plan for plan in (_index_plan(index, conditions) for index in indexes.values()) if plan]
    unions = [_unions(branches, conditions, documents, indexes) for branches in alternatives]
    plans.extend(found[0] for found in unions if found)  # the narrowest of each `$or`...
    if intersect:
        plans = _intersected(plans, len(documents))
    plans.extend(plan for found in unions for plan in found[1:])  # ...and those in an order of each branch
    if "_id" in conditions and conditions["_id"].values:
        plans.append(Plan([IdScan(documents, conditions["_id"].values)]))
    return plans


def _intersected(plans: list[Plan], total: int) -> list[Plan]:
    """The plans of one conjunction (its `$or` unions included), and the narrowest of them with
    its ids kept only where the other plans on other fields, not much wider, have them too
    (each holds every match, so their intersection does): MongoDB's index intersection, in the
    narrowest plan's order. Its count is estimated as if the conditions were independent."""
    if len(plans) < 2:
        return plans
    narrowest = min(plans, key=lambda plan: (plan.count, -len(plan.fields)))  # on a tie, the one bounding more
    others = [plan for plan in plans if plan is not narrowest and not (plan.fields and plan.fields <= narrowest.fields)
              and plan.count <= INTERSECT_FACTOR * max(narrowest.count, 1)]
    if not others:
        return plans
    share = math.prod(plan.count / max(total, 1) for plan in others)
    filtered = Plan([Filtered(scan, others, share) for scan in narrowest.scans], narrowest.order,
                    then=narrowest.then, then_at=narrowest.then_at)
    filtered.setup = (narrowest.count + sum(plan.count for plan in others)) * SET_ENTRY_COST
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

    def entries(self) -> list:
        allowed = self.allowed()
        return [entry for entry in self.scan.entries() if entry[-1] in allowed]

    def __call__(self, reverse: bool) -> Iterator[tuple[Any, Any]]:
        allowed = self.allowed()
        for key, identifier in self.scan(reverse):
            if identifier in allowed:
                yield key, identifier


def _unions(branches: list, outer: dict[str, Condition], documents: Mapping,
            indexes: Mapping[str, Index]) -> list[Plan]:
    """Plans of an `$or`: the union of each branch's narrowest plan, then one union per order
    every branch has a plan in (merged in that order, so a page stops at its limit). A branch's
    plans are those bounded by a field of its own (one bounded by the outer conditions alone is
    a plan of the whole conjunction already), intersected among themselves only (the outer
    conditions' plans are intersected with the union by the conjunction). None when a branch
    has no plan."""
    per_branch = []
    for branch in branches:
        own: dict[str, Condition] = {}
        nested: list = []
        if isinstance(branch, dict):
            _collect(branch, own, nested, "")
        options = _intersected([plan for plan in (_plans(branch, outer, documents, indexes, intersect=False)
                                                  if own or nested else [])
                                if not plan.fields or plan.fields & set(own)], len(documents))
        if not options:
            return []
        per_branch.append(options)
    narrowest = [min(options, key=lambda plan: plan.count) for options in per_branch]
    orders = {plan.order for plan in narrowest}
    unions = [_union_of(narrowest, orders.pop() if len(orders) == 1 else ())]
    shared = set.intersection(*({plan.order for plan in options if plan.order} for options in per_branch))
    for order in shared - {unions[0].order}:
        chosen = [min((plan for plan in options if plan.order == order), key=lambda plan: plan.count)
                  for options in per_branch]
        unions.append(_union_of(chosen, order))
    return unions


def _union_of(plans: list[Plan], order: tuple[str, ...]) -> Plan:
    return Plan([scan for plan in plans for scan in plan.scans], order)


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
    return Plan(scans, order, fields=frozenset(index.fields[:bounded]), exact=exact,
                then=_order(index, bounded), then_at=bounded)


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
