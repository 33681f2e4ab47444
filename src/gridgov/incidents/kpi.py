"""Incident figures (事件考核) per grid, community and street for a period, and the hotspots with little patrol.

One set-based pass (``incident_kpi.sql``) over every grid of the area at once: a case counts at its grid and at
every grid above it, so a community is its compounds plus the cases at the community's own grid, and the street
is everything. A period is local days [from, to] evaluated at a moment T (``as_of``, default now): only the
steps recorded at or before T exist, so a report for last month is the same whenever it is run. The rules:

* 上报 (reported): cases reported in the period.
* 结案 (closed): cases closed in the period (their last close in it when closed, reopened and closed again).
* 按期结案率 (on-time rate): closed on time / closed. A case is closed on time when every step of it was done by
  its deadline: no step up to the close (the close included) is marked overdue (``incident_event.overdue``: the
  step it ended was late; an escalation by deadline is one). None when nothing was closed.
* 超期 (overdue now): cases open at T whose deadline has passed at T, by the case as it stood at T: its last
  step at or before T (status, level and deadline of that step). 挂账 cases have no deadline.
* 返工 (rework): 返工 steps recorded in the period. 挂账 (parked): cases whose status at T is 挂账.
* 网格内结案率 (小事不出网格): closed cases whose level at the close was 网格 / closed; 社区内结案率
  (大事不出社区): at 网格 or 社区 / closed.
* Average time per step, in working days (gridgov.workdays): a step (受理, 派遣, 处置, 核查, 结案: what a status
  waits for) runs from the step that brought the case into its status to the step that did it (受理 by 立案 or
  不予立案, 派遣 by 派遣, 处置 by 处置, 核查 by 核查通过 or 返工, 结案 by 结案: the workflow's forward
  transitions), over steps done in the period. Steps that keep the status (another dispatch, an escalation of a
  case still waiting to be accepted, 回访) do not restart it; a step sent back (退回), escalated or parked is
  not done. Working time comes from the calendar through a clock precomputed in Python from ``WorkCalendar``
  (working days and hours, per day) and passed to the SQL as arrays; the SQL reads the clock at each step.
* 同比: the same figures for the same dates last year, evaluated at T minus one year; None when the area has no
  case reported by the end of that period (there is nothing to compare with).

No personal data here: counts only. ``kpis`` checks the reader's scope; ``grid_figures`` is its unchecked part for
services that already did (the ledger, the public coverage map).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor, readable_root, require_role
from gridgov.db import sql
from gridgov.db.engine import NO_JIT, local_settings
from gridgov.errors import InvalidInput, NotFound
from gridgov.incidents import workflow as wf
from gridgov.periods import day_range
from gridgov.vocab import (
    GRID_LEVELS,
    INCIDENT_ENDED,
    INCIDENT_LEVELS,
    INCIDENT_STEPS,
    INCIDENT_WAITING,
    LEVEL_ZH,
    LEVELS,
    SHIFT_WINDOWS,
    SHIFTS,
)
from gridgov.workdays import WorkCalendar

Q = sql.sections("incident_kpi")
STEPS = INCIDENT_STEPS.terms
REWORK = wf.TRANSITIONS["rework"].recorded
_Day = TypeVar("_Day", dt.date, dt.datetime)


def _done_by() -> list[tuple[str, str, str]]:
    """(status, recorded action, step) for every action that does the step a status waits for: the workflow's
    transitions out of the status that move the case on (not back, not up a level, not parked)."""
    return [(status, t.recorded, step) for status, step in INCIDENT_WAITING.items() for t in wf.TRANSITIONS.values()
            if status in t.sources and t.target not in (None, status, wf.PARKED)]  # fmt: skip


DONE_BY = _done_by()


@dataclass(frozen=True)
class Figures:
    """One grid's figures for one period (counts; rates and averages derived)."""

    reported: int = 0
    closed: int = 0
    closed_on_time: int = 0
    overdue_now: int = 0
    rework: int = 0
    parked: int = 0
    closed_at_grid: int = 0
    closed_in_community: int = 0
    avg_days: dict[str, float | None] = field(default_factory=dict)
    steps_done: dict[str, int] = field(default_factory=dict)

    @staticmethod
    def _rate(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    @property
    def on_time_rate(self) -> float | None:
        """按期结案率: closed on time / closed (None when nothing was closed)."""
        return self._rate(self.closed_on_time, self.closed)

    @property
    def closed_at_grid_rate(self) -> float | None:
        """网格内结案率 (小事不出网格): closed at 网格 level / closed."""
        return self._rate(self.closed_at_grid, self.closed)

    @property
    def closed_in_community_rate(self) -> float | None:
        """社区内结案率 (大事不出社区): closed at 网格 or 社区 level / closed."""
        return self._rate(self.closed_in_community, self.closed)

    def as_dict(self) -> dict[str, Any]:
        """JSON form with English keys; rates as fractions (4 decimals), averages in working days (3 decimals)."""
        def r(v: float | None, n: int) -> float | None:
            return None if v is None else round(v, n)

        return {
            "reported": self.reported, "closed": self.closed, "closed_on_time": self.closed_on_time,
            "on_time_rate": r(self.on_time_rate, 4), "overdue_now": self.overdue_now, "rework": self.rework,
            "parked": self.parked, "closed_at_grid": self.closed_at_grid,
            "closed_at_grid_rate": r(self.closed_at_grid_rate, 4), "closed_in_community": self.closed_in_community,
            "closed_in_community_rate": r(self.closed_in_community_rate, 4),
            "avg_days": {s: r(self.avg_days.get(s), 3) for s in STEPS},
            "steps_done": {s: self.steps_done.get(s, 0) for s in STEPS},
        }  # fmt: skip


@dataclass(frozen=True)
class KpiRow:
    """A grid's figures for the period, and for the same period last year (None: no data then)."""

    grid_id: int
    code: str
    name: str
    level: str
    parent_code: str | None
    figures: Figures
    last_year: Figures | None

    def as_dict(self) -> dict[str, Any]:
        """JSON form: the grid, every figure, and ``last_year`` with the same keys."""
        return {"code": self.code, "name": self.name, "level": self.level, "level_zh": LEVEL_ZH[self.level],
                "parent_code": self.parent_code, **self.figures.as_dict(),
                "last_year": None if self.last_year is None else self.last_year.as_dict()}  # fmt: skip


@dataclass(frozen=True)
class Period:
    """Local days [date_from, date_to] (either open: None) evaluated at ``as_of``."""

    date_from: dt.date | None
    date_to: dt.date | None
    as_of: dt.datetime

    def moments(self, timezone: str) -> tuple[dt.datetime | None, dt.datetime | None]:
        """[start, end) of the days in ``timezone``."""
        return day_range(self.date_from, self.date_to, timezone)

    def last_year(self) -> Period | None:
        """The same days and moment one year earlier (29 February: the 28th); None for a period without a start."""
        if self.date_from is None:
            return None
        return Period(_year_back(self.date_from), None if self.date_to is None else _year_back(self.date_to),
                      _year_back(self.as_of))  # fmt: skip

    def as_dict(self) -> dict[str, Any]:
        """JSON form (ISO dates and moment)."""
        return {"from": self.date_from, "to": self.date_to, "as_of": self.as_of}


def _year_back(day: _Day) -> _Day:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def default_period(date_from: dt.date | None, date_to: dt.date | None, today: dt.date) -> tuple[dt.date, dt.date]:
    """The days the faces ask for: as given; without dates this month up to ``today``; a start alone runs to
    today (or is one day when later), an end alone from the first of its month."""
    if date_from is None and date_to is None:
        return today.replace(day=1), today
    if date_from is None:
        assert date_to is not None
        return date_to.replace(day=1), date_to
    return date_from, date_to or max(today, date_from)


ALL_LEVELS = ("all", "全部", "")


def level_of(value: str | None) -> str | None:
    """A level as typed (楼院, compound …; ``all`` or empty: every level) as the vocabulary's term."""
    v = (value or "").strip()
    if v.lower() in ALL_LEVELS:
        return None
    term = GRID_LEVELS.canonical(v)
    if term is None:
        raise InvalidInput(f"未知层级：{v}（可选 {', '.join(LEVELS)} 或 all）")
    return term


def period_of(date_from: dt.date | None, date_to: dt.date | None, as_of: dt.datetime | None) -> Period:
    """The period asked for, evaluated at ``as_of`` (default now); ``InvalidInput`` for a reversed one."""
    if date_from is not None and date_to is not None and date_from > date_to:
        raise InvalidInput(f"日期范围无效：起始日期 {date_from} 晚于结束日期 {date_to}")
    return Period(date_from, date_to, as_of or dt.datetime.now(dt.UTC))


@dataclass(frozen=True)
class WorkClock:
    """Working time as a clock: seconds of working time before each local day from ``first`` (``cumulative``),
    whether each day is worked, and the working hours (seconds after midnight, length) — from a WorkCalendar."""

    first: dt.date
    cumulative: list[float]
    working: list[bool]
    day_start: float
    day_length: float


def work_clock(calendar: WorkCalendar, first: dt.date, last: dt.date) -> WorkClock:
    """The calendar's clock over ``first``–``last``: working time between two moments of those days is the clock
    at the later minus the clock at the earlier (``WorkCalendar.between`` made once for all)."""
    length = calendar.day_length.total_seconds()
    start = calendar.start.hour * 3600 + calendar.start.minute * 60 + calendar.start.second
    days = (last - first).days + 1
    working = [calendar.is_working_day(first + dt.timedelta(days=k)) for k in range(max(days, 1))]
    cumulative, total = [], 0.0
    for w in working:
        cumulative.append(total)
        total += length if w else 0.0
    return WorkClock(first, cumulative, working, float(start), length)


def grid_id_of(session: Session, code: str | None) -> int | None:
    """A live grid's id by its code (None for None); ``NotFound`` otherwise."""
    if code is None:
        return None
    gid = session.scalar(text("SELECT id FROM grid WHERE code = :c AND valid_to IS NULL AND lineage_id IS NULL"),
                         {"c": code.strip()})  # fmt: skip
    if gid is None:
        raise NotFound(f"网格不存在：{code}")
    return int(gid)


def _figures(r: Any) -> Figures:
    steps = r.avg_days if isinstance(r.avg_days, dict) else json.loads(r.avg_days or "{}")
    return Figures(reported=int(r.reported), closed=int(r.closed), closed_on_time=int(r.closed_on_time),
                   overdue_now=int(r.overdue_now), rework=int(r.rework), parked=int(r.parked),
                   closed_at_grid=int(r.closed_at_grid), closed_in_community=int(r.closed_in_community),
                   avg_days={s: (float(v[0]) if v[0] is not None else None) for s, v in steps.items()},
                   steps_done={s: int(v[1]) for s, v in steps.items()})  # fmt: skip


def grid_figures(session: Session, root_id: int | None, period: Period, *, level: str | None = None,
                 calendar: WorkCalendar | None = None, timezone: str | None = None,
                 with_last_year: bool = True) -> list[KpiRow]:  # fmt: skip
    """The figures of every live grid under ``root_id`` (None: all), or of one ``level``, in level and code order;
    unchecked (``kpis`` checks the reader). Without a calendar, no step times (``avg_days`` empty)."""
    if level is not None and level not in LEVELS:
        raise InvalidInput(f"未知层级：{level}（可选 {', '.join(LEVELS)}）")
    tz = timezone or (calendar.timezone if calendar else "Asia/Shanghai")
    periods = [period]
    before = period.last_year() if with_last_year else None
    if before is not None:
        periods.append(before)
    spans = [p.moments(tz) for p in periods]
    as_ofs = [p.as_of for p in periods]
    clock = None
    if calendar is not None:
        first_event = session.scalar(text(Q["first_event"]))
        starts = [s for s, _ in spans if s is not None] + ([first_event] if first_event else [])
        zone = calendar.zone
        first = min(m.astimezone(zone).date() for m in [*starts, *as_ofs])
        clock = work_clock(calendar, first, max(m.astimezone(zone).date() for m in as_ofs))
    done = DONE_BY if clock is not None else []
    params = {
        "root": root_id, "level": level, "grid_levels": list(LEVELS), "levels": list(INCIDENT_LEVELS.terms),
        "starts": [s for s, _ in spans], "ends": [e for _, e in spans], "as_ofs": as_ofs, "tz": tz,
        "first": clock.first if clock else dt.date(2000, 1, 1), "cum": clock.cumulative if clock else [],
        "working": clock.working if clock else [], "day_start": clock.day_start if clock else 0.0,
        "day_len": clock.day_length if clock else 1.0,
        "done_status": [d[0] for d in done], "done_action": [d[1] for d in done], "done_step": [d[2] for d in done],
        "closed": wf.CLOSED, "parked": wf.PARKED, "ended": list(INCIDENT_ENDED), "rework": REWORK,
        "imported": wf.IMPORTED,
    }  # fmt: skip
    with local_settings(session, NO_JIT):  # the recursive CTEs' estimates are far too high: JIT would cost seconds
        rows = session.execute(text(Q["figures"]), params).all()
    by_grid: dict[int, dict[int, Any]] = {}
    for r in rows:
        by_grid.setdefault(int(r.grid_id), {})[int(r.p)] = r
    out = []
    for gid, ps in by_grid.items():
        now = ps[1]
        ly = ps.get(2)
        out.append(KpiRow(gid, now.code, now.name, now.level, now.parent_code, _figures(now),
                          _figures(ly) if ly is not None and ly.has_data else None))  # fmt: skip
    return out


def kpis(session: Session, actor: Actor, parent: str | None = None, *, date_from: dt.date | None,
         date_to: dt.date | None, as_of: dt.datetime | None = None, level: str | None = "compound",
         calendar: WorkCalendar) -> list[KpiRow]:  # fmt: skip
    """The figures of every grid of ``level`` (None: every level) under ``parent`` (default: the reader's scope)
    for the local days [date_from, date_to] evaluated at ``as_of`` (default now); ``Forbidden`` outside the
    reader's scope."""
    require_role(actor, "read")
    root = readable_root(session, actor, parent.strip() if parent else None)
    return grid_figures(session, grid_id_of(session, root), period_of(date_from, date_to, as_of), level=level,
                        calendar=calendar)  # fmt: skip


def asked(session: Session, actor: Actor, parent: str | None, *, date_from: dt.date | None,
          date_to: dt.date | None, as_of: dt.datetime | None, level: str | None, calendar: WorkCalendar,
          today: dt.date) -> tuple[Period, list[KpiRow]]:  # fmt: skip
    """What a face asks for, with its defaults (``default_period``, now, ``level_of``): the period and its rows."""
    start, end = default_period(date_from, date_to, today)
    period = period_of(start, end, as_of)
    rows = kpis(session, actor, parent, date_from=period.date_from, date_to=period.date_to, as_of=period.as_of,
                level=level_of(level), calendar=calendar)  # fmt: skip
    return period, rows


def sheet_words(rows: Sequence[KpiRow], period: Period, timezone: str) -> tuple[str, str, str]:
    """A table's title (the area's name), its period line and a file name for it."""
    unit = rows[0].name if rows and (len(rows) == 1 or rows[0].level != rows[1].level) else "各网格"
    moment = period.as_of.astimezone(ZoneInfo(timezone))
    before = period.last_year()
    info = (f"统计期间：{period.date_from} 至 {period.date_to}    统计时点：{moment:%Y-%m-%d %H:%M}"
            + (f"    去年同期：{before.date_from} 至 {before.date_to}" if before else ""))  # fmt: skip
    return f"{unit}事件考核表", info, f"{unit}事件考核_{period.date_from}_{period.date_to}.xlsx"


# Time windows of the day for the heatmap and the hotspots: the night shifts (gridgov.vocab.SHIFT_WINDOWS) and
# 白天, the rest of the day (from the end of the last night shift to the start of the first).
DAYTIME = "白天"
DAYTIME_SYNONYMS = ("日间", "daytime", "day")
ALL_DAY = (dt.time(0), dt.time(0))
_CLOCK = r"(\d{1,2}):(\d{2})"
_HOURS = re.compile(rf"\s*{_CLOCK}\s*(?:-|–|—|~|～|至|到)\s*(?:次日\s*)?{_CLOCK}\s*")


def _shift_end(name: str) -> dt.time:
    start, length = SHIFT_WINDOWS[name]
    return (dt.datetime.combine(dt.date(2000, 1, 1), start) + length).time()


def time_windows() -> dict[str, tuple[dt.time, dt.time]]:
    """上半夜, 下半夜 and 白天 as (start, end) local times; an end not after its start runs over midnight."""
    nights = {s: (SHIFT_WINDOWS[s][0], _shift_end(s)) for s in SHIFTS.terms}
    return nights | {DAYTIME: (_shift_end(SHIFTS.terms[-1]), SHIFT_WINDOWS[SHIFTS.terms[0]][0])}


@dataclass(frozen=True)
class TimeWindow:
    """A part of the local day: its label (a shift's name or HH:MM–HH:MM), start and end (over midnight when the
    end is not after the start)."""

    label: str
    start: dt.time
    end: dt.time

    @property
    def described(self) -> str:
        """The window as a subtitle writes it: 上半夜（20:00–23:30）, or the hours alone."""
        hours = window_hours(self.start, self.end)
        return hours if self.label == hours else f"{self.label}（{hours}）"


def window_hours(start: dt.time, end: dt.time) -> str:
    """A window as people write it: 20:00–23:30, 23:30–次日 06:00."""
    return f"{start:%H:%M}–{'次日 ' if end <= start else ''}{end:%H:%M}"


def parse_window(value: str | None) -> TimeWindow | None:
    """A time window from a shift's name (上半夜, 下半夜, 白天) or ``HH:MM-HH:MM``; None for none (the whole day);
    ``InvalidInput`` in Chinese otherwise."""
    if value is None or not value.strip():
        return None
    v = value.strip()
    windows = time_windows()
    name = DAYTIME if v in DAYTIME_SYNONYMS else (SHIFTS.canonical(v) or v)
    if name in windows:
        return TimeWindow(name, *windows[name])
    m = _HOURS.fullmatch(v)
    if m:
        h1, m1, h2, m2 = (int(x) for x in m.groups())
        if h1 < 24 and h2 <= 24 and m1 < 60 and m2 < 60 and (h1, m1) != (h2, m2):
            start, end = dt.time(h1, m1), dt.time(h2 % 24, m2)
            return TimeWindow(window_hours(start, end), start, end)
    choices = "、".join(f"{k}（{window_hours(*w)}）" for k, w in windows.items())
    raise InvalidInput(f"时段应为 {choices}，或 HH:MM-HH:MM（如 21:00-02:00）：{value}")


@dataclass(frozen=True)
class Hotspot:
    """A grid where cases are many and night patrols few: its cases in the window asked, its cases per window
    of the day (上半夜, 下半夜, 白天), the busiest window, its night patrol coverage (None: no patrol figures)
    and the rank score, cases × (1 − coverage)."""

    grid_id: int
    code: str
    name: str
    level: str
    cases: int
    by_window: dict[str, int]
    peak: str | None
    coverage: float | None
    score: float

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"code": self.code, "name": self.name, "level": self.level, "cases": self.cases,
                "by_window": self.by_window, "peak": self.peak,
                "coverage": None if self.coverage is None else round(self.coverage, 4),
                "score": round(self.score, 3)}  # fmt: skip


HOTSPOTS = 10
CHOSEN = ""  # the window asked for, among the named ones in the query


def window_counts(session: Session, leaf_ids: Sequence[int], date_from: dt.date | None, date_to: dt.date | None,
                  window: TimeWindow | None, timezone: str) -> dict[int, dict[str, int]]:  # fmt: skip
    """Cases per grid reported in the local days, per window of the day (and under ``""`` in ``window``, the
    whole day when None)."""
    named = time_windows() | {CHOSEN: (window.start, window.end) if window else ALL_DAY}
    rows = session.execute(text(Q["hotspots"]), {
        "leaf_ids": list(leaf_ids), "date_from": date_from, "date_to": date_to, "tz": timezone,
        "w_names": list(named), "w_from": [w[0] for w in named.values()], "w_to": [w[1] for w in named.values()],
    })  # fmt: skip
    out: dict[int, dict[str, int]] = {}
    for r in rows:
        out.setdefault(int(r.grid_id), {})[r.name] = int(r.n)
    return out


def rank_hotspots(grids: Iterable[Any], counts: dict[int, dict[str, int]], coverage: dict[int, Any],
                  limit: int = HOTSPOTS) -> list[Hotspot]:  # fmt: skip
    """The grids (``id``, ``code``, ``name``, ``level``) with cases in the window, ranked by cases × (1 − night
    patrol coverage ratio; a grid without patrol figures counts as uncovered); fully covered grids are left out."""
    out = []
    for g in grids:
        c = counts.get(g.id, {})
        cases = c.get(CHOSEN, 0)
        cov = coverage.get(g.id)
        ratio = None if cov is None else float(cov.ratio)
        score = cases * (1.0 - (ratio or 0.0))
        if cases and score > 0:
            windows = {k: c.get(k, 0) for k in time_windows()}
            peak = max(windows, key=lambda k: windows[k]) if any(windows.values()) else None
            out.append(Hotspot(g.id, g.code, g.name, g.level, cases, windows, peak, ratio, score))
    out.sort(key=lambda h: (-h.score, -h.cases, h.code))
    return out[:limit]


def hotspots(session: Session, actor: Actor, parent: str | None = None, *, date_from: dt.date | None,
             date_to: dt.date | None, window: TimeWindow | None = None, timezone: str,
             patrol_buffer_m: float | None = None, limit: int = HOTSPOTS) -> list[Hotspot]:  # fmt: skip
    """The leaf grids under ``parent`` (default: the reader's scope) with the most cases of the period in the
    window and the least night patrol coverage of its nights (the coverage map's figures), worst first."""
    from gridgov.grids.service import leaves, list_grids, subtree
    from gridgov.patrol.tracks import grid_coverage

    require_role(actor, "read")
    period_of(date_from, date_to, None)
    root = readable_root(session, actor, parent.strip() if parent else None)
    leaf = leaves(subtree(list_grids(session, with_geometry=False), root))
    ids = [g.id for g in leaf]
    counts = window_counts(session, ids, date_from, date_to, window, timezone)
    busy = [i for i in ids if counts.get(i, {}).get(CHOSEN)]
    cover = grid_coverage(session, date_from=date_from, date_to=date_to, buffer_m=patrol_buffer_m, grid_ids=busy) \
        if busy else {}  # fmt: skip
    return rank_hotspots(leaf, counts, cover, limit)


# Columns of the figures as tables show them (page, Excel, CLI): key, Chinese label, kind (count, rate, days).
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("reported", "上报", "count"), ("closed", "结案", "count"), ("on_time_rate", "按期结案率", "rate"),
    ("overdue_now", "超期", "count"), ("rework", "返工", "count"), ("parked", "挂账", "count"),
    ("closed_at_grid_rate", "网格内结案率", "rate"), ("closed_in_community_rate", "社区内结案率", "rate"),
    *((f"avg_days.{s}", f"{s}用时(工作日)", "days") for s in STEPS),
)  # fmt: skip


def value_of(figures: dict[str, Any] | None, key: str) -> Any:
    """A column's value in a row's ``as_dict()`` figures (``avg_days.受理`` reaches into the averages)."""
    if figures is None:
        return None
    if "." in key:
        head, _, tail = key.partition(".")
        return (figures.get(head) or {}).get(tail)
    return figures.get(key)


def show(kind: str, value: Any) -> str:
    """A figure as tables write it: counts grouped, rates as percentages, days with two decimals, — for none."""
    if value is None:
        return "—"
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind == "days":
        return f"{value:.2f}"
    return f"{value:,}"


def write_xlsx(rows: Sequence[KpiRow], path: Path, *, title: str, info: str) -> Path:
    """The figures as an Excel sheet ready to print: title, period line, a header of two rows (本期 / 去年同期 under
    each figure), the rows (street first), landscape A4 fitted to the width."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
    ws = wb.add_worksheet("事件考核")
    cell = {"border": 1, "valign": "vcenter"}
    fmt = {
        "title": wb.add_format({"bold": True, "font_size": 16, "align": "center", "valign": "vcenter"}),
        "head": wb.add_format(cell | {"bold": True, "bg_color": "#DDEBF7", "text_wrap": True, "align": "center"}),
        "text": wb.add_format(cell), "missing": wb.add_format(cell | {"align": "center", "font_color": "#888888"}),
        "count": wb.add_format(cell | {"num_format": "#,##0"}), "rate": wb.add_format(cell | {"num_format": "0.0%"}),
        "days": wb.add_format(cell | {"num_format": "0.00"}),
        "ly count": wb.add_format(cell | {"num_format": "#,##0", "font_color": "#555555"}),
        "ly rate": wb.add_format(cell | {"num_format": "0.0%", "font_color": "#555555"}),
        "ly days": wb.add_format(cell | {"num_format": "0.00", "font_color": "#555555"}),
    }  # fmt: skip
    heads = ("网格编码", "网格名称", "层级")
    last = len(heads) + 2 * len(COLUMNS) - 1
    ws.merge_range(0, 0, 0, last, title, fmt["title"])
    ws.set_row(0, 28)
    ws.merge_range(1, 0, 1, last, info, wb.add_format({"valign": "vcenter"}))
    for c, h in enumerate(heads):
        ws.merge_range(2, c, 3, c, h, fmt["head"])
    for k, (_, label, _) in enumerate(COLUMNS):
        c = len(heads) + 2 * k
        ws.merge_range(2, c, 2, c + 1, label, fmt["head"])
        ws.write_string(3, c, "本期", fmt["head"])
        ws.write_string(3, c + 1, "去年同期", fmt["head"])
    ws.set_row(2, 32)
    for i, row in enumerate(rows, start=4):
        d = row.as_dict()
        for c, v in enumerate((row.code, row.name, LEVEL_ZH[row.level])):
            ws.write_string(i, c, v, fmt["text"])
        for k, (key, _, kind) in enumerate(COLUMNS):
            for j, (figs, pre) in enumerate(((d, ""), (d["last_year"], "ly "))):
                v = value_of(figs, key)
                c = len(heads) + 2 * k + j
                if v is None:
                    ws.write_string(i, c, "—", fmt["missing"])
                else:
                    ws.write_number(i, c, v, fmt[pre + kind])
    ws.set_column(0, 0, 17)
    ws.set_column(1, 1, 16)
    ws.set_column(2, 2, 6)
    ws.set_column(len(heads), last, 8.5)
    ws.freeze_panes(4, 2)
    ws.repeat_rows(2, 3)
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.set_margins(left=0.3, right=0.3, top=0.5, bottom=0.5)
    ws.set_footer(f"&L{title.replace('&', '&&')}&C第 &P 页，共 &N 页")
    notes = wb.add_worksheet("说明")
    wrap = wb.add_format({"text_wrap": True, "valign": "top", "border": 1})
    notes.set_column(0, 0, 110)
    for i, line in enumerate(RULES):
        notes.write_string(i, 0, line, wrap)
    wb.close()
    return path


RULES = (
    "上报：期间内上报的事件数。结案：期间内结案的事件数。",
    "按期结案率：期间内结案的事件中，按期结案的比例；按期结案指该事件从上报到结案的每一个环节都在时限内完成（没有一步超期，"
    "含超期自动上报）。",
    "超期：统计时点仍未办结、且当时所处环节已过时限的事件数（按统计时点及之前的记录判断）。挂账：统计时点处于挂账状态的事件数。",
    "返工：期间内核查不通过、返工的次数。",
    "网格内结案率（小事不出网格）：结案时处置层级为网格的比例；社区内结案率（大事不出社区）：结案时层级为网格或社区的比例。",
    "各环节用时：期间内完成的环节，从进入该状态到完成该环节的工作日数（按工作日历，扣除周末、节假日和下班时间）的平均值；"
    "退回、上报上级、挂账不算完成。",
    "去年同期：同一日期范围、统计时点各提前一年；该范围结束前没有任何事件记录时不比较（“—”）。",
    "上级网格的数字包含其下级网格和直接落在上级网格的事件；统计时点之后的记录一律不计，报表可重复生成。",
)
