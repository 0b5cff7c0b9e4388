import datetime as dt

import pytest

from lrs.xapi.errors import XAPIValidationError
from lrs.xapi.timestamps import format_timestamp, parse_timestamp

UTC = dt.timezone.utc


@pytest.mark.parametrize("value, expected", [
    ("2008-09-15T15:53:00.601Z", "2008-09-15T15:53:00.601Z"),
    ("2008-09-15T15:53:00.601+00:00", "2008-09-15T15:53:00.601Z"),
    ("2023-05-04T12:00:00-05:00", "2023-05-04T17:00:00.000Z"),
    ("2023-05-04t12:00:00.1234567+05:30", "2023-05-04T06:30:00.123Z"),
    ("2023-12-31T23:30:00-01:00", "2024-01-01T00:30:00.000Z"),
    ("0050-01-01T00:00:00Z", "0050-01-01T00:00:00.000Z"),  # strftime's %Y wrote "50-01-01..."
    ("0001-01-01T00:00:00.000-12:00", "0001-01-01T12:00:00.000Z"),
    ("2016-12-31T23:59:60Z", "2016-12-31T23:59:59.999Z"),  # a leap second: the last instant before midnight
    ("2016-12-31T15:59:60.5-08:00", "2016-12-31T23:59:59.999Z"),
])
@pytest.mark.parametrize("version", ["1.0.3", "2.0.0"])
def test_valid_timestamps_become_utc(value, expected, version):
    assert format_timestamp(parse_timestamp(value, version)) == expected


@pytest.mark.parametrize("value, expected", [
    ("20080915T155300Z", "2008-09-15T15:53:00.000Z"),      # ISO 8601 basic format
    ("2008-09-15T15:53:00", "2008-09-15T15:53:00.000Z"),   # no zone: read as UTC
    ("2008-09-15T15:53+0100", "2008-09-15T14:53:00.000Z"),  # reduced precision, basic offset
    ("2008-09-15T15:53:00,5+01", "2008-09-15T14:53:00.500Z"),
])
def test_iso_8601_forms_only_in_1_0(value, expected):
    assert format_timestamp(parse_timestamp(value, "1.0.3")) == expected
    with pytest.raises(XAPIValidationError):
        parse_timestamp(value, "2.0.0")


@pytest.mark.parametrize("value", [
    "2008-09-15T15:53:00.601-00", "2008-09-15T15:53:00.601-0000", "2008-09-15T15:53:00.601-00:00",
    "should fail", "01/011/2015", "", "2008-13-15T15:53:00Z", "2008-02-30T15:53:00Z", "2008-09-15T25:00:00Z",
    "2008-09-15", "2008-09-15T15:53:00+05:75", "2016-12-31T12:00:60Z", "2016-12-31T23:59:61Z", "2008-09-15T15:53:00+24:00", "2008-09-15T15:53:00Z\n", 1234, None,
    "9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00",  # outside years 1..9999 once in UTC
    "0000-01-01T00:00:00Z", "\u0662\u0660\u0662\u0666-01-01T00:00:00Z",  # year 0; Arabic-Indic digits
])
@pytest.mark.parametrize("version", ["1.0.3", "2.0.0"])
def test_invalid_timestamps_are_refused(value, version):
    with pytest.raises(XAPIValidationError):
        parse_timestamp(value, version)


def test_format_keeps_milliseconds_and_converts_to_utc():
    moment = dt.datetime(2026, 11, 23, 9, 20, 4, 123999, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert format_timestamp(moment) == "2026-11-23T08:20:04.123Z"
    assert parse_timestamp("2026-11-23T08:20:04.123Z", "2.0.0") == dt.datetime(2026, 11, 23, 8, 20, 4, 123000,
                                                                                tzinfo=UTC)


@pytest.mark.parametrize("value", [[], {"a": 1}, 12, None])
def test_a_timestamp_that_is_not_text_is_refused_not_remembered(value):
    for _ in range(2):
        with pytest.raises(XAPIValidationError, match="must be a string"):
            parse_timestamp(value, "2.0.0")


def test_a_remembered_parse_answers_as_a_fresh_one():
    first = parse_timestamp("2026-12-03T10:00:00.5+01:00", "1.0.3")
    assert parse_timestamp("2026-12-03T10:00:00.5+01:00", "1.0.3") == first == dt.datetime(
        2026, 12, 3, 9, 0, 0, 500000, tzinfo=dt.timezone.utc)
    with pytest.raises(XAPIValidationError):
        parse_timestamp("2026-12-03T10:00+01:00", "2.0.0")  # a 1.0.3 form, refused in 2.0 although remembered in 1.0
    assert parse_timestamp("2026-12-03T10:00+01:00", "1.0.3").hour == 9
