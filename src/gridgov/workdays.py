"""The working-day calendar: which days are worked (weekdays, minus public holidays, plus make-up working days)
and working time between two moments, for incident deadlines (gridgov.incidents) and every report that counts
working days.

A working day is the office's working hours (``start``–``end``, local time, 08:30–17:30 by default). A time limit
of ``d`` working days ends where ``d`` × the length of a working day of working time has passed: 0.5 working day
from Friday 16:30 is Monday 12:00 (one hour on Friday, three and a half on Monday). Work reported outside the
hours starts counting at the next working day's start. The exceptions (``work_calendar``: 休, 班) are data the
administrator keeps; the State Council's lists for 2025 and 2026 are seeded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor, authorize
from gridgov.errors import InvalidInput, NotFound

HOLIDAY, MAKEUP = "休", "班"
DAY_KINDS = {HOLIDAY: "节假日（休）", MAKEUP: "调休上班（班）"}
MAX_DAYS_SEARCHED = 366 * 3  # a limit cannot run past three years of holidays


@dataclass(frozen=True)
class WorkCalendar:
    """Working days and hours in one time zone: weekends off, ``holidays`` off, ``makeup`` days worked."""

    timezone: str = "Asia/Shanghai"
    start: dt.time = dt.time(8, 30)
    end: dt.time = dt.time(17, 30)
    holidays: frozenset[dt.date] = field(default_factory=frozenset)
    makeup: frozenset[dt.date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise InvalidInput(f"工作时间应为上班时刻早于下班时刻：{self.start:%H:%M}–{self.end:%H:%M}")

    @property
    def zone(self) -> ZoneInfo:
        """The calendar's time zone."""
        return ZoneInfo(self.timezone)

    @property
    def day_length(self) -> dt.timedelta:
        """Working time in one working day."""
        return dt.datetime.combine(dt.date.min, self.end) - dt.datetime.combine(dt.date.min, self.start)

    def is_working_day(self, day: dt.date) -> bool:
        """Whether ``day`` is worked: a make-up day, or a weekday that is no holiday."""
        return day in self.makeup or (day.weekday() < 5 and day not in self.holidays)

    def _open(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        return (dt.datetime.combine(day, self.start, tzinfo=self.zone),
                dt.datetime.combine(day, self.end, tzinfo=self.zone))  # fmt: skip

    def add(self, start: dt.datetime, working_days: float) -> dt.datetime:
        """The moment ``working_days`` of working time after ``start`` (an aware datetime)."""
        if working_days < 0:
            raise InvalidInput(f"时限不能为负：{working_days}")
        left = self.day_length * working_days
        at = start.astimezone(self.zone)
        day = at.date()
        for _ in range(MAX_DAYS_SEARCHED):
            if self.is_working_day(day):
                opens, closes = self._open(day)
                begin = max(at, opens)
                if begin < closes:
                    if begin + left <= closes:
                        return begin + left
                    left -= closes - begin
            day += dt.timedelta(days=1)
            at = dt.datetime.combine(day, dt.time(0), tzinfo=self.zone)
        raise InvalidInput(f"时限过长：{working_days} 个工作日超出了日历范围")

    def between(self, a: dt.datetime, b: dt.datetime) -> float:
        """Working time from ``a`` to ``b`` in working days (negative when ``b`` is earlier)."""
        if b < a:
            return -self.between(b, a)
        a, b = a.astimezone(self.zone), b.astimezone(self.zone)
        total = dt.timedelta(0)
        day = a.date()
        while day <= b.date():
            if self.is_working_day(day):
                opens, closes = self._open(day)
                lo, hi = max(a, opens), min(b, closes)
                if hi > lo:
                    total += hi - lo
            day += dt.timedelta(days=1)
        return total / self.day_length

    def working_days(self, first: dt.date, last: dt.date) -> int:
        """How many working days lie in ``first``–``last`` (both included)."""
        n, day = 0, first
        while day <= last:
            n += self.is_working_day(day)
            day += dt.timedelta(days=1)
        return n


@dataclass(frozen=True)
class CalendarDay:
    """An exception to the week: a day, 休 or 班, and what it is for (e.g. 春节)."""

    day: dt.date
    kind: str
    name: str | None


def load_calendar(session: Session, timezone: str, start: dt.time = dt.time(8, 30),
                  end: dt.time = dt.time(17, 30)) -> WorkCalendar:  # fmt: skip
    """The working-day calendar as the administrator keeps it (one query)."""
    rows = session.execute(text("SELECT day, kind FROM work_calendar")).all()
    return WorkCalendar(timezone, start, end, frozenset(r.day for r in rows if r.kind == HOLIDAY),
                        frozenset(r.day for r in rows if r.kind == MAKEUP))  # fmt: skip


def calendar_days(session: Session, year: int | None = None) -> list[CalendarDay]:
    """The exceptions to the week, in date order (of one year, or all)."""
    rows = session.execute(text("""SELECT day, kind, name FROM work_calendar
                                    WHERE CAST(:y AS int) IS NULL OR extract(year FROM day) = :y ORDER BY day"""),
                           {"y": year})  # fmt: skip
    return [CalendarDay(r.day, r.kind, r.name) for r in rows]


def set_days(session: Session, actor: Actor, days: Iterable[dt.date], kind: str, name: str | None) -> int:
    """Mark days as holidays (休) or make-up working days (班), replacing what they were; administrators only."""
    authorize(session, actor, "admin", anywhere=True)
    if kind not in DAY_KINDS:
        raise InvalidInput(f"日期类型应为 休（节假日）或 班（调休上班），而不是：{kind}")
    wanted = sorted(set(days))
    if not wanted:
        raise InvalidInput("请给出至少一个日期")
    session.execute(text("""INSERT INTO work_calendar (day, kind, name, updated_by)
                            SELECT d, :k, :n, :by FROM unnest(CAST(:days AS date[])) AS d
                            ON CONFLICT (day) DO UPDATE SET kind = EXCLUDED.kind, name = EXCLUDED.name,
                                                            updated_by = EXCLUDED.updated_by"""),
                    {"days": wanted, "k": kind, "n": (name or "").strip() or None, "by": actor.audit_name})
    return len(wanted)


def clear_days(session: Session, actor: Actor, days: Iterable[dt.date]) -> int:
    """Return days to what the week says (remove them from the calendar); administrators only."""
    authorize(session, actor, "admin", anywhere=True)
    wanted = sorted(set(days))
    n = session.execute(text("DELETE FROM work_calendar WHERE day = ANY(CAST(:days AS date[]))"),
                        {"days": wanted}).rowcount  # type: ignore[attr-defined]
    if not n:
        raise NotFound(f"日历中没有这些日期：{'、'.join(d.isoformat() for d in wanted)}")
    return int(n)


def date_span(first: dt.date, last: dt.date | None) -> list[dt.date]:
    """Every day of ``first``–``last`` (``first`` alone when ``last`` is None); at most a year."""
    last = last or first
    if last < first or (last - first).days > 366:
        raise InvalidInput(f"日期范围应从早到晚且不超过一年：{first}–{last}")
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
