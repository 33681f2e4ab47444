"""The working-day calendar: which days are worked (weekdays, minus public holidays, plus make-up working days)
and working time between two moments, for incident deadlines (gridgov.incidents) and every report that counts
working days.

A working day is the office's working hours (``start``–``end``, local time, 08:30–17:30 by default). A time limit
of ``d`` working days ends where ``d`` × the length of a working day of working time has passed: 0.5 working day
from Friday 16:30 is Monday 12:00 (one hour on Friday, three and a half on Monday). Work reported outside the
hours starts counting at the next working day's start. The exceptions (``work_calendar``: 休, 班) are data the
administrator keeps, a day or a span at a time or a year's list from a file (:func:`import_days`: the State Council
publishes next year's list each November); the lists for 2025 and 2026 are seeded.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor, authorize
from gridgov.errors import InvalidInput, NotFound
from gridgov.importing.columns import Column
from gridgov.periods import check_date

HOLIDAY, MAKEUP = "休", "班"
DAY_KINDS = {HOLIDAY: "节假日（休）", MAKEUP: "调休上班（班）"}
# How people write the two kinds in the lists they type or paste from the State Council's notice.
KIND_WORDS = {
    **dict.fromkeys(("休", "假", "放假", "休息", "休假", "节假日", "法定节假日", "holiday"), HOLIDAY),
    **dict.fromkeys(("班", "上班", "补班", "调休上班", "调班", "工作日", "workday"), MAKEUP),
}
WEEKDAYS = "一二三四五六日"
MAX_DAYS_SEARCHED = 366 * 3  # a limit cannot run past three years of holidays
MAX_ERRORS_SHOWN = 10
# A holiday list (CSV/XLSX): one row per day or per span (日期 … 至), 休 or 班, and the holiday's name.
IMPORT_COLUMNS = (
    Column("day", required=True, aliases=("日期", "开始日期", "起始日期", "date")),
    Column("last", aliases=("至", "结束日期", "截止日期", "to")),
    Column("kind", required=True, aliases=("类型", "休/班", "休班", "安排", "kind")),
    Column("name", aliases=("名称", "节日", "节假日", "假日名称", "说明", "name")),
)
COLUMN_ZH = {"day": "日期", "last": "至", "kind": "类型", "name": "名称"}
_DAY_RE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]0{1,2}:00(?::00)?)?")


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


class CalendarSettings(Protocol):
    """The settings ``calendar_for`` reads (gridgov.config.Settings is one)."""

    timezone: str
    workday_start: dt.time
    workday_end: dt.time


def calendar_for(session: Session, settings: CalendarSettings) -> WorkCalendar:
    """The calendar with the working hours and zone a face's settings give (one query)."""
    return load_calendar(session, settings.timezone, settings.workday_start, settings.workday_end)


def calendar_days(session: Session, year: int | None = None) -> list[CalendarDay]:
    """The exceptions to the week, in date order (of one year, or all)."""
    rows = session.execute(text("""SELECT day, kind, name FROM work_calendar
                                    WHERE CAST(:y AS int) IS NULL OR extract(year FROM day) = :y ORDER BY day"""),
                           {"y": year})  # fmt: skip
    return [CalendarDay(r.day, r.kind, r.name) for r in rows]


def set_days(session: Session, actor: Actor, days: Iterable[dt.date], kind: str, name: str | None) -> int:
    """Mark days as holidays (休) or make-up working days (班, weekends only), replacing what they were;
    administrators only. Steps already under way keep their deadlines; steps started from now count the change."""
    authorize(session, actor, "admin", anywhere=True)
    kind = parse_kind(kind)
    wanted = sorted(set(days))
    if not wanted:
        raise InvalidInput("请给出至少一个日期")
    if kind == MAKEUP and (weekdays := [d for d in wanted if d.weekday() < 5]):
        raise InvalidInput(f"调休上班日应为周六或周日，{'、'.join(map(day_label, weekdays[:5]))} 本来就是工作日")
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
    """Every day of ``first``–``last`` (``first`` alone when ``last`` is None); at most a year, in 2000–2100."""
    last = last or first
    check_date(first)
    check_date(last)
    if last < first or (last - first).days > 366:
        raise InvalidInput(f"日期范围应从早到晚且不超过一年：{first}–{last}")
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def day_label(day: dt.date) -> str:
    """A day as people write it with its weekday: 2027-01-04（星期一）."""
    return f"{day.isoformat()}（星期{WEEKDAYS[day.weekday()]}）"


@dataclass(frozen=True)
class YearEntries:
    """How many exceptions a year has in the calendar."""

    year: int
    holidays: int
    makeup: int


def calendar_years(session: Session) -> dict[int, YearEntries]:
    """The years the calendar has entries for, with their counts (one query)."""
    rows = session.execute(text("""SELECT CAST(extract(year FROM day) AS int) AS y,
                                          count(*) FILTER (WHERE kind = :h) AS h, count(*) FILTER (WHERE kind = :m) AS m
                                     FROM work_calendar GROUP BY 1 ORDER BY 1"""), {"h": HOLIDAY, "m": MAKEUP})
    return {r.y: YearEntries(r.y, r.h, r.m) for r in rows}


def missing_holidays(session: Session, today: dt.date) -> list[int]:
    """This year and next when they have no public holiday entered: their deadlines would count the holidays as
    working days (the State Council publishes next year's list each November)."""
    years = calendar_years(session)
    return [y for y in (today.year, today.year + 1) if y not in years or not years[y].holidays]


def parse_kind(value: str) -> str:
    """休 or 班 for how a list writes it (放假、上班 …); ``InvalidInput`` otherwise."""
    kind = KIND_WORDS.get(value.strip().lower()) if value else None
    if kind is None:
        raise InvalidInput(f"类型应为 休（放假）或 班（调休上班），而不是：{value or '（空）'}")
    return kind


def parse_day(value: str) -> dt.date:
    """A day written 2027-01-01, 2027/1/1, 2027.1.1 or 2027年1月1日 (a spreadsheet's date cell too)."""
    m = _DAY_RE.fullmatch(value.strip())
    if m is None:
        raise InvalidInput(f"日期格式应为 YYYY-MM-DD（或 2027/1/1、2027年1月1日）：{value or '（空）'}")
    try:
        day = dt.date(*map(int, m.groups()))
    except ValueError:
        raise InvalidInput(f"日期不存在：{value.strip()}") from None
    return check_date(day)


@dataclass(frozen=True)
class ImportedDays:
    """What a holiday list did: days marked 休 and 班, the years they lie in, and days removed (``replace_year``)."""

    holidays: int
    makeup: int
    years: tuple[int, ...]
    removed: int


@dataclass(frozen=True)
class _Entry:
    row: int
    day: dt.date
    kind: str
    name: str | None


class _BadCell(InvalidInput):
    """A refused cell of a holiday list: its column and why."""

    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column


def _row_days(cells: dict[str, str], seen: dict[dt.date, int]) -> tuple[list[dt.date], str]:
    """The days and the kind one row of a holiday list names, or ``_BadCell``."""
    try:
        first = parse_day(cells["day"])
    except InvalidInput as exc:
        raise _BadCell("day", exc.message) from None
    try:
        days = date_span(first, parse_day(cells["last"]) if cells["last"] else None)
    except InvalidInput as exc:
        raise _BadCell("last", exc.message) from None
    try:
        kind = parse_kind(cells["kind"])
    except InvalidInput as exc:
        raise _BadCell("kind", exc.message) from None
    if kind == MAKEUP and (weekdays := [d for d in days if d.weekday() < 5]):
        raise _BadCell("day", f"调休上班日应为周六或周日，{day_label(weekdays[0])} 本来就是工作日")
    if twice := [d for d in days if d in seen]:
        raise _BadCell("day", f"{twice[0].isoformat()} 已在第 {seen[twice[0]]} 行出现")
    return days, kind


def _file_entries(path: Path) -> list[_Entry]:
    """Every day a holiday list names, or ``InvalidInput`` listing every bad row (by its row in the file)."""
    from gridgov.importing.read import read_table  # pandas: loaded by the import only

    table = read_table(path, IMPORT_COLUMNS)
    errors: list[dict[str, object]] = []
    entries: list[_Entry] = []
    seen: dict[dt.date, int] = {}
    for number, row in zip(table.rows.tolist(), table.frame.to_dict("records"), strict=True):
        cells = {c: str(row.get(c, "")).strip() for c in COLUMN_ZH}
        if not any(cells.values()):
            continue  # a blank line between holidays
        try:
            days, kind = _row_days(cells, seen)
        except _BadCell as bad:
            errors.append({"row": number, "column": bad.column, "reason": bad.message})
            continue
        for d in days:
            seen[d] = number
            entries.append(_Entry(number, d, kind, cells["name"] or None))
    if errors:
        shown = "；".join(f"第 {e['row']} 行{COLUMN_ZH[str(e['column'])]}：{e['reason']}"
                         for e in errors[:MAX_ERRORS_SHOWN])  # fmt: skip
        more = f"（另有 {len(errors) - MAX_ERRORS_SHOWN} 处）" if len(errors) > MAX_ERRORS_SHOWN else ""
        raise InvalidInput(f"{path.name} 有 {len(errors)} 处错误，整份未导入：{shown}{more}", details=errors)
    if not entries:
        raise InvalidInput(f"{path.name} 中没有日期：每行一个日期（或 日期 至 结束日期），类型 休 或 班，名称可不填")
    return entries


def import_days(session: Session, actor: Actor, path: Path, *, replace_year: int | None = None) -> ImportedDays:
    """Enter a holiday list (CSV or XLSX: 日期, optional 至, 类型 休/班, 名称) in one go; administrators only.

    The whole file is checked first: any bad row refuses it all, naming each row. Days already in the calendar
    take the file's kind and name; with ``replace_year`` (the file is that year's list) the year's other days
    are removed first."""
    authorize(session, actor, "admin", anywhere=True)
    entries = _file_entries(path)
    if replace_year is not None and not any(e.day.year == replace_year for e in entries):
        raise InvalidInput(f"{path.name} 中没有 {replace_year} 年的日期，未导入（要替换的是哪一年？）")
    removed = 0
    if replace_year is not None:
        removed = session.execute(text("DELETE FROM work_calendar WHERE day >= :a AND day < :b "
                                       "AND day <> ALL(CAST(:days AS date[]))"),
                                  {"a": dt.date(replace_year, 1, 1), "b": dt.date(replace_year + 1, 1, 1),
                                   "days": [e.day for e in entries]}).rowcount  # type: ignore[attr-defined]
    session.execute(text("""INSERT INTO work_calendar (day, kind, name, updated_by)
                            SELECT d, k, n, :by FROM unnest(CAST(:days AS date[]), CAST(:kinds AS text[]),
                                                            CAST(:names AS text[])) AS u(d, k, n)
                            ON CONFLICT (day) DO UPDATE SET kind = EXCLUDED.kind, name = EXCLUDED.name,
                                                            updated_by = EXCLUDED.updated_by"""),
                    {"days": [e.day for e in entries], "kinds": [e.kind for e in entries],
                     "names": [e.name for e in entries], "by": actor.audit_name})  # fmt: skip
    return ImportedDays(sum(e.kind == HOLIDAY for e in entries), sum(e.kind == MAKEUP for e in entries),
                        tuple(sorted({e.day.year for e in entries})), int(removed or 0))  # fmt: skip


def local_moment(value: dt.date | dt.datetime, timezone: str) -> dt.datetime:
    """A moment people typed: a date is the start of that day, a time without a zone is local (``timezone``)."""
    if not isinstance(value, dt.datetime):
        return dt.datetime.combine(value, dt.time(), ZoneInfo(timezone))
    return value if value.tzinfo is not None else value.replace(tzinfo=ZoneInfo(timezone))
