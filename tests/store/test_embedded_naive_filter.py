"""The embedded store's pass over a filter's datetimes answers what mongomock's does, without its copies."""
from __future__ import annotations

import datetime as dt
from collections import OrderedDict

from bson import ObjectId
from hypothesis import given, settings
from hypothesis import strategies as st
from mongomock import helpers

from lrs.store.embedded.engine import naive_filter

zones = st.sampled_from([None, dt.timezone.utc, dt.timezone(dt.timedelta(hours=5, minutes=30)),
                         dt.timezone(-dt.timedelta(hours=8))])
moments = st.builds(lambda moment, zone: moment.replace(tzinfo=zone),
                    st.datetimes(min_value=dt.datetime(1971, 1, 1), max_value=dt.datetime(9998, 1, 1)), zones)
plain = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5) \
    | st.builds(ObjectId)
values = st.recursive(plain | moments, lambda inner: st.lists(inner, max_size=4)
                      | st.lists(inner, max_size=3).map(tuple)
                      | st.dictionaries(st.text(max_size=4), inner, max_size=3)
                      | st.dictionaries(st.text(max_size=4), inner, max_size=3).map(OrderedDict), max_leaves=12)


@settings(max_examples=400, deadline=None, database=None)
@given(values)
def test_datetimes_in_a_filter_become_what_mongomock_makes_them(value):
    expected = helpers.patch_datetime_awareness_in_document(value)
    assert naive_filter(value) == expected
    assert repr(naive_filter(value)) == repr(expected)  # naive, to the millisecond, the same containers


def test_a_list_of_plain_values_is_not_copied():
    ids = ["a", 1, 2.5, None, ObjectId()]
    assert naive_filter({"_id": {"$in": ids}})["_id"]["$in"] is ids
