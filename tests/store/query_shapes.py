"""Every query shape GET /statements sends to the store: each filter alone and in pairs, with the
time, order and paging variants, and no filter at all."""
from __future__ import annotations

import datetime as dt
import itertools
from typing import Any, Iterator

from lrs.store.statements import StatementQuery

SINCE = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
UNTIL = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
FILTERS = {
    "agent": {"agent": "mbox:mailto:a@example.com"},
    "related agents": {"agent": "mbox:mailto:a@example.com", "related_agents": True},
    "related agents, 1.0 reader": {"agent": "mbox:mailto:a@example.com", "related_agents": True, "reader_1_0": True},
    "verb": {"verb": "http://adlnet.gov/expapi/verbs/experienced"},
    "activity": {"activity": "http://example.com/a"},
    "related activities": {"activity": "http://example.com/a", "related_activities": True},
    "registration": {"registration": "6fbd600f-d17c-4c74-801a-2ec2e53231c9"},
}
EXTRAS = {
    "": {}, "since": {"since": SINCE}, "until": {"until": UNTIL}, "since+until": {"since": SINCE, "until": UNTIL},
    "ascending": {"ascending": True}, "next page": {"after_seq": 50}, "next page ascending": {"after_seq": 50, "ascending": True},
}


def shapes() -> Iterator[tuple[str, StatementQuery]]:
    """Each filter alone and in pairs, each with the time, order and paging variants, and none."""
    combos = [(), *((name,) for name in FILTERS), *itertools.combinations(FILTERS, 2)]
    for combo, (extra_name, extra) in itertools.product(combos, EXTRAS.items()):
        fields: dict[str, Any] = {}
        for name in combo:
            fields.update(FILTERS[name])
        yield " + ".join([*combo, extra_name]).strip(" +") or "all", StatementQuery(**fields, **extra)
