"""Secondary indexes for the embedded store: what MongoDB's B-trees do, as sorted lists in memory.

mongomock answers every query by scanning every document. Here each index a collection declares
(`create_index`) keeps a sorted list of flat tuples `(rank 1, value 1, rank 2, value 2, ..., id
rank, id, raw id)`, a rank being the BSON type order that makes any two values comparable;
arrays give one entry per element, as MongoDB's multikey indexes do. A query then reads the
entries of one key range (an equality prefix, then a range on the next field), in index order, so
a page sorted like the index stops after its `limit` documents.

The index only proposes candidates: every candidate is still checked against the whole filter by
mongomock, so an index may return too many documents but must never miss one. Hence entries whose
leading field is missing or null are left out (null equality is never answered from an index),
and anything the planner does not understand falls back to a scan.
"""
from __future__ import annotations

import bisect
import datetime as dt
import itertools
from typing import Any, Callable, Iterable, Iterator

from bson import ObjectId
from sortedcontainers import SortedList

TOP = float("inf")  # as a rank, sorts after every value: closes ranges
MISSING = object()
NULL = (0, 0)  # the sort key of None
ID = object()  # where Index.keys keeps a document's id part in `seen`
Key = tuple


def sort_key(value: Any) -> Key:
    """A value as a pair Python can compare with any other, in BSON's order of types."""
    if isinstance(value, str):
        return (2, value)
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (8, value)
    if isinstance(value, (int, float)):
        return (1, value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return (9, value)
    if isinstance(value, ObjectId):
        return (7, value)
    if isinstance(value, bytes):
        return (5, bytes(value))
    return (99, repr(value))


def values_at(document: dict, path: str) -> list:
    """The values a dotted path reaches, arrays expanded one level as MongoDB's indexes do."""
    if "." not in path:
        value = document.get(path, MISSING)
        return [] if value is MISSING else list(value) if isinstance(value, list) else [value]
    values: list = [document]
    for part in path.split("."):
        reached = []
        for value in values:
            if isinstance(value, dict):
                if part in value:
                    reached.append(value[part])
            elif isinstance(value, list):
                reached.extend(item[part] for item in value if isinstance(item, dict) and part in item)
        values = reached
    flat: list = []
    for value in values:
        if isinstance(value, list):
            flat.extend(value)
        else:
            flat.append(value)
    return flat


def reader(path: str) -> Callable[[dict], Iterable]:
    """`values_at` for one path, with the common cases answered without walking: a top-level
    field, and a dotted path whose first part is absent or empty (a `via` with no entries)."""
    if "." not in path:
        def top_level(document: dict) -> Iterable:
            value = document.get(path, MISSING)
            return () if value is MISSING else value if isinstance(value, list) else (value,)
        return top_level
    head = path.split(".", 1)[0]
    return lambda document: values_at(document, path) if document.get(head) else ()


LONG_RUN = 512  # entries: a run this long is a SortedList once an entry must go into its middle
Run = list | SortedList


class Entries:
    """An index's entries in order, kept as one sorted run per leading value (the first `width`
    items of an entry: a field's rank and value, or nothing for a one-field index).

    A sorted list of all entries (`SortedList`) costs a bisection and an insertion in Python for
    every entry added, and an index whose last field is `seq` gets all its new entries at the end
    of their leading value's run: a statement is stored with the highest `seq` yet. Here such an
    entry is appended to its run, a plain list; only the first entry of a new leading value (an
    Agent or Activity seen for the first time) is inserted among the runs' heads. An entry that
    goes into the middle of a run (an index ordered by something else after its leading field,
    such as `(verb, ref)`; a deletion) is inserted there while the run is short; a long run then
    becomes a SortedList, whose insertions and removals stay cheap at any length (a plain list
    moves every entry after the one inserted: 70 µs in a run of 1,000,000)."""

    def __init__(self, entries: Iterable[Key] = (), width: int = 0):
        self.width = width
        self._runs: dict[Key, Run] = {}
        for entry in sorted(entries):
            self._runs.setdefault(entry[:width], []).append(entry)
        self._heads = SortedList(self._runs)
        self._length = sum(map(len, self._runs.values()))

    def __len__(self) -> int:
        return self._length

    def add(self, entry: Key) -> None:
        head = entry[:self.width]
        run = self._runs.get(head)
        if run is None:
            self._runs[head] = [entry]
            self._heads.add(head)
        elif type(run) is not list:
            run.add(entry)
        elif entry > run[-1]:
            run.append(entry)
        elif len(run) < LONG_RUN:
            bisect.insort(run, entry)
        else:
            self._runs[head] = SortedList([*run, entry])
        self._length += 1

    def discard(self, entry: Key) -> None:
        head = entry[:self.width]
        run = self._runs.get(head)
        if run is None:
            return
        position = _bisect_left(run, entry)
        if position == len(run) or run[position] != entry:
            return
        if type(run) is list and position < len(run) - 1 and len(run) >= LONG_RUN:
            run = self._runs[head] = SortedList(run)
        del run[position]
        self._length -= 1
        if not run:
            del self._runs[head]
            self._heads.remove(head)

    def count(self, low: Key, high: Key) -> int:
        """The entries in [low, high]: the runs at the ends bisected, the whole runs between them
        counted, or (when fewer) the runs outside the range, taken from the total: the planner
        counts whole indexes too."""
        heads, runs = self._heads, self._runs
        first, last = heads.bisect_left(low[:self.width]), heads.bisect_right(high[:self.width])
        if first >= last:
            return 0
        lead, tail = runs[heads[first]], runs[heads[last - 1]]
        if last - first == 1:
            return max(0, _bisect_right(lead, high) - _bisect_left(lead, low))
        ends = len(lead) - _bisect_left(lead, low) + _bisect_right(tail, high)
        if last - first - 2 <= len(heads) - (last - first):
            return ends + sum(len(runs[head]) for head in heads.islice(first + 1, last - 1))
        outside = itertools.chain(heads.islice(0, first + 1), heads.islice(last - 1))
        return ends + self._length - sum(len(runs[head]) for head in outside)

    def irange(self, low: Key, high: Key, reverse: bool = False, skip: int = 0) -> Iterator[Key]:
        """The entries in [low, high], in order or reversed, after the first `skip` of them: those
        are passed over by position (a page at a deep offset), runs whole, never read one by one."""
        for head in self._heads.irange(low[:self.width], high[:self.width], reverse=reverse):
            run = self._runs[head]
            start, stop = _bisect_left(run, low), _bisect_right(run, high)
            if skip >= stop - start:
                skip -= max(0, stop - start)
                continue
            start, stop = (start, stop - skip) if reverse else (start + skip, stop)
            skip = 0
            if type(run) is not list:
                yield from run.islice(start, stop, reverse=reverse)
            elif reverse:
                yield from itertools.islice(reversed(run), len(run) - stop, len(run) - start)
            else:
                yield from itertools.islice(run, start, stop)

    def __iter__(self) -> Iterator[Key]:
        return itertools.chain.from_iterable(self._runs[head] for head in self._heads)


def _bisect_left(run: Run, key: Key) -> int:
    return bisect.bisect_left(run, key) if type(run) is list else run.bisect_left(key)


def _bisect_right(run: Run, key: Key) -> int:
    return bisect.bisect_right(run, key) if type(run) is list else run.bisect_right(key)


class Index:
    """One declared index: its fields and the sorted entries of every document it covers."""

    def __init__(self, fields: list[str]):
        self.fields = fields
        self._readers = [reader(path) for path in fields]
        self.entries = Entries(width=self._width())
        self.multikey = [False] * len(fields)
        self.covered = 0  # documents with at least one entry

    def _width(self) -> int:
        """Runs by the leading field's value when another field follows (see Entries)."""
        return 2 if len(self.fields) > 1 else 0

    def keys(self, document: dict, seen: dict | None = None) -> list[Key]:
        """The entries of one document: none when its leading field is missing or null.

        `seen` carries what one document's paths were read as between the indexes of a
        collection, which share most fields (`seq`, `_id`). Every statement written passes here
        once per index, hence the plain loop."""
        seen = {} if seen is None else seen
        columns = []
        single = True
        for position, path in enumerate(self.fields):
            keyed = seen.get(path)
            if keyed is None:
                keyed = seen[path] = [sort_key(value) for value in self._readers[position](document)]
            if position == 0 and NULL in keyed:
                keyed = [key for key in keyed if key != NULL]
            if not keyed:
                if position == 0:
                    return []
                keyed = [NULL]
            elif len(keyed) > 1:
                self.multikey[position] = True
                single = False
            columns.append(keyed)
        tail = seen.get(ID)
        if tail is None:
            tail = seen[ID] = (*sort_key(document["_id"]), document["_id"])
        if single:
            key: Key = ()
            for keyed in columns:
                key += keyed[0]
            return [key + tail]
        return list(dict.fromkeys(sum(combination, ()) + tail for combination in itertools.product(*columns)))

    def build(self, documents: Iterable[dict]) -> None:
        keyed = [self.keys(document) for document in documents]
        self.covered = sum(1 for keys in keyed if keys)
        self.entries = Entries((key for keys in keyed for key in keys), self._width())

    def add(self, keys: list[Key]) -> None:
        """A new document's entries."""
        if keys:
            self.covered += 1
            for key in keys:
                self.entries.add(key)

    def replace(self, before: list[Key], after: list[Key]) -> None:
        """One document's entries changed from `before` to `after` (either may be empty)."""
        if before == after:
            return
        self.covered += bool(after) - bool(before)
        for key in before:
            if key not in after:
                self.entries.discard(key)
        for key in after:
            if key not in before:
                self.entries.add(key)


class Scan:
    """One key range of one index: [low, high], read forwards or backwards."""

    def __init__(self, index: Index | None, low: Key, high: Key, order_position: int | None):
        self.index, self.low, self.high, self.order_position = index, low, high, order_position

    def count(self) -> int:
        """The entries of the range: none when it ends before it starts (`$gte` a later time than
        `$lte`), where the two bisections cross."""
        return self.index.entries.count(self.low, self.high)

    def identifiers(self) -> list:
        """The document ids of the range, in index order."""
        return [entry[-1] for entry in self.index.entries.irange(self.low, self.high)]

    def entries(self) -> list[Key]:
        """The entries of the range, in index order."""
        return list(self.index.entries.irange(self.low, self.high))

    def __call__(self, reverse: bool, skip: int = 0) -> Iterator[tuple[Key, Any]]:
        """(sort key, document id) pairs of the range, after its first `skip` entries."""
        position = self.order_position
        for entry in self.index.entries.irange(self.low, self.high, reverse=reverse, skip=skip):
            yield (entry[2 * position:] if position is not None else None), entry[-1]
