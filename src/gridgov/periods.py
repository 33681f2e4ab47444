"""Dates a user types (China Standard Time) as the moments and ranges services need.

The one home of the date rule shared by the API and the CLI: dates are ISO ``YYYY-MM-DD`` (a moment may
also be an ISO date-time) within :data:`MIN_DATE` … :data:`MAX_DATE`; anything else is ``InvalidInput``
with a Chinese message. Functions take the time zone from their caller (the faces pass
``settings.timezone``); :data:`DEFAULT_TIMEZONE` is only the default.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gridgov.errors import InvalidInput

MIN_DATE = dt.date(2000, 1, 1)
MAX_DATE = dt.date(2100, 12, 31)
DEFAULT_TIMEZONE = "Asia/Shanghai"

_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_MONTH_RE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?")
_DATETIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)?")
_RANGE = f"{MIN_DATE.isoformat()} 至 {MAX_DATE.isoformat()}"

TzLike = str | dt.tzinfo


def _zone(tz: TzLike) -> dt.tzinfo:
    if isinstance(tz, dt.tzinfo):
        return tz
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"未知时区：{tz}") from exc


def _shown(value: object) -> str:
    text = str(value)
    return text if len(text) <= 40 else text[:40] + "…"


def check_date(value: dt.date) -> dt.date:
    """``value`` (a date, or the date of a date-time) when it lies in the accepted range, else ``InvalidInput``."""
    day = value.date() if isinstance(value, dt.datetime) else value
    if not MIN_DATE <= day <= MAX_DATE:
        raise InvalidInput(f"日期超出范围（{_RANGE}）：{day.isoformat()}")
    return value


def parse_date(value: object) -> dt.date:
    """A date from a ``date`` or an ISO ``YYYY-MM-DD`` string, in range; otherwise ``InvalidInput`` in Chinese."""
    if isinstance(value, dt.datetime):
        raise InvalidInput(f"日期格式应为 YYYY-MM-DD：{_shown(value.isoformat())}")
    if isinstance(value, dt.date):
        return check_date(value)
    text = value.strip() if isinstance(value, str) else None
    if text is None or not _DATE_RE.fullmatch(text):
        raise InvalidInput(f"日期格式应为 YYYY-MM-DD：{_shown(value)}")
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"日期不存在：{text}") from None
    return check_date(day)


def parse_moment(value: object) -> dt.date | dt.datetime:
    """An as-of value: a date (``YYYY-MM-DD``) or an ISO date-time (``YYYY-MM-DDTHH:MM[:SS][时区]``), in range."""
    if isinstance(value, dt.date):  # a datetime is a date too
        return check_date(value)
    text = value.strip() if isinstance(value, str) else None
    if text is not None and _DATE_RE.fullmatch(text):
        return parse_date(text)
    if text is None or not _DATETIME_RE.fullmatch(text):
        raise InvalidInput(f"时间格式应为 YYYY-MM-DD 或 YYYY-MM-DDTHH:MM:SS：{_shown(value)}")
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"时间不存在：{text}") from None
    return check_date(moment)


def check_period(date_from: dt.date | None, date_to: dt.date | None) -> None:
    """``InvalidInput`` when either end is out of range or the period starts after it ends."""
    for day in (date_from, date_to):
        if day is not None:
            check_date(day)
    if date_from is not None and date_to is not None and date_from > date_to:
        raise InvalidInput(f"日期范围无效：起始日期 {date_from.isoformat()} 晚于结束日期 {date_to.isoformat()}")


def as_of_moment(value: dt.datetime | dt.date | None, tz: TzLike = DEFAULT_TIMEZONE) -> dt.datetime | None:
    """An --as-of value: a bare date means the end of that day; a naive time is local (in ``tz``)."""
    if value is None:
        return None
    check_date(value)
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time(0))
    if value.tzinfo is not None:
        return value
    if value.time() == dt.time(0):
        value = value + dt.timedelta(days=1) - dt.timedelta(microseconds=1)
    return value.replace(tzinfo=_zone(tz))


def day_range(
    date_from: dt.date | None, date_to: dt.date | None, tz: TzLike = DEFAULT_TIMEZONE
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """Inclusive local dates → [start, end) moments in ``tz``; either side may be open; checked by the date rule."""
    check_period(date_from, date_to)
    zone = _zone(tz)
    start = dt.datetime.combine(date_from, dt.time(0), zone) if date_from else None
    end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time(0), zone) if date_to else None
    return start, end


def parse_month(value: object) -> dt.date:
    """The first day of a month given as ``YYYY-MM`` (or 2026年10月, or a date in it), in the accepted range."""
    if isinstance(value, dt.date):
        return check_date(value).replace(day=1)
    m = _MONTH_RE.fullmatch(value.strip()) if isinstance(value, str) else None
    if m is None or not 1 <= int(m.group(2)) <= 12:
        raise InvalidInput(f"月份格式应为 YYYY-MM（如 2026-10）：{_shown(value)}")
    year, number = int(m.group(1)), int(m.group(2))
    if not MIN_DATE.year <= year <= MAX_DATE.year:
        raise InvalidInput(f"月份超出范围（{MIN_DATE:%Y-%m} 至 {MAX_DATE:%Y-%m}）：{m.group(1)}-{number:02d}")
    return dt.date(year, number, 1)


def month_range(value: object) -> tuple[dt.date, dt.date]:
    """A month (as :func:`parse_month` reads it) as its first and last day."""
    first = parse_month(value)
    return first, (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
