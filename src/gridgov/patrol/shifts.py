"""The night shifts in time: a shift's window on a night, and the (night, shift) a patrol belongs to.

上半夜 is 20:00–23:30 and 下半夜 23:30–06:00 of the next day (``gridgov.vocab.SHIFT_WINDOWS``), both belonging to
the evening's date: 02:00 on 2026-10-02 is night 2026-10-01. Times are taken in the installation's zone.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from gridgov.errors import InvalidInput
from gridgov.periods import DEFAULT_TIMEZONE
from gridgov.vocab import SHIFT_WINDOWS, SHIFTS


def shift_window(night: dt.date, shift: str, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    """Start and end of a night's shift (上半夜 20:00–23:30, 下半夜 23:30–06:00 next day) in ``tz``."""
    start_time, length = SHIFT_WINDOWS[shift]
    start = dt.datetime.combine(night, start_time, tzinfo=tz)
    return start, start + length


def night_shift(started_at: dt.datetime, ended_at: dt.datetime, tz: dt.tzinfo | None = None) -> tuple[dt.date, str]:
    """The (night, shift) a patrol between two instants belongs to: the shift window it overlaps longest."""
    zone = tz or ZoneInfo(DEFAULT_TIMEZONE)
    s, e = started_at.astimezone(zone), ended_at.astimezone(zone)
    best: tuple[dt.timedelta, dt.date, str] | None = None
    night = s.date() - dt.timedelta(days=1)
    while night <= e.date():
        for shift in SHIFTS:
            a, b = shift_window(night, shift, zone)
            overlap = min(b, e) - max(a, s)
            if s == e and a <= s < b:  # a single instant
                overlap = dt.timedelta(microseconds=1)
            if overlap > dt.timedelta(0) and (best is None or overlap > best[0]):
                best = (overlap, night, shift)
        night += dt.timedelta(days=1)
    if best is None:
        raise InvalidInput(
            f"时间 {s:%Y-%m-%d %H:%M}–{e:%H:%M} 不在夜间巡逻时段（上半夜 20:00–23:30，下半夜 23:30–次日 06:00）"
        )
    return best[1], best[2]


def night_clock(t: dt.datetime | None, night: dt.date, tz: dt.tzinfo, missing: str = "—") -> str:
    """A moment of a night as people say it: ``20:10``, or ``次日 05:30`` after midnight; ``missing`` when none (a
    spreadsheet leaves the cell empty)."""
    if t is None:
        return missing
    local = t.astimezone(tz)
    return f"{'次日 ' if local.date() > night else ''}{local:%H:%M}"
