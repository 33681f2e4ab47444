"""Dates a user types (China Standard Time) as the moments and ranges services need."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from gridgov.config import get_settings


def _tz() -> ZoneInfo:
    return ZoneInfo(get_settings().timezone)


def as_of_moment(value: dt.datetime | dt.date | None) -> dt.datetime | None:
    """An --as-of value: a bare date means the end of that day; a naive time is local (Asia/Shanghai)."""
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time(0))
    if value.tzinfo is not None:
        return value
    if value.time() == dt.time(0):
        value = value + dt.timedelta(days=1) - dt.timedelta(microseconds=1)
    return value.replace(tzinfo=_tz())


def day_range(date_from: dt.date | None, date_to: dt.date | None) -> tuple[dt.datetime | None, dt.datetime | None]:
    """Inclusive local dates → [start, end) moments; either side may be open."""
    tz = _tz()
    start = dt.datetime.combine(date_from, dt.time(0), tz) if date_from else None
    end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time(0), tz) if date_to else None
    return start, end
