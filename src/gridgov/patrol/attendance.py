"""Attendance (考勤) from the rosters and the tracks, per night × shift × team and per person; the month's 考勤表
with the night allowance.

The rule (one statement for every roster entry of a period, ``attendance.sql``):

- An entry's tracks are its team's night patrols (夜间巡逻) of that night and shift (a track crossing midnight
  belongs to the night it started: :func:`gridgov.patrol.shifts.night_shift`); per person where tracks carry a
  staff member. The zone is the entry's patrol area (else the team's first live area by code) buffered by
  ``patrol_buffer_m``, the GPS tolerance. Fixes flagged 跳点 are ignored.
- ``first_seen`` / ``last_seen``: the first and last fix inside the zone. Status by priority: **缺勤** (no track,
  or no fix inside) > **迟到** (first_seen later than the shift start + ``late_grace_minutes``) > **早退**
  (last_seen earlier than the shift end − ``early_grace_minutes``) > **出勤**; ``late`` and ``left_early`` are both
  reported beside the one status.
- ``minutes_inside``: the time of the segments inside the zone (constant speed between fixes; a segment ending at a
  断点 was not walked), the union over the entry's tracks, so people walking together count once; ``metres``: the
  walked metres inside the zone, summed over the tracks. ``coverage``: the share of the area's leaf grids (live
  leaves at least half inside the area) with walked metres; ``unvisited``: the others. A team without an area has
  every fix counted and no coverage.
- People: the team's members in force that night, the entry's leader, 替班 substitutes, and anyone with a track of
  their own. A person's figures are their own tracks', else the team's tracks without a person, else none (缺勤).
- Allowance: ``allowance_per_night`` per person and rostered shift attended (出勤/迟到/早退), not on 请假, not
  replaced by a 替班 (the substitute earns it instead), and not in the first ``probation_months`` of membership.

A night without tracks is a result: every rostered team 缺勤.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import xlsxwriter
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgov.config import PatrolSettings, defaults
from gridgov.db import sql
from gridgov.db.engine import NO_JIT, local_settings
from gridgov.errors import InvalidInput, NotFound
from gridgov.history import live
from gridgov.patrol import track_figures
from gridgov.patrol.shifts import night_clock
from gridgov.periods import DEFAULT_TIMEZONE, month_range
from gridgov.vocab import ATTENDANCE_STATUSES, NIGHT_PATROL, SHIFT_WINDOWS, SHIFTS

PRESENT, LATE, LEFT_EARLY, ABSENT = ATTENDANCE_STATUSES.terms
ATTENDED = frozenset({PRESENT, LATE, LEFT_EARLY})
# The order a report lists entries in: absent and late first.
STATUS_ORDER = {ABSENT: 0, LATE: 1, LEFT_EARLY: 2, PRESENT: 3}
MAX_NIGHTS = 62


@dataclass(frozen=True)
class PersonAttendance:
    """One person on a roster entry: role (队长/队员/替班), status and figures (their own tracks', or the team's),
    leave and substitution, and whether the shift earns the allowance."""

    staff_code: str
    staff_name: str
    role: str
    status: str
    late: bool
    left_early: bool
    first_seen: dt.datetime | None
    last_seen: dt.datetime | None
    minutes_inside: float
    metres: float
    own_tracks: bool
    on_leave: bool
    replaced_by: str | None
    substitute_for: str | None
    allowance: bool


@dataclass(frozen=True)
class Attendance:
    """One roster entry (night × shift × team): status and figures, the area's grids not visited, the people."""

    night: dt.date
    shift: str
    starts: dt.datetime
    ends: dt.datetime
    team_code: str
    team_name: str
    unit: str | None
    area_code: str | None
    area_name: str | None
    leader_name: str | None
    duty_cadre_name: str | None
    community_staff_name: str | None
    status: str
    late: bool
    left_early: bool
    first_seen: dt.datetime | None
    last_seen: dt.datetime | None
    minutes_inside: float
    metres: float
    coverage: float | None
    unvisited: list[str]
    unvisited_names: list[str]
    tracks: int
    people: list[PersonAttendance] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON form (times ISO)."""
        return asdict(self)


@dataclass(frozen=True)
class PersonMonth:
    """One person's month: shifts rostered, how each went, leave, substitutions, the allowance."""

    staff_code: str
    staff_name: str
    teams: str
    rostered: int
    present: int
    late: int
    left_early: int
    absent: int
    leave: int
    substituted: int
    replaced: int
    allowance_shifts: int
    allowance: float


@dataclass(frozen=True)
class MonthAttendance:
    """The month's 考勤表: every entry, every person's totals and the rules they were computed with."""

    month: str
    first: dt.date
    last: dt.date
    entries: list[Attendance]
    people: list[PersonMonth]
    rate: float
    probation_months: int
    late_grace_minutes: float
    early_grace_minutes: float

    @property
    def total(self) -> float:
        """The month's allowance, all people."""
        return sum(p.allowance for p in self.people)


def _params(session: Session, first: dt.date, last: dt.date, team_code: str | None, rules: PatrolSettings,
            timezone: str) -> dict[str, Any]:  # fmt: skip
    """The statement's parameters, checked."""
    if first > last:
        raise InvalidInput(f"日期范围无效：起始日期 {first} 晚于结束日期 {last}")
    if (last - first).days >= MAX_NIGHTS:
        raise InvalidInput(f"考勤一次最多查询 {MAX_NIGHTS} 个夜晚：{first} 至 {last}")
    if team_code is not None:
        found = session.execute(text(f"SELECT 1 FROM patrol_team t WHERE t.code = :c AND {live('t')}"),
                                {"c": team_code}).first()  # fmt: skip
        if found is None:
            raise NotFound(f"巡逻队不存在：{team_code}")
    starts = [SHIFT_WINDOWS[s][0] for s in SHIFTS]
    return {
        "date_from": first, "date_to": last, "team_code": team_code, "tz": timezone, "night_kind": NIGHT_PATROL,
        "srid": track_figures.metric_srid(session), "buffer_m": float(rules.patrol_buffer_m),
        "late_s": float(rules.late_grace_minutes) * 60, "early_s": float(rules.early_grace_minutes) * 60,
        "probation": int(rules.probation_months), "w_shift": list(SHIFTS),
        "w_start": [t.hour * 3600.0 + t.minute * 60 + t.second for t in starts],
        "w_len": [SHIFT_WINDOWS[s][1].total_seconds() for s in SHIFTS],
    }  # fmt: skip


def attendance(
    session: Session,
    first: dt.date,
    last: dt.date | None = None,
    *,
    team_code: str | None = None,
    rules: PatrolSettings | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> list[Attendance]:
    """Attendance of every roster entry of the nights [first, last] (one night by default), of one team or all, in
    roster order (night, shift, team)."""
    rules = rules or defaults(PatrolSettings)
    params = _params(session, first, last or first, team_code, rules, timezone)
    track_figures.ensure_stats(session, {"date_from": first, "date_to": last or first, "team_code": team_code,
                                         "track_ids": None, "kind": NIGHT_PATROL})  # fmt: skip
    with local_settings(session, NO_JIT):
        rows = session.execute(text(sql.load("attendance")), params).all()
    entries: list[Attendance] = []
    people: dict[int, list[PersonAttendance]] = {}
    for r in rows:
        if r.level == "team":
            people[r.roster_id] = []
            entries.append(Attendance(
                night=r.night, shift=r.shift, starts=r.starts, ends=r.ends, team_code=r.team_code,
                team_name=r.team_name, unit=r.unit, area_code=r.area_code, area_name=r.area_name,
                leader_name=r.leader_name, duty_cadre_name=r.duty_cadre_name,
                community_staff_name=r.community_staff_name, status=r.status, late=r.late,
                left_early=r.left_early, first_seen=r.first_seen, last_seen=r.last_seen,
                minutes_inside=round(r.minutes_inside, 1), metres=round(r.metres, 1),
                coverage=r.visited / r.leaf_total if r.leaf_total else None, unvisited=list(r.unvisited),
                unvisited_names=list(r.unvisited_names), tracks=r.tracks, people=people[r.roster_id],
            ))  # fmt: skip
        else:
            people[r.roster_id].append(PersonAttendance(
                staff_code=r.staff_code, staff_name=r.staff_name, role=r.role, status=r.status, late=r.late,
                left_early=r.left_early, first_seen=r.first_seen, last_seen=r.last_seen,
                minutes_inside=round(r.minutes_inside, 1), metres=round(r.metres, 1), own_tracks=r.own_tracks,
                on_leave=r.on_leave, replaced_by=r.replaced_by_name, substitute_for=r.substitute_for_name,
                allowance=r.eligible,
            ))  # fmt: skip
    return entries


def unit_name(session: Session) -> str:
    """The street's name for a workbook's title (the one top-level live grid; empty when there are several)."""
    names = session.execute(text("SELECT name FROM grid WHERE parent_id IS NULL AND valid_to IS NULL "
                                 "AND lineage_id IS NULL LIMIT 2")).scalars().all()  # fmt: skip
    return names[0] if len(names) == 1 else ""


def worst_first(entries: Sequence[Attendance]) -> list[Attendance]:
    """The entries with the absent, then the late, then those leaving early first (a report's order)."""
    return sorted(entries, key=lambda e: (STATUS_ORDER[e.status], e.night, e.starts, e.team_code))


def month_attendance(
    session: Session,
    month: str,
    *,
    team_code: str | None = None,
    rules: PatrolSettings | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> MonthAttendance:
    """The month's 考勤表 (``YYYY-MM``): every entry, and per person the shifts and the allowance."""
    rules = rules or defaults(PatrolSettings)
    first, last = month_range(month)
    entries = attendance(session, first, last, team_code=team_code, rules=rules, timezone=timezone)
    rate = float(rules.allowance_per_night)
    totals: dict[str, dict[str, Any]] = {}
    for e in entries:
        for p in e.people:
            t = totals.setdefault(p.staff_code, {"name": p.staff_name, "teams": [], "rostered": 0, PRESENT: 0,
                                                 LATE: 0, LEFT_EARLY: 0, ABSENT: 0, "leave": 0, "substituted": 0,
                                                 "replaced": 0, "paid": 0})  # fmt: skip
            if e.team_code not in t["teams"]:
                t["teams"].append(e.team_code)
            t["rostered"] += 1
            if p.on_leave:
                t["leave"] += 1
            elif p.replaced_by is not None:
                t["replaced"] += 1
            else:
                t[p.status] += 1
            t["substituted"] += p.substitute_for is not None
            t["paid"] += p.allowance
    people = [
        PersonMonth(staff_code=code, staff_name=t["name"], teams="、".join(t["teams"]), rostered=t["rostered"],
                    present=t[PRESENT], late=t[LATE], left_early=t[LEFT_EARLY], absent=t[ABSENT], leave=t["leave"],
                    substituted=t["substituted"], replaced=t["replaced"], allowance_shifts=t["paid"],
                    allowance=t["paid"] * rate)
        for code, t in sorted(totals.items())
    ]  # fmt: skip
    return MonthAttendance(f"{first:%Y-%m}", first, last, entries, people, rate, int(rules.probation_months),
                           float(rules.late_grace_minutes), float(rules.early_grace_minutes))  # fmt: skip


# --------------------------------------------------------------------------------------------- the workbook

ENTRY_HEADINGS = ("日期", "班次", "巡逻队", "所属单位", "巡逻区域", "带队人员", "值班领导", "社区值班人员",
                  "考勤", "首次到达", "最后离开", "区域内时长（分钟）", "区域内里程（米）", "网格覆盖率", "未巡网格",
                  "队员")  # fmt: skip
PEOPLE_HEADINGS = ("人员编码", "姓名", "巡逻队", "排班班次", "出勤", "迟到", "早退", "缺勤", "请假", "被替班", "替班",
                   "补贴班次", "补贴金额（元）")  # fmt: skip


def _people_text(e: Attendance) -> str:
    """The people of an entry in one cell: 姓名（角色 状态 / 请假 / 由谁替班）."""
    parts = []
    for p in e.people:
        state = "请假" if p.on_leave else f"由{p.replaced_by}替班" if p.replaced_by else p.status
        role = f"替{p.substitute_for}" if p.substitute_for else p.role
        parts.append(f"{p.staff_name}（{role} {state}）")
    return "、".join(parts)


def write_month_xlsx(month: MonthAttendance, path: Path, *, unit: str = "", made_at: dt.datetime | None = None,
                     timezone: str = DEFAULT_TIMEZONE) -> Path:  # fmt: skip
    """The 考勤表 workbook: 考勤汇总 (per person, with the allowance), 每日考勤 (per entry) and 说明; A4 landscape."""
    path, zone = Path(path), ZoneInfo(timezone)
    wb = xlsxwriter.Workbook(str(path))
    title_fmt = wb.add_format({"bold": True, "font_size": 14})
    head = wb.add_format({"bold": True, "bg_color": "#F2F2F2", "border": 1, "text_wrap": True, "valign": "vcenter"})
    cell = wb.add_format({"border": 1, "valign": "top"})
    wrap = wb.add_format({"border": 1, "valign": "top", "text_wrap": True})
    money = wb.add_format({"border": 1, "num_format": "#,##0.00"})
    pct = wb.add_format({"border": 1, "num_format": "0%"})
    bold = wb.add_format({"bold": True, "border": 1})
    bold_money = wb.add_format({"bold": True, "border": 1, "num_format": "#,##0.00"})
    made = (made_at or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%d %H:%M")

    ws = wb.add_worksheet("考勤汇总")
    ws.write(0, 0, f"{unit}巡逻考勤表（{month.month}）", title_fmt)
    ws.write(1, 0, f"补贴标准 {month.rate:g} 元/人·班；试用期 {month.probation_months} 个月；制表 {made}")
    ws.write_row(2, 0, PEOPLE_HEADINGS, head)
    for i, p in enumerate(month.people, start=3):
        ws.write_row(i, 0, (p.staff_code, p.staff_name, p.teams), cell)
        ws.write_row(i, 3, (p.rostered, p.present, p.late, p.left_early, p.absent, p.leave, p.replaced,
                            p.substituted, p.allowance_shifts), cell)  # fmt: skip
        ws.write_number(i, 12, p.allowance, money)
    total_row = 3 + len(month.people)
    ws.write(total_row, 0, "合计", bold)
    ws.write_row(total_row, 1, ("", ""), bold)
    for c in range(3, 12):
        ws.write_number(total_row, c, sum(_people_cell(p, c) for p in month.people), bold)
    ws.write_number(total_row, 12, month.total, bold_money)
    ws.set_column(0, 0, 12)
    ws.set_column(1, 2, 14)
    ws.set_column(3, 11, 7)
    ws.set_column(12, 12, 14)
    ws.freeze_panes(3, 2)
    _print_setup(ws, 2)

    ws = wb.add_worksheet("每日考勤")
    ws.write(0, 0, f"{unit}巡逻日考勤（{month.month}）", title_fmt)
    ws.write(1, 0, f"迟到：首次到达晚于班次开始 {month.late_grace_minutes:g} 分钟以上；早退：最后离开早于班次结束 "
                   f"{month.early_grace_minutes:g} 分钟以上；缺勤：区域内无轨迹点")  # fmt: skip
    ws.write_row(2, 0, ENTRY_HEADINGS, head)
    for i, e in enumerate(month.entries, start=3):
        ws.write_row(i, 0, (e.night.isoformat(), e.shift, f"{e.team_name}（{e.team_code}）", e.unit or "",
                            e.area_name or e.area_code or "", e.leader_name or "", e.duty_cadre_name or "",
                            e.community_staff_name or "", e.status + _flags(e),
                            night_clock(e.first_seen, e.night, zone, ""), night_clock(e.last_seen, e.night, zone, "")),
                     cell)  # fmt: skip
        ws.write_number(i, 11, e.minutes_inside, cell)
        ws.write_number(i, 12, round(e.metres), cell)
        if e.coverage is None:
            ws.write(i, 13, "", cell)
        else:
            ws.write_number(i, 13, e.coverage, pct)
        ws.write(i, 14, "、".join(e.unvisited_names), wrap)
        ws.write(i, 15, _people_text(e), wrap)
    ws.set_column(0, 0, 11)
    ws.set_column(1, 1, 7)
    ws.set_column(2, 4, 16)
    ws.set_column(5, 7, 9)
    ws.set_column(8, 8, 10)
    ws.set_column(9, 10, 11)
    ws.set_column(11, 13, 9)
    ws.set_column(14, 15, 30)
    ws.freeze_panes(3, 3)
    _print_setup(ws, 2)

    ws = wb.add_worksheet("说明")
    ws.write_row(0, 0, ("项目", "说明"), head)
    notes = [
        ("月份", f"{month.first} 至 {month.last}"),
        ("考勤规则", "按排班（夜 × 班次 × 巡逻队）和该队当夜当班的轨迹计算；区域内的首个轨迹点为到达时间，"
                   "末个为离开时间；跳点（GPS 漂移）不计，断点前的一段视为未巡逻"),
        ("迟到", f"首次到达晚于班次开始 {month.late_grace_minutes:g} 分钟以上"),
        ("早退", f"最后离开早于班次结束 {month.early_grace_minutes:g} 分钟以上"),
        ("缺勤", "没有轨迹，或轨迹没有进入巡逻区域"),
        ("首次到达、最后离开", "当地时间；「次日」为该夜过了午夜之后"),
        ("补贴", f"每人每班 {month.rate:g} 元：出勤、迟到、早退的班次计发；请假不计；被替班的由替班人员领取；"
               f"入队后 {month.probation_months} 个月内（试用期）不计"),
        ("网格覆盖率", "巡逻区域内的网格（过半在区域内的最小网格）中有巡逻里程的比例"),
        ("制表时间", made),
    ]  # fmt: skip
    for i, (k, v) in enumerate(notes, start=1):
        ws.write(i, 0, k, cell)
        ws.write(i, 1, v, wrap)
    ws.set_column(0, 0, 12)
    ws.set_column(1, 1, 90)
    wb.close()
    return path


def _flags(e: Attendance) -> str:
    """Both flags when an entry was late and left early (the status names only one)."""
    return "、早退" if e.late and e.left_early else ""


def _people_cell(p: PersonMonth, column: int) -> int:
    values = (p.rostered, p.present, p.late, p.left_early, p.absent, p.leave, p.replaced, p.substituted,
              p.allowance_shifts)  # fmt: skip
    return values[column - 3]


def _print_setup(ws: Any, header_row: int) -> None:
    """A4 landscape, fitted to the width, the heading repeated on every page."""
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(header_row)
