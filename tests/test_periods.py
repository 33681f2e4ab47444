"""The one date rule: ISO dates in 2000-01-01 … 2100-12-31, periods in order, the time zone from the caller."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from gridgov.errors import InvalidInput
from gridgov.periods import MAX_DATE, MIN_DATE, as_of_moment, check_period, day_range, parse_date, parse_moment


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("9999-12-31", "日期超出范围（2000-01-01 至 2100-12-31）：9999-12-31"),
        ("1999-12-31", "日期超出范围（2000-01-01 至 2100-12-31）：1999-12-31"),
        ("0.5", "日期格式应为 YYYY-MM-DD：0.5"),
        ("0", "日期格式应为 YYYY-MM-DD：0"),
        ("1700000000", "日期格式应为 YYYY-MM-DD：1700000000"),
        ("2025/12/31", "日期格式应为 YYYY-MM-DD：2025/12/31"),
        ("2025-12-31T10:00", "日期格式应为 YYYY-MM-DD：2025-12-31T10:00"),
        ("", "日期格式应为 YYYY-MM-DD："),
        ("2025-02-30", "日期不存在：2025-02-30"),
    ],
)
def test_bad_dates_are_refused_in_chinese(text: str, message: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_date(text)
    assert err.value.message == message


def test_good_dates_and_the_edges() -> None:
    assert parse_date("2025-12-31") == dt.date(2025, 12, 31)
    assert parse_date(" 2000-01-01 ") == MIN_DATE
    assert parse_date(MAX_DATE) == dt.date(2100, 12, 31)
    with pytest.raises(InvalidInput, match="日期格式应为"):
        parse_date(0.5)
    with pytest.raises(InvalidInput, match="日期格式应为"):
        parse_date(dt.datetime(2025, 1, 1, 12))


def test_moments_take_dates_or_iso_times_in_range() -> None:
    assert parse_moment("2025-12-31") == dt.date(2025, 12, 31)
    assert parse_moment("2025-12-31T08:30:00+08:00") == dt.datetime(
        2025, 12, 31, 8, 30, tzinfo=ZoneInfo("Asia/Shanghai")
    )
    assert parse_moment("2025-12-31 08:30") == dt.datetime(2025, 12, 31, 8, 30)
    assert parse_moment("2025-12-31T00:30:00Z").tzinfo is not None  # type: ignore[union-attr]
    for bad, message in [
        ("9999-12-31", "日期超出范围"),
        ("9999-12-31T00:00:00", "日期超出范围"),
        ("0.5", "时间格式应为 YYYY-MM-DD 或 YYYY-MM-DDTHH:MM:SS：0.5"),
        ("2025-12-31T25:00", "时间不存在：2025-12-31T25:00"),
        ("now", "时间格式应为"),
    ]:
        with pytest.raises(InvalidInput, match=message):
            parse_moment(bad)


def test_period_order_and_range() -> None:
    check_period(dt.date(2025, 1, 1), dt.date(2025, 1, 1))
    with pytest.raises(InvalidInput, match="起始日期 2025-02-01 晚于结束日期 2025-01-01"):
        check_period(dt.date(2025, 2, 1), dt.date(2025, 1, 1))
    with pytest.raises(InvalidInput, match="日期超出范围（2000-01-01 至 2100-12-31）：9999-12-31"):
        day_range(None, dt.date(9999, 12, 31))  # used to overflow (500) when adding the day after


def test_time_zone_comes_from_the_caller() -> None:
    start, end = day_range(dt.date(2025, 10, 1), dt.date(2025, 10, 7), "UTC")
    assert start == dt.datetime(2025, 10, 1, tzinfo=ZoneInfo("UTC"))
    assert end == dt.datetime(2025, 10, 8, tzinfo=ZoneInfo("UTC"))
    default_start, _ = day_range(dt.date(2025, 10, 1), None)
    assert default_start is not None and default_start.utcoffset() == dt.timedelta(hours=8)
    at = as_of_moment(dt.date(2025, 12, 31), "Europe/Berlin")
    assert at is not None and at.tzinfo == ZoneInfo("Europe/Berlin") and at.hour == 23
    with pytest.raises(InvalidInput, match="日期超出范围"):
        as_of_moment(dt.date(9999, 12, 31))  # used to overflow past datetime.max
    with pytest.raises(InvalidInput, match="未知时区：Mars/Base"):
        day_range(dt.date(2025, 1, 1), None, "Mars/Base")
